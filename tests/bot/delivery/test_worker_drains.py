"""One drain at a time per delivery worker, whoever asks for it: the interval job, an
evaluation, the startup message (all `run_once`) and `run_forever`. A drain never spins
without yielding to the event loop, even when a destination's queue dies with rows in it,
and `stop()` ends the drain that runs (sends in flight finish, the rest goes back)."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from bot.delivery.worker import DeliveryReport, DeliveryWorker
from bot.storage.outbox_claims import Job
from bot.storage.store import Store, utcnow
from tests.bot.outbox_helpers import (
    ScriptedAdapter,
    alert_group,
    enqueue,
    setup_outbox,
    statuses,
)

FAST: dict[str, Any] = {"backoff_base": 0.05, "poll_interval": 0.02}


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    s = Store(db_url)
    yield s
    s.close()


def _chats(n: int) -> list[dict[str, str]]:
    return [{"platform": "telegram", "chat_id": str(-i)} for i in range(1, n + 1)]


def _more_rounds(store: Store, rounds: int) -> None:
    base = alert_group()
    for n in range(1, rounds):
        group = dataclasses.replace(base, as_of=base.as_of + timedelta(days=n))
        enqueue(store, f"run:{n + 1}", group)


@pytest.mark.timeout(60)
def test_drains_asked_for_at_once_run_one_after_another(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    settings = setup_outbox(store, _chats(30), delivery={**FAST, "batch": 16})
    _more_rounds(store, 10)  # 300 rows
    adapter = ScriptedAdapter(delay=0.001)
    worker = DeliveryWorker(store, {"telegram": adapter}, settings)

    async def main() -> tuple[list[DeliveryReport], DeliveryReport]:
        first = asyncio.create_task(worker.run_once())
        await asyncio.sleep(0.05)  # the first drain is under way: two more ask meanwhile
        others = [asyncio.create_task(worker.run_once()) for _ in range(2)]
        await asyncio.sleep(0.05)
        timed = asyncio.create_task(worker.run_once(deadline=utcnow() + timedelta(seconds=5)))
        return await asyncio.gather(first, *others), await timed

    with caplog.at_level(logging.WARNING):
        reports, timed = asyncio.run(main())
    assert "stopped" not in caplog.text and "KeyError" not in caplog.text
    assert sum(r.delivered for r in [*reports, timed]) == 300 and len(adapter.sent) == 300
    assert set(adapter.per_chat().values()) == {10}
    assert timed.counts.sending == timed.counts.pending == 0


@pytest.mark.timeout(60)
def test_run_once_while_run_forever_runs_wakes_it_instead_of_draining_beside_it(
    store: Store,
) -> None:
    settings = setup_outbox(store, _chats(3), delivery={**FAST, "poll_interval": 30.0})
    adapter = ScriptedAdapter()
    worker = DeliveryWorker(store, {"telegram": adapter}, settings)

    async def main() -> tuple[DeliveryReport, DeliveryReport, float]:
        stop = asyncio.Event()
        forever = asyncio.create_task(worker.run_forever(stop))
        while len(adapter.sent) < 3:  # the first drain sent what was queued; now it idles
            await asyncio.sleep(0.01)
        enqueue(store, "run:2")
        t0 = time.monotonic()
        once = await worker.run_once()
        while len(adapter.sent) < 6:
            await asyncio.sleep(0.01)
        took = time.monotonic() - t0
        stop.set()
        return once, await forever, took

    once, forever, took = asyncio.run(main())
    assert took < 5  # woken at once, not after its 30 s poll interval
    assert once.delivered == 0 and forever.delivered == 6
    assert set(adapter.per_chat().values()) == {2}


@pytest.mark.timeout(60)
def test_a_queue_that_dies_with_rows_in_it_does_not_stall_the_drain(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    """The database fails twice on one outcome: that destination's task ends with three rows
    still queued. The drain forgets them (their claims run out; another pass retries them)
    and ends instead of waiting for room that never comes."""
    settings = setup_outbox(store, _chats(1), delivery={**FAST, "batch": 4})
    _more_rounds(store, 4)
    adapter = ScriptedAdapter()
    worker = DeliveryWorker(store, {"telegram": adapter}, settings)
    real = worker._db.fenced
    failures = [2]

    def flaky(writes: list[tuple[Job, dict[str, Any]]]) -> list[bool]:
        if failures[0]:
            failures[0] -= 1
            raise RuntimeError("database is locked")
        return real(writes)

    worker._db.fenced = flaky  # type: ignore[method-assign]
    t0 = time.monotonic()
    with caplog.at_level(logging.ERROR):
        report = asyncio.run(worker.run_once())
    assert time.monotonic() - t0 < 5
    assert report.delivered == 0 and "delivery to telegram -1 stopped" in caplog.text
    # once their lease has run out, the four rows are another pass's to send
    later = DeliveryWorker(
        store,
        {"telegram": adapter},
        settings,
        clock=lambda: utcnow() + settings.delivery.lease + timedelta(seconds=1),
    )
    assert asyncio.run(later.run_once()).delivered == 4
    assert statuses(store) == {"-1": ["delivered"] * 4}


@pytest.mark.timeout(60)
def test_stop_ends_the_running_drain_and_later_drains_send_nothing(store: Store) -> None:
    settings = setup_outbox(store, _chats(2), delivery=FAST)
    _more_rounds(store, 10)  # 10 messages per chat, one after another
    adapter = ScriptedAdapter(delay=0.1)
    worker = DeliveryWorker(store, {"telegram": adapter}, settings)

    async def main() -> tuple[DeliveryReport, DeliveryReport, float]:
        drain = asyncio.create_task(worker.run_once(deadline=utcnow() + timedelta(seconds=30)))
        await asyncio.sleep(0.05)
        t0 = time.monotonic()
        worker.stop()
        first = await drain
        took = time.monotonic() - t0
        return first, await worker.run_once(), took

    first, later, took = asyncio.run(main())
    assert took < 1
    assert first.delivered == len(adapter.sent) == 2  # the two sends in flight
    assert later.delivered == 0 and len(adapter.sent) == 2
    assert later.counts.sending == 0 and later.counts.pending == 18
