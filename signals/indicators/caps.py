"""Market caps carried from sparse snapshots to every session, grouped into companies.

A snapshot gives cap_s on date s; the price files are adjusted, so the cap is carried with
adjusted returns: cap_t = k_s * close_t with k_s = cap_s / close_s (close_s = the last close
on or before s), s = the latest snapshot on or before t that has a value for that ticker
(docs/signals.md). Multiplying adjusted closes by raw share counts would mix two price scales.
Share classes count once per company, with the largest class cap (sources report the whole
company's cap on every class). A member without a close on t has no cap that day (it is
counted in ``missing_caps``, never filled from an older close).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from signals.indicators.breadth import count_true, take_columns
from signals.universe import Universe, interval_mask

#: Sessions per block when multiplying closes by their carried ratios (bounds temporaries).
_ROWS = 256


@dataclass(frozen=True)
class CapPanel:
    """Company caps on every session, for the members that ever have a cap.

    cols: panel columns of those tickers; the first len(companies) are each company's first
        class, the rest further classes.
    codes: company index of each col.
    company_caps: sessions x companies, the largest class cap (NaN where no class has one or
        no class is a member that session).
    with_cap: per session, member tickers with a cap.
    base_caps: row -> ticker caps (per col) on that session, for the last session of each
        year that another year follows (the mega-seven bases).
    oldest_snapshot: per session, the date (datetime64[ns]) of the oldest snapshot behind
        a member's cap that session (NaT where no member has a cap).
    """

    cols: np.ndarray
    codes: np.ndarray
    companies: list[str]
    company_caps: np.ndarray
    with_cap: np.ndarray
    base_caps: dict[int, np.ndarray]
    oldest_snapshot: np.ndarray = field(default_factory=lambda: np.empty(0, dtype="datetime64[ns]"))


def year_bases(sessions: pd.DatetimeIndex) -> np.ndarray:
    """Rows of the last session of each year that has a following year in the panel."""
    years = sessions.year.to_numpy()
    return np.flatnonzero(np.diff(years))


def last_valid_row(gaps: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Last row <= rows[i] with a close in column cols[i] (-1 if none), by bisection.

    `gaps` is the cumulative NaN count along time; rows r0..p are all NaN exactly when
    gaps[p] - gaps[r0 - 1] == p - r0 + 1. Vectorised over the queries: ~log2(T) steps.
    """
    rows = np.asarray(rows, dtype=np.int64)
    cols = np.asarray(cols, dtype=np.int64)

    def before(r: np.ndarray) -> np.ndarray:  # NaN count in rows 0 .. r-1
        return np.where(r > 0, gaps[np.maximum(r - 1, 0), cols], 0)

    at_p = gaps[rows, cols].astype(np.int64)
    valid_at_p = at_p == before(rows)
    lo = np.zeros_like(rows)
    hi = rows.copy()  # the smallest r0 with rows r0..p all NaN lies in [lo, hi]
    while True:
        active = ~valid_at_p & (lo < hi)
        if not active.any():
            break
        mid = (lo + hi) // 2
        all_nan = at_p - before(mid) == rows - mid + 1
        hi = np.where(active & all_nan, mid, hi)
        lo = np.where(active & ~all_nan, mid + 1, lo)
    return np.where(valid_at_p, rows, lo - 1)


def _days(values: pd.Series) -> np.ndarray:
    """Dates as datetime64[ns] at midnight."""
    if not pd.api.types.is_datetime64_any_dtype(values):
        values = pd.to_datetime(values)
    return values.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]").astype("datetime64[ns]")


def _sorted_codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sorted unique values, index of each value in them): np.unique without the big sort."""
    codes, uniques = pd.factorize(values)
    uniques = np.asarray(uniques)
    order = np.argsort(uniques, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return uniques[order], rank[codes]


def snapshot_ratios(
    sessions: pd.DatetimeIndex,
    closes: np.ndarray,
    caps: pd.DataFrame,
    columns: pd.Index,
    eligible: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """k_s = cap_s / close_s per snapshot date and ticker, and the snapshot behind each.

    Returns (dates, cols, ratios): snapshot dates (sorted, datetime64[ns]), the panel columns
    that have at least one usable snapshot, and ratios dates x cols carried forward along the
    snapshots (so row q holds the latest k on or before dates[q] that has a value).
    columns: the panel's tickers; eligible: per panel column, whether it is ever a member
    (other tickers' snapshot rows are ignored).
    The fourth array (dates x cols) is the row of `dates` whose ratio row q carries (-1: none).
    """
    codes, uniques = pd.factorize(caps["ticker"])
    ucol = columns.get_indexer(uniques)
    ucol = np.where((ucol >= 0) & eligible[np.maximum(ucol, 0)], ucol, -1)
    col = np.where(codes >= 0, ucol[np.maximum(codes, 0)], -1)
    cap = pd.to_numeric(caps["market_cap"], errors="coerce").to_numpy(np.float64, na_value=np.nan)
    date = _days(caps["date"])
    row = np.searchsorted(sessions.to_numpy(dtype="datetime64[ns]"), date, side="right") - 1
    with np.errstate(invalid="ignore"):
        ok = (col >= 0) & (row >= 0) & (cap > 0) & np.isfinite(cap)
    cap, col, date, row = cap[ok], col[ok], date[ok], row[ok]
    close = closes[row, col]
    lacking = np.flatnonzero(np.isnan(close))  # no close on the snapshot's session
    if len(lacking):
        # NaN counts along time of just the columns concerned (not yet listed, gaps)
        lack_cols, which = np.unique(col[lacking], return_inverse=True)
        gaps = np.isnan(take_columns(closes, lack_cols)).astype(np.int32)
        np.cumsum(gaps, axis=0, out=gaps)
        prior = last_valid_row(gaps, row[lacking], which)
        close[lacking] = np.where(prior >= 0, closes[np.maximum(prior, 0), col[lacking]], np.nan)
    ok = ~np.isnan(close)
    ratio = cap[ok] / close[ok]
    dates, date_idx = _sorted_codes(date[ok])
    present = np.zeros(len(columns), dtype=bool)
    present[col[ok]] = True
    cols = np.flatnonzero(present)
    col_idx = (np.cumsum(present) - 1)[col[ok]]
    k = np.full((len(dates), len(cols)), np.nan)
    k[date_idx, col_idx] = ratio  # duplicates of (date, ticker): the last row wins
    # carry each ticker's latest ratio forward along the snapshots
    idx = np.where(np.isnan(k), -1, np.arange(len(dates))[:, None])
    np.maximum.accumulate(idx, axis=0, out=idx)
    k = np.where(idx >= 0, k[np.maximum(idx, 0), np.arange(len(cols))], np.nan)
    return dates, cols, k, idx


def cap_panel(
    sessions: pd.DatetimeIndex,
    closes: np.ndarray,
    caps: pd.DataFrame | None,
    columns: pd.Index,
    eligible: np.ndarray,
    company_of_col: np.ndarray,
    member: np.ndarray | None,
) -> CapPanel:
    """Ticker caps on every session, reduced in place to company caps (see the module doc).

    columns / eligible: the panel's tickers and which of them are ever members.
    company_of_col: company key per panel column (only eligible ones are read).
    member: sessions x panel columns booleans, or None when every eligible ticker is a
        member on every session.
    """
    t_count = len(sessions)
    none = np.empty(0, np.int64)
    if caps is None or caps.empty or not eligible.any():
        nat = np.full(t_count, np.datetime64("NaT"), dtype="datetime64[ns]")
        return CapPanel(
            none, none, [], np.empty((t_count, 0)), np.zeros(t_count, np.int64), {}, nat
        )
    dates, cols, k, used = snapshot_ratios(sessions, closes, caps, columns, eligible)
    codes, uniques = pd.factorize(company_of_col[cols])  # an object array: no Arrow detour
    rank = class_rank(codes)
    order = np.lexsort((np.arange(len(cols)), rank))  # first classes first, then the others
    cols, codes, rank, k = cols[order], codes[order], rank[order], k[:, order]
    used = used[:, order]

    q = np.searchsorted(dates, sessions.to_numpy(dtype="datetime64[ns]"), side="right")
    k_ext = np.vstack([np.full((1, len(cols)), np.nan), k])  # row 0: no snapshot yet
    ticker_caps = take_columns(closes, cols)
    for lo in range(0, t_count, _ROWS):  # blocks of sessions bound the gathered ratios
        ticker_caps[lo : lo + _ROWS] *= k_ext[q[lo : lo + _ROWS]]
    if member is not None:
        np.copyto(ticker_caps, np.nan, where=~take_columns(member, cols))
    with_cap = count_true(~np.isnan(ticker_caps))
    oldest = _oldest_snapshot(ticker_caps, q, used, dates)
    base_caps = {int(r): ticker_caps[r].copy() for r in year_bases(sessions)}
    n_companies = len(uniques)
    for r in range(1, int(rank.max(initial=0)) + 1):  # 1-2 extra share classes at most
        sel = np.flatnonzero(rank == r)
        target = codes[sel]  # == the company's first-class column, as codes[:n] == 0..n-1
        ticker_caps[:, target] = np.fmax(
            take_columns(ticker_caps, target), take_columns(ticker_caps, sel)
        )
    return CapPanel(
        cols=cols,
        codes=codes,
        companies=[str(c) for c in uniques],
        company_caps=ticker_caps[:, :n_companies],
        with_cap=with_cap,
        base_caps=base_caps,
        oldest_snapshot=oldest,
    )


def _oldest_snapshot(
    ticker_caps: np.ndarray, q: np.ndarray, used: np.ndarray, dates: np.ndarray
) -> np.ndarray:
    """Per session, the oldest snapshot date behind a ticker cap that session (NaT: none).

    q: per session, 1 + the row of `dates` last on or before it (0: no snapshot yet);
    used: dates x cols, the snapshot row each carried ratio comes from (-1: none).
    """
    t_count, n_cols = ticker_caps.shape
    none = len(dates)  # larger than any row: "no cap in this column"
    used_ext = np.vstack([np.full((1, n_cols), -1, dtype=used.dtype), used])
    first = np.full(t_count, none, dtype=np.int64)
    if n_cols:
        for lo in range(0, t_count, _ROWS):  # blocks of sessions bound the gathered rows
            block = np.where(
                np.isnan(ticker_caps[lo : lo + _ROWS]), none, used_ext[q[lo : lo + _ROWS]]
            )
            first[lo : lo + _ROWS] = block.min(axis=1)
    found = (first >= 0) & (first < none)
    out = np.full(t_count, np.datetime64("NaT"), dtype="datetime64[ns]")
    out[found] = dates[first[found]]
    return out


def member_companies(
    universe: Universe, sessions: pd.DatetimeIndex, member_count: np.ndarray
) -> np.ndarray:
    """Member companies per session: the members (`member_count`, tickers with or without
    prices) less the extra share classes of a company with more than one member that day.

    Without a membership file every universe ticker is a member every day: the universe's
    companies. With one, the few companies with several tickers are counted by their own
    interval mask (a ticker unknown to the universe file is its own company).
    """
    count = np.asarray(member_count, dtype=np.int64)
    if universe.membership is None:
        return np.full(len(sessions), universe.table["company"].nunique(), dtype=np.int64)
    tickers = pd.Index(universe.membership["ticker"].unique(), dtype=object)
    company = universe.company_of(list(tickers)).to_numpy(dtype=object)
    codes, _ = pd.factorize(company)
    shared = np.bincount(codes)[codes] > 1
    if not shared.any():
        return count
    mask = interval_mask(universe.membership, sessions, tickers[shared], "C")
    extra = np.zeros(len(sessions), dtype=np.int64)
    group_codes = codes[shared]
    for code in np.unique(group_codes):
        in_group = count_true(mask[:, group_codes == code])
        extra += np.maximum(in_group - 1, 0)
    return count - extra


def base_rows(sessions: pd.DatetimeIndex) -> np.ndarray:
    """Per session, the row of the last session of the previous year when the panel has it
    (the mega-seven base, as `mega_contribution` uses it), else -1."""
    base = np.full(len(sessions), -1, dtype=np.int64)
    years = sessions.year.to_numpy()
    for b in year_bases(sessions):
        stop = int(np.searchsorted(years, years[b + 1], side="right"))
        base[b + 1 : stop] = b
    return base


def class_rank(codes: np.ndarray) -> np.ndarray:
    """0 for a company's first column, 1 for its second, ... (order of appearance)."""
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    lengths = np.diff(np.r_[starts, len(codes)])
    rank = np.empty(len(codes), dtype=np.int64)
    rank[order] = np.arange(len(codes)) - np.repeat(starts, lengths)
    return rank


def top_share(company_caps: np.ndarray, top: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """(100 * sum of the `top` largest / sum of all, companies with a cap) per session.

    Exact, but avoids partitioning every row over every company: the top ten are first
    taken among candidates (the companies in the top ten of ~64 sampled sessions, plus the
    largest by total cap), and a row is redone over all companies only when some other
    company is larger than that row's tenth.
    """
    have = ~np.isnan(company_caps)
    used = count_true(have)
    filled = np.where(have, company_caps, 0.0)  # caps are positive: 0 never enters a top ten
    del have
    total = filled.sum(axis=1)
    n = filled.shape[1]
    if n <= top:
        largest = total
    else:
        sampled = np.ascontiguousarray(filled[:: max(1, len(filled) // 64)])
        in_samples = np.argpartition(sampled, n - top, axis=1)[:, n - top :]
        by_total = np.argpartition(-filled.sum(axis=0), min(4 * top, n) - 1)[: 4 * top]
        cand = np.union1d(in_samples.ravel(), by_total)
        k = len(cand) - top  # position of each row's tenth largest candidate
        part = np.partition(np.ascontiguousarray(take_columns(filled, cand)), k, axis=1)
        largest = part[:, k:].sum(axis=1)
        if len(cand) < n:
            filled[:, cand] = 0.0  # what is left: the companies outside the candidates
            redo = np.flatnonzero(filled.max(axis=1) > part[:, k])
            for lo in range(0, len(redo), _ROWS):  # blocks of sessions bound the copies
                rows = redo[lo : lo + _ROWS]
                full = np.nan_to_num(company_caps[rows], nan=0.0)
                largest[rows] = np.partition(full, n - top, axis=1)[:, n - top :].sum(axis=1)
    share = np.full(len(total), np.nan)
    np.divide(largest, total, out=share, where=total > 0)  # exactly 1 with <= 10 companies
    share *= 100.0
    return share, used


@dataclass(frozen=True)
class CompanyWeights:
    """Company cap weights on one base session.

    classes: per company with a cap on the base, the position (in the caps given) of its
        largest class: the class whose return counts.
    companies: their company codes.
    weights: cap / sum of caps (sums to 1).
    """

    classes: np.ndarray
    companies: np.ndarray
    weights: np.ndarray


def company_weights(cap_b: np.ndarray, codes: np.ndarray) -> CompanyWeights | None:
    """Company weights from ticker caps on a base session (`cap_b`, NaN where none; `codes`:
    company code per entry). Each company counts once, with its largest class cap (ties: the
    first entry). None when no entry has a cap."""
    ok = np.flatnonzero(np.isfinite(cap_b))
    if not len(ok):
        return None
    order = ok[np.lexsort((-cap_b[ok], codes[ok]))]
    codes_sorted = codes[order]
    first = np.flatnonzero(np.r_[True, codes_sorted[1:] != codes_sorted[:-1]])
    cls = order[first]  # the largest class of each company with a cap on the base
    return CompanyWeights(cls, codes_sorted[first], cap_b[cls] / cap_b[cls].sum())


def mega_contribution(
    sessions: pd.DatetimeIndex,
    closes: np.ndarray,
    panel: CapPanel,
    seven: set[str],
    min_pp: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(value, pp, index_ytd) of the seven's share of the cap-weighted YTD return.

    For each year the base is the last session of the previous year in the panel; weights
    are company caps on the base (members with a cap there); each company's return uses the
    class whose cap was largest on the base. A company without a close on t contributes
    nothing on t (weights are not renormalised). The panel's first year has no base.
    """
    t_count = len(sessions)
    value, pp, ytd = (np.full(t_count, np.nan) for _ in range(3))
    if not panel.companies:
        return value, pp, ytd
    is_seven = np.array([c in seven for c in panel.companies])
    years = sessions.year.to_numpy()
    for base, cap_b in panel.base_caps.items():  # one pass per year
        start = base + 1
        stop = int(np.searchsorted(years, years[start], side="right"))
        split = company_weights(cap_b, panel.codes)
        if split is None:
            continue
        comp, weights = split.companies, split.weights
        price_cols = panel.cols[split.classes]
        ret = take_columns(closes[start:stop], price_cols) / closes[base, price_cols] - 1.0
        np.copyto(ret, 0.0, where=np.isnan(ret))
        total = 100.0 * (ret @ weights)
        part = 100.0 * (ret[:, is_seven[comp]] @ weights[is_seven[comp]])
        pp[start:stop] = part
        ytd[start:stop] = total
        meaningful = np.abs(total) >= min_pp
        value[start:stop] = np.where(
            meaningful, 100.0 * part / np.where(meaningful, total, 1.0), np.nan
        )
    return value, pp, ytd
