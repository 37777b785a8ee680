"""The engine and the chats' own rules: same semantics as configured rules (checked against an
independent crossing computation), a silent start at the last evaluated session, delivery to
the chat alone, once; paused rules are not stepped, deleted ones stop."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

from bot.alerts.engine import Engine
from bot.alerts.own_rules import Subject, subject_series
from bot.storage import OwnAlerts, Store
from bot.storage.tables import AlertRow, DeliveryRow, DestinationRow, OwnAlertRow
from tests.bot.own_helpers import crossing_events, level_events

NOW = datetime(2026, 11, 2, 22, 0, tzinfo=UTC)
CHAT = ("telegram", "42", "")
OTHER = ("slack", "C9", "")
THRESHOLD = 60.0


def spec(threshold: float = THRESHOLD, confirm: int = 2, subject: dict | None = None) -> dict:
    return {
        "subject": subject or {"kind": "signal", "name": "breadth_200d"},
        "rule": {
            "signal": "subject",
            "op": "crosses_above",
            "threshold": threshold,
            "confirm": confirm,
            "notify_resolved": True,
        },
    }


def make(store: Store, chat=CHAT, s: dict | None = None) -> None:
    OwnAlerts(store).create(chat, "breadth", s or spec(), created_by="7", now=NOW, limit=20)


def own_alerts(store: Store, rule_id: str = "own:1") -> list[tuple[str, date]]:
    with store.transaction() as s:
        rows = s.scalars(
            select(AlertRow).where(AlertRow.rule_id == rule_id).order_by(AlertRow.session)
        ).all()
        return [(r.transition, r.session) for r in rows]


def expected(demo_history, start: str, end: str) -> list[tuple[str, date]]:
    values = demo_history.series("breadth_200d").loc[start:end]
    return crossing_events(values.items(), THRESHOLD, 2)


def sessions(demo_history, start: str, end: str) -> pd.DatetimeIndex:
    idx = demo_history.sessions
    return idx[(idx >= start) & (idx <= end)]


def test_made_before_the_first_evaluation_it_starts_with_it(demo_data, demo_history) -> None:
    daily, bulk = Store(), Store()
    for store in (daily, bulk):
        make(store)
    start, end = "2024-01-02", "2026-10-30"
    e_daily, e_bulk = Engine(daily, [], enqueue=False), Engine(bulk, [], enqueue=False)
    e_daily.evaluate(demo_history, demo_data, start)
    for ts in sessions(demo_history, start, end)[1:]:
        e_daily.evaluate(demo_history, demo_data, ts)
    e_bulk.evaluate(demo_history, demo_data, start)
    e_bulk.evaluate(demo_history, demo_data, end)
    want = expected(demo_history, start, end)
    assert len(want) >= 4  # fires and resolves on this history
    assert own_alerts(daily) == want
    assert own_alerts(bulk) == want


def test_made_later_it_starts_silently_at_the_last_evaluated_session(
    demo_data, demo_history
) -> None:
    store = Store()
    engine = Engine(store, [], enqueue=False)
    engine.evaluate(demo_history, demo_data, "2024-01-02")
    engine.evaluate(demo_history, demo_data, "2024-06-03")
    make(store)
    engine.evaluate(demo_history, demo_data, "2026-10-30")
    assert own_alerts(store) == expected(demo_history, "2024-06-03", "2026-10-30")
    with store.transaction() as s:
        row = s.scalars(select(OwnAlertRow)).one()
        assert row.state_session == date(2026, 10, 30)


def _deliveries(store: Store) -> list[tuple[str, str, list[str]]]:
    with store.transaction() as s:
        rows = s.execute(
            select(DestinationRow.chat_id, DeliveryRow.group_key, DeliveryRow.payload)
            .join(DestinationRow, DestinationRow.id == DeliveryRow.destination_id)
            .order_by(DeliveryRow.id)
        ).all()
        return [(r.chat_id, r.group_key, [i["rule_id"] for i in r.payload["items"]]) for r in rows]


def test_delivered_to_its_chat_alone_once(demo_data, demo_history, default_rules) -> None:
    store = Store()
    with store.transaction() as s:  # a configured destination that takes every alert
        s.add(DestinationRow(platform="telegram", chat_id="-100", thread_id="", rules="all",
                             kinds={}, origin="config", created_at=NOW))  # fmt: skip
    make(store)
    make(store, chat=OTHER, s=spec(threshold=99.0))  # another chat's rule never fires here
    engine = Engine(store, default_rules)
    engine.evaluate(demo_history, demo_data, "2024-01-02")
    engine.evaluate(demo_history, demo_data, "2026-10-30")
    sent = _deliveries(store)
    own = [d for d in sent if any(r.startswith("own:") for r in d[2])]
    events = expected(demo_history, "2024-01-02", "2026-10-30")
    assert own and {chat for chat, _, _ in own} == {"42"}
    assert sum(len(items) for _, _, items in own) == len(events)  # fired and resolved: each
    assert all(items == ["own:1"] * len(items) for _, _, items in own)
    configured = [d for d in sent if d[0] == "-100"]
    assert configured and all(not r.startswith("own:") for _, _, rs in configured for r in rs)
    assert all(chat != "C9" for chat, _, _ in sent)
    assert engine.evaluate(demo_history, demo_data, "2026-10-30").outcome == "up_to_date"
    assert _deliveries(store) == sent


def test_paused_is_not_stepped_and_deleted_stops(demo_data, demo_history) -> None:
    store = Store()
    make(store)
    make(store, s=spec())
    engine = Engine(store, [], enqueue=False)
    engine.evaluate(demo_history, demo_data, "2024-01-02")
    OwnAlerts(store).set_paused(CHAT, 1, True)
    OwnAlerts(store).delete(CHAT, 2)
    engine.evaluate(demo_history, demo_data, "2026-10-30")
    assert own_alerts(store, "own:1") == [] and own_alerts(store, "own:2") == []
    with store.transaction() as s:
        paused = s.scalars(select(OwnAlertRow).where(OwnAlertRow.number == 1)).one()
        assert paused.state_session == date(2024, 1, 2)  # untouched since its start
    OwnAlerts(store).set_paused(CHAT, 1, False)  # resumed: a fresh silent start
    engine.evaluate(demo_history, demo_data, "2026-10-30")
    assert own_alerts(store, "own:1") == []


@pytest.mark.parametrize("k_name", ["1m", "3m"])
def test_relative_and_close_subjects_from_the_price_panel(demo_data, demo_history, k_name) -> None:
    k = {"1m": 21, "3m": 63}[k_name]
    closes = demo_data.closes
    got = subject_series(Subject("relative", "XLE", "XLK", k_name), demo_history, demo_data)
    a, b = closes["XLE"].to_numpy(), closes["XLK"].to_numpy()
    want = np.full(len(a), np.nan)
    for t in range(k, len(a)):
        want[t] = 100.0 * ((a[t] / a[t - k] - 1.0) - (b[t] / b[t - k] - 1.0))
    np.testing.assert_allclose(got.to_numpy(), want, rtol=1e-12, equal_nan=True)
    close = subject_series(Subject("close", "XLE"), demo_history, demo_data)
    np.testing.assert_array_equal(close.to_numpy(), a)


def test_a_level_test_with_its_own_clear(demo_data, demo_history) -> None:
    store = Store()
    level = {
        "subject": {"kind": "signal", "name": "breadth_200d"},
        "rule": {
            "all": [{"signal": "subject", "op": "above", "threshold": 62.0, "clear": 55.0}],
            "confirm": 3,
            "notify_resolved": True,
        },
    }
    make(store, s=level)
    engine = Engine(store, [], enqueue=False)
    engine.evaluate(demo_history, demo_data, "2023-01-03")
    engine.evaluate(demo_history, demo_data, "2026-10-30")
    values = demo_history.series("breadth_200d").loc["2023-01-03":"2026-10-30"]
    want = level_events(values.items(), 62.0, 55.0, 3)
    assert len(want) >= 2
    assert own_alerts(store) == want


def test_a_rule_that_cannot_be_evaluated_is_skipped_not_fatal(demo_data, demo_history) -> None:
    store = Store()
    make(store, s=spec(subject={"kind": "signal", "name": "rotation_regime.label"}))
    make(store)
    engine = Engine(store, [], enqueue=False)
    engine.evaluate(demo_history, demo_data, "2024-01-02")
    result = engine.evaluate(demo_history, demo_data, "2026-10-30")
    assert result.outcome == "evaluated"
    assert own_alerts(store, "own:2") == expected(demo_history, "2024-01-02", "2026-10-30")
    assert own_alerts(store, "own:1") == []


def test_one_message_per_evaluation_for_a_chat_that_also_subscribes(
    demo_data, demo_history, default_rules
) -> None:
    store = Store()
    with store.transaction() as s:  # chat 42 subscribed itself to every configured rule
        s.add(DestinationRow(platform="telegram", chat_id="42", thread_id="", rules="all",
                             kinds={}, origin="chat", created_at=NOW))  # fmt: skip
    make(store)
    engine = Engine(store, default_rules)
    engine.evaluate(demo_history, demo_data, "2024-01-02")
    engine.evaluate(demo_history, demo_data, "2026-10-30")  # one catch-up: one message
    (row,) = _deliveries(store)
    chat, _, items = row
    own = [r for r in items if r == "own:1"]
    assert chat == "42" and len(own) == len(expected(demo_history, "2024-01-02", "2026-10-30"))
    assert len(items) > len(own)  # the configured rules' alerts are in the same message
