"""A large simulated panel for the signal benchmark: thousands of members, ten years.

The point is scale, not realism: random-walk closes with a common market factor (so breadth
moves), the awkward shapes real data has (isolated NaN gaps, members that start late, share
classes of one company, 11 GICS sectors, monthly cap snapshots) and every ETF the signals
read. Generated from a seed with a handful of whole-panel numpy calls (about a second for
8,000 x 2,520) and laid out like the files source's panels (column-major), so
`compute_signals` sees the same memory layout as in production.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from signals import calendar
from signals.market import ETF_TICKERS, SECTOR_ETFS, MarketData
from signals.universe import Universe

#: Last session of the simulated history (a fixed date, so runs are comparable).
LAST_SESSION = pd.Timestamp("2025-12-31")
#: Share of members that start after the first session, of cells that are NaN gaps, and of
#: members that are a second share class of the member before them.
LATE_SHARE, GAP_SHARE, CLASS_SHARE = 0.10, 0.001, 0.01


def nyse_sessions(n_sessions: int, last: pd.Timestamp = LAST_SESSION) -> pd.DatetimeIndex:
    """The last `n_sessions` NYSE sessions up to `last` (so no reindexing in the signals)."""
    years = n_sessions // 250 + 2
    days = calendar.sessions(last - pd.DateOffset(years=years), last)
    if len(days) < n_sessions:
        raise ValueError(f"calendar has only {len(days)} sessions before {last.date()}")
    return days[-n_sessions:]


def random_walks(
    rng: np.random.Generator, n_series: int, n_sessions: int, market: np.ndarray
) -> np.ndarray:
    """Closes as a (series x sessions) C-ordered float64 array: beta * market + noise.

    Log returns are drawn in float32 (half the memory and time), accumulated in place, and
    exponentiated straight into the float64 result.
    """
    beta = rng.uniform(0.5, 1.5, size=(n_series, 1)).astype(np.float32)
    vol = rng.uniform(0.008, 0.03, size=(n_series, 1)).astype(np.float32)
    logs = rng.standard_normal((n_series, n_sessions), dtype=np.float32)
    logs *= vol
    logs += beta * market[None, :]
    np.cumsum(logs, axis=1, out=logs)
    start = rng.uniform(np.log(5.0), np.log(500.0), size=(n_series, 1)).astype(np.float32)
    logs += start
    closes = np.empty((n_series, n_sessions), dtype=np.float64)
    np.exp(logs, out=closes)
    return closes


def synthetic_market(n_members: int = 8000, n_sessions: int = 2520, seed: int = 0) -> MarketData:
    """A simulated `MarketData`: `n_members` members plus every ETF, `n_sessions` sessions.

    Members ``M00000``...: 10 % start late (NaN before a random first session), 0.1 % of
    cells are isolated NaN gaps, 1 % (at least one) are a second share class ("(Class B)") of
    the member before them; sectors are the 11 GICS sectors. Caps: one snapshot on the first
    session of every month for every member with a close there (a fixed share count x close).
    """
    rng = np.random.default_rng(seed)
    sessions = nyse_sessions(n_sessions)
    market = rng.normal(0.0003, 0.01, size=n_sessions).astype(np.float32)
    tickers = [f"M{i:05d}" for i in range(n_members)]
    columns = [*tickers, *ETF_TICKERS]
    # (columns x sessions) C order == (sessions x columns) column-major, like the files source
    data = np.empty((len(columns), n_sessions), dtype=np.float64)
    data[:n_members] = random_walks(rng, n_members, n_sessions, market)
    data[n_members:] = random_walks(rng, len(ETF_TICKERS), n_sessions, market)

    late = rng.choice(n_members, size=max(1, round(LATE_SHARE * n_members)), replace=False)
    first = rng.integers(1, n_sessions, size=len(late))
    data[late] = np.where(np.arange(n_sessions)[None, :] < first[:, None], np.nan, data[late])
    n_gaps = int(GAP_SHARE * n_members * n_sessions)
    data.reshape(-1)[rng.integers(0, n_members * n_sessions, size=n_gaps)] = np.nan

    closes = pd.DataFrame(
        data.T, index=sessions, columns=pd.Index(columns, name="ticker"), copy=False
    )
    return MarketData(
        closes=closes,
        universe=synthetic_universe(rng, tickers),
        caps=monthly_caps(rng, sessions, tickers, data[:n_members]),
        source="synthetic",
        simulated=True,
    )


def synthetic_universe(rng: np.random.Generator, tickers: list[str]) -> Universe:
    """Members in the 11 GICS sectors; 1 % (at least one) are a second class of the member
    before them."""
    sectors = np.array(list(SECTOR_ETFS.values()), dtype=object)
    sector = sectors[rng.integers(0, len(sectors), size=len(tickers))]
    names = np.array([f"Company {t}" for t in tickers], dtype=object)
    # odd positions only, so pairs (i - 1, i) never overlap; at least one pair
    odd = np.arange(1, len(tickers), 2)
    n_pairs = min(len(odd), max(1, round(CLASS_SHARE * len(tickers))))
    second = np.sort(rng.choice(odd, size=n_pairs, replace=False))
    # a second class shares its predecessor's company and sector; names get " (Class X)"
    base = names[second - 1].copy()
    names[second - 1] = base + " (Class A)"
    names[second] = base + " (Class B)"
    sector[second] = sector[second - 1]
    company = np.array([f"Company {t}" for t in tickers], dtype=object)
    company[second] = company[second - 1]
    table = pd.DataFrame(
        {"name": names, "sector": sector, "company": company},
        index=pd.Index(tickers, name="ticker"),
    )
    return Universe(table=table)


def monthly_caps(
    rng: np.random.Generator, sessions: pd.DatetimeIndex, tickers: list[str], closes: np.ndarray
) -> pd.DataFrame:
    """Long ``date,ticker,market_cap`` snapshots on each month's first session.

    closes: members x sessions. Share counts follow a heavy tail so a top ten exists.
    """
    months = sessions.to_period("M")
    rows = np.flatnonzero(np.r_[True, months[1:] != months[:-1]])
    shares = 1e7 * rng.pareto(1.2, size=len(tickers)) + 1e6
    caps = closes[:, rows] * shares[:, None]  # members x snapshots
    have = ~np.isnan(caps)
    t_idx, s_idx = np.nonzero(have)
    return pd.DataFrame(
        {
            "date": sessions[rows].to_numpy()[s_idx],
            "ticker": np.asarray(tickers, dtype=object)[t_idx],
            "market_cap": caps[have],
        }
    )
