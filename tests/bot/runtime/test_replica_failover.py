"""kill -9 of the leader in the middle of a fan-out, three `rotation-bot run` replicas on
PostgreSQL and the fake Bot API: another replica leads within 30 s, takes over the dead
leader's claimed rows at once, and every chat gets the alert; repeats are at most the sends
that were in flight at the kill; and the replicas together never exceed the fake's overall
cap (it answers 429 past it), before, during or after the takeover.

Telegram's caps are time-scaled by SCALE on both sides (the fake's windows and the bot's
`delivery.telegram` caps), so 600 chats take seconds. The replicas run in webhook mode, as
replicas must (polling serves one process). Skipped without TEST_DATABASE_URL.
"""

from __future__ import annotations

import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import yaml
from sqlalchemy import create_engine, text

from bot.config.settings import load_settings
from bot.delivery import sync_destinations
from bot.storage import Store
from tests.bot.db_helpers import fresh_pg_schema, pg_base_url
from tests.bot.outbox_helpers import alert_group, enqueue
from tests.bot.runtime.replica_helpers import (
    Replica,
    base_env,
    free_port,
    get_json,
    one_leader,
    wait_for,
)
from tests.fakes.common import Outcome
from tests.fakes.telegram_api import TEST_TOKEN, FakeTelegram

CHATS = [str(300_000 + i) for i in range(600)]  # private chats: no group cap
SCALE = 3.0
REPLICAS = 3
#: the scaled overall cap: a second of it bounds the sends in flight at any moment
CAP_PER_SECOND = int(30 * SCALE)


def _recorded(url: str) -> int:
    """Deliveries the outbox records as delivered."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            found = conn.execute(
                text("SELECT count(*) FROM deliveries WHERE status = 'delivered'")
            ).scalar()
    finally:
        engine.dispose()
    return int(found or 0)


def _config(folder: Path, url: str, port: int) -> Path:
    per = 1.0 / SCALE
    folder.mkdir()
    path = folder / "rotation.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "data": {"source": "demo", "demo_end": "2026-10-30", "cache_dir": str(folder)},
                "database_url": url,
                "destinations": [{"platform": "telegram", "chat_id": c} for c in CHATS],
                "health": {"port": port},
                "chat": {"console": False, "startup_message": False},
                "telegram": {
                    "mode": "webhook",
                    "webhook_url": "https://bot.example.com/telegram/webhook",
                },
                "schedule": {"delivery_interval_seconds": 0.5},
                "delivery": {
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
    return path


def test_replicas_start_together_and_a_leader_killed_mid_fan_out_is_replaced(
    tmp_path: Path,
) -> None:
    with FakeTelegram() as fake, fresh_pg_schema(pg_base_url()) as url:
        fake.set_caps(time_scale=SCALE)
        ports = [free_port() for _ in range(REPLICAS)]
        configs = [_config(tmp_path / f"r{i}", url, port) for i, port in enumerate(ports)]
        # the alert is queued for every chat before the replicas start: their fan-out
        store = Store(url)
        try:
            sync_destinations(store, load_settings(configs[0]))
            assert enqueue(store, "run:failover", alert_group()) == len(CHATS)
        finally:
            store.close()
        env = base_env(
            TELEGRAM_BOT_TOKEN=TEST_TOKEN,
            TELEGRAM_BASE_URL=fake.base_url,
            TELEGRAM_WEBHOOK_SECRET="replica-failover-secret",
        )
        replicas = [Replica(c, port, env) for c, port in zip(configs, ports, strict=True)]
        try:
            leader = wait_for(lambda: one_leader(replicas), 90, "one agreed leader", replicas)
            for r in replicas:
                assert r.alive and "Traceback" not in r.stderr(), r.stderr()[-3000:]
            wait_for(
                lambda: fake.count("sendMessage", delivered=True) >= 150,
                60,
                "150 messages sent",
                replicas,
            )

            killed_at, killed_utc = time.monotonic(), datetime.now(UTC).isoformat()
            leader.proc.kill()  # no lease release, no clean shutdown
            leader.proc.wait()
            # what reached a chat but is not recorded as delivered: the sends in flight,
            # from the outbox's point of view (the dead process records nothing more, and
            # no other replica sends before it takes over)
            sent_at_kill = fake.count("sendMessage", delivered=True)
            in_flight = sent_at_kill - _recorded(url)
            assert sent_at_kill < len(CHATS), "the fan-out ended before the kill"
            assert 0 <= in_flight <= CAP_PER_SECOND, in_flight
            rest = [r for r in replicas if r is not leader]
            successor = wait_for(lambda: one_leader(rest), 30, "a new leader", replicas)
            took = time.monotonic() - killed_at
            assert took < 30

            def caught_up() -> bool:  # the successor's own evaluation, after the takeover
                last = (successor.health() or {}).get("last_evaluation") or {}
                return bool(last) and last.get("finished_at", "") > killed_utc

            wait_for(caught_up, 60, "the successor's catch-up evaluation", replicas)
            for r in rest:
                assert get_json(r.port, "/readyz") == (
                    200,
                    {
                        "ready": True,
                        "reasons": [],
                        "role": r.health()["role"],
                        "leader": successor.health()["leader"],
                    },
                )
            with urllib.request.urlopen(f"http://127.0.0.1:{successor.port}/metrics") as resp:
                assert 'rotation_bot_role{role="leader"} 1.0' in resp.read().decode()

            def everyone() -> bool:
                return {r.chat_id for r in fake.delivered()} >= set(CHATS)

            wait_for(everyone, 60, "every chat's alert", replicas)
            time.sleep(1.0)  # anything still arriving would be a repeat
            per_chat: dict[str, int] = {}
            for rec in fake.delivered():
                per_chat[rec.chat_id] = per_chat.get(rec.chat_id, 0) + 1
            repeats = sum(n - 1 for n in per_chat.values())
            assert set(per_chat) == set(CHATS)
            assert repeats <= in_flight, (repeats, in_flight)
            assert fake.count("sendMessage", outcome=Outcome.RATE_LIMITED) == 0
            print(
                f"takeover after kill -9: {took:.1f} s; repeats {repeats} (in flight {in_flight})"
            )
            for r in rest:
                assert r.stop() == 0, r.stderr()[-3000:]
                assert "Traceback" not in r.stderr(), r.stderr()[-3000:]
        finally:
            for r in replicas:
                r.stop()
