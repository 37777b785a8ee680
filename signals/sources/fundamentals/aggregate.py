"""Bottom-up figures over index members: a sector's FCF yield, the index's trailing P/E.

Both are ratios of sums over the members that have every input on the session (a cap and
each trailing figure in force), so a member missing one is left out of both sums and counted,
never filled. Share classes of one company (one CIK) count once, with the largest class cap:
the cap sources report the whole company's cap on each class.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from signals.sources.fundamentals.observations import Observation, day
from signals.sources.fundamentals.sec import CompanyTTM


@dataclass(frozen=True)
class Bottomup:
    """A bottom-up figure on every session with its coverage.

    value: the figure per session (NaN where no member is covered or the ratio is undefined).
    covered: companies in both sums per session.
    companies: companies asked about (share classes once).
    newest_published: per session, the latest publication date among the covered inputs
        (NaT where none is covered): how fresh the figure is.
    left_out: ticker -> why it is never covered (no facts, lacks a concept); the others that
        are not covered on a session lack a cap or a computable TTM there.
    """

    value: pd.Series
    covered: pd.Series
    companies: int
    newest_published: pd.Series
    left_out: Mapping[str, str] = field(default_factory=dict)

    def at(self, as_of: object) -> tuple[float, int]:
        """(value, covered companies) on the last session on or before `as_of`."""
        pos = self._pos(as_of)
        if pos < 0:
            return math.nan, 0
        return float(self.value.iloc[pos]), int(self.covered.iloc[pos])

    def published_at(self, as_of: object) -> pd.Timestamp | None:
        """The newest publication behind the value on the session on or before `as_of`."""
        pos = self._pos(as_of)
        stamp = None if pos < 0 else self.newest_published.iloc[pos]
        return None if stamp is None or pd.isna(stamp) else pd.Timestamp(stamp)

    def _pos(self, as_of: object) -> int:
        return int(self.value.index.searchsorted(day(as_of), side="right")) - 1


def member_caps(
    company_caps: pd.DataFrame, company_of: Mapping[str, str], tickers: Sequence[str]
) -> pd.DataFrame:
    """Sessions x `tickers` caps from the signal history's sessions x companies caps
    (`SignalHistory.company_caps`; `company_of`: ticker -> company key, as the universe
    gives it). A ticker whose company has no cap gets an empty column: it is counted."""
    empty = pd.Series(np.nan, index=company_caps.index)
    columns = {
        t: company_caps[company_of[t]] if company_of.get(t) in company_caps.columns else empty
        for t in tickers
    }
    return pd.DataFrame(columns, index=company_caps.index)


def _laid(
    per_company: list[Sequence[Observation]], days: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(values, publication dates as int64 ns) sessions x companies: each company's
    observations laid point in time at once (as `daily_series`, for many columns)."""
    t, n = len(days), len(per_company)
    rows = np.full((t + 1, n), -1, dtype=np.int64)  # the extra row takes late publications
    values: list[float] = []
    published: list[int] = []
    for col, observations in enumerate(per_company):
        ordered = sorted(
            observations, key=lambda o: (o.published, o.period_end or pd.Timestamp.min)
        )
        if not ordered:
            continue
        base = len(values)
        values.extend(o.value for o in ordered)
        published.extend(o.published.value for o in ordered)
        first = np.searchsorted(days, np.array([o.published.value for o in ordered]))
        last = np.r_[first[1:] != first[:-1], True]  # the latest of one day's publications
        rows[first[last], col] = base + np.flatnonzero(last)
    np.maximum.accumulate(rows, axis=0, out=rows)  # indices grow with publication order
    rows = rows[:t]
    have = rows >= 0
    vals = np.append(np.asarray(values, dtype=np.float64), np.nan)[np.where(have, rows, -1)]
    none = np.iinfo(np.int64).min  # NaT as int64
    pubs = np.append(np.asarray(published, dtype=np.int64), none)[np.where(have, rows, -1)]
    return vals, pubs


def _inputs(
    caps: pd.DataFrame,
    companies: Mapping[str, CompanyTTM],
    measures: tuple[str, ...],
) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray, int, dict[str, str]]:
    """(company caps, measure -> sessions x companies TTM values, newest publication per
    session and company as int64 ns, company count, left-out reasons) on caps' sessions."""
    days = pd.DatetimeIndex(caps.index).to_numpy(dtype="datetime64[ns]").view(np.int64)
    left_out: dict[str, str] = {}
    groups: dict[object, list[str]] = {}
    for ticker in map(str, caps.columns):
        company = companies.get(ticker)
        key: object = company.cik if company is not None else ("ticker", ticker)
        groups.setdefault(key, []).append(ticker)
        if company is None:
            left_out[ticker] = "no SEC facts"
        elif company.lacking & set(measures):
            missing = ", ".join(sorted(company.lacking & set(measures)))
            left_out[ticker] = "does not report " + missing
    t, n = len(days), len(groups)
    cap = np.empty((t, n))
    positions = {str(c): i for i, c in enumerate(caps.columns)}
    panel = caps.to_numpy(dtype=np.float64)
    for col, tickers in enumerate(groups.values()):
        cap[:, col] = np.fmax.reduce(panel[:, [positions[x] for x in tickers]], axis=1)
    cap = np.where(np.isfinite(cap) & (cap > 0), cap, np.nan)
    heads = [companies.get(tickers[0]) for tickers in groups.values()]
    by_measure: dict[str, np.ndarray] = {}
    newest = np.full((t, n), np.iinfo(np.int64).min, dtype=np.int64)
    for m in measures:
        per_company = [() if c is None else c.ttm.get(m, ()) for c in heads]
        by_measure[m], published = _laid(per_company, days)
        np.maximum(newest, published, out=newest)
    return cap, by_measure, newest, n, left_out


def _result(
    sessions: pd.DatetimeIndex,
    numer: np.ndarray,
    denom: np.ndarray,
    ok: np.ndarray,
    pub: np.ndarray,
    n: int,
    left_out: dict[str, str],
    scale: float,
) -> Bottomup:
    num = np.where(ok, numer, 0.0).sum(axis=1)
    den = np.where(ok, denom, 0.0).sum(axis=1)
    covered = ok.sum(axis=1)
    valid = (covered > 0) & (den > 0)
    value = np.full(len(sessions), np.nan)
    np.divide(scale * num, den, out=value, where=valid)
    none = np.iinfo(np.int64).min  # NaT as int64
    newest = np.where(ok, pub, none).max(axis=1, initial=none)
    return Bottomup(
        pd.Series(value, index=sessions),
        pd.Series(covered.astype(np.int64), index=sessions),
        n,
        pd.Series(newest.view("datetime64[ns]"), index=sessions),
        left_out,
    )


def fcf_yield(caps: pd.DataFrame, companies: Mapping[str, CompanyTTM]) -> Bottomup:
    """100 × Σ (TTM operating cash flow − TTM capex) ÷ Σ market cap, in percent, over the
    members that are `caps`' columns (sessions × members, caps in USD; `companies` is keyed
    by the same names, tickers as `SecSource` gives them)."""
    cap, m, pub, n, left = _inputs(caps, companies, ("ocf", "capex"))
    fcf = m["ocf"] - m["capex"]
    ok = ~np.isnan(cap) & ~np.isnan(fcf)
    return _result(pd.DatetimeIndex(caps.index), fcf, cap, ok, pub, n, left, 100.0)


def trailing_pe(caps: pd.DataFrame, companies: Mapping[str, CompanyTTM]) -> Bottomup:
    """Σ market cap ÷ Σ TTM net income (losses included) over `caps`' columns; NaN where the
    summed earnings are not positive (a P/E of a loss means nothing)."""
    cap, m, pub, n, left = _inputs(caps, companies, ("net_income",))
    income = m["net_income"]
    ok = ~np.isnan(cap) & ~np.isnan(income)
    return _result(pd.DatetimeIndex(caps.index), cap, income, ok, pub, n, left, 1.0)
