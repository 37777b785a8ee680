"""Benchmark: how fast a chat command is answered through the Telegram path.

    python -m benchmarks.replies [--requests N] [--gap SECONDS] [--real] [--check]

The fake Bot API (tests/fakes) runs in its own process with Telegram's caps on; this process
runs `TelegramChat` (python-telegram-bot polling getUpdates) on the demo market (`--real`: the
real panel in ../shared/data, members, ETFs and caps), with the
app's middleware and the production send limiter. For each case, N commands are pushed one
at a time, each from a new private chat (so the 1-message-a-second per-chat cap never
queues them), spaced by `--gap` so the overall pacer (30 messages/s) does not either.

Latency = from just before the update is handed to the fake (the push itself is included:
its round trip is printed) to the fake recording the sendMessage / sendPhoto that answers
it; both sides read the same monotonic clock. Charts are cached per market state, so the
first chart request of a case renders (printed as "cold") and the rest reuse the PNG, as
in the running bot. Targets: text p95 < 50 ms, with chart p95 < 300 ms; `alert ...` (a new
rule of the chat's own: stored, then backtested over the whole history) p95 < 500 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEXT_TARGET = 0.050
CHART_TARGET = 0.300


@dataclass(frozen=True)
class Case:
    command: str
    chart: bool
    #: a target of its own, seconds (None: the text or chart target)
    budget: float | None = None

    @property
    def name(self) -> str:
        return f"{self.command} ({'chart' if self.chart else 'text'})"

    @property
    def target(self) -> float:
        if self.budget is not None:
            return self.budget
        return CHART_TARGET if self.chart else TEXT_TARGET


CASES = (
    Case("snapshot", False),
    Case("sector XLF", False),
    Case("top10", False),
    Case("top10 2025-09-30", False),
    Case("valuation", False),
    Case("return IWM 2025", False),
    Case("return SPY IWM 3m", False),
    Case("compare RSP SPY 2025-11", False),
    Case("mega7 2025", False),
    Case("snapshot", True),
    Case("sector XLF", True),
    Case("rotation", True),
    Case("breadth 3y", True),
    Case("chart NVDA vs SPY 3y log", True),
    Case("chart top10 max", True),
    Case("chart mega7 3y", True),
    Case("chart breadth 5y", True),
    Case("chart XLE vs XLK 1y", True),
    Case("alert breadth crosses above 70 confirm 2", False, budget=0.5),
    Case("alert XLE vs XLK above 5", False, budget=0.5),
)


@dataclass(frozen=True)
class Result:
    case: Case
    latencies: tuple[float, ...]  # seconds, in request order

    def percentile(self, q: float) -> float:
        cuts = statistics.quantiles(self.latencies, n=100, method="inclusive")
        return cuts[round(q) - 1]

    @property
    def ok(self) -> bool:
        return self.percentile(95) < self.case.target


def _start_fake(state: Path) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.telegram_api", "--state-file", str(state)], cwd=ROOT
    )
    deadline = time.monotonic() + 20
    while not state.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the fake Bot API did not start")
        time.sleep(0.05)
    return proc


async def _answered(remote, chat_id: int, timeout: float = 10.0) -> dict:
    """The fake's record of the first message sent to `chat_id` (polled over HTTP)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = await asyncio.to_thread(remote.requests, chat_id=str(chat_id))
        sent = [r for r in found if r["method"] in ("sendMessage", "sendPhoto")]
        if sent and sent[0]["outcome"] != "pending":
            return sent[0]
        await asyncio.sleep(0.002)
    raise SystemExit(f"no answer in chat {chat_id} within {timeout} s")


async def _bench(
    endpoints: dict, requests: int, gap: float, real: bool = False
) -> tuple[list[Result], float]:
    from benchmarks.realdata import real_spec
    from bot.alerts.market_state import build_market_state
    from bot.commands.context import Caller, ChatOptions, CommandContext
    from bot.commands.middleware import standard_middleware
    from bot.commands.table import Dispatcher
    from bot.config.settings import load_settings
    from bot.platforms.telegram.chat import TelegramChat
    from bot.storage import MEMORY_URL, Store
    from tests.fakes.server import RemoteFake
    from tests.fakes.telegram_api import TEST_TOKEN

    settings = load_settings(overrides={"data.source": "demo"})
    spec = real_spec() if real else settings.data.spec()
    state = await asyncio.to_thread(build_market_state, spec)
    dispatcher = Dispatcher(standard_middleware(per_minute=settings.chat.rate_per_minute))
    store = Store(MEMORY_URL)  # `alert ...` stores each chat's new rule here
    contexts = {
        charts: CommandContext(
            caller=Caller("telegram", "0", "0"),
            state=lambda: state,
            store=store,
            options=ChatOptions(charts=charts),
        )
        for charts in (True, False)
    }
    current = [contexts[False]]
    chat = TelegramChat.create(
        TEST_TOKEN,
        lambda caller: current[0].for_caller(caller),
        settings.delivery,
        dispatcher=dispatcher,
        base_url=endpoints["base_url"],
        poll_timeout=10.0,
    )
    remote = RemoteFake(endpoints["url"])
    await chat.start()
    results = []
    pushes = []
    chat_id = 10_000
    try:
        for case in CASES:
            current[0] = contexts[case.chart]
            latencies = []
            for _ in range(requests):
                chat_id += 1
                t0 = time.monotonic()
                await asyncio.to_thread(
                    remote.control, "push_command", chat_id=chat_id, user_id=chat_id,
                    text="/" + case.command,
                )  # fmt: skip
                pushes.append(time.monotonic() - t0)
                record = await _answered(remote, chat_id)
                latencies.append(record["at"] - t0)
                await asyncio.sleep(gap)
            results.append(Result(case, tuple(latencies)))
    finally:
        await chat.stop()
    return results, statistics.median(pushes)


def run(requests: int, gap: float, real: bool = False) -> tuple[list[Result], float]:
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "fake.json"
        fake = _start_fake(state)
        try:
            endpoints = json.loads(state.read_text())
            return asyncio.run(_bench(endpoints, requests, gap, real))
        finally:
            fake.terminate()
            fake.wait(timeout=10)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.replies", description=__doc__)
    parser.add_argument("--requests", type=int, default=60, help="per case (default 60)")
    parser.add_argument("--gap", type=float, default=0.05, help="seconds between requests")
    parser.add_argument("--real", action="store_true", help="the real panel in ../shared/data")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    results, push = run(max(args.requests, 2), args.gap, args.real)
    print(
        f"Telegram replies: update pushed to the fake Bot API -> answer recorded by it "
        f"({args.requests} requests a case; the push's own round trip, median "
        f"{push * 1e3:.1f} ms, is included)"
    )
    print(f"{'case':<24}{'p50':>9}{'p95':>9}{'max':>9}{'cold':>9}  target")
    for r in results:
        ms = [x * 1e3 for x in r.latencies]
        verdict = "PASS" if r.ok else "FAIL"
        print(
            f"{r.case.name:<24}{r.percentile(50) * 1e3:>7.1f}ms{r.percentile(95) * 1e3:>7.1f}ms"
            f"{max(ms):>7.1f}ms{ms[0]:>7.1f}ms  p95 < {r.case.target * 1e3:.0f} ms {verdict}"
        )
    ok = all(r.ok for r in results)
    print("PASS" if ok else "FAIL")
    return 0 if ok or not args.check else 1


if __name__ == "__main__":
    raise SystemExit(main())
