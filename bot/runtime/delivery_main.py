"""`python -m bot.runtime.delivery_main`: a delivery worker on its own, for tests and operators.

Delivers what the outbox holds, with the senders whose tokens are in the environment, the
config found as usual (ROTATION_BOT_CONFIG, ...) and DATABASE_URL. It does not evaluate or
sync destinations (`rotation-bot run` does). `--once` retries for at most `--max-age` seconds
(default 60, as `run --once`); as `run --once`, it exits 2 when the database holds dead
letters at the end, else 0 (rows another worker still holds are not a failure). Without
`--once` it runs until SIGTERM / SIGINT and exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import signal
import sys
from collections.abc import Sequence
from datetime import timedelta

from bot.config import load_settings
from bot.delivery import DeliveryReport, DeliveryWorker
from bot.model import Clock, install, install_hooks, utcnow
from bot.platforms import build_senders
from bot.storage import Store


async def _serve(args: argparse.Namespace, clock: Clock = utcnow) -> DeliveryReport:
    settings = load_settings(args.config)
    store = Store(settings.database_url)
    senders = build_senders(settings)
    for sender in senders.values():
        await sender.start()
    # Start-up objects (settings, libraries, the engine) live as long as the process: keep
    # them out of every garbage-collector pass, whose pauses otherwise stall the send pacing.
    gc.collect()
    gc.freeze()
    try:
        if args.once:
            age = timedelta(seconds=args.max_age)
            worker = DeliveryWorker(store, senders, settings, clock=clock, max_age=age)
            return await worker.run_once(deadline=clock() + age)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        return await DeliveryWorker(store, senders, settings, clock=clock).run_forever(stop)
    finally:
        for sender in senders.values():
            await sender.stop()
        store.close()


def _seconds(text: str) -> float:
    """A positive, finite number of seconds (a deadline is now plus it)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < value <= 86_400:
        raise argparse.ArgumentTypeError(f"must be more than 0 and at most 86400, not {text}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bot.runtime.delivery_main", description=__doc__
    )
    parser.add_argument("--config", metavar="FILE")
    parser.add_argument("--once", action="store_true", help="deliver what is due, then exit")
    parser.add_argument("--max-age", type=_seconds, default=60.0, metavar="SECONDS")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    install()
    install_hooks()
    report = asyncio.run(_serve(args))
    c = report.counts
    print(
        f"delivered {report.delivered}, dead {c.dead}, pending {c.pending + c.retrying}",
        file=sys.stderr,
    )
    return 2 if args.once and c.dead else 0


if __name__ == "__main__":
    raise SystemExit(main())
