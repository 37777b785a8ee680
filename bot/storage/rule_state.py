"""Rule state: each rule's state machine between evaluations, one row per rule."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.model import Clock, utcnow
from bot.storage.store import Store
from bot.storage.tables import RuleStateRow
from signals.rules import RuleState


class RuleStates:
    """Rule state rows within one transaction. The rows `load` read are kept and updated in
    place by `save`: the session's identity map holds them only weakly, and querying each one
    again would cost a statement per rule."""

    def __init__(self, session: Session, clock: Clock = utcnow) -> None:
        self._session = session
        self._clock = clock
        self._rows: dict[str, RuleStateRow] = {}

    def load(self, rule_ids: Collection[str]) -> dict[str, RuleState]:
        """The stored state of each of `rule_ids` that has one (rows of other rules are
        left alone)."""
        self._rows = {row.rule_id: row for row in self._session.scalars(select(RuleStateRow))}
        return {
            rid: RuleState.from_dict(row.state)
            for rid, row in self._rows.items()
            if rid in rule_ids
        }

    def save(self, states: Mapping[str, RuleState], session: date) -> None:
        """Store each rule's state as of `session` (the last session it has seen), in order."""
        with self._session.no_autoflush:
            for rule_id, state in states.items():
                row = self._rows.get(rule_id) or self._session.get(RuleStateRow, rule_id)
                if row is None:
                    self._session.add(
                        RuleStateRow(
                            rule_id=rule_id,
                            state=state.to_dict(),
                            session=session,
                            updated_at=self._clock(),
                        )
                    )
                else:
                    row.state, row.session, row.updated_at = state.to_dict(), session, self._clock()


def firing_rules(store: Store) -> list[str]:
    """Ids of the rules whose stored status is firing, sorted."""
    with store.transaction() as s:
        rows = s.scalars(select(RuleStateRow)).all()
        return sorted(r.rule_id for r in rows if (r.state or {}).get("status") == "firing")
