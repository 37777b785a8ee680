"""What the chat's `signals` and `status` commands show of the database, read in one
transaction each so a reply never mixes two moments."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.storage.runs import RunSummary
from bot.storage.store import Store
from bot.storage.tables import AlertRow, DeliveryRow, DestinationRow, RuleStateRow, Run
from signals.rules import RuleState


@dataclass(frozen=True)
class LastAlert:
    """A rule's latest logged transition."""

    transition: str
    session: date


@dataclass(frozen=True)
class RuleRecord:
    """What the database knows of one rule."""

    #: None when the rule has no state yet, or one this version cannot read
    state: RuleState | None
    last_alert: LastAlert | None


@dataclass(frozen=True)
class DeadLetter:
    """A delivery that gave up, and where it was going."""

    id: int
    platform: str
    chat_id: str
    last_error: str | None


@dataclass(frozen=True)
class DisabledDestination:
    platform: str
    chat_id: str
    reason: str | None


@dataclass(frozen=True)
class AdminStatus:
    """The problems an admin's status lists: dead letters (all counted, the newest few
    listed) and every disabled destination."""

    dead_count: int
    dead: tuple[DeadLetter, ...]
    disabled: tuple[DisabledDestination, ...]


def dead_letters(s: Session, *, newest_first: bool, limit: int | None = None) -> list[DeadLetter]:
    """The outbox's dead letters with where they were going, in one query."""
    order = DeliveryRow.id.desc() if newest_first else DeliveryRow.id
    query = (
        select(
            DeliveryRow.id, DestinationRow.platform, DestinationRow.chat_id, DeliveryRow.last_error
        )
        .join(DestinationRow, DestinationRow.id == DeliveryRow.destination_id)
        .where(DeliveryRow.status == "dead")
        .order_by(order)
        .limit(limit)
    )
    return [DeadLetter(r.id, r.platform, r.chat_id, r.last_error) for r in s.execute(query)]


class StatusQueries:
    """Read-only queries behind the status commands."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def rule_records(self, rule_ids: Sequence[str]) -> dict[str, RuleRecord]:
        """Each rule's stored state and latest alert, keyed (and ordered) by `rule_ids`."""
        out: dict[str, RuleRecord] = {}
        with self._store.transaction() as s:
            rows = {r.rule_id: r for r in s.scalars(select(RuleStateRow))}
            for rule_id in rule_ids:
                row = rows.get(rule_id)
                state = None
                if row is not None:
                    try:
                        state = RuleState.from_dict(row.state)
                    except ValueError:
                        state = None
                alert = s.execute(
                    select(AlertRow.transition, AlertRow.session)
                    .where(AlertRow.rule_id == rule_id)
                    .order_by(AlertRow.session.desc(), AlertRow.id.desc())
                    .limit(1)
                ).first()
                last = None if alert is None else LastAlert(alert.transition, alert.session)
                out[rule_id] = RuleRecord(state, last)
        return out

    def latest_run(self) -> RunSummary | None:
        """The run started last (the newest id among equal start times)."""
        with self._store.transaction() as s:
            run = s.scalars(
                select(Run).order_by(Run.started_at.desc(), Run.id.desc()).limit(1)
            ).first()
            return None if run is None else RunSummary.of(run)

    def admin_status(self, listed: int) -> AdminStatus:
        """Dead letters (the `listed` newest) and disabled destinations (all, oldest first)."""
        with self._store.transaction() as s:
            n_dead = s.scalar(select(func.count()).where(DeliveryRow.status == "dead")) or 0
            dead = dead_letters(s, newest_first=True, limit=listed)
            disabled = s.execute(
                select(
                    DestinationRow.platform, DestinationRow.chat_id, DestinationRow.disabled_reason
                )
                .where(DestinationRow.enabled.is_(False))
                .order_by(DestinationRow.id)
            ).all()
        return AdminStatus(
            dead_count=n_dead,
            dead=tuple(dead),
            disabled=tuple(
                DisabledDestination(d.platform, d.chat_id, d.disabled_reason) for d in disabled
            ),
        )
