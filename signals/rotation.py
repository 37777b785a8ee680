"""The relative rotation graph: each sector ETF, IWM and RSP measured against SPY.

Our own documented formula (docs/signals.md, "Relative rotation"), not a vendor's:

- ratio = close_X / close_SPY (adjusted closes, so total return);
- rs_ratio = 100 x ratio / its mean over the last 50 sessions (above 100: X has been doing
  better than SPY lately);
- rs_momentum = 100 x rs_ratio / rs_ratio 10 sessions earlier (above 100: that relative
  strength is rising);
- the tail: the last session of each of the last 5 calendar weeks up to the session asked
  for, which is always the tail's last point;
- the quadrant of a point: leading (rs_ratio >= 100 and rs_momentum >= 100), weakening
  (>= 100, < 100), lagging (< 100, < 100), improving (< 100, >= 100).

`rotation_panel` computes both lines for every session at once (vectorised over the panel);
callers compute it once per data set and read any session with `rotation_at`. Everything is
causal: the value at a session reads nothing after it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from signals.market import SECTOR_ETFS

#: The instruments drawn, in this order: the 11 sector ETFs, then small caps and equal weight.
ROTATION_TICKERS: tuple[str, ...] = (*SECTOR_ETFS, "IWM", "RSP")
BENCHMARK = "SPY"
#: Sessions of the ratio's mean (rs_ratio) and of the momentum's look-back (rs_momentum).
RATIO_SESSIONS = 50
MOMENTUM_SESSIONS = 10
#: Weekly points in a tail (the last one is the session asked for).
TAIL_WEEKS = 5
#: The quadrants in their clockwise order on the graph.
QUADRANTS: tuple[str, ...] = ("leading", "weakening", "lagging", "improving")


@dataclass(frozen=True)
class RotationPanel:
    """rs_ratio and rs_momentum: sessions x instruments (NaN where not yet defined)."""

    rs_ratio: pd.DataFrame
    rs_momentum: pd.DataFrame


@dataclass(frozen=True)
class RotationPoint:
    """One instrument on the graph: its latest point and its weekly tail (oldest first)."""

    ticker: str
    rs_ratio: float
    rs_momentum: float
    quadrant: str
    tail: pd.DataFrame  # index: sessions; columns rs_ratio, rs_momentum


def quadrant(rs_ratio: float, rs_momentum: float) -> str:
    """The quadrant of a point; 100 itself counts as strong on both axes."""
    if rs_ratio >= 100:
        return "leading" if rs_momentum >= 100 else "weakening"
    return "improving" if rs_momentum >= 100 else "lagging"


def rotation_panel(
    closes: pd.DataFrame,
    tickers: tuple[str, ...] = ROTATION_TICKERS,
    benchmark: str = BENCHMARK,
) -> RotationPanel:
    """rs_ratio and rs_momentum of every instrument in `tickers` found in `closes`, every
    session. Without the benchmark both frames are empty."""
    present = [t for t in tickers if t in closes.columns]
    if benchmark not in closes.columns or not present:
        empty = pd.DataFrame(index=closes.index, columns=present, dtype=float)
        return RotationPanel(empty, empty.copy())
    ratio = closes[present].div(closes[benchmark], axis=0)
    ratio = ratio.replace([np.inf, -np.inf], np.nan)
    rs_ratio = 100.0 * ratio / ratio.rolling(RATIO_SESSIONS, min_periods=RATIO_SESSIONS).mean()
    rs_momentum = 100.0 * rs_ratio / rs_ratio.shift(MOMENTUM_SESSIONS)
    return RotationPanel(rs_ratio, rs_momentum)


def tail_sessions(sessions: pd.DatetimeIndex, session: pd.Timestamp) -> pd.DatetimeIndex:
    """The last session of each of the last `TAIL_WEEKS` calendar weeks (Monday to Sunday)
    up to `session`, which is the last of them; empty when `session` is before the data."""
    upto = sessions[sessions <= session]
    if upto.empty:
        return upto
    weeks = upto.to_period("W-SUN")
    last_of_week = ~pd.Series(weeks).duplicated(keep="last").to_numpy()
    return upto[last_of_week][-TAIL_WEEKS:]


def rotation_at(panel: RotationPanel, session: pd.Timestamp) -> list[RotationPoint]:
    """The graph at the session on or before `session`: every instrument with a value
    there, in `ROTATION_TICKERS` order (tails keep only their defined points)."""
    days = tail_sessions(pd.DatetimeIndex(panel.rs_ratio.index), pd.Timestamp(session))
    if days.empty:
        return []
    ratio = panel.rs_ratio.loc[days]
    momentum = panel.rs_momentum.loc[days]
    points: list[RotationPoint] = []
    for ticker in panel.rs_ratio.columns:
        tail = pd.DataFrame({"rs_ratio": ratio[ticker], "rs_momentum": momentum[ticker]})
        tail = tail.dropna()
        if tail.empty or tail.index[-1] != days[-1]:
            continue
        x, y = float(tail["rs_ratio"].iloc[-1]), float(tail["rs_momentum"].iloc[-1])
        points.append(RotationPoint(str(ticker), x, y, quadrant(x, y), tail))
    return points
