"""Data freshness and member coverage for every session at once (DESIGN §4).

stale_sessions(t) = NYSE sessions between t and the last session with data on or before t;
coverage(t) = members with a close on t / members with a close in any of the 5 sessions
before t. The engine's guard reads both for each session it evaluates, so they are computed
in one vectorised pass rather than once per session.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from signals import calendar
from signals.market import MarketData

COVERAGE_LOOKBACK = 5


def freshness_table(data: MarketData, sessions: pd.DatetimeIndex) -> pd.DataFrame:
    """Per session in `sessions` (which may run past the data's end): ``last_session``
    (datetime64, NaT when none), ``stale_sessions`` (int) and ``coverage`` (float in [0, 1];
    NaN when no member had a close in the 5 sessions before)."""
    sessions = pd.DatetimeIndex(sessions).as_unit("ns")
    if len(sessions) == 0:
        return pd.DataFrame(
            {"last_session": [], "stale_sessions": [], "coverage": []}, index=sessions
        )
    closes = data.closes
    # only the sessions asked for, plus enough before them for the look-back and for the
    # last session with data (the data's own last date when the sessions run past it)
    first = sessions[0] - pd.Timedelta(days=14)
    if len(closes):
        first = min(first, closes.index[-1] - pd.Timedelta(days=14))
    grid = calendar.sessions(first, sessions[-1])
    members = [t for t in data.universe.all_tickers() if t in closes.columns]
    has = closes[members].reindex(grid).notna().to_numpy()
    mask = data.universe.member_mask(grid, members).to_numpy()
    has = has & mask
    any_member = has.any(axis=1)

    # last session with data on or before each grid position
    pos = np.where(any_member, np.arange(len(grid)), -1)
    last_pos = np.maximum.accumulate(pos)
    # members with a close in any of the 5 sessions before t (members on t)
    cs = np.vstack([np.zeros((1, has.shape[1]), dtype=np.int32), np.cumsum(has, axis=0)])
    idx = np.arange(len(grid))
    lo = np.maximum(idx - COVERAGE_LOOKBACK, 0)
    recent = (cs[idx] - cs[lo]) > 0
    denom = (recent & mask).sum(axis=1)
    numer = has.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        coverage = np.where(denom > 0, numer / np.maximum(denom, 1), np.nan)
    coverage = np.minimum(coverage, 1.0)

    at = np.searchsorted(grid.values, sessions.values)
    lp = last_pos[at]
    last_session = pd.DatetimeIndex(
        np.where(lp >= 0, grid.values[np.maximum(lp, 0)], np.datetime64("NaT"))
    )
    stale = np.where(lp >= 0, at - lp, at + 1)
    return pd.DataFrame(
        {"last_session": last_session, "stale_sessions": stale, "coverage": coverage[at]},
        index=sessions,
    )
