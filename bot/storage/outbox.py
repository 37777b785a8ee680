"""The transactional outbox: which destination gets which message (docs/alerts.md).

The engine calls `enqueue_alerts` inside its own transaction, with the same session that
writes the alerts, so an alert and its deliveries commit together or not at all. Nothing is
sent from here; `bot.delivery.worker.DeliveryWorker` sends what these functions write.

Rules of matching, per destination:
- disabled destinations get nothing; a destination muted until a later time gets nothing
  either (no row is written: a muted chat does not receive the backlog when the mute ends);
- the rule filter keeps the items whose rule id or severity it lists ("all" keeps every
  item); data-health items concern no rule and pass the rule filter;
- the level of each item's kind (on / silent / off, defaults in `bot.model.kinds`) drops the items
  that are off; the message is silent when every remaining item is silent;
- admin-only rows (an operator's private chat) get only messages sent `to="admins"`.
(destination_id, group_key) is unique: re-running an evaluation inserts nothing new.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Literal, cast

from sqlalchemy import CursorResult, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot.model import (
    AlertGroup,
    AlertItem,
    Level,
    MessageKind,
    TextMessage,
    levels_with,
    utcnow,
)
from bot.storage.store import Store, as_utc
from bot.storage.tables import DeliveryRow, DestinationRow

#: rows per INSERT statement (SQLite allows 32,766 bound values per statement)
_CHUNK = 500


def enqueue_alerts(
    session: Session,
    *,
    group_key: str,
    group: AlertGroup,
    rule_severity: Mapping[str, str],
    alert_ids: Sequence[int] | None = None,
    now: datetime | None = None,
) -> int:
    """Write one outbox row per matching destination, holding the items it wants.

    `rule_severity` gives the severity of rules whose items carry none; `alert_ids`, aligned
    with `group.items`, links each row to the alert log. Returns the rows inserted (0 on a
    re-run of the same `group_key`)."""
    now = now or utcnow()
    ids = list(alert_ids) if alert_ids is not None else [None] * len(group.items)
    rows: list[dict[str, Any]] = []
    for dest in _subscribers(session, now):
        levels = levels_with(dest.kinds)
        picked = [
            (item, aid)
            for item, aid in zip(group.items, ids, strict=True)
            if _rule_matches(dest.rules, item, rule_severity) and levels[item.kind] != Level.OFF
        ]
        if not picked:
            continue
        items = tuple(item for item, _ in picked)
        kind = _group_kind(items)
        payload = dataclasses.replace(group, items=items, kind=kind).to_json()
        rows.append(
            _row(
                dest,
                group_key,
                kind,
                silent=all(levels[i.kind] == Level.SILENT for i in items),
                payload=payload,
                alert_ids=[a for _, a in picked if a is not None],
                now=now,
            )
        )
    return _insert_new(session, rows)


def enqueue_message(
    session: Session,
    *,
    group_key: str,
    message: TextMessage,
    to: Literal["admins", "subscribers"],
    now: datetime | None = None,
) -> int:
    """Queue a notice (startup, digest, heartbeat, data health) for the operators' private
    chats (`to="admins"`, kind levels do not apply) or for every subscriber whose level of
    `message.kind` is not off. The console, when active, counts as both."""
    now = now or utcnow()
    rows: list[dict[str, Any]] = []
    if to == "admins":
        dests = session.scalars(
            select(DestinationRow).where(
                DestinationRow.enabled
                & (DestinationRow.admin | (DestinationRow.platform == "console"))
            )
        )
        for dest in dests:
            rows.append(_row(dest, group_key, message.kind, False, message.to_json(), [], now))
    elif to == "subscribers":
        for dest in _subscribers(session, now):
            level = levels_with(dest.kinds)[message.kind]
            if level == Level.OFF:
                continue
            silent = level == Level.SILENT
            rows.append(_row(dest, group_key, message.kind, silent, message.to_json(), [], now))
    else:
        raise ValueError(f"to must be 'admins' or 'subscribers', not {to!r}")
    return _insert_new(session, rows)


def queue_message(
    store: Store,
    *,
    group_key: str,
    message: TextMessage,
    to: Literal["admins", "subscribers"],
    now: datetime | None = None,
) -> int:
    """`enqueue_message` in a transaction of its own, for a notice that goes with no other
    write; returns the rows inserted."""
    with store.transaction() as session:
        return enqueue_message(session, group_key=group_key, message=message, to=to, now=now)


def message_from_payload(payload: Mapping[str, Any]) -> AlertGroup | TextMessage:
    """The neutral message an outbox row holds (the inverse of `to_json`)."""
    if "items" in payload:
        return AlertGroup.from_json(dict(payload))
    return TextMessage.from_json(dict(payload))


# --- matching ----------------------------------------------------------------------------


def _subscribers(session: Session, now: datetime) -> Iterable[DestinationRow]:
    """Enabled destinations that take alerts and are not muted at `now`."""
    rows = session.scalars(
        select(DestinationRow)
        .where(DestinationRow.enabled & ~DestinationRow.admin_only)
        .order_by(DestinationRow.id)
    )
    for dest in rows:
        muted = as_utc(dest.muted_until)
        if muted is None or muted <= now:
            yield dest


def _rule_matches(rules: list | str, item: AlertItem, rule_severity: Mapping[str, str]) -> bool:
    if rules == "all" or item.kind == MessageKind.DATA_HEALTH:
        return True
    wanted = {rules} if isinstance(rules, str) else set(rules)
    severity = item.severity or rule_severity.get(item.rule_id, "")
    return item.rule_id in wanted or severity in wanted


def _group_kind(items: Sequence[AlertItem]) -> MessageKind:
    """resolved (or data_health) when every item is; alert otherwise."""
    kinds = {i.kind for i in items}
    return kinds.pop() if len(kinds) == 1 else MessageKind.ALERT


def _row(
    dest: DestinationRow,
    group_key: str,
    kind: MessageKind,
    silent: bool,
    payload: dict[str, Any],
    alert_ids: list[int],
    now: datetime,
) -> dict[str, Any]:
    return {
        "destination_id": dest.id,
        "group_key": group_key,
        "kind": kind.value,
        "silent": silent,
        "alert_ids": alert_ids,
        "payload": payload,
        "status": "pending",
        "attempts": 0,
        "parts_sent": 0,
        "next_attempt_at": now,
        "created_at": now,
    }


def _insert_new(session: Session, rows: list[dict[str, Any]]) -> int:
    """INSERT, skipping rows whose (destination_id, group_key) exists; returns rows added.

    ON CONFLICT DO NOTHING rather than catching IntegrityError: on PostgreSQL a failed
    statement aborts the engine's whole transaction."""
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    added = 0
    for start in range(0, len(rows), _CHUNK):
        chunk = rows[start : start + _CHUNK]
        if dialect in ("sqlite", "postgresql"):
            dialect_insert = sqlite.insert if dialect == "sqlite" else postgresql.insert
            stmt = (
                dialect_insert(DeliveryRow)
                .values(chunk)
                .on_conflict_do_nothing(index_elements=["destination_id", "group_key"])
                # SQLAlchemy reports an INSERT's rowcount only when asked (-1 on psycopg)
                .execution_options(preserve_rowcount=True)
            )
            result = cast(CursorResult[Any], session.execute(stmt))
            added += max(result.rowcount, 0)
        else:  # other databases: look first (racy only against a concurrent run)
            have = set(
                session.scalars(
                    select(DeliveryRow.destination_id).where(
                        DeliveryRow.group_key == chunk[0]["group_key"]
                    )
                )
            )
            new = [r for r in chunk if r["destination_id"] not in have]
            if new:
                session.execute(insert(DeliveryRow), new)
            added += len(new)
    return added
