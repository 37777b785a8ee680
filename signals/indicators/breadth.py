"""Which members close above their own N-session average, for every session at once.

One cumulative sum of the closes (NaN as 0) and one of the NaN flags along time give every
N-session window by subtraction, so breadth costs a few passes over the panel whatever N is.

Ties: a close equal to its window mean must not count as above. `close_t` counts as above
only when it exceeds the mean by more than ``RTOL`` (1e-10) relative, so an exact tie (and a
difference below 1e-10 of the price, which 7-significant-digit prices cannot produce unless
equal) is not above. This also settles decimal ties the binary floats blur: 59.56 can be the
exact decimal mean of its window while the float mean differs in the last bit (the real S&P
data since 2014 has about 40 such cells, mostly stale prices repeated for 50 sessions).

The tolerance must dominate the rounding of the window sums: a sum cut from prefix sums is
off by at most ``eps * P_t`` in mean units (P_t = the prefix at t), ~1e-13 of the price on
real data but more where a price has fallen far below its past level. Columns where that
bound could reach RTOL / 4 (screened with the column's final prefix and lowest close) are
checked cell by cell, and their doubtful windows are summed directly (error ~1e-15), so the
rule holds however large the prefix gets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: Relative margin by which a close must exceed its window mean to count as above.
RTOL = 1e-10
_EPS = float(np.finfo(np.float64).eps)
#: Window cells re-summed directly per chunk (bounds the memory of the gather).
_CHUNK = 1 << 16


@dataclass(frozen=True)
class Prefix:
    """Prefix sums along time of a sessions x tickers panel.

    values: cumulative sum of the closes with NaN read as 0 (float64).
    gaps: cumulative count of NaN closes (int32); a window (t-N, t] is complete exactly when
        ``gaps[t] == gaps[t-N]``.
    doubtful: columns whose prefix rounding could approach RTOL (see the module docstring).
    """

    values: np.ndarray
    gaps: np.ndarray
    doubtful: np.ndarray


def prefix_sums(closes: np.ndarray) -> Prefix:
    """The two cumulative sums every window below is cut from (keeps the panel's layout)."""
    nan = np.isnan(closes)
    values = np.where(nan, 0.0, closes)
    np.cumsum(values, axis=0, out=values)
    # cast first: numpy's accumulate with a dtype cast is several times slower
    gaps = nan.astype(np.int32)
    np.cumsum(gaps, axis=0, out=gaps)
    if len(closes):
        lowest = np.fmin.reduce(closes, axis=0)  # NaN only for a column without closes
        with np.errstate(invalid="ignore"):
            doubtful = np.flatnonzero(values[-1] * (4 * _EPS) > RTOL * lowest)
    else:
        doubtful = np.empty(0, dtype=np.int64)
    return Prefix(values=values, gaps=gaps, doubtful=doubtful)


def complete_windows(gaps: np.ndarray, n: int) -> np.ndarray:
    """Booleans sessions x tickers: a close on each of the last `n` sessions up to t."""
    t_count = gaps.shape[0]
    used = np.zeros_like(gaps, dtype=bool)  # same memory layout as the panel
    if n > t_count:
        return used
    used[n - 1] = gaps[n - 1] == 0
    np.equal(gaps[n:], gaps[:-n], out=used[n:])
    return used


def above_and_used(
    closes: np.ndarray, prefix: Prefix, n: int, member: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(above, used) booleans sessions x tickers for an `n`-session simple moving average.

    used: a close on each of the last n sessions up to t, and a member on t: `member` is a
        sessions x tickers boolean mask, or one row (1 x tickers) that holds on every session.
    above: used and close_t > the mean of those n closes by more than RTOL relative.
    The first n - 1 sessions have nothing used.
    """
    used = complete_windows(prefix.gaps, n)
    used &= member
    above = np.zeros_like(used)
    t_count = closes.shape[0]
    if n > t_count:
        return above, used
    # window sums ending at t = n-1 .. T-1, scaled to the tie threshold in place
    threshold = np.empty_like(prefix.values[n - 1 :])
    threshold[0] = prefix.values[n - 1]
    np.subtract(prefix.values[n:], prefix.values[:-n], out=threshold[1:])
    if len(prefix.doubtful):
        _resum_doubtful(closes, prefix, n, used, threshold)
    threshold *= (1.0 + RTOL) / n
    np.greater(closes[n - 1 :], threshold, out=above[n - 1 :])
    above &= used
    return above, used


def _resum_doubtful(
    closes: np.ndarray, prefix: Prefix, n: int, used: np.ndarray, sums: np.ndarray
) -> None:
    """Replace, in `sums` (window sums ending at rows n-1..), those whose rounding bound
    eps * P_t reaches RTOL / 4 of the mean, by direct sums of their n closes."""
    cols = prefix.doubtful
    p_t = take_columns(prefix.values[n - 1 :], cols)
    s = take_columns(sums, cols)
    risky = (p_t * (4 * _EPS * n) > RTOL * s) & take_columns(used[n - 1 :], cols)
    rows, which = np.nonzero(risky)
    back = np.arange(n)
    for lo in range(0, len(rows), _CHUNK):  # chunks of cells, to bound the gather's memory
        r, c = rows[lo : lo + _CHUNK], cols[which[lo : lo + _CHUNK]]
        windows = closes[(r + n - 1)[:, None] - back[None, :], c[:, None]]
        sums[r, c] = windows.sum(axis=1)


def take_columns(a: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """a[:, cols] in the same memory layout as `a` (mixed layouts make numpy slow)."""
    # measured: np.take copies a non-contiguous input whole first, and fancy indexing of a
    # row-major array is ~3x slower than np.take; each branch takes the fast one
    if a.strides[0] < a.strides[1]:  # column-major: fancy indexing keeps that layout
        return a[:, cols]
    return np.take(a, cols, axis=1)


def count_true(flags: np.ndarray) -> np.ndarray:
    """True per session (row) of a boolean panel, as int64."""
    if flags.shape[1] < np.iinfo(np.uint16).max:  # narrow accumulator: SIMD, ~4x faster
        return flags.view(np.uint8).sum(axis=1, dtype=np.uint16).astype(np.int64)
    return np.count_nonzero(flags, axis=1).astype(np.int64)


def group_counts(flags: np.ndarray, groups: Sequence[np.ndarray]) -> np.ndarray:
    """Count of True per session within each group of columns: sessions x groups (int64).

    One gather puts the groups side by side, one reduceat sums each group's slice.
    """
    out = np.zeros((flags.shape[0], len(groups)), dtype=np.int64)
    keep = [g for g, cols in enumerate(groups) if len(cols)]
    if not keep:
        return out
    order = np.concatenate([groups[g] for g in keep])
    starts = np.cumsum([0] + [len(groups[g]) for g in keep[:-1]])
    side_by_side = take_columns(flags.view(np.uint8), order)
    acc = np.uint16 if len(order) < np.iinfo(np.uint16).max else np.int64
    out[:, keep] = np.add.reduceat(side_by_side, starts, axis=1, dtype=acc)
    return out


def percent(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """100 * num / den, NaN where den == 0."""
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    out = np.full(np.broadcast(num, den).shape, np.nan)
    np.divide(100.0 * num, den, out=out, where=den > 0)
    return out
