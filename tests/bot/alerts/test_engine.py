"""Engine: first start is silent, the live path equals the history path, restarts and races
never duplicate an alert, and stale or thin data never fires."""

from __future__ import annotations

import threading
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

from bot.alerts.engine import Engine
from bot.config.settings import AlertSettings, GuardSettings
from bot.storage.store import Store
from bot.storage.tables import AlertRow, Run
from signals import calendar
from signals.indicators import compute_signals
from signals.rules import evaluate, rule_inputs


def _alerts(store: Store) -> list[tuple[str, str, str]]:
    with store.transaction() as s:
        rows = s.scalars(select(AlertRow).order_by(AlertRow.session, AlertRow.rule_id)).all()
        return [(r.rule_id, r.transition, r.session.isoformat()) for r in rows]


def _sessions(history, start: str, end: str) -> pd.DatetimeIndex:
    idx = history.frames["breadth_200d"].index
    return idx[(idx >= start) & (idx <= end)]


def test_first_start_is_silent(demo_data, demo_history, default_rules) -> None:
    store = Store()
    engine = Engine(store, default_rules, enqueue=False)
    result = engine.evaluate(demo_history, demo_data, "2025-06-02")
    assert result.outcome == "initialized" and result.alerts == ()
    assert _alerts(store) == []
    # the same session again: nothing to do
    assert engine.evaluate(demo_history, demo_data, "2025-06-02").outcome == "up_to_date"


def test_live_path_equals_history_path(demo_data, demo_history, default_rules) -> None:
    """One session a day from stored state == one catch-up over the range == pure evaluate."""
    start, end = "2023-01-03", "2026-10-30"
    daily, bulk = Store(), Store()
    e_daily = Engine(daily, default_rules, enqueue=False)
    e_bulk = Engine(bulk, default_rules, enqueue=False)
    e_daily.evaluate(demo_history, demo_data, start)
    e_bulk.evaluate(demo_history, demo_data, start)
    for ts in _sessions(demo_history, start, end)[1:]:
        e_daily.evaluate(demo_history, demo_data, ts)
    e_bulk.evaluate(demo_history, demo_data, end)
    live, history = _alerts(daily), _alerts(bulk)
    assert live == history
    assert {r for r, _, _ in live} >= {"breadth_broadening", "breadth_narrowing"}
    # and both equal the pure rule fold over the same sessions
    expected = []
    for rule in default_rules:
        run = evaluate(rule, rule_inputs(rule, demo_history.series), start=start)
        expected += [
            (rule.id, ev.kind.value, ev.session.isoformat())
            for ev in run.events
            if ev.kind.value in ("fired", "resolved") and ev.session.isoformat() <= end
        ]
    assert sorted(live) == sorted(expected)


def test_restart_never_duplicates(db_url, demo_data, demo_history, default_rules) -> None:
    url = db_url
    sessions = _sessions(demo_history, "2024-01-02", "2026-10-30")
    store = Store(url)
    Engine(store, default_rules, enqueue=False).evaluate(demo_history, demo_data, sessions[0])
    Engine(store, default_rules, enqueue=False).evaluate(demo_history, demo_data, sessions[-2])
    before = _alerts(store)
    assert before, "the demo should fire something in this period"
    store.close()
    reopened = Store(url)
    engine = Engine(reopened, default_rules, enqueue=False)
    assert engine.evaluate(demo_history, demo_data, sessions[-2]).outcome == "up_to_date"
    assert _alerts(reopened) == before
    nxt = engine.evaluate(demo_history, demo_data, sessions[-1])
    assert nxt.outcome == "evaluated" and nxt.evaluated == (sessions[-1].date(),)
    after = _alerts(reopened)
    reopened.close()
    assert after[: len(before)] == before and len(set(after)) == len(after)


def test_racing_evaluations_record_each_alert_once(db_url, demo_data, demo_history, default_rules):
    url = db_url
    start, end = "2024-01-02", "2026-10-30"
    first = Store(url)
    Engine(first, default_rules, enqueue=False).evaluate(demo_history, demo_data, start)
    first.close()
    reference = Store()
    ref = Engine(reference, default_rules, enqueue=False)
    ref.evaluate(demo_history, demo_data, start)
    ref.evaluate(demo_history, demo_data, end)
    expected = _alerts(reference)
    assert expected

    outcomes: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def worker() -> None:
        store = Store(url)
        try:
            engine = Engine(store, default_rules, enqueue=False)
            barrier.wait()
            outcomes.append(engine.evaluate(demo_history, demo_data, end).outcome)
        except BaseException as exc:  # collected and re-raised in the test thread
            errors.append(exc)
        finally:
            store.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert sorted(outcomes) == ["evaluated", "up_to_date"]
    after = Store(url)
    assert _alerts(after) == expected
    after.close()


def _runs(store: Store) -> list[Run]:
    with store.transaction() as s:
        return list(s.scalars(select(Run).order_by(Run.id)))


def test_stale_data_never_fires_and_says_why(demo_data, demo_history, default_rules) -> None:
    store = Store()
    engine = Engine(store, default_rules, GuardSettings(data_health_after=3), enqueue=False)
    last = demo_data.closes.index[-1]
    engine.evaluate(demo_history, demo_data, demo_data.closes.index[-6])
    # as-of three sessions past the data's end: stale, nothing evaluated
    later = calendar.sessions(last + pd.Timedelta(days=1), last + pd.Timedelta(days=10))[2]
    result = engine.evaluate(demo_history, demo_data, later)
    assert result.evaluated == tuple(d.date() for d in demo_data.closes.index[-5:])
    assert [c.stale_sessions for c in result.guarded] == [1, 2, 3]
    run = _runs(store)[-1]
    assert run.stale_sessions == 3 and "session(s) old" in run.reason
    # three guarded sessions in a row: one data_health notice, not repeated on a re-run
    health = [a for a in _alerts(store) if a[0] == "data_health"]
    assert len(health) == 1
    again = engine.evaluate(demo_history, demo_data, later)
    assert [a for a in _alerts(store) if a[0] == "data_health"] == health
    assert again.outcome == "guarded"


def _thin(data, session: pd.Timestamp, keep: float):
    """A copy of `data` where only `keep` of the members have a close on `session`."""
    closes = data.closes.copy()
    members = [t for t in data.universe.tickers if t in closes.columns]
    drop = members[int(len(members) * keep) :]
    closes.loc[session, drop] = np.nan
    return replace(data, closes=closes)


@pytest.mark.parametrize("keep", [0.0, 0.5, 0.85])
def test_thin_or_nan_last_row_never_fires(demo_data, default_rules, keep) -> None:
    sessions = demo_data.closes.index
    # find a session where some rule fires in the full data, then thin that session
    full = compute_signals(demo_data)
    ref = Store()
    e = Engine(ref, default_rules, enqueue=False)
    e.evaluate(full, demo_data, sessions[-400])
    e.evaluate(full, demo_data, sessions[-1])
    fired = sorted({a[2] for a in _alerts(ref) if a[1] == "fired"})
    session = pd.Timestamp(fired[-1])
    data = _thin(demo_data.up_to(session), session, keep)
    history = compute_signals(data)
    store = Store()
    engine = Engine(store, default_rules, GuardSettings(min_coverage=0.9), enqueue=False)
    engine.evaluate(full, demo_data, sessions[-400])
    engine.evaluate(full, demo_data, calendar.previous_session(session))
    result = engine.evaluate(history, data, session)
    assert result.outcome == "guarded" and result.alerts == ()
    run = _runs(store)[-1]
    if keep == 0.0:  # a NaN last row: the data simply stops a session early
        assert "1 session(s) old" in result.reason and run.stale_sessions == 1
    else:
        assert "of members have a close" in result.reason
        assert run.coverage == pytest.approx(keep, abs=0.02)
    # once the data is complete, the retried session fires what the full data fired
    complete = demo_data.up_to(session)
    done = engine.evaluate(compute_signals(complete), complete)
    assert done.evaluated == (session.date(),)
    on_session = sorted(a for a in _alerts(ref) if a[2] == session.date().isoformat())
    assert on_session
    assert sorted(a for a in _alerts(store) if a[2] == session.date().isoformat()) == on_session


def test_catch_up_marks_old_alerts_late(demo_data, demo_history, default_rules) -> None:
    store = Store()
    engine = Engine(
        store, default_rules, alerts=AlertSettings(late_after_sessions=3), enqueue=False
    )
    engine.evaluate(demo_history, demo_data, "2024-01-02")
    result = engine.evaluate(demo_history, demo_data, "2026-10-30")
    ordinal = calendar.session_ordinal
    as_of = int(ordinal(pd.Timestamp("2026-10-30"))[0])
    for item in result.alerts:
        age = as_of - int(ordinal(pd.Timestamp(item.session))[0])
        assert item.late == (age > 3)
    assert any(i.late for i in result.alerts)
