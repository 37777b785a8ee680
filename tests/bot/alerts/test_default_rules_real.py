"""The shipped rules on the real data 2016-01-04 – 2026-07-31, replayed by the backtest the
`rotation-bot backtest` command runs: each fires, at most 4 times a year on average, and at most
10 % of its firings are withdrawn (resolved) within 5 sessions. The figures are recounted here
from the fired and resolved events, on the data's own session calendar."""

from __future__ import annotations

import bisect
from datetime import date

import pandas as pd
import pytest

from bot.alerts.backtest import run_backtest
from bot.config.settings import load_settings
from signals.rules import evaluate, rule_inputs

START, END = pd.Timestamp("2016-01-04"), pd.Timestamp("2026-07-31")
MAX_PER_YEAR = 4.0
WITHDRAWN_WITHIN = 5  # sessions
MAX_WITHDRAWN_SHARE = 0.10


@pytest.fixture(scope="module")
def replay(real_data, real_history, default_rules):
    return run_backtest(real_data, real_history, default_rules, START, END, load_settings().guard)


def withdrawn(events: list[tuple[date, str]], sessions: list[date], within: int) -> int:
    """Firings whose next resolve comes at most `within` sessions later (session positions)."""
    count, fired_at = 0, None
    for day, kind in events:
        if kind == "fired":
            fired_at = bisect.bisect_left(sessions, day)
        elif kind == "resolved" and fired_at is not None:
            assert sessions[bisect.bisect_left(sessions, day)] == day  # a real session
            count += bisect.bisect_left(sessions, day) - fired_at <= within
            fired_at = None
    return count


def test_withdrawn_counts_sessions_not_days() -> None:
    sessions = [date(2026, 1, d) for d in (2, 5, 6, 7, 8, 9, 12, 13)]  # a weekend in between
    fired_resolved = [(date(2026, 1, 2), "fired"), (date(2026, 1, 12), "resolved")]
    assert withdrawn(fired_resolved, sessions, 5) == 0  # 6 sessions, 10 days
    assert withdrawn(fired_resolved, sessions, 6) == 1
    assert withdrawn([(date(2026, 1, 5), "fired"), (date(2026, 1, 9), "resolved")], sessions, 5)


def test_default_rules_are_rare_and_do_not_flap(replay, real_data, default_rules) -> None:
    assert replay.guarded_sessions == 0, "the guard refused sessions: the figures would be partial"
    sessions = [d.date() for d in real_data.closes.index]
    years = (END - START).days / 365.25
    table, failures = [], []
    for rule in default_rules:
        events = [(e.session, e.kind.value) for e in replay.rules[rule.id].events]
        fired = sum(kind == "fired" for _, kind in events)
        gone = withdrawn(events, sessions, WITHDRAWN_WITHIN)
        table.append(
            f"  {rule.id:<24} {fired:>3} fired  {fired / years:.2f}/year  {gone} withdrawn"
        )
        if not 0 < fired <= MAX_PER_YEAR * years or gone > MAX_WITHDRAWN_SHARE * fired:
            failures.append(rule.id)
    print("\nreal data 2016-01-04 .. 2026-07-31:\n" + "\n".join(table))
    assert failures == []


def test_replay_equals_the_pure_fold(replay, real_history, default_rules) -> None:
    """The engine the backtest runs and `signals.rules.evaluate` give the same events, with
    resolve_confirm and per-condition clear in play."""
    for rule in default_rules:
        run = evaluate(rule, rule_inputs(rule, real_history.series).loc[:END], start=START)
        want = [(e.session, e.kind.value) for e in run.events if e.kind.value != "pending"]
        got = [(e.session, e.kind.value) for e in replay.rules[rule.id].events]
        assert got == want, rule.id
