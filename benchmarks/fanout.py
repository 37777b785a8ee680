"""Benchmark: one alert to 10,000 Telegram chats through the whole delivery path.

    python -m benchmarks.fanout [--chats N] [--scale F] [--check]

Outbox rows in a SQLite file -> DeliveryWorker -> TelegramSender (python-telegram-bot over
HTTP) -> the fake Bot API (tests/fakes) in its own process, enforcing Telegram's caps.
Time-scaled by F (default 10): the fake's windows last 1/F of real time (30 messages per
0.1 s overall) and the bot's limits are scaled the same way (`delivery.telegram.overall`
30 per 0.1 s), so 10,000 messages take ~35 s instead of ~6 min. Prints the achieved rate as
the fake saw it (arrivals) as a share of the scaled cap, and the number of 429s.
Target: >= 93 % of the cap with zero 429s; `--check` exits 1 when it is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CAP_PER_SECOND = 30  # Telegram's overall cap
TARGET = 0.93


def _start_fake(state: Path, scale: float) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.telegram_api", "--state-file", str(state)]
        + ["--time-scale", str(scale)],
        cwd=ROOT,
    )
    deadline = time.monotonic() + 20
    while not state.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the fake Bot API did not start")
        time.sleep(0.05)
    return proc


def _settings(chats: int, scale: float):  # -> Settings (imports kept out of module load)
    from bot.config.settings import Settings

    per = 1.0 / scale
    return Settings.model_validate(
        {
            "destinations": [
                {"platform": "telegram", "chat_id": str(1_000_000 + i)} for i in range(chats)
            ],
            "delivery": {
                "batch": 200,
                "timeout": 5.0,
                "poll_interval": 0.2,
                "telegram": {
                    "overall": {"count": CAP_PER_SECOND, "per": per},
                    "per_chat": {"count": 1, "per": per},
                    "per_group": {"count": 20, "per": 60 * per},
                },
            },
        }
    )


async def _deliver(db: str, settings, base_url: str) -> tuple[float, object]:
    from bot.delivery.worker import DeliveryWorker
    from bot.platforms.telegram.sender import TelegramSender
    from bot.storage.store import Store, utcnow
    from tests.fakes.telegram_api import TEST_TOKEN

    store = Store(db)
    sender = TelegramSender.create(TEST_TOKEN, settings.delivery, base_url)
    worker = DeliveryWorker(store, {"telegram": sender}, settings)
    t0 = time.monotonic()
    report = await worker.run_once(deadline=utcnow() + timedelta(minutes=5))
    elapsed = time.monotonic() - t0
    await sender.stop()
    store.close()
    return elapsed, report


def run(chats: int, scale: float) -> dict[str, float]:
    from bot.delivery.destinations import sync_destinations
    from bot.model.messages import AlertGroup
    from bot.storage.outbox import enqueue_alerts
    from bot.storage.store import Store
    from tests.bot.outbox_helpers import alert_group
    from tests.fakes.server import RemoteFake

    with tempfile.TemporaryDirectory() as tmp:
        db = f"sqlite:///{Path(tmp) / 'bot.db'}"
        settings = _settings(chats, scale)
        store = Store(db)
        sync_destinations(store, settings)
        group: AlertGroup = alert_group(2)
        with store.transaction() as s:
            queued = enqueue_alerts(s, group_key="bench", group=group, rule_severity={})
        store.close()
        state = Path(tmp) / "fake.json"
        fake = _start_fake(state, scale)
        try:
            endpoints = json.loads(state.read_text())
            gc.collect()
            gc.freeze()  # the setup's heap (10,000 destinations...) out of every GC pass, as
            # a daemon does after start-up (see bot.runtime.delivery_main)
            cpu0 = time.process_time()
            elapsed, report = asyncio.run(_deliver(db, settings, endpoints["base_url"]))
            worker_cpu = time.process_time() - cpu0
            fake_cpu = _cpu_seconds(fake.pid)
            records = RemoteFake(endpoints["url"], timeout=60).requests(method="sendMessage")
        finally:
            fake.terminate()
            fake.wait(timeout=10)
    delivered = sorted(r["at"] for r in records if r["delivered"])
    limited = sum(1 for r in records if r["outcome"] == "rate_limited")
    span = delivered[-1] - delivered[0]
    rate = (len(delivered) - 1) / span if span > 0 else 0.0
    cap = CAP_PER_SECOND * scale
    return {
        "queued": queued,
        "delivered": len(delivered),
        "unique_chats": len({r["chat_id"] for r in records if r["delivered"]}),
        "worker_delivered": report.delivered,  # type: ignore[attr-defined]
        "seconds": elapsed,
        "rate": rate,
        "cap": cap,
        "share": rate / cap,
        "rate_limited": limited,
        "worker_cpu": worker_cpu,
        "fake_cpu": fake_cpu,
    }


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process (Linux /proc; nan elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fanout", description=__doc__)
    parser.add_argument("--chats", type=int, default=10_000)
    parser.add_argument("--scale", type=float, default=10.0, help="time scale (default 10)")
    parser.add_argument("--check", action="store_true", help="exit 1 when the target is missed")
    args = parser.parse_args(argv)
    r = run(args.chats, args.scale)
    print(
        f"fan-out: {r['delivered']:,} of {r['queued']:,} messages reached the fake Bot API "
        f"({r['unique_chats']:,} chats) in {r['seconds']:.1f} s\n"
        f"time scale x{args.scale:g}: cap {CAP_PER_SECOND} msg/s = {r['cap']:.0f} msg/s scaled; "
        f"achieved {r['rate']:.1f} msg/s = {r['share']:.1%} of the cap "
        f"({r['rate'] / args.scale:.2f} msg/s unscaled)\n"
        f"429s received: {r['rate_limited']}\n"
        f"CPU: worker {r['worker_cpu']:.1f} s ({r['worker_cpu'] / r['queued'] * 1e3:.2f} ms a "
        f"message), fake Bot API {r['fake_cpu']:.1f} s; load average "
        f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs\n"
        f"target >= {TARGET:.0%} of the cap with zero 429s: "
        + ("met" if r["share"] >= TARGET and not r["rate_limited"] else "MISSED")
    )
    ok = r["share"] >= TARGET and r["rate_limited"] == 0 and r["delivered"] == r["queued"]
    return 0 if ok or not args.check else 1


if __name__ == "__main__":
    raise SystemExit(main())
