"""Crash test: a delivery worker in a real subprocess is killed with SIGKILL in the middle of a
fan-out to 300 Telegram chats; a restarted worker completes it. Every chat ends with the alert;
the only repeats are sends that were in flight at the kill (the fake got them, the outbox had
not recorded them yet). The fake runs in this process (a thread), the worker talks to it over
HTTP through TELEGRAM_BASE_URL; caps are time-scaled x10 on both sides.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import yaml

from bot.config.settings import load_settings
from bot.delivery.destinations import sync_destinations
from bot.storage.store import Store
from tests.bot.outbox_helpers import enqueue, statuses
from tests.fakes.telegram_api import TEST_TOKEN

ROOT = Path(__file__).resolve().parents[3]
N_CHATS = 300
SCALED_DELIVERY = {
    "timeout": 2.0,
    "connect_timeout": 1.0,
    "backoff_base": 0.1,
    "poll_interval": 0.1,
    # the restarted worker takes the dead one's claims after 4 s; a lease must outlast the
    # longest part of a send (0.6 + 50 / 300 / 0.95 + 1 + 2 = 3.8 s here)
    "lease": 4,
    "batch": 50,
    "telegram": {
        "overall": {"count": 30, "per": 0.1},
        "per_chat": {"count": 1, "per": 0.1},
        # private chats only: the group cap never applies, and a short one keeps the short
        # lease above valid
        "per_group": {"count": 20, "per": 0.6},
    },
    "slack": {"per_channel": {"count": 1, "per": 0.1}},
}


def _worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as err:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "bot.runtime.delivery_main", "--once", "--max-age", "60"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )


def test_sigkill_mid_fan_out_loses_nothing(tmp_path, telegram_fake) -> None:
    telegram_fake.set_caps(time_scale=10)
    chats = [str(100_000 + i) for i in range(N_CHATS)]
    config = tmp_path / "rotation.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "destinations": [{"platform": "telegram", "chat_id": c} for c in chats],
                "delivery": SCALED_DELIVERY,
            }
        )
    )
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    store = Store(url)
    sync_destinations(store, load_settings(config))
    assert enqueue(store, "run:1") == N_CHATS
    env = {
        **os.environ,
        "ROTATION_BOT_CONFIG": str(config),
        "DATABASE_URL": url,
        "TELEGRAM_BOT_TOKEN": TEST_TOKEN,
        "TELEGRAM_BASE_URL": telegram_fake.base_url,
    }
    log = tmp_path / "worker.log"

    first = _worker(env, log)
    try:
        telegram_fake.wait_until(
            lambda: telegram_fake.count(delivered=True) >= N_CHATS // 3,
            timeout=30,
            what="a third of the fan-out",
        )
    finally:
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
    assert first.returncode == -signal.SIGKILL
    time.sleep(0.3)  # the fake finishes answering what was in flight
    reached = telegram_fake.count(delivered=True)
    recorded = sum(s == ["delivered"] for s in statuses(store).values())
    in_flight = reached - recorded
    assert 0 < recorded < N_CHATS, "the kill must land in the middle of the fan-out"

    second = _worker(env, log)
    assert second.wait(timeout=60) == 0, log.read_text()[-3000:]

    per_chat = Counter(r.chat_id for r in telegram_fake.delivered())
    duplicates = sum(per_chat.values()) - N_CHATS
    print(
        f"\ncrash test: killed after {reached} of {N_CHATS} sends reached the fake "
        f"({recorded} recorded, {in_flight} in flight); after the restart "
        f"{len(per_chat)} chats have the alert, {duplicates} duplicate(s)"
    )
    assert set(per_chat) == set(chats)  # nothing lost
    assert duplicates <= in_flight  # repeats only for sends in flight at the kill
    assert all(s == ["delivered"] for s in statuses(store).values())
    assert telegram_fake.count(outcome="rate_limited") == 0
    store.close()
