"""Destinations: the chats and channels that receive messages, as frozen values.

The config sync and the chat's subscription commands both read rows, decide, and write them
back. `Destinations.transaction()` gives them one transaction for that, so two writers racing
on one chat take turns instead of overwriting each other.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.storage.locks import serialize
from bot.storage.store import Store, as_utc
from bot.storage.tables import DeliveryRow, DestinationRow

#: (platform, chat id, thread id): what identifies a destination
ChatKey = tuple[str, str, str]
#: "all", or rule ids and/or severities
RuleFilter = str | tuple[str, ...]


@dataclass(frozen=True)
class Destination:
    """One destination row. `id` is None until the row is written."""

    platform: str
    chat_id: str
    #: Telegram topic id; "" when none
    thread_id: str
    #: "config" (re-synced from the config file at every start) or "chat" (subscribed there)
    origin: str
    created_at: datetime
    rules: RuleFilter = "all"
    #: message kind -> level, where the destination differs from the defaults
    kinds: Mapping[str, str] = field(default_factory=dict)
    muted_until: datetime | None = None
    enabled: bool = True
    disabled_reason: str | None = None
    #: an admin's private chat that receives no alerts, only what goes "to admins"
    admin_only: bool = False
    #: an operator's private chat: receives the messages sent "to admins"
    admin: bool = False
    #: the chat id before Telegram moved the group
    migrated_from: str | None = None
    id: int | None = None

    @property
    def key(self) -> ChatKey:
        return (self.platform, self.chat_id, self.thread_id)


#: the columns a `Destination` carries besides its id
_COLUMNS = tuple(f.name for f in fields(Destination) if f.name != "id")


def _value(row: DestinationRow) -> Destination:
    created = as_utc(row.created_at)
    assert created is not None  # a non-null column
    return Destination(
        id=row.id,
        platform=row.platform,
        chat_id=row.chat_id,
        thread_id=row.thread_id,
        origin=row.origin,
        created_at=created,
        rules=row.rules if isinstance(row.rules, str) else tuple(row.rules),
        kinds=dict(row.kinds or {}),
        muted_until=as_utc(row.muted_until),
        enabled=row.enabled,
        disabled_reason=row.disabled_reason,
        admin_only=row.admin_only,
        admin=row.admin,
        migrated_from=row.migrated_from,
    )


def _column(dest: Destination, name: str) -> Any:
    """A field as the row stores it: JSON lists and objects are new lists and dicts."""
    value = getattr(dest, name)
    if name == "rules":
        return value if isinstance(value, str) else list(value)
    if name == "kinds":
        return dict(value)
    return value


class DestinationTransaction:
    """Destination rows within one transaction (see `Destinations.transaction`)."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def all(self) -> list[Destination]:
        """Every row, enabled or not."""
        return [_value(r) for r in self._session.scalars(select(DestinationRow))]

    def find(self, key: ChatKey) -> Destination | None:
        platform, chat_id, thread_id = key
        row = self._session.scalars(
            select(DestinationRow).where(
                DestinationRow.platform == platform,
                DestinationRow.chat_id == chat_id,
                DestinationRow.thread_id == thread_id,
            )
        ).first()
        return None if row is None else _value(row)

    def add(self, dest: Destination) -> None:
        """A new row (written at commit)."""
        self._session.add(DestinationRow(**{name: _column(dest, name) for name in _COLUMNS}))

    def save(self, dest: Destination) -> None:
        """Write back a row read in this transaction: the fields that differ from it."""
        assert dest.id is not None, "save() takes a row read from the table"
        row = self._session.get(DestinationRow, dest.id)
        if row is None:
            raise LookupError(f"destination {dest.id} is gone")
        stored = _value(row)
        for name in _COLUMNS:
            if getattr(stored, name) != getattr(dest, name):
                setattr(row, name, _column(dest, name))

    def cancel_pending(self, destination_id: int, error: str) -> None:
        """Cancel the destination's deliveries not yet sent, recording why."""
        self._session.execute(
            update(DeliveryRow)
            .where(
                (DeliveryRow.destination_id == destination_id) & (DeliveryRow.status == "pending")
            )
            .values(status="cancelled", last_error=error)
        )


class Destinations:
    """The destinations table."""

    def __init__(self, store: Store) -> None:
        self._store = store

    @contextlib.contextmanager
    def transaction(self, *, exclusive: bool = False) -> Iterator[DestinationTransaction]:
        """Read and write rows in one transaction: committed when the block ends, rolled back
        when it raises. `exclusive`: one such transaction at a time across processes (the
        config sync of replicas starting together, which would insert the same rows)."""
        with self._store.transaction() as session:
            if exclusive:
                serialize(session, "destinations")
            yield DestinationTransaction(session)

    def find(self, key: ChatKey) -> Destination | None:
        with self.transaction() as tx:
            return tx.find(key)
