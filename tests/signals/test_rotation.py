"""The relative rotation graph's numbers (signals.rotation) against a separate computation.

The expected values here are computed with plain Python loops over lists, position by position
(docs/signals.md, "Relative rotation"), never with the module's rolling/shift code.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from signals.rotation import (
    ROTATION_TICKERS,
    quadrant,
    rotation_at,
    rotation_panel,
    tail_sessions,
)


def by_hand(x: list[float], spy: list[float], i: int) -> tuple[float, float]:
    """rs_ratio and rs_momentum at position i, from the definition."""

    def rs(j: int) -> float:
        ratios = [x[k] / spy[k] for k in range(j - 49, j + 1)]
        return 100 * ratios[-1] / (sum(ratios) / 50)

    return rs(i), 100 * rs(i) / rs(i - 10)


def weekly_by_hand(days: list[pd.Timestamp], upto: pd.Timestamp) -> list[pd.Timestamp]:
    """The last session of each of the last five ISO weeks up to `upto`, oldest first."""
    out: list[pd.Timestamp] = []
    seen: set[tuple[int, int]] = set()
    for d in reversed([d for d in days if d <= upto]):
        iso = d.isocalendar()
        week = (iso[0], iso[1])
        if week not in seen:
            seen.add(week)
            out.append(d)
        if len(out) == 5:
            break
    return out[::-1]


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    """120 business days; SPY, XLK, XLE and IWM on made-up walks; XLC starts late."""
    days = pd.bdate_range("2024-01-01", periods=120)
    rng = np.random.default_rng(7)
    cols = {
        t: 100 * np.exp(np.cumsum(rng.normal(0, 0.01, len(days))))
        for t in ("SPY", "XLK", "XLE", "IWM", "XLC")
    }
    frame = pd.DataFrame(cols, index=days)
    frame.loc[days[:50], "XLC"] = np.nan  # momentum from position 48 + 59 (2 days dropped)
    frame = frame.drop(index=days[[33, 34]])  # a gap: sessions are positions, not days
    frame["OTHER"] = 1.0
    return frame


def test_both_lines_match_the_definition_at_every_session(panel: pd.DataFrame) -> None:
    rp = rotation_panel(panel)
    assert list(rp.rs_ratio.columns) == ["XLK", "XLE", "XLC", "IWM"]  # ROTATION_TICKERS order
    spy = panel["SPY"].tolist()
    for t in ("XLK", "XLE", "IWM"):
        x = panel[t].tolist()
        for i in range(len(panel)):
            got_r, got_m = rp.rs_ratio[t].iloc[i], rp.rs_momentum[t].iloc[i]
            if i < 49:
                assert math.isnan(got_r)
            if i < 59:
                assert math.isnan(got_m)
                continue
            want_r, want_m = by_hand(x, spy, i)
            assert got_r == pytest.approx(want_r, rel=1e-12)
            assert got_m == pytest.approx(want_m, rel=1e-12)
    assert rp.rs_momentum["XLC"].iloc[: 48 + 59].isna().all()
    assert rp.rs_momentum["XLC"].iloc[48 + 59 :].notna().all()


def test_tail_is_the_last_session_of_five_weeks_ending_on_the_session(panel) -> None:
    days = list(panel.index)
    for upto in (days[-1], days[-3], pd.Timestamp("2024-05-01"), pd.Timestamp("2024-05-04")):
        got = list(tail_sessions(pd.DatetimeIndex(panel.index), upto))
        assert got == weekly_by_hand(days, upto)
        assert got[-1] == max(d for d in days if d <= upto)
    assert tail_sessions(pd.DatetimeIndex(panel.index), pd.Timestamp("2023-01-01")).empty


def test_rotation_at_reads_the_tail_and_the_quadrant(panel) -> None:
    rp = rotation_panel(panel)
    session = panel.index[-4]
    points = {p.ticker: p for p in rotation_at(rp, session)}
    assert set(points) == {"XLK", "XLE", "IWM", "XLC"}
    spy, days = panel["SPY"].tolist(), list(panel.index)
    for t, p in points.items():
        if t == "XLC":
            continue
        weeks = weekly_by_hand(days, session)
        assert list(p.tail.index) == weeks
        for d, (r, m) in zip(weeks, p.tail.to_numpy(), strict=True):
            want = by_hand(panel[t].tolist(), spy, days.index(d))
            assert (r, m) == pytest.approx(want, rel=1e-12)
        assert (p.rs_ratio, p.rs_momentum) == tuple(p.tail.iloc[-1])
        assert p.quadrant == quadrant(p.rs_ratio, p.rs_momentum)
    # XLC's tail keeps only its defined weeks, ending on the session
    assert 1 <= len(points["XLC"].tail) < 5 and points["XLC"].tail.index[-1] == session


def test_an_instrument_without_a_value_on_the_session_is_left_off(panel) -> None:
    assert {p.ticker for p in rotation_at(rotation_panel(panel), panel.index[100])} == {
        "XLK", "XLE", "IWM"
    }  # fmt: skip
    assert rotation_at(rotation_panel(panel), panel.index[40]) == []
    assert rotation_at(rotation_panel(panel.drop(columns="SPY")), panel.index[-1]) == []


@pytest.mark.parametrize(
    ("x", "y", "name"),
    [
        (100.0, 100.0, "leading"),
        (101.0, 100.0, "leading"),
        (100.0, 99.999, "weakening"),
        (103.0, 97.0, "weakening"),
        (99.999, 99.999, "lagging"),
        (99.999, 100.0, "improving"),
        (95.0, 104.0, "improving"),
    ],
)
def test_quadrant_edges(x: float, y: float, name: str) -> None:
    assert quadrant(x, y) == name


def test_the_instruments_are_the_sectors_iwm_and_rsp() -> None:
    assert ROTATION_TICKERS == (
        "XLK", "XLF", "XLV", "XLI", "XLB", "XLE", "XLY", "XLP", "XLU", "XLRE", "XLC", "IWM", "RSP"
    )  # fmt: skip
