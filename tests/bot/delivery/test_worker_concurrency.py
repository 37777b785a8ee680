"""Several delivery workers on one database, really concurrent: each in its own thread with its
own event loop and connection pool, as separate bot processes would be. On PostgreSQL the
outbox is claimed with FOR UPDATE SKIP LOCKED; on an SQLite file BEGIN IMMEDIATE serialises the
claims. Either way every row is claimed by one worker and delivered exactly once."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections import Counter
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from bot.delivery.sender import Adapter
from bot.delivery.worker import DeliveryReport, DeliveryWorker
from bot.model.address import Address, PartCallback, SendResult
from bot.model.messages import AlertGroup, TextMessage
from bot.storage.store import Store, utcnow
from bot.storage.tables import DeliveryRow
from tests.bot.outbox_helpers import alert_group, enqueue, setup_outbox

CHATS = 60
ROUNDS = 5  # 60 destinations x 5 alert groups = 300 outbox rows
FAST = {"backoff_base": 0.05, "poll_interval": 0.02, "batch": 16}


class RecordingAdapter(Adapter):
    """Records (worker, chat, as_of) for every message; thread-safe (list.append)."""

    name = "telegram"

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, date]] = []

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    async def send(
        self,
        address: Address,
        message: AlertGroup | TextMessage,
        *,
        silent: bool = False,
        skip_parts: int = 0,
        on_part: PartCallback | None = None,
    ) -> SendResult:
        await asyncio.sleep(0.001)  # a network round trip, so the workers interleave
        assert isinstance(message, AlertGroup)
        self.sent.append((threading.current_thread().name, address.chat_id, message.as_of))
        return SendResult()


@pytest.fixture
def store(db_url: str):
    s = Store(db_url)
    yield s
    s.close()


def _fill(store: Store):  # type: ignore[no-untyped-def]
    chats = [{"platform": "telegram", "chat_id": str(-i)} for i in range(1, CHATS + 1)]
    settings = setup_outbox(store, chats, delivery=FAST)  # round 0
    base = alert_group()
    for n in range(1, ROUNDS):
        group = dataclasses.replace(base, as_of=base.as_of + timedelta(days=n))
        assert enqueue(store, f"run:{n + 1}", group) == CHATS
    return settings


def test_two_workers_in_two_threads_deliver_each_row_exactly_once(db_url, store) -> None:
    settings = _fill(store)
    adapter = RecordingAdapter()
    reports: dict[str, DeliveryReport] = {}
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def work() -> None:
        own = Store(db_url)  # its own engine and connections, like another process
        try:
            worker = DeliveryWorker(own, {"telegram": adapter}, settings)
            barrier.wait()
            deadline = utcnow() + timedelta(seconds=30)
            reports[threading.current_thread().name] = asyncio.run(worker.run_once(deadline))
        except BaseException as exc:  # re-raised in the test thread
            errors.append(exc)
        finally:
            own.close()

    threads = [threading.Thread(target=work, name=f"w{i}") for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    total = CHATS * ROUNDS
    per_message = Counter((chat, as_of) for _, chat, as_of in adapter.sent)
    assert len(per_message) == total and set(per_message.values()) == {1}
    assert sum(r.delivered for r in reports.values()) == total
    assert all(r.lost == 0 for r in reports.values())
    # (which worker sent what is up to the scheduler: one may take everything; the claim
    # test below hammers the claims themselves)
    with store.transaction() as s:
        rows = s.execute(
            select(DeliveryRow.status, DeliveryRow.attempts, func.count()).group_by(
                DeliveryRow.status, DeliveryRow.attempts
            )
        ).all()
    assert rows == [("delivered", 1, total)]
    # each chat got its five messages in the order they were queued
    for chat in {c for _, c, _ in adapter.sent}:
        days = [d for _, c, d in adapter.sent if c == chat]
        assert days == sorted(days)


def test_concurrent_claims_never_overlap(db_url, store) -> None:
    """The claim itself, hammered by four threads: disjoint claims covering the outbox, each
    destination claimed whole by one worker (a limit of two destinations' rows a claim)."""
    _fill(store)
    with store.transaction() as s:
        all_ids = set(s.scalars(select(DeliveryRow.id)))
    claims: dict[str, list[int]] = {}
    barrier = threading.Barrier(4)

    def claim() -> None:
        own = Store(db_url)
        name = threading.current_thread().name
        mine: list[int] = []
        try:
            barrier.wait()
            while ids := own.claim_deliveries(name, limit=2 * ROUNDS, lease=timedelta(minutes=5)):
                mine += ids
        finally:
            own.close()
            claims[name] = mine

    threads = [threading.Thread(target=claim, name=f"c{i}") for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    flat = [i for ids in claims.values() for i in ids]
    assert len(flat) == len(set(flat)) == len(all_ids) == CHATS * ROUNDS
    assert set(flat) == all_ids
    assert store.queue_counts().sending == CHATS * ROUNDS
    with store.transaction() as s:
        owner = dict(s.execute(select(DeliveryRow.id, DeliveryRow.destination_id)).all())
    for ids in claims.values():  # no destination's rows are split between two workers
        for other in claims.values():
            if other is not ids:
                assert not {owner[i] for i in ids} & {owner[i] for i in other}
