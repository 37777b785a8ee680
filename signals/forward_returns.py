"""Forward returns after an event, and the unconditional base rate to judge them against.

A backtest is only informative beside the base rate: "SPY rose 63 sessions after 70 % of
firings" means little if it rose after 70 % of all sessions.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

FORWARD_TICKERS: tuple[str, ...] = ("SPY", "RSP", "IWM")
FORWARD_HORIZONS: tuple[int, ...] = (21, 63, 126)


def forward_return_panel(
    closes: pd.DataFrame,
    tickers: Sequence[str] = FORWARD_TICKERS,
    horizons: Sequence[int] = FORWARD_HORIZONS,
) -> dict[tuple[str, int], pd.Series]:
    """(ticker, k) -> series of close_(t+k) / close_t − 1 in percent, NaN near the end."""
    out: dict[tuple[str, int], pd.Series] = {}
    for t in tickers:
        col = closes[t] if t in closes.columns else pd.Series(np.nan, index=closes.index)
        for k in horizons:
            out[(t, k)] = (col.shift(-k) / col - 1.0) * 100.0
    return out


def at_sessions(
    panel: dict[tuple[str, int], pd.Series], sessions: Iterable[pd.Timestamp]
) -> list[dict[str, float | None]]:
    """For each session, {"SPY_21": pct or None, ...}."""
    rows = []
    for s in sessions:
        row: dict[str, float | None] = {}
        for (t, k), series in panel.items():
            v = series.get(pd.Timestamp(s), np.nan)
            row[f"{t}_{k}"] = None if pd.isna(v) else float(v)
        rows.append(row)
    return rows


def _stats(values: np.ndarray) -> dict[str, float | int | None]:
    values = values[~np.isnan(values)]
    if values.size == 0:
        return {"n": 0, "median": None, "share_positive": None}
    return {
        "n": int(values.size),
        "median": float(np.median(values)),
        "share_positive": float((values > 0).mean()),
    }


def summarize(
    panel: dict[tuple[str, int], pd.Series],
    event_sessions: Sequence[pd.Timestamp],
    start: pd.Timestamp,
    end: pd.Timestamp,
) -> dict[str, dict[str, dict[str, float | int | None]]]:
    """Per "TICKER_k": the events' median and share positive beside the base rate (every
    session in [start, end] with a known forward return)."""
    out: dict[str, dict[str, dict[str, float | int | None]]] = {}
    idx = pd.DatetimeIndex([pd.Timestamp(s) for s in event_sessions])
    for (t, k), series in panel.items():
        window = series.loc[start:end]
        events = series.reindex(idx).to_numpy(dtype=float) if len(idx) else np.array([])
        out[f"{t}_{k}"] = {
            "events": _stats(events),
            "base_rate": _stats(window.to_numpy(dtype=float)),
        }
    return out
