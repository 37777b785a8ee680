"""The two yardsticks `compute_signals` is timed against: 200-day breadth only.

- `floor_breadth`: the least numpy can do for one breadth series: one cumulative sum along
  time, window sums by subtraction, ``close * n > window_sum``, a sum across tickers. NaN is
  handled the simple way: a NaN close is never above, and a window counts as used only when a
  cumulative count of present closes says all n are there.
- `naive_breadth`: what a first version in pandas looks like: one ticker at a time,
  ``s.rolling(n).mean()``, compare, add up. Its Python loop over tickers is the point (it is
  the "before" picture), so it is exempt from the project's no-loop rule.

Both return per-session counts (above, used) for the member columns they are given, so the
smoke test can check them against the signals' own ``above`` and ``used`` details.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from signals.market import MarketData


def member_closes(data: MarketData) -> pd.DataFrame:
    """The member columns of the panel (what breadth counts), in the panel's layout."""
    members = data.closes.columns.isin(data.universe.table.index)
    return data.closes.loc[:, members]


def floor_breadth(closes: np.ndarray, n: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """(above, used) per session of a sessions x members float array (see module doc).

    Lean on purpose (in-place sums, a cast before the count's cumsum, which numpy runs
    several times faster than a casting accumulate, temporaries freed early): a floor that
    wastes passes or memory would flatter `compute_signals` beside it.
    """
    t_count = closes.shape[0]
    above = np.zeros(t_count, dtype=np.int64)
    used = np.zeros(t_count, dtype=np.int64)
    if n > t_count:
        return above, used
    present = ~np.isnan(closes)
    counts = present.astype(np.int32)
    np.cumsum(counts, axis=0, out=counts)
    complete = np.empty((t_count - n + 1, closes.shape[1]), dtype=bool)
    complete[0] = counts[n - 1] == n
    np.equal(counts[n:] - counts[:-n], n, out=complete[1:])
    del counts  # each panel-sized buffer is freed before the next one is made
    sums = np.where(present, closes, 0.0)
    del present
    np.cumsum(sums, axis=0, out=sums)
    window = sums[n - 1 :].copy()
    np.subtract(window[1:], sums[:-n], out=window[1:])
    del sums
    hit = np.greater(closes[n - 1 :] * n, window)
    hit &= complete
    used[n - 1 :] = np.count_nonzero(complete, axis=1)
    above[n - 1 :] = np.count_nonzero(hit, axis=1)
    return above, used


def naive_breadth(closes: pd.DataFrame, n: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """(above, used) per session, one ticker at a time with pandas' rolling mean."""
    above = pd.Series(0, index=closes.index, dtype=np.int64)
    used = pd.Series(0, index=closes.index, dtype=np.int64)
    for ticker in closes.columns:
        s = closes[ticker]
        sma = s.rolling(n).mean()
        above += s > sma
        used += sma.notna()
    return above.to_numpy(), used.to_numpy()
