"""Tests for signals/freshness.py: coverage is measured against the members expected on the
session (the universe list, or the membership file's members that day), so a member with no
prices at all, or none on that session, counts as missing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from signals import calendar
from signals.freshness import freshness_table
from signals.market import MarketData
from signals.universe import Universe

from .conftest import RealFrames

NAN = float("nan")
DAYS = calendar.sessions("2024-03-04", "2024-03-13")  # 8 sessions, Mon .. Wed


def _table(tickers: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {"name": tickers, "sector": "Energy", "company": tickers},
        index=pd.Index(tickers, name="ticker"),
    )


def _data(
    closes: dict[str, list[float]],
    universe: list[str],
    membership: pd.DataFrame | None = None,
) -> MarketData:
    panel = pd.DataFrame(closes, index=pd.DatetimeIndex(DAYS, name="date"), dtype=np.float64)
    return MarketData(closes=panel, universe=Universe(_table(universe), membership))


def _coverage(data: MarketData, day: pd.Timestamp | None = None) -> float:
    day = DAYS[-1] if day is None else day
    return float(freshness_table(data, pd.DatetimeIndex([day]))["coverage"].iloc[0])


def test_a_member_with_no_prices_at_all_counts_as_missing() -> None:
    # the universe lists four members; the price file has two of them (a file cut by ticker)
    data = _data({"A": [1.0] * 8, "B": [2.0] * 8, "SPY": [3.0] * 8}, ["A", "B", "C", "D"])
    assert _coverage(data) == pytest.approx(2 / 4)


def test_members_without_a_close_count_whatever_their_recent_history() -> None:
    closes = {f"T{i}": [1.0] * 8 for i in range(10)}
    for i in (7, 8, 9):
        closes[f"T{i}"][-1] = NAN  # three of ten missing today
    closes["EMPTY"] = [NAN] * 8  # a column with no close at all
    closes["GONE"] = [1.0, 1.0] + [NAN] * 6  # stopped reporting 6 sessions ago
    closes["NEW"] = [NAN] * 7 + [5.0]  # first close today
    data = _data(closes, list(closes))
    assert _coverage(data) == pytest.approx(8 / 13)  # T0..T6 and NEW of 13 members


def test_membership_file_decides_who_is_expected_on_the_session() -> None:
    t = DAYS[-1]
    membership = pd.DataFrame(
        {
            "ticker": ["A", "B", "C", "D", "E", "F"],
            "start_date": [DAYS[0], t, DAYS[0], DAYS[0], DAYS[0] + pd.Timedelta(days=30), DAYS[2]],
            # C's interval ends on t: no longer a member on t (start <= t < end)
            "end_date": [pd.NaT, pd.NaT, t, pd.NaT, pd.NaT, pd.NaT],
        }
    )
    closes = {
        "A": [1.0] * 8,  # member, close today
        "B": [NAN] * 8,  # joined today, no close yet: missing
        "C": [1.0] * 7 + [NAN],  # left today: not expected
        "E": [1.0] * 8,  # joins next month: not expected, its close does not count
        "F": [1.0] * 8,  # member, close today
    }
    # D is a member in the membership file only and has no prices at all: missing
    data = _data(closes, ["A", "B", "C", "E"], membership)
    assert _coverage(data) == pytest.approx(2 / 4)  # A, F of A, B, D, F
    # earlier, before B joined and while C was a member: A, C, D, F expected
    assert _coverage(data, DAYS[3]) == pytest.approx(3 / 4)


def test_no_member_expected_is_no_coverage() -> None:
    membership = pd.DataFrame(
        {"ticker": ["A"], "start_date": [DAYS[5]], "end_date": [pd.NaT]}
    ).astype({"start_date": "datetime64[ns]", "end_date": "datetime64[ns]"})
    data = _data({"A": [1.0] * 8}, ["A"], membership)
    assert _coverage(data, DAYS[2]) == 0.0
    assert _coverage(data, DAYS[5]) == 1.0


def _loop_coverage(
    closes: pd.DataFrame,
    universe: list[str],
    membership: list[tuple[str, pd.Timestamp, pd.Timestamp | None]] | None,
    day: pd.Timestamp,
) -> float:
    """The definition as a plain loop: members on `day` with a close on `day` / members on
    `day`, where the members are the universe list or, with intervals, those whose interval
    holds `day`."""
    if membership is None:
        expected = set(universe)
    else:
        expected = {
            ticker
            for ticker, start, end in membership
            if start <= day and (end is None or day < end)
        }
    if not expected:
        return 0.0
    with_close = 0
    for ticker in expected:
        if ticker in closes.columns and day in closes.index:
            with_close += int(not np.isnan(closes[ticker].to_numpy()[closes.index.get_loc(day)]))
    return with_close / len(expected)


@pytest.mark.parametrize("with_membership", [False, True])
def test_every_session_matches_a_plain_loop(with_membership: bool) -> None:
    """Many sessions at once (as the engine's guard asks) equal the per-session loop."""
    rng = np.random.default_rng(11)
    days = calendar.sessions("2023-01-03", "2023-06-30")
    priced = [f"P{i}" for i in range(40)]
    panel = pd.DataFrame(
        rng.uniform(10, 20, (len(days), len(priced))),
        index=pd.DatetimeIndex(days, name="date"),
        columns=priced,
    )
    panel = panel.mask(rng.random(panel.shape) < 0.15)  # holes
    panel.iloc[:60, :5] = np.nan  # late listings
    panel.iloc[-3:, 5:25] = np.nan  # a thin last few sessions
    universe = [*priced[:35], "X1", "X2", "X3"]  # X*: members without prices
    intervals: list[tuple[str, pd.Timestamp, pd.Timestamp | None]] | None = None
    membership = None
    if with_membership:
        tickers = [*priced, "X1", "X2", "X4"]
        intervals = []
        for ticker in tickers:
            a, b = sorted(rng.choice(len(days) + 20, size=2, replace=False))
            start = days[0] + pd.Timedelta(days=int(a) * 7 // 5 - 10)
            end = None if b > len(days) else days[0] + pd.Timedelta(days=int(b) * 7 // 5)
            intervals.append((ticker, start, end))
        membership = pd.DataFrame(
            {
                "ticker": [i[0] for i in intervals],
                "start_date": pd.Series([i[1] for i in intervals], dtype="datetime64[ns]"),
                "end_date": pd.Series([i[2] for i in intervals], dtype="datetime64[ns]"),
            }
        )
    data = MarketData(closes=panel, universe=Universe(_table(universe), membership))
    asked = pd.DatetimeIndex(days[30:])
    got = freshness_table(data, asked)["coverage"]
    want = [_loop_coverage(panel, universe, intervals, day) for day in asked]
    assert got.to_numpy() == pytest.approx(want)
    assert len(set(want)) > 10  # the panel exercises many different values


@pytest.mark.realdata
@pytest.mark.parametrize("with_membership", [False, True])
def test_real_data_coverage_matches_a_plain_loop(
    real_frames: RealFrames, with_membership: bool
) -> None:
    """On the shared data: today's list over past years, and the membership file's members
    of each day, most of whose former members are no longer priced."""
    data = real_frames.market(membership=with_membership)
    intervals = None
    if with_membership:
        ms = real_frames.membership
        intervals = [
            (t, s, None if pd.isna(e) else e)
            for t, s, e in zip(ms["ticker"], ms["start_date"], ms["end_date"], strict=True)
        ]
    days = pd.DatetimeIndex(["2005-01-03", "2015-01-02", "2020-03-16", "2024-12-31", "2026-07-31"])
    got = freshness_table(data, days)["coverage"].to_numpy()
    universe = list(real_frames.members.index)
    want = [_loop_coverage(real_frames.closes, universe, intervals, day) for day in days]
    assert got == pytest.approx(want)
