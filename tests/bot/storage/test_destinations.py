"""Destination rows as frozen values: what a write changes, what a failed block leaves, and
which deliveries a cancellation touches."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.storage.destinations import Destination, Destinations
from bot.storage.store import Store
from bot.storage.tables import DeliveryRow, DestinationRow

NOW = datetime(2026, 3, 2, 22, 0, tzinfo=UTC)


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    s = Store(db_url)
    yield s
    s.close()


def _chat(
    chat_id: str = "42",
    rules: str | tuple[str, ...] = "all",
    kinds: dict[str, str] | None = None,
    muted_until: datetime | None = None,
) -> Destination:
    return Destination(
        "telegram", chat_id, "", "chat", NOW, rules, kinds or {}, muted_until=muted_until
    )


def test_a_written_row_reads_back_as_the_same_value(store: Store) -> None:
    muted = NOW + timedelta(hours=2)
    with Destinations(store).transaction() as tx:
        tx.add(_chat(rules=("breadth", "warning"), kinds={"resolved": "off"}, muted_until=muted))
    got = Destinations(store).find(("telegram", "42", ""))
    assert got is not None and got.id is not None
    assert replace(got, id=None) == _chat(
        rules=("breadth", "warning"), kinds={"resolved": "off"}, muted_until=muted
    )
    assert got.created_at.tzinfo is not None  # SQLite's naive datetimes come back in UTC
    with store.transaction() as s:
        (row,) = s.scalars(select(DestinationRow))
        assert row.rules == ["breadth", "warning"]  # stored as the JSON list it always was
    assert Destinations(store).find(("telegram", "42", "7")) is None  # the thread is the key


def test_save_writes_the_new_values_and_a_failed_block_writes_nothing(store: Store) -> None:
    repo = Destinations(store)
    with repo.transaction() as tx:
        tx.add(_chat())
    first = repo.find(("telegram", "42", ""))
    assert first is not None
    with repo.transaction() as tx:
        tx.save(replace(first, enabled=False, disabled_reason="unsubscribed"))
    with pytest.raises(RuntimeError), repo.transaction() as tx:
        tx.save(replace(first, rules=("breadth",)))
        raise RuntimeError("the caller changed its mind")
    got = repo.find(("telegram", "42", ""))
    assert got == replace(first, enabled=False, disabled_reason="unsubscribed")


def test_cancel_pending_touches_only_that_destinations_pending_rows(store: Store) -> None:
    repo = Destinations(store)
    with repo.transaction() as tx:
        tx.add(_chat("1"))
        tx.add(_chat("2"))
    ids = {d.chat_id: d.id for d in _all(repo)}
    with store.transaction() as s:
        for chat, status in (("1", "pending"), ("1", "delivered"), ("2", "pending")):
            dest = ids[chat]
            assert dest is not None
            s.add(
                DeliveryRow(
                    destination_id=dest,
                    group_key=f"run:{chat}:{status}",
                    kind="alert",
                    status=status,
                    next_attempt_at=NOW,
                    created_at=NOW,
                )
            )
    with repo.transaction() as tx:
        tx.cancel_pending(ids["1"] or 0, "removed from config")
    with store.transaction() as s:
        rows = s.execute(
            select(DestinationRow.chat_id, DeliveryRow.status, DeliveryRow.last_error)
            .join(DestinationRow, DestinationRow.id == DeliveryRow.destination_id)
            .order_by(DeliveryRow.id)
        ).all()
    assert [tuple(r) for r in rows] == [
        ("1", "cancelled", "removed from config"),
        ("1", "delivered", None),
        ("2", "pending", None),
    ]


def _all(repo: Destinations) -> list[Destination]:
    with repo.transaction() as tx:
        return tx.all()
