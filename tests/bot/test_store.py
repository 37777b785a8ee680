"""Store: schema creation, reopening, transactions and outbox claims on SQLite (and on
PostgreSQL when TEST_DATABASE_URL is set)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bot.db_models import AlertRow, DeliveryRow, DestinationRow
from bot.store import Store, utcnow


@pytest.fixture
def store(db_url: str):
    s = Store(db_url)
    yield s
    s.close()


def _alert(**kw) -> AlertRow:
    base = dict(
        rule_id="r",
        transition="fired",
        session=date(2026, 3, 2),
        kind="alert",
        severity="info",
        value=66.0,
        threshold=65.0,
        message="m",
        created_at=utcnow(),
    )
    base.update(kw)
    return AlertRow(**base)


def test_schema_survives_reopen(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    s1 = Store(url)
    with s1.transaction() as s:
        s.add(_alert())
    s1.close()
    s2 = Store(url)  # create_all again must keep the data
    with s2.transaction() as s:
        assert len(s.scalars(select(AlertRow)).all()) == 1
    s2.close()


def test_alert_key_is_unique(store: Store) -> None:
    with store.transaction() as s:
        s.add(_alert())
    with pytest.raises(IntegrityError), store.transaction() as s:
        s.add(_alert(value=70.0))
    with store.transaction() as s:
        assert len(s.scalars(select(AlertRow)).all()) == 1


def test_failed_transaction_rolls_back_everything(store: Store) -> None:
    with pytest.raises(RuntimeError), store.transaction() as s:
        s.add(_alert(rule_id="x"))
        s.flush()
        raise RuntimeError("boom")
    with store.transaction() as s:
        assert s.scalars(select(AlertRow)).all() == []


def _delivery(dest_id: int, key: str, **kw) -> DeliveryRow:
    now = utcnow()
    base = dict(
        destination_id=dest_id,
        group_key=key,
        kind="alert",
        payload={},
        next_attempt_at=now - timedelta(seconds=1),
        created_at=now,
    )
    base.update(kw)
    return DeliveryRow(**base)


def test_claims_are_exclusive_and_leases_expire(store: Store) -> None:
    with store.transaction() as s:
        a = DestinationRow(platform="telegram", chat_id="1", created_at=utcnow())
        b = DestinationRow(platform="telegram", chat_id="2", created_at=utcnow())
        s.add_all([a, b])
        s.flush()
        s.add_all([_delivery(a.id, f"a{i}") for i in range(5)])
        s.add_all([_delivery(b.id, f"b{i}") for i in range(2)])
    first = store.claim_deliveries("a", limit=3)
    # chat 1 is leased by worker a: worker b gets chat 2 only, never the rest of chat 1
    second = store.claim_deliveries("b", limit=10)
    assert len(first) == 3 and len(second) == 2 and not set(first) & set(second)
    assert store.claim_deliveries("c") == []  # chat 1's tail waits for its head
    counts = store.queue_counts()
    assert counts.sending == 5 and counts.pending == 2
    # once chat 1's claimed rows are done, its tail is claimable, in order
    with store.transaction() as s:
        for rid in first:
            s.get(DeliveryRow, rid).status = "delivered"
    tail = store.claim_deliveries("d")
    assert len(tail) == 2 and min(tail) > max(first)
    # an expired lease (a crashed worker) makes the row claimable again
    with store.transaction() as s:
        s.get(DeliveryRow, tail[0]).claimed_until = utcnow() - timedelta(seconds=1)
        s.get(DeliveryRow, tail[1]).claimed_until = utcnow() - timedelta(seconds=1)
    assert sorted(store.claim_deliveries("e")) == sorted(tail)


def test_future_rows_are_not_claimed(store: Store) -> None:
    with store.transaction() as s:
        d = DestinationRow(platform="slack", chat_id="C1", created_at=utcnow())
        s.add(d)
        s.flush()
        s.add(_delivery(d.id, "later", next_attempt_at=utcnow() + timedelta(minutes=5), attempts=1))
    assert store.claim_deliveries("w") == []
    assert store.queue_counts().retrying == 1
