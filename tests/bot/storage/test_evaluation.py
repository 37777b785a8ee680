"""The evaluation's unit of work and the repositories it holds: runs, rule state, the alert
log and the outbox commit together or not at all (the transactional outbox)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest

from bot.config.settings import Settings
from bot.delivery.destinations import sync_destinations
from bot.model import AlertGroup, AlertItem, AlertTransition, MessageKind, TextMessage
from bot.storage import (
    RunEnd,
    RunStart,
    Store,
    WriteConflict,
    alert_log,
    evaluation_unit,
    firing_rules,
    queue_message,
    read_health,
    record_failed_run,
)
from signals.rules import BLANK, RuleState, Status

SESSION = date(2026, 3, 2)
NOW = datetime(2026, 3, 2, 21, 30, tzinfo=UTC)


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    s = Store(db_url)
    settings = Settings.model_validate(
        {
            "destinations": [{"platform": "telegram", "chat_id": "1001"}],
            "admins": {"telegram": ["1001"]},  # its operator's private chat
        }
    )
    sync_destinations(s, settings)
    yield s
    s.close()


def _item(rule: str, transition: AlertTransition = AlertTransition.FIRED) -> AlertItem:
    return AlertItem(rule, transition, SESSION, "info", f"{rule} {transition}", 66.0, 65.0)


def _write(store: Store, *items: AlertItem, fail: bool = False) -> None:
    """One evaluation's writes, as the engine makes them; `fail` raises after the last one."""
    with evaluation_unit(store, lambda: NOW) as unit:
        if unit.progress() is None:
            unit.start_progress(SESSION)
        else:
            unit.advance(SESSION)
        run_id = unit.runs.start(RunStart(SESSION, NOW, "demo", True))
        unit.rule_states.save({"a": BLANK}, SESSION)
        ids = [
            unit.alerts.add(i, run_id=run_id, simulated=True, notify=True, created_at=NOW)
            for i in items
        ]
        group = AlertGroup(as_of=SESSION, source="demo", simulated=True, items=items)
        unit.enqueue_alerts(
            group_key=f"alerts:{SESSION}", group=group, rule_severity={}, alert_ids=ids, now=NOW
        )
        unit.runs.finish(run_id, RunEnd(NOW, "evaluated", None, 1, len(items)))
        if fail:
            raise RuntimeError("the evaluation broke after its writes")


def test_alerts_and_their_outbox_rows_commit_together(store: Store) -> None:
    _write(store, _item("a"), _item("b"))
    assert [(a.rule_id, a.transition, a.kind) for a in alert_log(store)] == [
        ("a", AlertTransition.FIRED, MessageKind.ALERT),
        ("b", AlertTransition.FIRED, MessageKind.ALERT),
    ]
    assert store.queue_counts().pending == 1  # one grouped message for the one destination
    run = read_health(store).last_run
    assert run is not None and run.outcome == "evaluated" and run.alerts == 2
    assert run.finished_at == NOW


def test_a_failure_after_the_writes_leaves_nothing_behind(store: Store) -> None:
    with pytest.raises(RuntimeError):
        _write(store, _item("a"), fail=True)
    assert alert_log(store) == []
    assert store.queue_counts().pending == 0
    assert read_health(store).last_run is None


def test_an_alert_logged_before_is_a_conflict_that_writes_nothing(store: Store) -> None:
    _write(store, _item("a"))
    with pytest.raises(WriteConflict):
        _write(store, _item("b"), _item("a"))
    assert [a.rule_id for a in alert_log(store)] == ["a"]
    assert store.queue_counts().pending == 1
    health = read_health(store)
    assert health.last_run is not None and health.last_run.alerts == 1


def test_add_new_skips_a_key_already_logged(store: Store) -> None:
    item = _item("data_health", AlertTransition.DATA_HEALTH)
    with evaluation_unit(store) as unit:
        run_id = unit.runs.start(RunStart(SESSION, NOW, "demo", True))
        first = unit.alerts.add_new(
            item, run_id=run_id, simulated=True, notify=True, created_at=NOW
        )
        again = unit.alerts.add_new(
            item, run_id=run_id, simulated=True, notify=True, created_at=NOW
        )
        unit.runs.finish(run_id, RunEnd(NOW, "guarded", "stale", 0, 1))
    assert first is not None and again is None
    assert [a.kind for a in alert_log(store)] == [MessageKind.DATA_HEALTH]


def test_rule_state_round_trip_and_firing_rules(store: Store) -> None:
    firing = RuleState(status=Status.FIRING, started=True, last_index=3)
    with evaluation_unit(store) as unit:
        unit.rule_states.save({"a": BLANK, "b": firing}, SESSION)
    with evaluation_unit(store) as unit:
        assert unit.rule_states.load({"b", "gone"}) == {"b": firing}
        unit.rule_states.save({"a": firing}, date(2026, 3, 3))
    assert firing_rules(store) == ["a", "b"]


def test_a_failed_refresh_is_a_run_with_its_reason(store: Store) -> None:
    record_failed_run(store, RunStart(SESSION, NOW, "yahoo", False), "x" * 3000, lambda: NOW)
    run = read_health(store).last_run
    assert run is not None and run.outcome == "error" and run.finished_at == NOW
    assert run.reason == "x" * 2000


def test_a_notice_queued_alone_goes_to_the_admins(store: Store) -> None:
    notice = TextMessage(MessageKind.STARTUP, "rotation-bot started", ("rules: 0",))
    assert queue_message(store, group_key="startup:1", message=notice, to="admins") == 1
    assert queue_message(store, group_key="startup:1", message=notice, to="admins") == 0
