"""The demo market: shape, determinism, internal consistency, and the scenario it promises.

Every number is re-derived here with small, plain numpy computations of the docs/signals.md
definitions (not through `signals.indicators.history`), so a test fails if the generator drifts.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from signals.calendar import last_completed_session, sessions
from signals.market import ETF_TICKERS, SECTOR_ETFS, MarketData
from signals.sources.base import PriceSource
from signals.sources.demo import DemoSource
from signals.universe import Universe

SHARED = Path(__file__).resolve().parents[3] / ".." / "shared" / "data"
END = pd.Timestamp("2026-07-31")
SEVEN = ("AAPL", "MSFT", "NVDA", "AMZN", "GOOGL", "GOOG", "META", "TSLA")
RECENT = 504  # two years of sessions: a short backtest must see every rule fire


@pytest.fixture(scope="module")
def market() -> MarketData:
    return DemoSource(seed=7, end=END).load(None)


def members_of(data: MarketData) -> list[str]:
    return list(data.universe.table.index)


# --- shape -----------------------------------------------------------------------------


def test_meets_the_protocol_and_is_labelled_simulated(market: MarketData) -> None:
    src = DemoSource()
    assert isinstance(src, PriceSource)
    assert (src.name, src.simulated) == ("demo", True)
    assert (market.source, market.simulated) == ("demo", True)


def test_sessions_are_at_least_six_years_of_nyse_sessions(market: MarketData) -> None:
    idx = market.closes.index
    assert idx[-1] == END
    assert idx[-1] - idx[0] >= pd.Timedelta(days=6 * 365)
    assert idx.equals(sessions(idx[0], idx[-1]))
    assert idx.name == "date" and idx.tz is None and idx.dtype == "datetime64[ns]"
    assert idx.is_monotonic_increasing and idx.is_unique


def test_default_end_is_the_last_completed_session() -> None:
    before = last_completed_session()
    data = DemoSource(years=6).load(None)
    assert data.closes.index[-1] in {before, last_completed_session()}
    assert data.closes.index[-1] - data.closes.index[0] >= pd.Timedelta(days=6 * 365 - 7)


def test_members_sectors_and_share_classes(market: MarketData) -> None:
    table = market.universe.table
    assert 490 <= table["company"].nunique() <= 510
    assert set(table["sector"]) == set(SECTOR_ETFS.values())
    assert set(SEVEN) <= set(table.index)
    classes = table.groupby("company").size()
    dual = classes[classes == 2].index
    assert len(dual) >= 2 and "Alphabet" in dual
    assert table.loc[["GOOGL", "GOOG"], "name"].tolist() == [
        "Alphabet (Class A)",
        "Alphabet (Class C)",
    ]
    for company in dual:
        names = table.loc[table["company"] == company, "name"]
        assert names.str.fullmatch(re.escape(company) + r" \(Class [A-Z]\)").all()
    fictional = [t for t in table.index if t not in SEVEN]
    assert all(re.fullmatch(r"[A-Z]{2,4}", t) for t in fictional)
    assert not set(table.index) & set(ETF_TICKERS)
    assert table["name"].is_unique


def test_fictional_tickers_do_not_collide_with_real_sp500_tickers(market: MarketData) -> None:
    if not (SHARED / "sp500_constituents.csv").exists():
        pytest.skip(f"real data folder absent: {SHARED}")
    real = set(pd.read_csv(SHARED / "sp500_constituents.csv")["ticker"])
    real |= set(pd.read_csv(SHARED / "sp500_membership.csv")["ticker"])
    assert set(members_of(market)) & real == set(SEVEN)


def test_every_etf_and_member_has_a_positive_close_every_session(market: MarketData) -> None:
    closes = market.closes
    assert set(closes.columns) == set(members_of(market)) | set(ETF_TICKERS)
    assert (closes.dtypes == "float64").all()
    assert np.isfinite(closes.to_numpy()).all() and (closes.to_numpy() > 0).all()


def test_company_sizes_are_skewed_like_a_real_index(market: MarketData) -> None:
    caps = market.caps[market.caps["date"] == market.caps["date"].min()]
    company = market.universe.table["company"]
    by_company = caps.groupby(caps["ticker"].map(company))["market_cap"].max()
    weights = by_company.sort_values(ascending=False) / by_company.sum()
    assert weights.iloc[0] > 0.04  # a handful of mega-caps worth several % each
    assert (weights.iloc[:5] > 0.02).all()
    assert weights.iloc[0] / weights.iloc[-1] > 50
    assert 0.20 < weights.iloc[:10].sum() < 0.35


def test_valuations_are_monthly_and_plausible(market: MarketData) -> None:
    v = market.valuations
    assert set(v["ticker"]) == {"SPY", "IWM"}
    spy, iwm = (v[v["ticker"] == t] for t in ("SPY", "IWM"))
    assert len(spy) >= 12 * 6 and spy["date"].is_unique
    assert spy["trailing_pe"].between(17, 27).all()
    assert iwm["trailing_pe"].between(13, 31).all()
    assert (v["forward_pe"] < v["trailing_pe"]).all()
    assert set(v["date"]) <= set(market.closes.index)


# --- determinism and the as-of cut ----------------------------------------------------


def test_same_seed_same_market_other_seed_other_market(market: MarketData) -> None:
    again = DemoSource(seed=7, end=END).load(None)
    pd.testing.assert_frame_equal(again.closes, market.closes)
    pd.testing.assert_frame_equal(again.caps, market.caps)
    pd.testing.assert_frame_equal(again.valuations, market.valuations)
    pd.testing.assert_frame_equal(again.universe.table, market.universe.table)
    other = DemoSource(seed=8, end=END).load(None)
    assert not np.allclose(other.closes.to_numpy(), market.closes.to_numpy())
    pd.testing.assert_frame_equal(other.universe.table, market.universe.table)


def test_load_end_cuts_the_same_history(market: MarketData) -> None:
    cut = pd.Timestamp("2025-03-14")
    data = DemoSource(seed=7, end=END).load(None, end=cut)
    assert data.closes.index[-1] == cut
    pd.testing.assert_frame_equal(data.closes, market.closes.loc[:cut])
    assert data.caps["date"].max() <= cut and data.valuations["date"].max() <= cut


def test_a_passed_universe_is_ignored(market: MarketData) -> None:
    table = pd.DataFrame(
        {"name": ["X"], "sector": ["Energy"], "company": ["X"]},
        index=pd.Index(["XOM"], name="ticker"),
    )
    data = DemoSource(seed=7, end=END).load(Universe(table=table))
    pd.testing.assert_frame_equal(data.universe.table, market.universe.table)


@pytest.mark.parametrize("years", [3, 4])
def test_a_shorter_history_keeps_the_latest_phases(years: int) -> None:
    data = DemoSource(years=years, end=END).load(None)
    assert data.closes.index[-1] == END
    assert np.isfinite(data.closes.to_numpy()).all() and (data.closes.to_numpy() > 0).all()
    s = scenario_signals(data)
    assert s["breadth"].min() < 40 and s["breadth"].max() > 70


def test_years_below_the_minimum_are_refused() -> None:
    with pytest.raises(ValueError, match="at least"):
        DemoSource(years=1)


# --- internal consistency ---------------------------------------------------------------


def daily_caps(data: MarketData) -> pd.DataFrame:
    """cap_t = cap_s * close_t / close_s with s the latest snapshot on or before t."""
    tickers = members_of(data)
    snaps = data.caps.pivot(index="date", columns="ticker", values="market_cap")[tickers]
    per_close = snaps / data.closes.loc[snaps.index, tickers]
    return per_close.reindex(data.closes.index).ffill() * data.closes[tickers]


def test_caps_move_with_the_close_between_snapshots(market: MarketData) -> None:
    tickers = members_of(market)
    snaps = market.caps.pivot(index="date", columns="ticker", values="market_cap")[tickers]
    implied_shares = snaps / market.closes.loc[snaps.index, tickers]
    spread = implied_shares.max() / implied_shares.min() - 1
    assert spread.max() < 1e-9


def test_each_share_class_carries_the_whole_company_cap(market: MarketData) -> None:
    caps = market.caps.pivot(index="date", columns="ticker", values="market_cap")
    ratio = caps["GOOG"] / caps["GOOGL"]
    assert ratio.between(0.95, 1.05).all()
    first = caps.iloc[0].drop("GOOG").sort_values(ascending=False)
    assert list(first.index).index("GOOGL") < 6  # one class alone is a mega-cap: not split


def index_from_caps(data: MarketData, tickers: list[str]) -> pd.Series:
    """A cap-weighted index of `tickers`, each company counted once (a class gets its
    company's cap divided by the number of classes), up to a constant."""
    table = data.universe.table
    n_classes = table["company"].map(table["company"].value_counts())
    caps = daily_caps(data)[tickers]
    return (caps / n_classes[tickers]).sum(axis=1)


def test_spy_is_the_cap_weighted_index_of_all_members(market: MarketData) -> None:
    ratio = market.closes["SPY"] / index_from_caps(market, members_of(market))
    assert (ratio / ratio.iloc[0] - 1).abs().max() < 1e-9


@pytest.mark.parametrize("etf", sorted(SECTOR_ETFS))
def test_sector_etfs_are_cap_weighted_sector_members(market: MarketData, etf: str) -> None:
    table = market.universe.table
    tickers = list(table.index[table["sector"] == SECTOR_ETFS[etf]])
    ratio = market.closes[etf] / index_from_caps(market, tickers)
    assert (ratio / ratio.iloc[0] - 1).abs().max() < 1e-9


def test_rsp_is_equal_weight_rebalanced_each_quarter(market: MarketData) -> None:
    closes = market.closes[members_of(market)].to_numpy()
    dates = market.closes.index
    n = closes.shape[1]
    level, units = np.empty(len(dates)), 1.0 / n / closes[0]
    for t in range(len(dates)):  # plain book-keeping: hold units, rebalance on quarter starts
        level[t] = units @ closes[t]
        if t > 0 and dates[t].quarter != dates[t - 1].quarter:
            units = level[t] / n / closes[t]  # at the close of the quarter's first session
    rsp = market.closes["RSP"].to_numpy()
    np.testing.assert_allclose(rsp / rsp[0], level / level[0], rtol=1e-9)


# --- the scenario: independent computations of the signals ---------------------------------


def scenario_signals(data: MarketData) -> pd.DataFrame:
    closes = data.closes
    members = closes[members_of(data)].to_numpy()
    n = len(closes)
    breadth = np.full(n, np.nan)
    sma = sliding_window_view(members, 200, axis=0).mean(axis=-1)  # (n-199, N)
    breadth[199:] = 100.0 * (members[199:] > sma).sum(axis=1) / members.shape[1]

    company = data.universe.table["company"]
    caps = daily_caps(data)
    company_caps = caps.T.groupby(company[caps.columns].to_numpy()).max().T.to_numpy()
    ordered = -np.sort(-company_caps, axis=1)
    top10 = 100.0 * ordered[:, :10].sum(axis=1) / ordered.sum(axis=1)

    def r63(ticker: str) -> np.ndarray:
        x = closes[ticker].to_numpy()
        return np.concatenate([np.full(63, np.nan), x[63:] / x[:-63] - 1.0])

    out = pd.DataFrame(
        {
            "breadth": breadth,
            "top10": top10,
            "ew_vs_cw": 100 * (r63("RSP") - r63("SPY")),
            "smallcap_rs": 100 * (r63("IWM") - r63("SPY")),
        },
        index=closes.index,
    )
    for etf in ("XLF", "XLV", "XLI", "XLB", "XLE", "IWM", "VBR"):
        out[f"sector_{etf}"] = 100 * (r63(etf) - r63("XLK"))
    top10_fell = out["top10"] < out["top10"].shift(63)
    count = (
        (out["breadth"] >= 65).astype(int)
        + (out["ew_vs_cw"] > 0)
        + (out["smallcap_rs"] > 0)
        + top10_fell
    )
    out["regime"] = np.select([count <= 1, count <= 3], ["narrow", "broadening"], "rotation")
    return out


def upward_crossings(x: pd.Series, below: float, above: float) -> list[pd.Timestamp]:
    """Sessions where `x` first exceeds `above` after having been under `below` (hysteresis)."""
    out, armed = [], False
    for day, v in x.dropna().items():  # a few thousand values: a plain loop is the clear way
        if v < below:
            armed = True
        elif v > above and armed:
            out.append(day)
            armed = False
    return out


@pytest.fixture(scope="module")
def signals(market: MarketData) -> pd.DataFrame:
    return scenario_signals(market)


def test_narrow_phase_then_broadening_phase_twice(signals: pd.DataFrame) -> None:
    narrow = (signals["top10"] > 37) & (signals["breadth"] < 40)
    broad = (signals["breadth"] > 70) & (signals["ew_vs_cw"] > 1) & (signals["smallcap_rs"] > 1)
    phases = [("narrow", narrow), ("broad", broad)] * 2
    start = signals.index[0]
    for label, mask in phases:
        hits = mask[mask & (mask.index > start)]
        assert len(hits), f"no {label} phase after {start:%Y-%m-%d}"
        start = hits.index[0]
    assert start >= signals.index[-RECENT], "the second cycle must sit in the last two years"


@pytest.mark.parametrize(
    ("column", "below", "above", "times"),
    [
        ("breadth", 55, 70, 2),  # rule: crosses above 65, clear 60
        ("top10", 33, 37, 2),  # rule: crosses above 35
        ("ew_vs_cw", -1, 1, 2),
        ("smallcap_rs", -1, 1, 2),
        *((f"sector_{e}", -2, 2, 2) for e in ("XLF", "XLV", "XLI", "XLB", "XLE", "IWM", "VBR")),
    ],
)
def test_each_default_rule_crosses_above_convincingly(
    signals: pd.DataFrame, column: str, below: float, above: float, times: int
) -> None:
    ups = upward_crossings(signals[column], below, above)
    assert len(ups) >= times, f"{column}: crossings {ups}"
    recent = [d for d in ups if d >= signals.index[-RECENT]]
    assert recent, f"{column} never crosses in the last {RECENT} sessions: {ups}"


def test_breadth_crosses_below_50_twice(signals: pd.DataFrame) -> None:
    downs = upward_crossings(-signals["breadth"], -55, -45)
    assert len(downs) >= 2 and downs[-1] >= signals.index[-RECENT]


def test_breadth_and_equal_weight_agree_then_disagree(signals: pd.DataFrame) -> None:
    both = ((signals["breadth"] >= 65) & (signals["ew_vs_cw"] > 0)).astype(float)
    assert len(upward_crossings(both, 0.5, 0.5)) >= 2


def test_the_regime_label_changes_in_the_last_two_years(signals: pd.DataFrame) -> None:
    recent = signals["regime"].iloc[-RECENT:]
    assert {"narrow", "rotation"} <= set(recent)
    assert (recent != recent.shift()).iloc[1:].sum() >= 2


@pytest.mark.parametrize("seed", [1, 11])
def test_scenario_holds_for_other_seeds_and_today(seed: int) -> None:
    s = scenario_signals(DemoSource(seed=seed).load(None))
    assert s["top10"].max() > 37 and s["breadth"].min() < 40 and s["breadth"].max() > 70
    for column in ("ew_vs_cw", "smallcap_rs", "sector_XLE", "sector_IWM"):
        assert len(upward_crossings(s[column], -1, 1)) >= 2, column
