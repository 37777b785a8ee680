"""Backtest: the default rules on real data fire rarely, a breadth rule's events match an
independent crossing computation, and the demo market fires every default rule."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from bot.alerts.backtest import run_backtest
from signals.rules import RuleSpec


def test_default_rules_fire_at_most_4_times_a_year(real_data, real_history, default_rules):
    result = run_backtest(
        real_data,
        real_history,
        default_rules,
        pd.Timestamp("2016-01-04"),
        pd.Timestamp("2026-07-31"),
    )
    assert set(result.rules) == {r.id for r in default_rules}
    print("\nfirings per year on real data 2016-01-04 .. 2026-07-31:")
    for rule_id, body in result.rules.items():
        summ = body.summary
        print(f"  {rule_id:<24} {summ.fired:>3} fired  {summ.per_year:.2f}/year")
        assert summ.per_year <= 4.0, rule_id
    # and they do fire: a rule set that never fires is no answer to spam
    assert sum(b.summary.fired for b in result.rules.values()) > 50


def _independent_crossings(
    values: pd.Series, threshold: float, clear: float, confirm: int, cooldown: int
) -> tuple[list[pd.Timestamp], list[pd.Timestamp]]:
    """The crosses_above semantics of docs/rules.md, written as a plain loop over the sessions."""
    fired, resolved = [], []
    firing = False
    armed = None  # unknown until the first known value
    streak = 0
    last_fire = None  # position of the last firing
    for pos, (day, v) in enumerate(values.items()):
        if v is None or math.isnan(v):
            continue
        if armed is None:  # first evaluated session: never fires; past -> needs a clear
            armed = not v >= threshold
            continue
        if firing:
            if v < clear:
                firing, armed, streak = False, True, 0
                resolved.append(day)
            continue
        if not armed:
            if v < clear:
                armed = True
            continue
        if v >= threshold:
            streak += 1
            cooling = last_fire is not None and pos - last_fire <= cooldown
            if streak >= confirm and not cooling:
                firing, armed, streak, last_fire = True, False, 0, pos
                fired.append(day)
        else:
            streak = 0
    return fired, resolved


@pytest.mark.parametrize("confirm,cooldown", [(1, 0), (3, 0), (3, 20)])
def test_breadth_rule_matches_independent_crossings(real_data, real_history, confirm, cooldown):
    rule = RuleSpec.from_dict(
        {
            "id": "breadth_up",
            "signal": "breadth_200d",
            "op": "crosses_above",
            "threshold": 65,
            "clear": 60,
            "confirm": confirm,
            "cooldown_days": cooldown,
            "notify_resolved": True,
        }
    )
    start, end = pd.Timestamp("2015-01-02"), pd.Timestamp("2024-12-31")
    result = run_backtest(real_data, real_history, [rule], start, end)
    events = result.rules["breadth_up"].events
    got_fired = [e.session.isoformat() for e in events if e.kind == "fired"]
    got_resolved = [e.session.isoformat() for e in events if e.kind == "resolved"]

    series = real_history.series("breadth_200d").loc[start:end]
    fired, resolved = _independent_crossings(series, 65, 60, confirm, cooldown)
    assert got_fired == [d.date().isoformat() for d in fired]
    assert got_resolved == [d.date().isoformat() for d in resolved]
    assert len(fired) >= 3  # the period has real broadening episodes
    # each event carries its value, on the right side of the threshold
    for e in events:
        assert e.value is not None
        assert (e.value >= 65) if e.kind == "fired" else (e.value < 60)


def test_forward_returns_of_a_firing_are_real_returns(real_data, real_history, default_rules):
    result = run_backtest(
        real_data,
        real_history,
        default_rules,
        pd.Timestamp("2016-01-04"),
        pd.Timestamp("2026-07-31"),
    )
    closes = real_data.closes
    checked = 0
    for body in result.rules.values():
        for ev in body.events:
            if ev.kind != "fired":
                continue
            assert ev.forward_returns is not None
            day = pd.Timestamp(ev.session)
            pos = closes.index.get_loc(day)
            for ticker in ("SPY", "RSP", "IWM"):
                for k in (21, 63, 126):
                    got = ev.forward_returns[f"{ticker}_{k}"]
                    if pos + k >= len(closes):
                        assert got is None
                        continue
                    want = (closes[ticker].iloc[pos + k] / closes[ticker].iloc[pos] - 1) * 100
                    assert got == pytest.approx(want, rel=1e-9)
                    checked += 1
    assert checked > 100
    # the base rate covers every session of the period with a known forward return
    base = result.rules["breadth_broadening"].summary.forward_returns["SPY_21"].base_rate
    spy = closes["SPY"].loc["2016-01-04":"2026-07-31"]
    fwd = (closes["SPY"].shift(-21) / closes["SPY"] - 1).loc[spy.index].dropna() * 100
    assert base.n == len(fwd)
    assert base.median == pytest.approx(float(np.median(fwd)))


def test_demo_fires_every_default_rule(demo_data, demo_history, default_rules) -> None:
    result = run_backtest(demo_data, demo_history, default_rules)
    never = [rid for rid, body in result.rules.items() if body.summary.fired == 0]
    assert never == []
    assert result.simulated


def test_backtest_rejects_an_empty_period(demo_data, demo_history, default_rules) -> None:
    with pytest.raises(ValueError, match="must be after"):
        run_backtest(
            demo_data,
            demo_history,
            default_rules,
            pd.Timestamp("2025-01-10"),
            pd.Timestamp("2025-01-02"),
        )
