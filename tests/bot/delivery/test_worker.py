"""Delivery worker logic with a scripted in-memory adapter: outcomes, retries, dead letters,
refusals, migration, resumed split messages, isolation, two workers, shutdown.

Real HTTP against the fake Telegram / Slack servers is in test_delivery_faults.py."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta

import pytest

from bot.delivery.worker import DeliveryWorker
from bot.model.errors import DeliveryError
from bot.storage.store import Store, utcnow
from tests.bot.outbox_helpers import (
    ScriptedAdapter,
    delivery_rows,
    destination,
    enqueue,
    setup_outbox,
    statuses,
)

FAST = {"backoff_base": 0.05, "poll_interval": 0.02}
TG = [{"platform": "telegram", "chat_id": c} for c in ("-1", "-2", "-3")]


@pytest.fixture
def store(db_url):
    s = Store(db_url)
    yield s
    s.close()


def _naive(ts):
    return ts.replace(tzinfo=None)


def _run(worker: DeliveryWorker, seconds: float = 5.0):
    return asyncio.run(worker.run_once(deadline=utcnow() + timedelta(seconds=seconds)))


def test_every_destination_gets_the_group_once(store) -> None:
    settings = setup_outbox(store, TG, delivery=FAST)
    adapter = ScriptedAdapter()
    report = _run(DeliveryWorker(store, {"telegram": adapter}, settings))
    assert adapter.per_chat() == {"-1": 1, "-2": 1, "-3": 1}
    assert report.delivered == 3 and report.counts.delivered == 3
    assert report.counts.pending == report.counts.retrying == report.counts.sending == 0
    # a second run finds nothing to do
    assert _run(DeliveryWorker(store, {"telegram": adapter}, settings)).delivered == 0
    assert len(adapter.sent) == 3


def test_retry_after_waits_and_does_not_count_as_an_attempt(store) -> None:
    settings = setup_outbox(store, TG[:1], delivery=FAST)
    adapter = ScriptedAdapter(script={"-1": [DeliveryError("429", retry_after=0.3)]})
    worker = DeliveryWorker(store, {"telegram": adapter}, settings)
    first = asyncio.run(worker.run_once())  # no deadline: one pass
    assert first.deferred == 1 and first.counts.retrying == 1
    row = delivery_rows(store)[0]
    assert row.attempts == 0 and "429" in row.last_error
    wait = (_naive(row.next_attempt_at) - _naive(row.created_at)).total_seconds()
    assert 0.25 <= wait <= 1.0
    t0 = time.monotonic()
    report = _run(worker)
    assert report.delivered == 1 and adapter.per_chat() == {"-1": 1}
    assert time.monotonic() - t0 < 5.0  # it waited out retry_after, not a backoff ladder


def test_transient_failures_back_off_exponentially_then_deliver(store) -> None:
    settings = setup_outbox(store, TG[:1], delivery=FAST)
    adapter = ScriptedAdapter(script={"-1": [DeliveryError("500") for _ in range(3)]})
    worker = DeliveryWorker(store, {"telegram": adapter}, settings)
    delays = []
    for _ in range(3):
        before = utcnow()
        asyncio.run(worker.run_once())
        due = delivery_rows(store)[0].next_attempt_at
        delays.append((_naive(due) - _naive(before)).total_seconds())
        time.sleep(max(0.0, (_naive(due) - _naive(utcnow())).total_seconds()))
    # base 0.05 s doubling, jitter x[0.5, 1]: 0.025-0.05, 0.05-0.1, 0.1-0.2, plus the pass's
    # own run time (generous: a loaded CI machine is slow, and this is not a speed test)
    for n, delay in enumerate(delays):
        assert 0.05 * 2**n * 0.5 <= delay <= 0.05 * 2**n + 0.5, (n, delays)
    assert delivery_rows(store)[0].attempts == 3
    report = _run(worker)
    assert report.delivered == 1
    assert delivery_rows(store)[0].attempts == 4  # three failures and the send that worked


def test_failures_past_max_age_become_dead_letters(store, caplog) -> None:
    settings = setup_outbox(store, TG[:2], delivery={**FAST, "max_age": 0.4})
    adapter = ScriptedAdapter(script={"-1": [DeliveryError("500 boom")] * 100})
    with caplog.at_level(logging.WARNING):
        report = _run(DeliveryWorker(store, {"telegram": adapter}, settings), seconds=3)
    assert statuses(store) == {"-1": ["dead"], "-2": ["delivered"]}
    assert report.dead == 1 and report.counts.dead == 1
    assert "dead letter: 500 boom" in caplog.text and "telegram -1" in caplog.text
    assert report.retried >= 2  # it was retried before it died


def test_a_permanent_refusal_disables_the_destination_once(store, caplog) -> None:
    settings = setup_outbox(store, TG, delivery=FAST)
    enqueue(store, "run:2")
    adapter = ScriptedAdapter(
        script={"-2": [DeliveryError("refused (403): bot was blocked", permanent=True)]}
    )
    with caplog.at_level(logging.WARNING):
        report = _run(DeliveryWorker(store, {"telegram": adapter}, settings))
    assert statuses(store) == {
        "-1": ["delivered", "delivered"],
        "-2": ["cancelled", "cancelled"],
        "-3": ["delivered", "delivered"],
    }
    dest = destination(store, "-2")
    assert not dest.enabled and "bot was blocked" in dest.disabled_reason
    assert report.disabled == 1
    assert caplog.text.count("destination telegram -2 disabled") == 1
    # new alerts are not queued for it any more
    assert enqueue(store, "run:3") == 2


def test_chat_migrated_moves_the_destination(store) -> None:
    settings = setup_outbox(store, TG[:1], delivery=FAST)
    adapter = ScriptedAdapter(migrate={"-1": "-1009"})
    report = _run(DeliveryWorker(store, {"telegram": adapter}, settings))
    assert report.migrated == 1 and adapter.per_chat() == {"-1009": 1}
    dest = destination(store, "-1009")
    assert dest.migrated_from == "-1" and dest.enabled


@pytest.mark.parametrize("batch", [2, 200])
def test_a_redirect_onto_another_destination_stops_after_the_message_in_flight(
    store, batch
) -> None:
    """An adapter that followed a migration without asking first (the Telegram sender asks,
    see test_delivery_faults.py): the message in flight already reached the other
    destination's chat; the old destination is disabled and the rest of its rows cancelled,
    claimed or not (a small batch leaves some unclaimed), instead of repeating each there."""
    dests = [TG[0], {"platform": "telegram", "chat_id": "-1009"}]
    settings = setup_outbox(store, dests, delivery={**FAST, "batch": batch})
    enqueue(store, "run:2")
    enqueue(store, "run:3")
    adapter = ScriptedAdapter(migrate={"-1": "-1009"})
    report = _run(DeliveryWorker(store, {"telegram": adapter}, settings))
    assert adapter.per_chat() == {"-1009": 4}  # its own three and the one in flight
    old = destination(store, "-1")
    assert not old.enabled and "-1009" in old.disabled_reason
    assert statuses(store) == {
        "-1": ["delivered", "cancelled", "cancelled"],
        "-1009": ["delivered"] * 3,
    }
    assert report.migrated == 1 and report.counts.pending == report.counts.sending == 0


def test_a_split_message_resumes_after_the_parts_sent(store) -> None:
    settings = setup_outbox(store, TG[:1], delivery=FAST)
    adapter = ScriptedAdapter(parts=3, script={"-1": [None, DeliveryError("timed out")]})
    worker = DeliveryWorker(store, {"telegram": adapter}, settings)
    asyncio.run(worker.run_once())
    assert delivery_rows(store)[0].parts_sent == 1  # part 1 went out, part 2 failed
    _run(worker)
    assert [s.part for s in adapter.sent] == [1, 2, 3]  # part 1 never repeated
    row = delivery_rows(store)[0]
    assert row.status == "delivered" and row.parts_sent == 3


def test_one_slow_destination_never_delays_the_others(store) -> None:
    chats = [{"platform": "telegram", "chat_id": str(-i)} for i in range(1, 21)]
    settings = setup_outbox(store, chats, delivery=FAST)
    enqueue(store, "run:2")
    adapter = ScriptedAdapter(script={"-1": [1.5]})  # the first send to -1 hangs 1.5 s

    async def main() -> dict[str, float]:
        worker = DeliveryWorker(store, {"telegram": adapter}, settings)
        t0 = time.monotonic()
        done: dict[str, float] = {}
        task = asyncio.create_task(worker.run_once(deadline=utcnow() + timedelta(seconds=5)))
        while len(done) < 19:
            await asyncio.sleep(0.01)
            for s in adapter.sent:
                done.setdefault(s.chat_id, time.monotonic() - t0)
        await task
        return done

    done = asyncio.run(main())
    assert max(t for chat, t in done.items() if chat != "-1") < 0.5
    assert adapter.per_chat()["-1"] == 2  # its two messages, in order, after the hang
    assert all(s == ["delivered", "delivered"] for s in statuses(store).values())


def test_missing_sender_keeps_rows_until_they_age_out(store, caplog) -> None:
    settings = setup_outbox(
        store, [{"platform": "slack", "channel": "C1"}], delivery={**FAST, "max_age": 0.3}
    )
    report = _run(DeliveryWorker(store, {}, settings), seconds=2)
    assert report.dead == 1
    assert caplog.text.count("no slack sender (is its token set?)") == 1


def test_two_workers_on_one_file_deliver_each_row_once(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    store = Store(url)
    chats = [{"platform": "telegram", "chat_id": str(-i)} for i in range(1, 121)]
    settings = setup_outbox(store, chats, delivery={**FAST, "batch": 10})
    adapter = ScriptedAdapter(delay=0.002)

    async def main() -> list:
        deadline = utcnow() + timedelta(seconds=10)
        stores = [Store(url), Store(url)]
        workers = [DeliveryWorker(s, {"telegram": adapter}, settings) for s in stores]
        reports = await asyncio.gather(*(w.run_once(deadline) for w in workers))
        for s in stores:
            s.close()
        return reports

    reports = asyncio.run(main())
    assert sum(r.delivered for r in reports) == 120
    assert len(adapter.sent) == 120 and set(adapter.per_chat().values()) == {1}
    store.close()


def test_a_claim_taken_over_after_its_lease_is_not_overwritten(store) -> None:
    settings = setup_outbox(store, TG[:1], delivery=FAST)
    adapter = ScriptedAdapter(script={"-1": [0.5]})  # slower than the lease below

    async def main() -> tuple:
        # a worker whose event loop is stuck: it cannot claim again, its lease runs out
        stuck = {"lease": timedelta(seconds=0.2), "poll_interval": 10.0}
        short = settings.delivery.model_copy(update=stuck)
        slow = DeliveryWorker(store, {"telegram": adapter}, short)
        task = asyncio.create_task(slow.run_once())
        await asyncio.sleep(0.3)  # the lease ran out mid-send: another worker takes over
        other = DeliveryWorker(store, {"telegram": ScriptedAdapter()}, settings)
        second = await other.run_once()
        return await task, second

    first, second = asyncio.run(main())
    assert second.delivered == 1
    assert first.lost == 1 and first.delivered == 0  # it noticed and recorded nothing
    assert delivery_rows(store)[0].status == "delivered"


def test_a_live_worker_keeps_its_rows_when_their_lease_runs_out(store) -> None:
    """Re-claiming its own row (still being sent) must not queue it twice."""
    settings = setup_outbox(store, TG[:1], delivery=FAST)
    # shorter than the send on purpose (validation would refuse it)
    short = settings.delivery.model_copy(update={"lease": timedelta(seconds=0.1)})
    adapter = ScriptedAdapter(script={"-1": [0.4]})
    report = asyncio.run(DeliveryWorker(store, {"telegram": adapter}, short).run_once())
    assert report.delivered == 1 and report.lost == 0 and len(adapter.sent) == 1


def test_each_part_renews_the_claim_so_a_long_split_message_is_never_taken_over(store) -> None:
    """Four parts of 0.25 s each under a 0.6 s lease: the whole send outlasts the lease, no
    part does. A rival worker polling all along must never get the row."""
    settings = setup_outbox(store, TG[:1], delivery=FAST)
    # shorter than the whole send on purpose (validation would refuse it)
    short = settings.delivery.model_copy(update={"lease": timedelta(seconds=0.6)})
    adapter, rival_adapter = ScriptedAdapter(parts=4, delay=0.25), ScriptedAdapter(parts=4)

    async def main() -> tuple:
        first = DeliveryWorker(store, {"telegram": adapter}, short)
        rival = DeliveryWorker(store, {"telegram": rival_adapter}, short)
        task = asyncio.create_task(first.run_once())
        await asyncio.sleep(0.05)  # the first worker holds the row now
        second = await rival.run_once(deadline=utcnow() + timedelta(seconds=1.5))
        return await task, second

    first, second = asyncio.run(main())
    assert rival_adapter.sent == [] and second.delivered == 0
    assert first.delivered == 1 and first.lost == 0 and len(adapter.sent) == 4
    assert delivery_rows(store)[0].status == "delivered"


def test_stop_finishes_sends_in_flight_and_puts_the_rest_back(store) -> None:
    settings = setup_outbox(store, TG[:2], delivery=FAST)
    for n in range(2, 11):
        enqueue(store, f"run:{n}")  # 10 messages per chat, sent one after another
    adapter = ScriptedAdapter(delay=0.1)

    async def main():
        stop = asyncio.Event()
        worker = DeliveryWorker(store, {"telegram": adapter}, settings)
        task = asyncio.create_task(worker.run_forever(stop))
        await asyncio.sleep(0.05)
        stop.set()
        t0 = time.monotonic()
        report = await task
        return report, time.monotonic() - t0

    report, took = asyncio.run(main())
    assert took < 0.5
    counts = report.counts
    assert counts.sending == 0  # nothing left claimed: a restart need not wait for leases
    assert counts.delivered == len(adapter.sent) == 2  # the two sends in flight
    assert counts.pending == 18


def test_group_commit_batches_concurrent_outcomes_and_answers_each_caller() -> None:
    from bot.storage.outbox_claims import GroupCommit

    batches: list[list[int]] = []

    async def commit(writes):
        await asyncio.sleep(0.01)  # a commit takes a while; more writes queue meanwhile
        batches.append([job for job, _ in writes])
        if any(job == 13 for job, _ in writes):
            raise RuntimeError("disk full")
        return [job % 2 == 0 for job, _ in writes]

    async def main():
        gc = GroupCommit(commit)

        async def one(n: int):
            await asyncio.sleep(0.001 * (n % 5))
            try:
                return await gc.write(n, {})
            except RuntimeError as exc:
                return str(exc)

        return await asyncio.gather(*(one(n) for n in range(40)))

    results = asyncio.run(main())
    assert sorted(n for b in batches for n in b) == list(range(40))
    assert 1 < len(batches) < 10  # batched, not one commit per write
    failed = next(b for b in batches if 13 in b)
    for n, result in enumerate(results):
        assert result == ("disk full" if n in failed else n % 2 == 0)
