"""A rule state row written before `resolve_confirm` existed (no `clear_streak` in its JSON)
still loads, on SQLite and PostgreSQL, and the rule then needs its full count to resolve."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest

from bot.storage import Store, evaluation_unit
from bot.storage.tables import RuleStateRow
from signals.rules import RuleSpec, RuleState, Status, Transition, step

SESSION = date(2026, 3, 2)
#: the JSON the previous release stored for a firing rule (its exact keys)
OLD_ROW = {
    "version": 1,
    "status": "firing",
    "armed": False,
    "streak": 0,
    "started": True,
    "last_index": 40,
    "last_session": "2026-03-02",
    "last_fired": "2026-02-27",
    "last_fired_index": 39,
    "last_label": None,
    "pending_label": None,
}


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    s = Store(db_url)
    with s.transaction() as tx:
        tx.add(
            RuleStateRow(rule_id="up", state=OLD_ROW, session=SESSION, updated_at=datetime.now(UTC))
        )
    yield s
    s.close()


def test_an_old_row_loads_and_counts_its_cleared_sessions_afresh(store: Store) -> None:
    with evaluation_unit(store) as unit:
        state = unit.rule_states.load({"up"})["up"]
    assert state.status == Status.FIRING and state.clear_streak == 0
    assert state.last_fired == date(2026, 2, 27)

    rule = RuleSpec(
        id="up", signal="breadth_200d", op="crosses_above", threshold=65, clear=60,
        resolve_confirm=2,
    )  # fmt: skip
    state, event = step(rule, state, date(2026, 3, 3), 59.0, 41)
    assert event is None and state.clear_streak == 1
    with evaluation_unit(store) as unit:  # stored mid-count, read back, resolved next session
        unit.rule_states.save({"up": state}, date(2026, 3, 3))
    with evaluation_unit(store) as unit:
        again = unit.rule_states.load({"up"})["up"]
    assert again == state
    done, event = step(rule, again, date(2026, 3, 4), 58.0, 42)
    assert event is not None and event.kind == Transition.RESOLVED
    assert done == RuleState.from_dict(done.to_dict()) and done.status == Status.OK
