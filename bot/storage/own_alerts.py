"""Rules of a chat's own: the rows behind `alert ...`, their state, and their deliveries.

A chat's rule is stored with its canonical text and its spec (the keys of
`signals.rules.RuleSpec.from_dict` plus the subject it reads); the engine keeps its state
machine in the same row, so deleting a rule takes its state with it. Rows are never removed:
a deleted rule is flagged, so its id (and the alert log's keys `own:<id>`) is never reused.

Delivery goes to the chat's own destination row only, whatever that row's rule filter says
(configured alerts never pass that filter to a chat that only made rules: such a row is
created `admin_only`, origin "own"). A disabled or muted chat gets nothing.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.model import AlertGroup, Level, levels_with
from bot.storage.destinations import ChatKey
from bot.storage.locks import serialize
from bot.storage.outbox import _group_kind, _insert_new, _row
from bot.storage.store import Store, as_utc
from bot.storage.tables import DeliveryRow, DestinationRow, OwnAlertRow
from signals.rules import RuleState

#: the prefix of an own rule's id in the alert log and the engine (`own:17`)
OWN_RULE_PREFIX = "own:"
#: origin of a destination row made only to carry a chat's own alerts
OWN_ORIGIN = "own"
#: tries of an insert that lost the race for the chat's next number
_TRIES = 3


class OwnAlertLimit(Exception):
    """The chat already holds as many rules as it may; nothing was stored."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"at most {limit} rules per chat")
        self.limit = limit


@dataclass(frozen=True)
class OwnAlert:
    """One stored rule of a chat. `state` is None until the engine starts it silently."""

    id: int
    chat: ChatKey
    number: int
    text: str
    spec: Mapping[str, Any]
    paused: bool
    created_by: str
    created_at: datetime
    state: RuleState | None = None
    state_session: date | None = None

    @property
    def rule_id(self) -> str:
        """The id the engine and the alert log know the rule by."""
        return f"{OWN_RULE_PREFIX}{self.id}"


def _value(row: OwnAlertRow) -> OwnAlert:
    created = as_utc(row.created_at)
    assert created is not None  # a non-null column
    state = None
    if row.state is not None:
        try:
            state = RuleState.from_dict(row.state)
        except ValueError:  # a state this version cannot read: started again, silently
            state = None
    return OwnAlert(
        id=row.id,
        chat=(row.platform, row.chat_id, row.thread_id),
        number=row.number,
        text=row.text,
        spec=dict(row.spec),
        paused=row.paused,
        created_by=row.created_by,
        created_at=created,
        state=state,
        state_session=row.state_session,
    )


def _of_chat(chat: ChatKey) -> Any:
    platform, chat_id, thread_id = chat
    return (
        (OwnAlertRow.platform == platform)
        & (OwnAlertRow.chat_id == chat_id)
        & (OwnAlertRow.thread_id == thread_id)
    )


def _chat_destination(session: Session, chat: ChatKey, now: datetime) -> DestinationRow:
    """The chat's destination row; a new one (origin own, admin_only: no configured alert
    reaches it) when the chat has none."""
    platform, chat_id, thread_id = chat
    row = session.scalars(
        select(DestinationRow).where(
            (DestinationRow.platform == platform)
            & (DestinationRow.chat_id == chat_id)
            & (DestinationRow.thread_id == thread_id)
        )
    ).first()
    if row is None:
        row = DestinationRow(
            platform=platform,
            chat_id=chat_id,
            thread_id=thread_id,
            rules=[],
            kinds={},
            enabled=True,
            origin=OWN_ORIGIN,
            admin_only=True,
            admin=False,
            created_at=now,
        )
        session.add(row)
        session.flush()
    return row


class OwnAlerts:
    """The chats' rules: create, list, delete, pause and resume (each its own transaction)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def create(
        self,
        chat: ChatKey,
        text: str,
        spec: Mapping[str, Any],
        *,
        created_by: str,
        now: datetime,
        limit: int,
    ) -> OwnAlert:
        """Store a rule under the chat's next number; `OwnAlertLimit` when the chat already
        holds `limit` rules. The count and the insert share one transaction, and writers to
        one chat take turns (BEGIN IMMEDIATE on SQLite, an advisory lock on PostgreSQL), so
        racing requests never pass the limit; a unique key lost anyway is tried again."""
        for attempt in range(_TRIES):
            try:
                with self._store.transaction() as s:
                    serialize(s, "own_alerts:" + ":".join(chat))
                    live = s.scalar(
                        select(func.count())
                        .select_from(OwnAlertRow)
                        .where(_of_chat(chat) & ~OwnAlertRow.deleted)
                    )
                    if (live or 0) >= limit:
                        raise OwnAlertLimit(limit)
                    top = s.scalar(select(func.max(OwnAlertRow.number)).where(_of_chat(chat)))
                    platform, chat_id, thread_id = chat
                    row = OwnAlertRow(
                        platform=platform,
                        chat_id=chat_id,
                        thread_id=thread_id,
                        number=(top or 0) + 1,
                        text=text,
                        spec=dict(spec),
                        paused=False,
                        deleted=False,
                        created_by=created_by,
                        created_at=now,
                        state=None,
                        state_session=None,
                    )
                    s.add(row)
                    _chat_destination(s, chat, now)
                    s.flush()
                    return _value(row)
            except IntegrityError:
                if attempt == _TRIES - 1:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def of_chat(self, chat: ChatKey) -> list[OwnAlert]:
        """The chat's rules (not deleted), by number."""
        with self._store.transaction() as s:
            rows = s.scalars(
                select(OwnAlertRow)
                .where(_of_chat(chat) & ~OwnAlertRow.deleted)
                .order_by(OwnAlertRow.number)
            )
            return [_value(r) for r in rows]

    @contextlib.contextmanager
    def _one(self, chat: ChatKey, number: int) -> Iterator[OwnAlertRow | None]:
        with self._store.transaction() as s:
            yield s.scalars(
                select(OwnAlertRow).where(
                    _of_chat(chat) & (OwnAlertRow.number == number) & ~OwnAlertRow.deleted
                )
            ).first()

    def delete(self, chat: ChatKey, number: int) -> OwnAlert | None:
        """Stop and forget the chat's rule `number` (None: the chat has no such rule)."""
        with self._one(chat, number) as row:
            if row is None:
                return None
            row.deleted = True
            return _value(row)

    def set_paused(self, chat: ChatKey, number: int, paused: bool) -> OwnAlert | None:
        """Pause (the engine stops stepping it) or resume the rule; resuming forgets its
        state, so the rule starts again silently at the next evaluation, like a new one."""
        with self._one(chat, number) as row:
            if row is None:
                return None
            if row.paused and not paused:
                row.state, row.state_session = None, None
            row.paused = paused
            return _value(row)


class OwnRuleStates:
    """The own rules within one evaluation's transaction: load, save state, enqueue."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._rows: dict[int, OwnAlertRow] = {}

    def load(self) -> list[OwnAlert]:
        """Every rule the engine steps: neither deleted nor paused, oldest first."""
        rows = list(
            self._session.scalars(
                select(OwnAlertRow)
                .where(~OwnAlertRow.deleted & ~OwnAlertRow.paused)
                .order_by(OwnAlertRow.id)
            )
        )
        self._rows = {r.id: r for r in rows}
        return [_value(r) for r in rows]

    def save(self, states: Mapping[int, RuleState], session: date) -> None:
        """Store each loaded rule's state (by row id) as of `session`."""
        for row_id, state in states.items():
            row = self._rows[row_id]
            row.state, row.state_session = state.to_dict(), session

    def enqueue(
        self,
        chat: ChatKey,
        *,
        group_key: str,
        group: AlertGroup,
        alert_ids: Sequence[int],
        now: datetime,
    ) -> int:
        """The chat's items, to its destination only: added to that destination's pending
        row under `group_key` when this evaluation wrote one (one message per evaluation and
        chat), else one new row. Nothing when the chat is disabled or muted, or its level of
        every item's kind is off. Returns the rows added or extended."""
        dest = _chat_destination(self._session, chat, now)
        muted = as_utc(dest.muted_until)
        if not dest.enabled or (muted is not None and muted > now):
            return 0
        levels = levels_with(dest.kinds)
        kept = [
            (item, aid)
            for item, aid in zip(group.items, alert_ids, strict=True)
            if levels[item.kind] != Level.OFF
        ]
        if not kept:
            return 0
        items = tuple(item for item, _ in kept)
        ids = [a for _, a in kept]
        silent = all(levels[i.kind] == Level.SILENT for i in items)
        joined = self._session.scalars(
            select(DeliveryRow).where(
                (DeliveryRow.destination_id == dest.id)
                & (DeliveryRow.group_key == group_key)
                & (DeliveryRow.status == "pending")
            )
        ).first()
        if joined is not None and "items" in joined.payload:
            before = AlertGroup.from_json(dict(joined.payload))
            items = before.items + items
            kind = _group_kind(items)
            joined.payload = dataclasses.replace(before, items=items, kind=kind).to_json()
            joined.kind, joined.silent = kind.value, joined.silent and silent
            joined.alert_ids = [*joined.alert_ids, *ids]
            return 1
        kind = _group_kind(items)
        payload = dataclasses.replace(group, items=items, kind=kind).to_json()
        row = _row(dest, group_key, kind, silent, payload, ids, now)
        return _insert_new(self._session, [row])
