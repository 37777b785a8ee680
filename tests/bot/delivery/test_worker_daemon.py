"""`rotation-bot run` (a subprocess) started on a backlog in the outbox, as after a chat
platform's outage: the interval delivery job, the catch-up evaluation and the startup message
all ask the one delivery worker to drain. Everything is delivered exactly once, no drain trips
over another, and SIGTERM still ends the daemon within 10 s. Caps are time-scaled on both
sides so the backlog takes seconds, not minutes."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import yaml

from bot.config.settings import load_settings
from bot.delivery.destinations import sync_destinations
from bot.storage.store import Store
from tests.bot.outbox_helpers import alert_group, enqueue
from tests.fakes.telegram_api import TEST_TOKEN, FakeTelegram

ROOT = Path(__file__).resolve().parents[3]
CHATS = [str(200_000 + i) for i in range(35)]  # private chats: no group cap
ROUNDS = 20  # 35 chats x 20 alert groups = 700 queued messages
ADMIN = "77"
#: the fake's platform time runs this much faster; the bot's caps are scaled to match
SCALE = 3.0


def _config(tmp_path: Path) -> Path:
    per = 1.0 / SCALE
    config = tmp_path / "rotation.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "data": {
                    "source": "demo",
                    "demo_end": "2026-10-30",
                    "cache_dir": str(tmp_path / "cache"),
                },
                "database_url": f"sqlite:///{tmp_path / 'bot.db'}",
                "destinations": [{"platform": "telegram", "chat_id": c} for c in CHATS],
                "admins": {"telegram": [int(ADMIN)]},
                "health": {"enabled": False},
                # a drain every half second: the interval job is nearly always draining
                "schedule": {"delivery_interval_seconds": 0.5},
                "delivery": {
                    "timeout": 2.0,
                    "connect_timeout": 1.0,
                    "backoff_base": 0.05,
                    "poll_interval": 0.1,
                    "telegram": {
                        "overall": {"count": 30, "per": per},
                        "per_chat": {"count": 1, "per": per},
                        "per_group": {"count": 20, "per": 60 * per},
                    },
                },
            }
        ),
        encoding="utf-8",
    )
    return config


def _fill(config: Path) -> None:
    settings = load_settings(config)
    store = Store(settings.database_url)
    try:
        sync_destinations(store, settings)
        base = alert_group()
        for n in range(ROUNDS):
            group = dataclasses.replace(base, as_of=base.as_of + timedelta(days=n))
            assert enqueue(store, f"run:{n}", group) == len(CHATS)
    finally:
        store.close()


def _start(config: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run", "--config", str(config), "--as-of", "2026-06-01"],
        cwd=config.parent,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait(
    proc: subprocess.Popen[str],
    fake: FakeTelegram,
    sent: int,
    ready: Callable[[], bool] = lambda: True,
) -> None:
    """Until the fake has `sent` messages and `ready()`, or nothing arrived for 15 s (a stuck
    daemon does not recover), or the daemon exited."""
    seen, last_news = 0, time.monotonic()
    while proc.poll() is None and time.monotonic() - last_news < 15:
        now = fake.count("sendMessage", delivered=True)
        if now >= sent and ready():
            return
        if now > seen:
            seen, last_news = now, time.monotonic()
        time.sleep(0.1)


def _sigterm(proc: subprocess.Popen[str]) -> tuple[float, str]:
    """How long the exit took after SIGTERM (inf: it had to be killed), and stderr."""
    if proc.poll() is not None:
        return 0.0, proc.communicate()[1]
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
        return float("inf"), err
    return time.monotonic() - started, err


def _evaluated(db: Path) -> bool:
    """The catch-up evaluation is recorded (read-only: the daemon owns the database)."""
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)) as c:
            return c.execute("SELECT count(*) FROM runs").fetchone()[0] > 0
    except sqlite3.OperationalError:  # busy: ask again
        return False


def test_a_700_message_backlog_is_delivered_once_and_sigterm_still_stops_it(
    tmp_path: Path, telegram_fake: FakeTelegram
) -> None:
    telegram_fake.set_caps(time_scale=SCALE)
    config = _config(tmp_path)
    _fill(config)
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": TEST_TOKEN,
        "TELEGRAM_BASE_URL": telegram_fake.base_url,
        "PYTHONPATH": str(ROOT),
    }
    for var in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "DATABASE_URL", "ROTATION_BOT_CONFIG"):
        env.pop(var, None)
    backlog = len(CHATS) * ROUNDS
    store = Store(f"sqlite:///{tmp_path / 'bot.db'}")

    # 1. SIGTERM while the backlog drains (once the catch-up evaluation, which runs in a
    # thread SIGTERM cannot stop, is done): out within 10 s, nothing left claimed
    proc = _start(config, env)
    try:
        _wait(proc, telegram_fake, 200, lambda: _evaluated(tmp_path / "bot.db"))
    finally:
        took, err = _sigterm(proc)
    assert took < 10, f"no exit within 10 s of SIGTERM:\n{err[-3000:]}"
    assert proc.returncode == 0, err[-3000:]
    assert "KeyError" not in err and "stopped:" not in err, err[-3000:]
    assert telegram_fake.count("sendMessage", delivered=True) >= 200
    assert store.queue_counts().sending == 0  # a restart need not wait for leases

    # 2. a restart sends the rest, each message once, and stops as promptly
    proc = _start(config, env)
    try:
        _wait(proc, telegram_fake, backlog + 2)  # and two startup messages
    finally:
        took, err = _sigterm(proc)
    per_chat = {c: len(telegram_fake.delivered(c)) for c in CHATS}
    assert took < 10, f"no exit within 10 s of SIGTERM:\n{err[-3000:]}"
    assert proc.returncode == 0, err[-3000:]
    assert "KeyError" not in err and "stopped:" not in err, err[-3000:]
    assert per_chat == {c: ROUNDS for c in CHATS}, (sum(per_chat.values()), err[-3000:])
    assert len(telegram_fake.delivered(ADMIN)) == 2
    counts = store.queue_counts()
    store.close()
    assert counts.pending == counts.sending == counts.retrying == counts.dead == 0
