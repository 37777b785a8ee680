"""The alert log: every transition an evaluation found, keyed by (rule, transition, session).

The key is unique, so a re-run or a racing evaluation can never log (or send) an alert twice:
`Alerts.add` makes a duplicate fail the whole transaction, `Alerts.add_new` skips it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.model import AlertItem, AlertTransition, MessageKind
from bot.storage.store import Store, as_utc
from bot.storage.tables import AlertRow


@dataclass(frozen=True)
class LoggedAlert:
    """One row of the alert log."""

    id: int
    rule_id: str
    transition: AlertTransition
    session: date
    kind: MessageKind
    severity: str
    value: float | None
    threshold: float | None
    label: str | None
    message: str
    late: bool
    notify: bool
    simulated: bool
    run_id: int | None
    created_at: datetime

    @classmethod
    def of(cls, row: AlertRow) -> LoggedAlert:
        created = as_utc(row.created_at)
        assert created is not None  # a non-null column
        return cls(
            id=row.id,
            rule_id=row.rule_id,
            transition=AlertTransition(row.transition),
            session=row.session,
            kind=MessageKind(row.kind),
            severity=row.severity,
            value=row.value,
            threshold=row.threshold,
            label=row.label,
            message=row.message,
            late=row.late,
            notify=row.notify,
            simulated=row.simulated,
            run_id=row.run_id,
            created_at=created,
        )


class Alerts:
    """Alert log rows within one transaction."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def add(
        self, item: AlertItem, *, run_id: int, simulated: bool, notify: bool, created_at: datetime
    ) -> int:
        """Log `item` and return its row id. The row is written at once, so a key already
        logged fails here (IntegrityError) and takes the whole transaction with it."""
        row = AlertRow(
            rule_id=item.rule_id,
            transition=item.transition,
            session=item.session,
            kind=item.kind.value,
            severity=item.severity,
            value=item.value,
            threshold=item.threshold,
            label=item.label,
            message=item.message,
            late=item.late,
            simulated=simulated,
            run_id=run_id,
            created_at=created_at,
            notify=notify,
        )
        self._session.add(row)
        self._session.flush()
        return row.id

    def add_new(
        self, item: AlertItem, *, run_id: int, simulated: bool, notify: bool, created_at: datetime
    ) -> int | None:
        """`add`, unless the key is already logged: then nothing is written and None returned."""
        if self.exists(item.rule_id, item.transition, item.session):
            return None
        return self.add(
            item, run_id=run_id, simulated=simulated, notify=notify, created_at=created_at
        )

    def exists(self, rule_id: str, transition: str, session: date) -> bool:
        found = self._session.scalar(
            select(AlertRow.id).where(
                AlertRow.rule_id == rule_id,
                AlertRow.transition == transition,
                AlertRow.session == session,
            )
        )
        return found is not None

    def log(self) -> list[LoggedAlert]:
        """Every logged alert, by session then insertion order."""
        rows = self._session.scalars(select(AlertRow).order_by(AlertRow.session, AlertRow.id))
        return [LoggedAlert.of(r) for r in rows]


def alert_log(store: Store) -> list[LoggedAlert]:
    """Every logged alert, by session then insertion order, in a transaction of its own."""
    with store.transaction() as s:
        return Alerts(s).log()
