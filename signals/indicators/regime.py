"""The rotation regime: how many of the four broadening conditions hold.

Conditions: breadth >= threshold; equal weight beats cap weight; small caps beat SPY; the
top-ten share is below its level `top10_lookback` sessions ago. A condition whose input is
missing is NaN and not counted; with two or more missing the label is ``unknown``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from signals.indicators.params import SignalParams

CONDITIONS = ("cond_breadth", "cond_ew", "cond_smallcap", "cond_top10")
LABELS = ("narrow", "broadening", "rotation", "unknown")


def _flag(held: np.ndarray, missing: np.ndarray) -> np.ndarray:
    return np.where(missing, np.nan, held.astype(np.float64))


def _lagged(values: np.ndarray, k: int) -> np.ndarray:
    out = np.full(len(values), np.nan)
    if k < len(values):
        out[k:] = values[:-k] if k else values
    return out


def regime_columns(
    sessions: pd.DatetimeIndex, frames: Mapping[str, pd.DataFrame], params: SignalParams
) -> pd.DataFrame:
    """Frame with value (conditions held), label and the four condition flags (1/0/NaN)."""
    breadth = frames[params.breadth_id]["value"].to_numpy()
    ew = frames["ew_vs_cw"]["value"].to_numpy()
    small = frames["smallcap_rs"]["value"].to_numpy()
    top = frames["top10_share"]["value"].to_numpy()
    top_then = _lagged(top, params.top10_lookback)
    with np.errstate(invalid="ignore"):
        flags = np.column_stack(
            [
                _flag(breadth >= params.regime_breadth, np.isnan(breadth)),
                _flag(ew > 0, np.isnan(ew)),
                _flag(small > 0, np.isnan(small)),
                _flag(top < top_then, np.isnan(top) | np.isnan(top_then)),
            ]
        )
    missing = np.isnan(flags).sum(axis=1)
    held = np.where(np.isnan(flags), 0.0, flags).sum(axis=1)
    code = np.where(missing >= 2, 3, np.where(held <= 1, 0, np.where(held <= 3, 1, 2)))
    label = np.array(LABELS, dtype=object)[code]
    # with the label unknown the count means little (a rule on it must not move on missing
    # inputs), so it is null like any other missing number
    value = np.where(missing >= 2, np.nan, held)
    data = {"value": value, "label": label, **dict(zip(CONDITIONS, flags.T, strict=True))}
    return pd.DataFrame(data, index=sessions)


def regime_reasons(frames: Mapping[str, pd.DataFrame], params: SignalParams, pos: int) -> list[str]:
    """One short English sentence per condition at row `pos`, saying whether it holds."""
    regime = frames["rotation_regime"].iloc[pos]
    breadth = float(frames[params.breadth_id]["value"].iloc[pos])
    ew = float(frames["ew_vs_cw"]["value"].iloc[pos])
    small = float(frames["smallcap_rs"]["value"].iloc[pos])
    top_series = frames["top10_share"]["value"]
    top = float(top_series.iloc[pos])
    lb = params.top10_lookback
    top_then = float(top_series.iloc[pos - lb]) if pos >= lb else float("nan")
    window = params.breadth_windows[0]
    rw = params.return_window
    reasons: list[str] = []

    def held(name: str) -> bool | None:
        v = regime[name]
        return None if pd.isna(v) else bool(v)

    h = held("cond_breadth")
    if h is None:
        reasons.append(f"breadth: no data for the {window}-day average")
    else:
        side = "at or above" if h else "below"
        reasons.append(
            f"breadth: {breadth:.1f}% of members above their {window}-day average, "
            f"{side} {params.regime_breadth:g}%"
        )
    for name, value, who, whom in (
        ("cond_ew", ew, "equal weight (RSP)", "cap weight (SPY)"),
        ("cond_smallcap", small, "small caps (IWM)", "the S&P 500 (SPY)"),
    ):
        h = held(name)
        if h is None:
            reasons.append(f"{who} vs {whom}: no data")
        else:
            verb = "beat" if h else "trailed"
            reasons.append(f"{who} {verb} {whom} by {abs(value):.1f} pp over {rw} sessions")
    h = held("cond_top10")
    if h is None:
        reasons.append(f"top-10 share: no market caps now or {lb} sessions ago")
    else:
        trend = "down" if h else "not down"
        reasons.append(f"top-10 share {top:.1f}% vs {top_then:.1f}% {lb} sessions ago ({trend})")
    return reasons
