"""The chats' own rules in the database, on SQLite and PostgreSQL: numbers, the limit (also
under racing writers), soft delete, pause and resume, and the chat's destination row."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from bot.model import AlertGroup, AlertItem, AlertTransition
from bot.storage import OwnAlertLimit, OwnAlerts, Store, evaluation_unit
from bot.storage.tables import DeliveryRow, DestinationRow
from signals.rules import RuleState, Status

NOW = datetime(2026, 1, 5, 22, 0, tzinfo=UTC)
CHAT = ("telegram", "42", "")
SPEC = {
    "subject": {"kind": "signal", "name": "breadth_200d", "other": None, "window": None},
    "rule": {"signal": "subject", "op": "crosses_above", "threshold": 70.0},
}


@pytest.fixture()
def store(db_url: str) -> Store:
    s = Store(db_url)
    yield s
    s.close()


def create(alerts: OwnAlerts, chat=CHAT, text: str = "breadth_200d crosses above 70", limit=20):
    return alerts.create(chat, text, SPEC, created_by="7", now=NOW, limit=limit)


def test_create_list_and_numbers_per_chat(store: Store) -> None:
    alerts = OwnAlerts(store)
    first = create(alerts)
    second = create(alerts, text="b")
    other = create(alerts, chat=("slack", "C1", ""))
    assert (first.number, second.number, other.number) == (1, 2, 1)
    assert first.rule_id != other.rule_id
    assert first.state is None and first.created_at == NOW and first.spec == SPEC
    assert [a.text for a in alerts.of_chat(CHAT)] == ["breadth_200d crosses above 70", "b"]
    assert [a.number for a in alerts.of_chat(("telegram", "42", "9"))] == []  # a topic apart


def test_the_limit_counts_live_rules_and_numbers_are_never_reused(store: Store) -> None:
    alerts = OwnAlerts(store)
    for _ in range(3):
        create(alerts, limit=3)
    with pytest.raises(OwnAlertLimit):
        create(alerts, limit=3)
    assert alerts.delete(CHAT, 3) is not None
    assert alerts.delete(CHAT, 3) is None  # gone already
    assert create(alerts, limit=3).number == 4
    assert [a.number for a in alerts.of_chat(CHAT)] == [1, 2, 4]


def test_racing_writers_never_pass_the_limit(store: Store) -> None:
    alerts = OwnAlerts(store)
    made: list[int] = []
    refused: list[int] = []
    start = threading.Barrier(8)

    def worker() -> None:
        start.wait()
        try:
            made.append(create(alerts, limit=5).number)
        except OwnAlertLimit:
            refused.append(1)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(made) == [1, 2, 3, 4, 5] and len(refused) == 3
    assert len(alerts.of_chat(CHAT)) == 5


def test_pause_keeps_the_state_and_resume_forgets_it(store: Store) -> None:
    alerts = OwnAlerts(store)
    create(alerts)
    with evaluation_unit(store) as unit:
        (loaded,) = unit.own_rules.load()
        state = RuleState(Status.FIRING, False, 0, True, 5, date(2026, 1, 5))
        unit.own_rules.save({loaded.id: state}, date(2026, 1, 5))
    paused = alerts.set_paused(CHAT, 1, True)
    assert paused is not None and paused.paused and paused.state == state
    with evaluation_unit(store) as unit:
        assert unit.own_rules.load() == []  # the engine does not see it
    resumed = alerts.set_paused(CHAT, 1, False)
    assert resumed is not None and not resumed.paused and resumed.state is None
    with evaluation_unit(store) as unit:
        assert [a.number for a in unit.own_rules.load()] == [1]
    assert alerts.set_paused(CHAT, 9, True) is None


def _group(item_session: date) -> AlertGroup:
    item = AlertItem("own:1", AlertTransition.FIRED, item_session, "info", "m", 71.0, 70.0)
    return AlertGroup(as_of=item_session, source="files", simulated=False, items=(item,))


def _deliveries(store: Store) -> list[tuple[str, str]]:
    with store.transaction() as s:
        rows = s.execute(
            select(DestinationRow.chat_id, DeliveryRow.group_key).join(
                DestinationRow, DestinationRow.id == DeliveryRow.destination_id
            )
        ).all()
        return [(r.chat_id, r.group_key) for r in rows]


def test_enqueue_goes_to_the_chat_alone_once_and_not_when_muted(store: Store) -> None:
    create(OwnAlerts(store))
    with store.transaction() as s:  # a configured destination that takes every alert
        s.add(DestinationRow(platform="telegram", chat_id="-100", thread_id="", rules="all",
                             kinds={}, origin="config", created_at=NOW))  # fmt: skip
    day = date(2026, 1, 5)
    for _ in range(2):  # the second time is a re-run: nothing new
        with evaluation_unit(store) as unit:
            unit.own_rules.enqueue(CHAT, group_key="own:k", group=_group(day), alert_ids=[1],
                                   now=NOW)  # fmt: skip
    assert _deliveries(store) == [("42", "own:k")]
    with store.transaction() as s:
        row = s.scalars(select(DestinationRow).where(DestinationRow.chat_id == "42")).one()
        assert (row.origin, row.admin_only) == ("own", True)
        row.muted_until = datetime(2026, 1, 6, tzinfo=UTC)
    with evaluation_unit(store) as unit:
        added = unit.own_rules.enqueue(CHAT, group_key="own:k2", group=_group(day),
                                       alert_ids=[1], now=NOW)  # fmt: skip
    assert added == 0 and len(_deliveries(store)) == 1
