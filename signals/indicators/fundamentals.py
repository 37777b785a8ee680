"""The fundamentals signals: bank margin, energy FCF yield, bottom-up S&P 500 P/E.

Each is laid on the sessions point in time (a figure applies from the first session on or
after its publication date and holds until the next one), so the snapshot, the rules and a
backtest read the same numbers and none sees a filing before it was public. The bottom-up
figures sum member companies with the caps of `caps.py` (a company once, with its largest
class cap) and say how many members they cover; a user's file for a series replaces the
computed figure whole.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from signals.market import SECTOR_ETFS
from signals.universe import Universe

if TYPE_CHECKING:
    from signals.sources.fundamentals import Fundamentals, Observation

#: Series ids (also the signal ids and the files' `series` values).
BANK_NIM = "bank_nim"
ENERGY_FCF_YIELD = "energy_fcf_yield"
SP500_PE = "sp500_pe_bottom_up"
SP500_FORWARD_PE = "sp500_forward_pe"
#: The signals this module adds beside `valuation`'s extra columns.
FUNDAMENTAL_SIGNALS: tuple[str, ...] = (BANK_NIM, ENERGY_FCF_YIELD)
#: Details that are counts (reported as integers).
COUNT_DETAILS = frozenset({"covered", "members", "pe_covered", "pe_members"})
ENERGY = SECTOR_ETFS["XLE"]


def _nat(n: int) -> np.ndarray:
    return np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")


def _empty_published(sessions: pd.DatetimeIndex) -> pd.DataFrame:
    n = len(sessions)
    out = pd.DataFrame({"value": np.full(n, np.nan)}, index=sessions)
    out["source"] = np.full(n, None, dtype=object)
    out["period_end"] = _nat(n)
    out["published"] = _nat(n)
    return out


def _published(
    fundamentals: Fundamentals | None, series: str, sessions: pd.DatetimeIndex
) -> pd.DataFrame:
    """value, source, period_end, published per session of one published series."""
    if fundamentals is None or not fundamentals.series.get(series):
        return _empty_published(sessions)
    return fundamentals.daily(series, sessions).frame()


def _ticker_of(
    company: str, tickers_of: Mapping[str, Sequence[str]], known: Mapping[str, object]
) -> str:
    """The ticker a company's figures are looked up by: its first class with facts."""
    tickers = tickers_of.get(company) or (company,)
    return next((t for t in tickers if t in known), tickers[0])


def _caps_by_ticker(
    company_caps: pd.DataFrame,
    companies: Sequence[str],
    universe: Universe,
    known: Mapping[str, object],
) -> pd.DataFrame:
    """sessions x one ticker per company: each company's cap (largest class) once."""
    table = universe.table
    tickers_of: dict[str, list[str]] = {}
    for ticker, company in zip(table.index, table["company"], strict=True):
        tickers_of.setdefault(str(company), []).append(str(ticker))
    present = [c for c in companies if c in company_caps.columns]
    out = company_caps[present].copy() if present else pd.DataFrame(index=company_caps.index)
    out.columns = pd.Index([_ticker_of(c, tickers_of, known) for c in present], dtype=object)
    return out


def _coverage(covered: np.ndarray, members: np.ndarray) -> np.ndarray:
    out = np.full(len(covered), np.nan)
    np.divide(covered, members, out=out, where=members > 0)
    return out


def _sources(fundamentals: Fundamentals, tickers: Sequence[str], measures: Sequence[str]) -> str:
    """The source names behind companies' figures ('sec', 'simulated'), joined."""
    found = sorted(
        {
            o.source
            for t in tickers
            if (c := fundamentals.companies.get(t)) is not None
            for m in measures
            for o in c.ttm.get(m, ())
        }
    )
    return ", ".join(found)


def _in_force(
    observations: Sequence[Observation], days: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(value present, period end) per session of one company's measure, point in time as
    `daily_series` lays it (same-day publications: the later period end wins)."""
    ordered = sorted(observations, key=lambda o: (o.published, o.period_end or pd.Timestamp.min))
    n = len(days)
    if not ordered:
        return np.zeros(n, dtype=bool), _nat(n)
    first = np.searchsorted(days, np.array([o.published.value for o in ordered], dtype=np.int64))
    starts = np.full(n + 1, -1, dtype=np.int64)
    np.maximum.at(starts, first, np.arange(len(ordered)))
    rows = np.maximum.accumulate(starts[:n])
    values = np.array([o.value for o in ordered] + [np.nan])
    ends = np.array(
        [
            np.datetime64("NaT") if o.period_end is None else o.period_end.to_datetime64()
            for o in ordered
        ]
        + [np.datetime64("NaT")],
        dtype="datetime64[ns]",
    )
    return ~np.isnan(values[rows]), ends[rows]


def _newest_period_end(
    fundamentals: Fundamentals, caps: pd.DataFrame, measures: Sequence[str]
) -> np.ndarray:
    """Per session, the latest period end among companies with a cap and every measure in
    force (the covered ones): the quarter the bottom-up figure describes at the newest."""
    days = pd.DatetimeIndex(caps.index).to_numpy(dtype="datetime64[ns]").view(np.int64)
    newest = _nat(len(days))
    have_cap = caps.notna().to_numpy()
    for col, ticker in enumerate(map(str, caps.columns)):
        company = fundamentals.companies.get(ticker)
        if company is None:
            continue
        ok = have_cap[:, col].copy()
        ends = _nat(len(days))
        for m in measures:
            present, end = _in_force(company.ttm.get(m, ()), days)
            ok &= present
            ends = np.fmax(ends, end)
        newest = np.where(ok, np.fmax(newest, ends), newest)
    return newest


def _bottom_up_frame(
    fundamentals: Fundamentals | None,
    series: str,
    caps: pd.DataFrame,
    members: np.ndarray,
    measures: Sequence[str],
    compute: Literal["fcf_yield", "trailing_pe"],
) -> pd.DataFrame:
    """value, covered, members, member_coverage (named apart from the guard's coverage),
    source, period_end, published of one bottom-up figure; a user's file for `series`
    replaces it (no coverage then: the vendor's)."""
    sessions = pd.DatetimeIndex(caps.index)
    n = len(sessions)
    if fundamentals is not None and fundamentals.from_file(series):
        base = _published(fundamentals, series, sessions)
        out = pd.DataFrame({"value": base["value"].to_numpy()}, index=sessions)
        out["covered"] = np.nan
        out["members"] = np.nan
        out["member_coverage"] = np.nan
        for column in ("source", "period_end", "published"):
            out[column] = base[column].to_numpy()
        return out
    if fundamentals is None or fundamentals.sec is None:
        out = pd.DataFrame({"value": np.full(n, np.nan)}, index=sessions)
        out["covered"] = np.nan  # no source asked: not "none covered"
        out["members"] = members.astype(np.float64)
        out["member_coverage"] = np.nan
        out["source"] = np.full(n, None, dtype=object)
        out["period_end"] = _nat(n)
        out["published"] = _nat(n)
        return out
    figure = (
        fundamentals.fcf_yield(caps) if compute == "fcf_yield" else fundamentals.trailing_pe(caps)
    )
    covered = figure.covered.to_numpy(dtype=np.float64)
    out = pd.DataFrame({"value": figure.value.to_numpy()}, index=sessions)
    out["covered"] = covered
    out["members"] = members.astype(np.float64)
    out["member_coverage"] = _coverage(covered, members)
    source = _sources(fundamentals, list(map(str, caps.columns)), measures)
    sources = np.full(n, None, dtype=object)
    sources[covered > 0] = source or None
    out["source"] = sources
    out["period_end"] = _newest_period_end(fundamentals, caps, measures)
    published = (
        _nat(n)
        if figure.newest_published is None
        else figure.newest_published.to_numpy(dtype="datetime64[ns]")
    )
    out["published"] = np.where(covered > 0, published, np.datetime64("NaT"))
    return out


def fundamental_frames(
    sessions: pd.DatetimeIndex,
    company_caps: pd.DataFrame,
    member_companies: np.ndarray,
    universe: Universe,
    fundamentals: Fundamentals | None,
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """The `bank_nim` and `energy_fcf_yield` frames, and the columns `valuation` gains.

    company_caps: sessions x member companies (NaN off membership), as behind top10_share.
    member_companies: member companies per session (the bottom-up P/E's denominator).
    """
    known: Mapping[str, object] = {} if fundamentals is None else fundamentals.companies
    table = universe.table
    energy = list(dict.fromkeys(map(str, table.loc[table["sector"] == ENERGY, "company"])))
    energy_caps = _caps_by_ticker(company_caps, energy, universe, known)
    all_caps = _caps_by_ticker(company_caps, list(map(str, company_caps.columns)), universe, known)
    n = len(sessions)
    fcf = _bottom_up_frame(
        fundamentals,
        ENERGY_FCF_YIELD,
        energy_caps,
        np.full(n, len(energy), dtype=np.float64),
        ("ocf", "capex"),
        "fcf_yield",
    )
    pe = _bottom_up_frame(
        fundamentals,
        SP500_PE,
        all_caps,
        np.asarray(member_companies, dtype=np.float64),
        ("net_income",),
        "trailing_pe",
    )
    forward = _published(fundamentals, SP500_FORWARD_PE, sessions)
    valuation = pd.DataFrame({SP500_PE: pe["value"].to_numpy()}, index=sessions)
    for column in ("covered", "members", "source", "period_end", "published"):
        valuation[f"pe_{column}"] = pe[column].to_numpy()
    valuation["pe_coverage"] = pe["member_coverage"].to_numpy()
    valuation[SP500_FORWARD_PE] = forward["value"].to_numpy()
    valuation["forward_pe_source"] = forward["source"].to_numpy()
    valuation["forward_pe_published"] = forward["published"].to_numpy()
    frames = {BANK_NIM: _published(fundamentals, BANK_NIM, sessions), ENERGY_FCF_YIELD: fcf}
    return frames, valuation
