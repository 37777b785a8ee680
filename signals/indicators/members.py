"""Who is a member of the index on each session, per column of the price panel.

Without a membership file every ticker of the universe file is a member on every session;
with one, a ticker is a member on t when an interval has start_date <= t < end_date (empty
end_date = still a member), whether or not the universe file lists it. The
masks are built with difference arrays and one cumulative sum instead of a loop over
intervals, and follow the memory layout of the closes so later passes stay fast.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from signals.indicators.breadth import count_true
from signals.market import SECTOR_ETFS
from signals.universe import Universe, interval_mask


@dataclass(frozen=True)
class Members:
    """Who is a member, per panel column.

    eligible: per panel column, a member on at least one session.
    mask: sessions x panel columns, or one row (1 x columns) when membership never changes.
    pit: whether `mask` is point-in-time (sessions x columns).
    count: members per session, including members without a price column.
    groups: panel columns per SECTOR_ETFS sector, in its order (by the universe's sector).
    company: company key per panel column (the ticker itself where not a member).
    """

    eligible: np.ndarray
    mask: np.ndarray
    pit: bool
    count: np.ndarray
    groups: list[np.ndarray]
    company: np.ndarray

    @staticmethod
    def build(
        universe: Universe, sessions: pd.DatetimeIndex, columns: pd.Index, like: np.ndarray
    ) -> Members:
        """`like`: the closes, whose memory layout a point-in-time mask copies."""
        n_sessions = len(sessions)
        eligible = np.zeros(len(columns), dtype=bool)
        if universe.membership is None:
            listed = pd.Index(universe.table.index)
            pos = columns.get_indexer(listed)
            eligible[pos[pos >= 0]] = True
            mask = eligible[None, :]
            count = np.full(n_sessions, len(listed), dtype=np.int64)
        else:
            listed = pd.Index(universe.membership["ticker"].unique())
            eligible = listed.get_indexer(columns) >= 0
            order: Literal["C", "F"] = "F" if like.strides[0] < like.strides[1] else "C"
            mask = interval_mask(universe.membership, sessions, columns, order)
            absent = listed[columns.get_indexer(listed) < 0]  # members without prices
            count = count_true(mask) + _member_count(universe.membership, sessions, absent)
        sector = universe.table["sector"].reindex(columns).to_numpy(dtype=object)
        groups = [np.flatnonzero(eligible & (sector == s)) for s in SECTOR_ETFS.values()]
        # Universe.company_of's rule (unknown tickers are their own company), vectorised
        row = universe.table.index.get_indexer(columns)
        known = eligible & (row >= 0)
        company = columns.to_numpy(dtype=object).copy()
        company[known] = universe.table["company"].to_numpy(dtype=object)[row[known]]
        pit = universe.membership is not None
        return Members(eligible, mask, pit, count, groups, company)


def _member_count(
    membership: pd.DataFrame, sessions: pd.DatetimeIndex, tickers: pd.Index
) -> np.ndarray:
    """Members per session among `tickers`: one difference array over sessions when no
    ticker's intervals overlap (else via the full mask)."""
    col = tickers.get_indexer(pd.Index(membership["ticker"])) if len(tickers) else None
    if col is None or not (col >= 0).any():
        return np.zeros(len(sessions), dtype=np.int64)
    sel = np.flatnonzero(col >= 0)
    start_dates = membership["start_date"].to_numpy(dtype="datetime64[ns]")[sel]
    end_dates = membership["end_date"].to_numpy(dtype="datetime64[ns]")[sel]
    col = col[sel]
    order = np.lexsort((start_dates, col))
    col, start_dates, end_dates = col[order], start_dates[order], end_dates[order]
    same = col[1:] == col[:-1]
    if (same & (np.isnat(end_dates[:-1]) | (start_dates[1:] < end_dates[:-1]))).any():
        return count_true(interval_mask(membership, sessions, tickers))  # overlaps
    days = sessions.to_numpy(dtype="datetime64[ns]")
    start = np.searchsorted(days, start_dates, "left")
    end = np.where(np.isnat(end_dates), len(days), np.searchsorted(days, end_dates, "left"))
    keep = start < end
    diff = np.zeros(len(days) + 1, dtype=np.int64)
    np.add.at(diff, start[keep], 1)
    np.add.at(diff, end[keep], -1)
    return np.cumsum(diff)[:-1]
