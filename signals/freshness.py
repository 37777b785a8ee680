"""Data freshness and member coverage, for any number of sessions at once.

stale_sessions(t) = NYSE sessions between t and the last session with data (any member's
close) on or before t. coverage(t) = members expected on t with a close on t / members
expected on t, where the expected members are the universe list, or, with a point-in-time
membership file, the members that file lists on t. A member with no prices at all counts as
missing: a price file cut short by ticker must read as incomplete, not as complete. The
engine's guard reads both for every session it evaluates and the snapshot for its as-of
session, so one vectorised pass serves both and they can never disagree.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from signals import calendar
from signals.market import MarketData


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
    (datetime64, NaT when none), ``stale_sessions`` (int), ``coverage`` (float in [0, 1];
    0.0 when no member is expected on the session), ``members_expected`` and
    ``members_reported`` (int: the members on the session, and those of them with a close)."""
    sessions = pd.DatetimeIndex(sessions).as_unit("ns")
    if len(sessions) == 0:
        return pd.DataFrame(
            {
                "last_session": pd.DatetimeIndex([]),
                "stale_sessions": pd.Series([], dtype=int),
                "coverage": pd.Series([], dtype=float),
                "members_expected": pd.Series([], dtype=int),
                "members_reported": pd.Series([], dtype=int),
            },
            index=sessions,
        )
    closes = data.closes
    members = ever_members(data)
    # every ticker that may be expected, priced or not: a missing column is all NaN
    expected_tickers = data.universe.all_tickers()
    # only the sessions asked for, plus the data's last weeks (for the last session with data)
    first = sessions[0] - pd.Timedelta(days=14)
    if len(closes):
        first = min(first, closes.index[-1] - pd.Timedelta(days=14))
    grid = calendar.sessions(first, sessions[-1])
    present = closes.reindex(index=grid, columns=expected_tickers).notna().to_numpy()
    member_on = data.universe.member_mask(grid, expected_tickers).to_numpy()

    # last session with data on or before each grid position
    pos = np.where(present.any(axis=1), np.arange(len(grid)), -1)
    last_pos = np.maximum.accumulate(pos)
    n_expected = member_on.sum(axis=1)
    n_reported = (present & member_on).sum(axis=1)
    coverage = np.where(n_expected > 0, n_reported / np.maximum(n_expected, 1), 0.0)

    at = np.searchsorted(grid.values, sessions.values)
    lp = last_pos[at]
    last = pd.Series(grid.values[np.maximum(lp, 0)], index=sessions).where(lp >= 0)
    stale = np.where(lp >= 0, at - lp, 0)
    for k in map(
        int, np.flatnonzero(lp < 0)
    ):  # nothing in the recent grid: look further back (rare)
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
            "members_expected": n_expected[at].astype(int),
            "members_reported": n_reported[at].astype(int),
        },
        index=sessions,
    )
