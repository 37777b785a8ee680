"""Simulated fundamentals for the demo market, published like the real ones (labelled simulated).

So that every fundamentals answer, rule and backtest runs offline, the demo gets the same
shapes the real sources give: a quarterly bank net interest margin (about 3.0 - 3.4 %)
published 60 days after the quarter, as FRED's is taken to be, and per member company
trailing-twelve-month operating cash flow, capex and net income, each published 25 - 45 days
after its quarter (60 for the fourth). Earnings are set from the company's cap when they are
published so that the bottom-up P/E lands around 18 - 28, the Energy sector's free cash flow so that
its yield lands around 6 - 10 %. A few companies report no facts, one Energy company no
capex: the coverage the answers show is then partial, as on real data. Deterministic given
the market; its own random stream, so the simulated prices do not change.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from signals.sources.demo_market import SimulatedMarket
from signals.sources.fundamentals import CompanyTTM, Fundamentals, Observation, SecFacts

SOURCE = "simulated"
NIM_LAG_DAYS = 60
#: Share of companies with no facts at all (left out of the bottom-up sums, and counted).
NO_FACTS_SHARE = 0.03
ENERGY = "Energy"


def _quarter_ends(sessions: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """Calendar quarter ends from the quarter before the first session to the last one's."""
    first = sessions[0] - pd.offsets.QuarterEnd(1)
    return pd.date_range(first, sessions[-1], freq="QE").normalize()


def _bounded_walk(
    rng: np.random.Generator, n: int, low: float, high: float, step: float
) -> np.ndarray:
    """A random walk that reflects off [low, high] (a level that drifts but stays plausible)."""
    out = np.empty(n)
    x = rng.uniform(low + 0.3 * (high - low), high - 0.3 * (high - low))
    for i in range(n):
        x += rng.normal(0.0, step)
        if x > high:
            x = 2 * high - x
        if x < low:
            x = 2 * low - x
        out[i] = x
    return out


def _nim(rng: np.random.Generator, quarters: pd.DatetimeIndex) -> list[Observation]:
    values = np.round(_bounded_walk(rng, len(quarters), 3.0, 3.4, 0.06), 2)
    lag = pd.Timedelta(days=NIM_LAG_DAYS)
    return [
        Observation("bank_nim", float(v), "%", SOURCE, q, q + lag)
        for q, v in zip(quarters, values, strict=True)
    ]


def _caps_at(market: SimulatedMarket, tickers: list[str], days: np.ndarray) -> np.ndarray:
    """quarters x tickers: each ticker's latest cap snapshot on or before its day in `days`
    (quarters x tickers, datetime64[ns]); NaN before the first snapshot."""
    wide = market.caps.pivot_table(index="date", columns="ticker", values="market_cap")
    wide = wide.reindex(columns=tickers).sort_index()
    snapshots = wide.index.to_numpy(dtype="datetime64[ns]")
    pos = np.searchsorted(snapshots, days.ravel(), side="right").reshape(days.shape) - 1
    values = wide.to_numpy(dtype=np.float64)
    picked = values[np.maximum(pos, 0), np.arange(len(tickers))[None, :]]
    return np.where(pos >= 0, picked, np.nan)


def _ttm(
    measure: str, quarters: pd.DatetimeIndex, values: np.ndarray, lags: np.ndarray
) -> list[Observation]:
    return [
        Observation(measure, float(v), "USD", SOURCE, q, q + pd.Timedelta(days=int(d)))
        for q, v, d in zip(quarters, values, lags, strict=True)
        if np.isfinite(v)
    ]


def simulated_fundamentals(market: SimulatedMarket, seed: int) -> Fundamentals:
    """The demo's bank margin and member companies' TTM figures (see the module doc)."""
    rng = np.random.default_rng([seed, 15])
    sessions = pd.DatetimeIndex(market.closes.index)
    quarters = _quarter_ends(sessions)
    members = market.members.drop_duplicates("company").reset_index(drop=True)
    tickers = list(map(str, members["ticker"]))
    n_q, n_c = len(quarters), len(tickers)
    energy = (members["sector"] == ENERGY).to_numpy()
    quarter_of_year = quarters.quarter.to_numpy()
    base_lag = rng.integers(25, 46, n_c)
    lags = np.where(quarter_of_year[:, None] == 4, 60, base_lag[None, :])
    published = quarters.to_numpy(dtype="datetime64[ns]")[:, None] + lags.astype("timedelta64[D]")
    # figures are set from the cap known when they are published (nothing later)
    caps = _caps_at(market, tickers, published)

    # earnings: the index P/E follows a slow walk; each company's own multiple scatters
    # around it (log-normal), its harmonic mean brought back to the walk's level
    sigma = 0.35
    index_pe = _bounded_walk(rng, n_q, 20.0, 24.0, 0.6)
    own = np.exp(rng.normal(0.0, sigma, n_c) + sigma**2 / 2)
    income = caps / (index_pe[:, None] * own[None, :])
    # energy: free cash flow from a sector yield walk, capex a steady share of operating flow
    sector_yield = _bounded_walk(rng, n_q, 7.0, 9.0, 0.3) / 100.0
    fcf = caps * sector_yield[:, None] * np.exp(rng.normal(0.0, 0.2, n_c))[None, :]
    capex_share = rng.uniform(0.3, 0.55, n_c)
    ocf = fcf / (1.0 - capex_share[None, :])
    capex = ocf - fcf

    no_facts = rng.random(n_c) < NO_FACTS_SHARE
    energy_rows = np.flatnonzero(energy & ~no_facts)
    no_capex = int(energy_rows[-1]) if len(energy_rows) > 1 else -1

    companies: dict[str, CompanyTTM] = {}
    for i, ticker in enumerate(tickers):
        if no_facts[i]:
            continue
        ttm = {"net_income": _ttm("net_income", quarters, income[:, i], lags[:, i])}
        lacking: frozenset[str] = frozenset()
        if energy[i]:
            ttm["ocf"] = _ttm("ocf", quarters, ocf[:, i], lags[:, i])
            if i == no_capex:
                lacking = frozenset({"capex"})
            else:
                ttm["capex"] = _ttm("capex", quarters, capex[:, i], lags[:, i])
        name = str(members.loc[i, "name"])
        companies[ticker] = CompanyTTM(ticker, 900_000 + i, name, ttm, lacking)
    # every share class of a company looks its figures up under its own ticker, as the SEC's
    by_company = dict(zip(members["company"], tickers, strict=True))
    for ticker, company in zip(market.members["ticker"], market.members["company"], strict=True):
        head = by_company[company]
        if head in companies and str(ticker) not in companies:
            companies[str(ticker)] = companies[head]
    missing = tuple(t for t, skip in zip(tickers, no_facts, strict=True) if skip)
    return Fundamentals({"bank_nim": _nim(rng, quarters)}, SecFacts(companies, unknown=missing))
