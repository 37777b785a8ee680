"""Returns, volatility and valuation spreads of the handful of ETFs the signals compare.

These work on a sessions x ETFs slice (about 20 columns), so plain numpy per call is cheap.
Returns are simple and by position on the NYSE session index: r_k = close_t / close_(t-k) - 1,
NaN when either close is missing; everything here is in percent.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

ANNUALISE = np.sqrt(252.0)


def column_or_nan(closes: np.ndarray, columns: pd.Index, tickers: list[str]) -> np.ndarray:
    """sessions x tickers slice of the panel; a ticker missing from it is a NaN column."""
    pos = columns.get_indexer(pd.Index(tickers))
    out = np.full((closes.shape[0], len(tickers)), np.nan)
    have = pos >= 0
    out[:, have] = closes[:, pos[have]]
    return out


def returns_pct(prices: np.ndarray, k: int) -> np.ndarray:
    """100 * (close_t / close_(t-k) - 1) by position; NaN for the first k sessions."""
    out = np.full(prices.shape, np.nan)
    if k < prices.shape[0]:
        out[k:] = 100.0 * (prices[k:] / prices[:-k] - 1.0)
    return out


def volatility_pct(prices: np.ndarray, n: int) -> np.ndarray:
    """std (ddof 1) of the last n daily simple returns x sqrt(252) x 100.

    Rolling sums of the returns and their squares by prefix subtraction; the returns are
    centred on their column mean first so the sum-of-squares formula does not cancel.
    NaN unless all n returns (so n + 1 closes) are present.
    """
    t_count, m = prices.shape
    out = np.full((t_count, m), np.nan)
    if n < 2 or n >= t_count:
        return out
    daily = np.full((t_count, m), np.nan)
    daily[1:] = prices[1:] / prices[:-1] - 1.0
    bad = np.isnan(daily)
    count = np.count_nonzero(~bad, axis=0)
    centre = np.where(count > 0, np.where(bad, 0.0, daily).sum(axis=0) / np.maximum(count, 1), 0)
    y = np.where(bad, 0.0, daily - centre)
    zero = np.zeros((1, m))
    s1 = np.concatenate([zero, np.cumsum(y, axis=0)])
    s2 = np.concatenate([zero, np.cumsum(y * y, axis=0)])
    nb = np.concatenate([np.zeros((1, m), np.int64), np.cumsum(bad, axis=0)])
    # window of returns (t-n, t] for t = n .. T-1 -> prefix rows t+1 and t+1-n
    w1 = s1[n + 1 :] - s1[1 : t_count + 1 - n]
    w2 = s2[n + 1 :] - s2[1 : t_count + 1 - n]
    complete = nb[n + 1 :] == nb[1 : t_count + 1 - n]
    var = np.maximum((w2 - w1 * w1 / n) / (n - 1), 0.0)
    out[n:] = np.where(complete, np.sqrt(var) * ANNUALISE * 100.0, np.nan)
    return out


def latest_on_or_before(
    sessions: pd.DatetimeIndex, dates: pd.Series, values: pd.Series
) -> np.ndarray:
    """For each session the latest non-missing value dated on or before it (NaN if none)."""
    v = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64)
    d = pd.to_datetime(dates).dt.normalize().to_numpy(dtype="datetime64[ns]")
    keep = np.isfinite(v)
    v, d = v[keep], d[keep]
    if not len(v):
        return np.full(len(sessions), np.nan)
    order = np.argsort(d, kind="stable")  # equal dates: the later row wins
    v, d = v[order], d[order]
    pos = np.searchsorted(d, sessions.to_numpy(dtype="datetime64[ns]"), side="right") - 1
    return np.where(pos >= 0, v[np.maximum(pos, 0)], np.nan)


def valuation_columns(
    sessions: pd.DatetimeIndex, valuations: pd.DataFrame | None
) -> dict[str, np.ndarray]:
    """SPY and IWM trailing / forward P/E on every session, and the trailing spread.

    Each field is the latest value on or before the session; absent stays NaN (never
    invented).
    """
    out: dict[str, np.ndarray] = {}
    for ticker in ("spy", "iwm"):
        for field in ("trailing_pe", "forward_pe"):
            name = f"{ticker}_{field}"
            if valuations is None or field not in valuations.columns or valuations.empty:
                out[name] = np.full(len(sessions), np.nan)
                continue
            rows = valuations[valuations["ticker"].astype(str).str.upper() == ticker.upper()]
            out[name] = latest_on_or_before(sessions, rows["date"], rows[field])
    value = out["spy_trailing_pe"] - out["iwm_trailing_pe"]
    return {"value": value, **out}
