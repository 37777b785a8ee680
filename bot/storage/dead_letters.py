"""What an operator does with dead letters: send them again, or give them up for good.

A dead letter is an outbox row that failed past `delivery.max_age`. It stays in the outbox, so
`/status` shows it and `run --once` exits 2, until an operator decides: `retry` makes it pending
again with a fresh retry window (the age counts from the retry); `drop` marks it cancelled (kept,
for the record, but no longer a dead letter). Each is one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import update

from bot.storage.status import DeadLetter, dead_letters
from bot.storage.store import Store
from bot.storage.tables import DeliveryRow


class DeadLetters:
    """List, retry and drop the outbox's dead letters (all of them, or some by id)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def list(self) -> list[DeadLetter]:
        """Every dead letter, oldest first."""
        with self._store.transaction() as s:
            return dead_letters(s, newest_first=False)

    def retry(self, now: datetime, ids: Sequence[int] = ()) -> int:
        """Dead letters (those of `ids`, or all) pending again from `now`; how many."""
        values = {
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "claimed_until": None,
            "created_at": now,
        }
        return self._set(values, ids)

    def drop(self, ids: Sequence[int] = ()) -> int:
        """Dead letters (those of `ids`, or all) cancelled; how many."""
        return self._set({"status": "cancelled"}, ids)

    def _set(self, values: dict[str, object], ids: Sequence[int]) -> int:
        where = DeliveryRow.status == "dead"
        if ids:
            where = where & DeliveryRow.id.in_(list(ids))
        with self._store.transaction() as s:
            result = s.execute(update(DeliveryRow).where(where).values(**values))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
