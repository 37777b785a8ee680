"""Data freshness and member coverage (DESIGN §4), for any number of sessions at once.

stale_sessions(t) = NYSE sessions between t and the last session with data (any member's
close) on or before t; coverage(t) = members on t with a close on t / members on t with a
close in any of the 5 sessions before t. The engine's guard reads both for every session it
evaluates and the snapshot for its as-of session, so one vectorised pass serves both and they
can never disagree.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from signals import calendar
from signals.market import MarketData

COVERAGE_LOOKBACK = 5


def ever_members(data: MarketData) -> list[str]:
    """Panel columns that are members on some session."""
    columns = set(data.closes.columns)
    return [t for t in data.universe.all_tickers() if t in columns]


def last_with_data(closes: pd.DataFrame, members: list[str]) -> pd.Timestamp | None:
    """The last row with any member close, scanning back from the end in growing blocks
    (the answer is almost always among the last few rows)."""
    end, step = len(closes), 8
    while end > 0:
        start = max(0, end - step)
        block = closes.iloc[start:end][members].notna().to_numpy().any(axis=1)
        hit = np.flatnonzero(block)
        if len(hit):
            return pd.Timestamp(closes.index[start + hit[-1]])
        end, step = start, step * 4
    return None


def freshness_table(data: MarketData, sessions: pd.DatetimeIndex) -> pd.DataFrame:
    """Per session in `sessions` (which may run past the data's end): ``last_session``
    (datetime64, NaT when none), ``stale_sessions`` (int) and ``coverage`` (float in [0, 1];
    with no member close in the 5 sessions before, 1.0 when the session has one, else 0.0)."""
    sessions = pd.DatetimeIndex(sessions).as_unit("ns")
    if len(sessions) == 0:
        return pd.DataFrame(
            {"last_session": [], "stale_sessions": [], "coverage": []}, index=sessions
        )
    closes = data.closes
    members = ever_members(data)
    # only the sessions asked for, plus the look-back before them and the data's last weeks
    first = sessions[0] - pd.Timedelta(days=14)
    if len(closes):
        first = min(first, closes.index[-1] - pd.Timedelta(days=14))
    grid = calendar.sessions(first, sessions[-1])
    present = closes[members].reindex(grid).notna().to_numpy()
    member_on = data.universe.member_mask(grid, members).to_numpy()

    # last session with data on or before each grid position
    pos = np.where(present.any(axis=1), np.arange(len(grid)), -1)
    last_pos = np.maximum.accumulate(pos)
    # members on t with a close in any of the 5 sessions before t, and those of them on t
    cs = np.vstack([np.zeros((1, present.shape[1]), dtype=np.int32), np.cumsum(present, axis=0)])
    idx = np.arange(len(grid))
    recent = (cs[idx] - cs[np.maximum(idx - COVERAGE_LOOKBACK, 0)]) > 0
    expected = recent & member_on
    n_expected = expected.sum(axis=1)
    n_reported = (present & expected).sum(axis=1)
    any_today = (present & member_on).any(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        coverage = np.where(
            n_expected > 0, n_reported / np.maximum(n_expected, 1), any_today.astype(float)
        )

    at = np.searchsorted(grid.values, sessions.values)
    lp = last_pos[at]
    last = pd.Series(grid.values[np.maximum(lp, 0)], index=sessions).where(lp >= 0)
    stale = np.where(lp >= 0, at - lp, 0)
    for k in np.flatnonzero(lp < 0):  # nothing in the recent grid: look further back (rare)
        day = sessions[k]
        found = last_with_data(closes.loc[:day], members) if members else None
        last.iloc[k] = found
        if found is not None:
            stale[k] = calendar.sessions_between(found, day)
        else:
            stale[k] = len(calendar.sessions(closes.index[0], day)) if len(closes) else 0
    return pd.DataFrame(
        {
            "last_session": pd.DatetimeIndex(last),
            "stale_sessions": stale.astype(int),
            "coverage": coverage[at],
        },
        index=sessions,
    )
