"""Every signal on real market data equals a straightforward computation written here.

The reference versions below follow docs/signals.md one ticker (or one year) at a time with
plain numpy / pandas, sharing no code with signals/indicators*.py, and are compared on every
session of 2015 - 2024. Data: ../shared/data (see its README); skipped where absent.
"""

from __future__ import annotations

import re
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from signals.indicators import SignalHistory, compute_signals
from signals.market import SECTOR_ETFS, SECTOR_SIGNAL_ETFS
from tests.signals.conftest import RealFrames

pytestmark = pytest.mark.realdata

FROM, TO = pd.Timestamp("2015-01-01"), pd.Timestamp("2024-12-31")
RTOL, ATOL = 1e-9, 1e-9
SEVEN = ("AAPL", "MSFT", "NVDA", "AMZN", "GOOGL", "GOOG", "META", "TSLA")


def close_enough(actual: pd.Series, expected: pd.Series, what: str) -> None:
    actual = actual.loc[FROM:TO]
    expected = expected.reindex(actual.index)
    assert len(actual) > 2000, what
    np.testing.assert_allclose(
        actual.to_numpy(dtype=float),
        expected.to_numpy(dtype=float),
        rtol=RTOL,
        atol=ATOL,
        equal_nan=True,
        err_msg=what,
    )


# --- reference computations ---------------------------------------------------------------


def member_mask(frames: RealFrames, pit: bool) -> pd.DataFrame:
    """Sessions x tickers: members from the universe file, or from the membership intervals."""
    closes = frames.closes
    if not pit:
        listed = list(frames.members.index)
        return pd.DataFrame(True, index=closes.index, columns=listed)
    iv = frames.membership
    mask = pd.DataFrame(False, index=closes.index, columns=sorted(iv["ticker"].unique()))
    for ticker, start, end in iv.itertuples(index=False):
        stop = closes.index[-1] + pd.Timedelta(days=1) if pd.isna(end) else end
        mask.loc[(mask.index >= start) & (mask.index < stop), ticker] = True
    return mask


def decimal_above(close: float, window: np.ndarray) -> bool:
    """close > mean(window) in exact decimal arithmetic on the quoted (7-digit) prices."""
    total = sum((Decimal(repr(float(v))) for v in window), Decimal(0))
    return Decimal(repr(float(close))) * len(window) > total


def above_used(closes: pd.DataFrame, n: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per ticker: all n closes present, and close_t > their mean (computed from 2014 on).

    Prices are decimals: 59.56 can equal the mean of its window in decimal yet differ from
    the float mean in the last bit. Cells within 1e-9 of their mean are decided exactly with
    `decimal` (about 40 such ties since 2014, e.g. stale prices repeated for 50 sessions).
    """
    start = closes.index.searchsorted(FROM) - n + 1
    part = closes.iloc[start:]
    above, used = {}, {}
    for ticker in part.columns:
        x = part[ticker].to_numpy()
        windows = sliding_window_view(x, n)
        complete = ~np.isnan(windows).any(axis=1)
        mean = windows.mean(axis=1)
        a = np.zeros(len(x), dtype=bool)
        u = np.zeros(len(x), dtype=bool)
        u[n - 1 :] = complete
        a[n - 1 :] = complete & (x[n - 1 :] > mean)
        for i in np.flatnonzero(complete & (np.abs(x[n - 1 :] - mean) <= 1e-9 * mean)):
            a[n - 1 + i] = decimal_above(x[n - 1 + i], windows[i])
        above[ticker], used[ticker] = a, u
    return pd.DataFrame(above, index=part.index), pd.DataFrame(used, index=part.index)


def breadth(above: pd.DataFrame, used: pd.DataFrame, members: pd.DataFrame) -> pd.Series:
    tickers = [t for t in members.columns if t in above.columns]
    m = members.loc[above.index, tickers]
    a = (above[tickers] & m).sum(axis=1)
    u = (used[tickers] & m).sum(axis=1)
    return (100.0 * a / u).where(u > 0)


def company(name: str, ticker: str) -> str:
    return re.sub(r"\s*\((class|series)\s+\w+\)\s*$", "", name, flags=re.IGNORECASE) or ticker


def ticker_caps(frames: RealFrames) -> pd.DataFrame:
    """cap_t = cap_s x close_t / close_s, s = the latest snapshot <= t with a value."""
    closes = frames.closes
    out = {}
    for ticker, rows in frames.caps.dropna(subset=["market_cap"]).groupby("ticker"):
        if ticker not in closes.columns:
            continue
        prices = closes[ticker].dropna()
        ratios = {}
        for day, cap in zip(rows["date"], rows["market_cap"], strict=True):
            before = prices.loc[:day]
            if len(before) and cap > 0:
                ratios[day] = cap / before.iloc[-1]
        if not ratios:
            continue
        k = pd.Series(ratios).sort_index()
        k = k[~k.index.duplicated(keep="last")]
        k_on_sessions = k.reindex(k.index.union(closes.index)).ffill().reindex(closes.index)
        out[ticker] = k_on_sessions * closes[ticker]
    return pd.DataFrame(out, index=closes.index)


def company_caps(frames: RealFrames, caps: pd.DataFrame, members: pd.DataFrame) -> pd.DataFrame:
    tickers = [t for t in caps.columns if t in members.columns]
    masked = caps[tickers].where(members.reindex(columns=tickers, fill_value=False))
    names = frames.members["name"]
    keys = [company(names[t], t) if t in names.index else t for t in tickers]
    return masked.T.groupby(keys).max().T


def top10(cc: pd.DataFrame) -> pd.Series:
    values = np.sort(cc.fillna(0.0).to_numpy(), axis=1)
    total = values.sum(axis=1)
    share = 100.0 * values[:, -10:].sum(axis=1) / np.where(total > 0, total, np.nan)
    return pd.Series(share, index=cc.index)


# --- fixtures -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def history(real_frames: RealFrames) -> SignalHistory:
    return compute_signals(real_frames.market())


@pytest.fixture(scope="module")
def history_pit(real_frames: RealFrames) -> SignalHistory:
    return compute_signals(real_frames.market(membership=True))


@pytest.fixture(scope="module")
def windows(real_frames: RealFrames) -> dict[int, tuple[pd.DataFrame, pd.DataFrame]]:
    return {n: above_used(real_frames.closes, n) for n in (200, 50)}


@pytest.fixture(scope="module")
def caps(real_frames: RealFrames) -> pd.DataFrame:
    return ticker_caps(real_frames)


# --- tests --------------------------------------------------------------------------------


@pytest.mark.parametrize("pit", [False, True], ids=["universe", "membership"])
def test_breadth(real_frames: RealFrames, windows, history, history_pit, pit: bool) -> None:
    h = history_pit if pit else history
    members = member_mask(real_frames, pit)
    for n, (above, used) in windows.items():
        close_enough(h.series(f"breadth_{n}d"), breadth(above, used, members), f"breadth {n}")
        m = members.loc[above.index, [t for t in members.columns if t in used.columns]]
        close_enough(h.series(f"breadth_{n}d.used"), (used[m.columns] & m).sum(axis=1), f"used {n}")


def test_sector_breadth(real_frames: RealFrames, windows, history) -> None:
    above, used = windows[200]
    sectors = real_frames.members["sector"]
    for etf, sector in SECTOR_ETFS.items():
        listed = sectors.index[sectors == sector]
        members = pd.DataFrame(True, index=real_frames.closes.index, columns=listed)
        close_enough(
            history.series(f"sector_{etf}.breadth_200d"),
            breadth(above, used, members),
            f"{etf} breadth",
        )
    assert history.series("sector_IWM.breadth_200d").isna().all()


def test_etf_spreads_and_volatility(real_frames: RealFrames, history) -> None:
    closes = real_frames.closes

    def ret(t: str, k: int) -> pd.Series:
        return 100.0 * (closes[t] / closes[t].shift(k) - 1.0)

    def vol(t: str) -> pd.Series:
        daily = (closes[t] / closes[t].shift(1) - 1.0).to_numpy()
        out = np.full(len(daily), np.nan)
        w = sliding_window_view(daily, 252)
        out[251:] = w.std(axis=1, ddof=1) * np.sqrt(252) * 100  # NaN in a window -> NaN
        return pd.Series(out, index=closes.index)

    close_enough(history.series("ew_vs_cw"), ret("RSP", 63) - ret("SPY", 63), "ew_vs_cw")
    close_enough(history.series("ew_vs_cw.rsp_return"), ret("RSP", 63), "rsp")
    close_enough(history.series("smallcap_rs"), ret("IWM", 63) - ret("SPY", 63), "smallcap")
    close_enough(history.series("smallcap_rs.iwm_qqq"), ret("IWM", 63) - ret("QQQ", 63), "qqq")
    close_enough(history.series("smallcap_rs.iwc_spy"), ret("IWC", 63) - ret("SPY", 63), "iwc")
    vols = {t: vol(t) for t in (*SECTOR_SIGNAL_ETFS, "SPY")}
    for etf in SECTOR_SIGNAL_ETFS:
        f = f"sector_{etf}"
        if etf != "XLK":
            close_enough(history.series(f), ret(etf, 63) - ret("XLK", 63), f)
            close_enough(
                history.series(f"{f}.vol_252_vs_xlk"), vols[etf] - vols["XLK"], f"{f} vol xlk"
            )
        for k in (21, 63, 252):
            close_enough(history.series(f"{f}.ret_{k}"), ret(etf, k), f"{f} ret {k}")
            close_enough(
                history.series(f"{f}.ret_{k}_vs_spy"), ret(etf, k) - ret("SPY", k), f"{f} {k}"
            )
        close_enough(history.series(f"{f}.vol_252"), vols[etf], f"{f} vol")
        close_enough(history.series(f"{f}.vol_252_vs_spy"), vols[etf] - vols["SPY"], f"{f} vol spy")


@pytest.mark.parametrize("pit", [False, True], ids=["universe", "membership"])
def test_top10_share(real_frames: RealFrames, caps, history, history_pit, pit: bool) -> None:
    h = history_pit if pit else history
    members = member_mask(real_frames, pit)
    cc = company_caps(real_frames, caps, members)
    close_enough(h.series("top10_share"), top10(cc), "top10_share")
    close_enough(h.series("top10_share.companies_used"), cc.notna().sum(axis=1), "companies")
    tickers = [t for t in caps.columns if t in members.columns]
    with_cap = caps[tickers].where(members.reindex(columns=tickers, fill_value=False)).notna()
    missing = members.sum(axis=1) - with_cap.sum(axis=1)
    close_enough(h.series("top10_share.missing_caps"), missing, "missing caps")
    # Alphabet counted once: GOOG and GOOGL each carry the whole company's cap
    day = pd.Timestamp("2024-06-28")
    ten = h.details_at("top10_share", day)["companies"]
    assert sum(c["company"].startswith("Alphabet") for c in ten) == 1
    assert ten[0]["cap"] == pytest.approx(cc.loc[day].max(), rel=RTOL)


def test_mega7_contribution(real_frames: RealFrames, caps, history) -> None:
    closes = real_frames.closes
    members = member_mask(real_frames, False)
    names = real_frames.members["name"]
    seven = {company(names[t], t) for t in SEVEN}
    value = pd.Series(np.nan, index=closes.index)
    pp, ytd = value.copy(), value.copy()
    tickers = [t for t in caps.columns if t in members.columns]
    for year in range(FROM.year, TO.year + 1):
        base = closes.index[closes.index.year == year - 1][-1]
        rows = closes.index[closes.index.year == year]
        on_base = caps.loc[base, tickers].dropna()
        best: dict[str, tuple[float, str]] = {}  # company -> (largest class cap, its ticker)
        for ticker, cap in on_base.items():
            key = company(names[ticker], ticker)
            if key not in best or cap > best[key][0]:
                best[key] = (cap, ticker)
        total_cap = sum(c for c, _ in best.values())
        all_sum = pd.Series(0.0, index=rows)
        seven_sum = pd.Series(0.0, index=rows)
        for key, (cap, ticker) in best.items():
            r = (closes.loc[rows, ticker] / closes.loc[base, ticker] - 1.0).fillna(0.0)
            all_sum += cap / total_cap * r
            if key in seven:
                seven_sum += cap / total_cap * r
        pp[rows] = 100 * seven_sum
        ytd[rows] = 100 * all_sum
        value[rows] = (100 * seven_sum / all_sum).where((100 * all_sum).abs() >= 0.5)
    close_enough(history.series("mega7_contribution"), value, "mega7")
    close_enough(history.series("mega7_contribution.pp"), pp, "mega7 pp")
    close_enough(history.series("mega7_contribution.index_ytd"), ytd, "index ytd")
    assert value.loc[FROM:TO].notna().mean() > 0.8


def test_regime_and_valuation(real_frames: RealFrames, windows, caps, history) -> None:
    closes = real_frames.closes
    members = member_mask(real_frames, False)
    b = breadth(*windows[200], members)
    ew = 100 * (closes["RSP"] / closes["RSP"].shift(63) - closes["SPY"] / closes["SPY"].shift(63))
    sc = 100 * (closes["IWM"] / closes["IWM"].shift(63) - closes["SPY"] / closes["SPY"].shift(63))
    top = top10(company_caps(real_frames, caps, members))
    conds = pd.DataFrame(
        {
            "cond_breadth": (b >= 65).astype(float).where(b.notna()),
            "cond_ew": (ew > 0).astype(float).where(ew.notna()),
            "cond_smallcap": (sc > 0).astype(float).where(sc.notna()),
            "cond_top10": (top < top.shift(63))
            .astype(float)
            .where(top.notna() & top.shift(63).notna()),
        }
    )
    held = conds.sum(axis=1).where(conds.isna().sum(axis=1) < 2)  # unknown label: null
    for name in conds.columns:
        close_enough(history.series(f"rotation_regime.{name}"), conds[name], name)
    close_enough(history.series("rotation_regime"), held, "regime")
    labels = np.select(
        [conds.isna().sum(axis=1) >= 2, held <= 1, held <= 3],
        ["unknown", "narrow", "broadening"],
        "rotation",
    )
    expected = pd.Series(labels, index=closes.index).loc[FROM:TO]
    got = history.series("rotation_regime.label").loc[FROM:TO]
    assert (got.to_numpy() == expected.to_numpy()).all()
    assert history.series("valuation").isna().all()  # the shared data has no P/E


def test_snapshot_json_on_real_data(real_frames: RealFrames, history) -> None:
    import json

    from signals.snapshot import build_snapshot

    data = real_frames.market()
    for day in ("2020-03-16", "2024-12-31", None):
        out = build_snapshot(history, data, day).to_json()
        json.dumps(out, allow_nan=False)
        assert out["freshness"]["stale_sessions"] == 0
        assert out["freshness"]["coverage"] > 0.95
        assert len(out["signals"]["top10_share"]["companies"]) == 10
    assert out["as_of"] == "2026-07-31"
