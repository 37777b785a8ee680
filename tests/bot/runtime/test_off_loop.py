"""Work the shutdown abandons rather than waits for (`bot.runtime.off_loop`), and the
evaluation it abandons: given up while it runs, it commits nothing, and evaluating again
later does the work."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pandas as pd
import pytest
from sqlalchemy import text

from bot.alerts import Engine
from bot.config.settings import Settings
from bot.delivery.destinations import sync_destinations
from bot.runtime.off_loop import Interrupted, off_loop
from bot.storage import EvaluationAbandoned, Store
from signals.indicators import SignalHistory
from signals.market import MarketData
from signals.rules import RuleSpec

#: two sessions of the demo (seed 7) with alerts between them
D1, D2 = pd.Timestamp("2026-06-01"), pd.Timestamp("2026-07-16")
NOW = datetime(2026, 7, 16, 21, 30, tzinfo=UTC)
#: generous bound for what must happen "at once" (a blocked thread is never waited for)
PROMPT = 5.0


# --- off_loop ----------------------------------------------------------------------------


def test_the_result_and_the_exception_come_back() -> None:
    async def main() -> None:
        stop = asyncio.Event()
        assert await off_loop(sum, (1, 2, 3), stop=stop) == 6
        with pytest.raises(ZeroDivisionError):
            await off_loop(divmod, 1, 0, stop=stop)

    asyncio.run(main())


def test_a_stop_abandons_a_blocked_call_and_sets_its_cancel() -> None:
    release = threading.Event()  # never set while the call is awaited: it stays blocked
    cancel = threading.Event()
    threads: list[threading.Thread] = []

    def blocked() -> str:
        threads.append(threading.current_thread())
        release.wait()
        return "late"

    async def main() -> None:
        stop = asyncio.Event()
        call = asyncio.create_task(off_loop(blocked, stop=stop, cancel=cancel))
        while not threads:
            await asyncio.sleep(0.01)
        stop.set()
        with pytest.raises(Interrupted):
            await asyncio.wait_for(call, PROMPT)

    asyncio.run(main())  # returns although the thread still runs: nothing joins it
    assert cancel.is_set()
    assert threads[0].daemon and threads[0].is_alive()
    release.set()
    threads[0].join(PROMPT)


def test_cancelling_the_awaiting_task_sets_cancel_too() -> None:
    release, cancel = threading.Event(), threading.Event()
    started = threading.Event()

    def blocked() -> None:
        started.set()
        release.wait()

    async def main() -> None:
        call = asyncio.create_task(off_loop(blocked, stop=asyncio.Event(), cancel=cancel))
        while not started.is_set():
            await asyncio.sleep(0.01)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(call, PROMPT)

    asyncio.run(main())
    assert cancel.is_set()
    release.set()


def test_nothing_starts_once_stopped() -> None:
    ran = threading.Event()

    async def main() -> None:
        stop = asyncio.Event()
        stop.set()
        with pytest.raises(Interrupted):
            await off_loop(ran.set, stop=stop)

    asyncio.run(main())
    assert not ran.is_set()


# --- the abandoned evaluation ------------------------------------------------------------


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    s = Store(db_url)
    settings = Settings.model_validate({"destinations": [{"platform": "telegram", "chat_id": "7"}]})
    sync_destinations(s, settings)
    yield s
    s.close()


def _counts(store: Store) -> dict[str, int]:
    with store.transaction() as s:
        return {
            table: int(s.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
            for table in ("runs", "engine_state", "rule_states", "alerts", "deliveries")
        }


def test_an_evaluation_given_up_before_its_commit_writes_nothing(
    store: Store,
    demo_data: MarketData,
    demo_history: SignalHistory,
    default_rules: list[RuleSpec],
) -> None:
    Engine(store, default_rules).evaluate(demo_history, demo_data, D1, NOW)  # first start
    before = _counts(store)
    cancel = threading.Event()

    def clock() -> datetime:  # read as the run is finished, after every write: stop now
        cancel.set()
        return NOW

    engine = Engine(store, default_rules, clock=clock)
    with pytest.raises(EvaluationAbandoned):
        engine.evaluate(demo_history, demo_data, D2, NOW, cancel=cancel)
    assert cancel.is_set()
    assert _counts(store) == before

    result = Engine(store, default_rules).evaluate(demo_history, demo_data, D2, NOW)
    assert result.outcome == "evaluated" and result.alerts  # the work was done again, whole
    after = _counts(store)
    assert after["runs"] == before["runs"] + 1
    assert after["alerts"] > before["alerts"] and after["deliveries"] > before["deliveries"]


def test_an_evaluation_given_up_before_it_starts_writes_nothing(
    store: Store,
    demo_data: MarketData,
    demo_history: SignalHistory,
    default_rules: list[RuleSpec],
) -> None:
    Engine(store, default_rules).evaluate(demo_history, demo_data, D1, NOW)
    before = _counts(store)
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(EvaluationAbandoned):
        Engine(store, default_rules).evaluate(demo_history, demo_data, D2, NOW, cancel=cancel)
    assert _counts(store) == before
