"""YahooSource offline: frames in yfinance 1.7's format through the download seam, and the
real ``yf.download`` through a canned HTTP session (no test touches the network)."""

from __future__ import annotations

import logging
import socket

import numpy as np
import pandas as pd
import pytest
import yfinance as yf
from yfinance.data import YfData
from yfinance.exceptions import YFRateLimitError

from signals import calendar
from signals.errors import DataSourceError, TransientDataError
from signals.market import ETF_TICKERS
from signals.sources.base import PriceSource
from signals.sources.yahoo import YahooSource
from signals.sources.yahoo_frames import (
    closes_from_download,
    drop_unfinished,
    to_yahoo,
    yahoo_symbols,
)
from signals.universe import Universe
from tests.signals.sources.yahoo_fixtures import CannedYahoo, canned_session, yf_frame

NY = "America/New_York"
START = "2024-10-01"
LAST = pd.Timestamp("2025-01-17")  # a Friday session
AFTER_CLOSE = pd.Timestamp("2025-01-17 17:30", tz=NY)
MID_SESSION = pd.Timestamp("2025-01-17 12:00", tz=NY)
MEMBERS = ["AAPL", "MSFT", "BRK.B"]


# -- isolation: no network, yfinance's caches in a temp folder -------------------------------


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    """Any socket connect or curl_cffi request fails at once instead of reaching out."""

    def refuse(*args, **kwargs):
        raise OSError("network access in a test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    import curl_cffi.requests

    monkeypatch.setattr(curl_cffi.requests.Session, "request", refuse)


@pytest.fixture(scope="module", autouse=True)
def _yf_cache_dir(tmp_path_factory):
    yf.set_tz_cache_location(str(tmp_path_factory.mktemp("yfcache")))


@pytest.fixture(autouse=True)
def _fresh_yf_responses():
    # yfinance memoises past-dated chart answers per URL; each test has its own canned data
    YfData.cache_get.cache_clear()
    yield
    YfData.cache_get.cache_clear()


# -- data -------------------------------------------------------------------------------------


def walk(seed: int, end: pd.Timestamp = LAST) -> pd.Series:
    days = calendar.sessions(START, end)
    rng = np.random.default_rng(seed)
    return pd.Series(100 * np.exp(np.cumsum(rng.normal(0, 0.01, len(days)))), index=days).round(4)


def yahoo_series(names: list[str]) -> dict[str, pd.Series]:
    """Close series per Yahoo symbol for the members and every ETF."""
    return {to_yahoo(t): walk(i) for i, t in enumerate([*names, *ETF_TICKERS])}


def universe(names: list[str] = MEMBERS) -> Universe:
    table = pd.DataFrame(
        {"name": names, "sector": ["Information Technology"] * len(names), "company": names},
        index=pd.Index(names, name="ticker"),
    )
    return Universe(table=table)


def no_info(ticker: str) -> dict:
    return {}


def source(tmp_path, **kw) -> YahooSource:
    kw.setdefault("clock", lambda: AFTER_CLOSE)
    kw.setdefault("start", START)
    kw.setdefault("progress", False)
    kw.setdefault("info", no_info)
    kw.setdefault("sleep", lambda s: pytest.fail(f"unexpected sleep {s}"))
    return YahooSource(tmp_path / "cache", **kw)


def expected_closes(series: dict[str, pd.Series], names: list[str]) -> pd.DataFrame:
    """The panel a correct load returns, built straight from the canned series."""
    cols = {t: series[to_yahoo(t)] for t in [*names, *ETF_TICKERS]}
    return pd.DataFrame(cols).loc[:LAST]


def check_panel(closes: pd.DataFrame) -> None:
    assert closes.index.name == "date"
    assert closes.index.dtype == "datetime64[ns]"
    assert closes.index.is_monotonic_increasing and closes.index.is_unique
    assert (closes.index == closes.index.normalize()).all()
    assert (closes.dtypes == "float64").all()


# -- frames in yfinance 1.7's format ------------------------------------------------------------


def test_fixture_frames_match_real_download():
    series = {"AAPL": walk(1), "BRK-B": walk(2)}
    adapter = CannedYahoo(series)
    real = yf.download(
        ["AAPL", "BRK-B", "ZZZ"],
        start=START,
        end="2025-01-18",
        auto_adjust=True,
        progress=False,
        session=canned_session(adapter),
    )
    built = yf_frame(series, failed=("ZZZ",))
    pd.testing.assert_frame_equal(real, built, check_freq=False, check_exact=True)
    one = yf.download(
        "AAPL", start=START, end="2025-01-18", progress=False, session=canned_session(adapter)
    )
    assert isinstance(one.columns, pd.MultiIndex)  # one ticker still gets (Price, Ticker)
    pd.testing.assert_frame_equal(one, yf_frame({"AAPL": walk(1)}), check_freq=False)
    assert one.index.dtype == "datetime64[s]" and one.index.name == "Date"


def test_closes_from_download_multi_and_single_ticker():
    a, b = walk(1), walk(2).iloc[5:]  # b starts later: NaN rows in a multi-ticker frame
    closes = closes_from_download(yf_frame({"AAPL": a, "BRK-B": b}), ["AAPL", "BRK-B", "ZZZ"])
    check_panel(closes)
    assert list(closes.columns) == ["AAPL", "BRK-B", "ZZZ"]
    np.testing.assert_array_equal(closes["AAPL"].to_numpy(), a.to_numpy())
    assert closes["BRK-B"].iloc[:5].isna().all() and closes["ZZZ"].isna().all()
    one = closes_from_download(yf_frame({"AAPL": a}), ["AAPL"])
    np.testing.assert_array_equal(one["AAPL"].to_numpy(), a.to_numpy())
    flat = yf_frame({"AAPL": a}).droplevel(1, axis=1)  # multi_level_index=False
    pd.testing.assert_frame_equal(closes_from_download(flat, ["AAPL"]), one)


def test_closes_from_empty_download():
    empty = yf_frame({}, failed=("AAPL", "MSFT"))
    assert empty.empty
    closes = closes_from_download(empty, ["AAPL", "MSFT"])
    assert closes.empty and list(closes.columns) == ["AAPL", "MSFT"]
    assert closes_from_download(pd.DataFrame(), ["AAPL"]).empty


def test_nan_last_row_is_not_a_session():
    a, b = walk(1), walk(2)
    a.iloc[-1] = np.nan
    b.iloc[-1] = np.nan
    closes = closes_from_download(yf_frame({"AAPL": a, "MSFT": b}), ["AAPL", "MSFT"])
    assert closes.index[-1] == a.index[-2]
    b2 = walk(2)
    closes = closes_from_download(yf_frame({"AAPL": a, "MSFT": b2}), ["AAPL", "MSFT"])
    assert closes.index[-1] == LAST and np.isnan(closes.loc[LAST, "AAPL"])


def test_duplicate_dates_keep_the_last_value():
    a = walk(1)
    frame = yf_frame({"AAPL": a})
    extra = frame.iloc[-1:].copy()
    extra.index = pd.DatetimeIndex([LAST + pd.Timedelta(hours=15, minutes=59)], name="Date")
    extra.loc[:, ("Close", "AAPL")] = 123.0
    closes = closes_from_download(pd.concat([frame, extra]), ["AAPL"])
    assert closes.index.is_unique and closes.loc[LAST, "AAPL"] == 123.0


def test_drop_unfinished():
    closes = closes_from_download(yf_frame({"AAPL": walk(1)}), ["AAPL"])
    cut = drop_unfinished(closes, pd.Timestamp("2025-01-16"))
    assert cut.index[-1] == pd.Timestamp("2025-01-16") and len(cut) == len(closes) - 1


def test_yahoo_spelling():
    assert (
        to_yahoo("brk.b") == "BRK-B" and to_yahoo("BF.B") == "BF-B" and to_yahoo("AAPL") == "AAPL"
    )
    assert yahoo_symbols(["BRK.B", "AAPL", "BRK-B"]) == {"BRK-B": "BRK.B", "AAPL": "AAPL"}


# -- the source through the download seam (frames in yfinance's format) ------------------------


class FakeDownload:
    """Stands in for ``yf.download``: answers from `series` in yfinance 1.7's format and
    records each call's tickers and keyword arguments."""

    def __init__(self, series: dict[str, pd.Series], extra_row: tuple | None = None) -> None:
        self.series = series
        self.extra_row = extra_row
        self.calls: list[tuple[list[str], dict]] = []

    def __call__(self, tickers, **kw):
        self.calls.append((list(tickers), kw))
        start, end = pd.Timestamp(kw["start"]), pd.Timestamp(kw["end"])
        got = {t: s.loc[start : end - pd.Timedelta(days=1)] for t, s in self.series.items()}
        got = {t: s for t, s in got.items() if t in tickers and not s.empty}
        if self.extra_row is not None:  # Yahoo's live bar after `end`
            day, price = self.extra_row
            got = {t: pd.concat([s, pd.Series([price], index=[day])]) for t, s in got.items()}
        return yf_frame(got, failed=tuple(t for t in tickers if t not in got))


def test_meets_the_price_source_protocol(tmp_path):
    src = source(tmp_path)
    assert isinstance(src, PriceSource)
    assert src.name == "yahoo" and src.simulated is False


def test_load_through_the_seam(tmp_path):
    series = yahoo_series(MEMBERS)
    fake = FakeDownload(series)
    data = source(tmp_path, download=fake, batch_size=7).load(universe())
    check_panel(data.closes)
    want = expected_closes(series, MEMBERS)
    pd.testing.assert_frame_equal(data.closes, want, check_names=False, check_freq=False)
    assert "BRK.B" in data.closes.columns and "BRK-B" not in data.closes.columns
    assert data.source == "yahoo" and data.simulated is False
    # batches of 7 over 20 tickers; SPY (the canary) is added where a batch lacks it
    assert [len(t) for t, _ in fake.calls] == [7, 8, 7]
    assert all("SPY" in t for t, _ in fake.calls)
    assert all("BRK-B" in t or "BRK.B" not in t for t, _ in fake.calls)
    kw = fake.calls[0][1]
    assert kw["auto_adjust"] is True and kw["actions"] is False and kw["threads"] is True
    assert kw["group_by"] == "column" and kw["progress"] is False
    assert (kw["start"], kw["end"]) == (START, "2025-01-18")


def test_second_load_fetches_only_new_sessions(tmp_path):
    series = yahoo_series(MEMBERS)
    fake = FakeDownload(series)
    clock = {"now": pd.Timestamp("2025-01-15 18:00", tz=NY)}
    src = source(tmp_path, download=fake, clock=lambda: clock["now"])
    src.load(universe())
    assert fake.calls[-1][1]["end"] == "2025-01-16"
    fake.calls.clear()
    src.load(universe())
    assert fake.calls == []  # cached through 2025-01-15
    clock["now"] = AFTER_CLOSE
    data = src.load(universe())
    # overlap: 5 sessions up to 2025-01-15 (2025-01-09 was a market holiday)
    assert [(kw["start"], kw["end"]) for _, kw in fake.calls] == [("2025-01-08", "2025-01-18")]
    pd.testing.assert_frame_equal(
        data.closes, expected_closes(series, MEMBERS), check_names=False, check_freq=False
    )


def test_live_bar_is_never_a_close(tmp_path):
    series = yahoo_series(MEMBERS)
    # mid-session on 2025-01-17: the last completed session is 2025-01-16, yet the seam
    # hands back a bar for 2025-01-17 (Yahoo's live price)
    fake = FakeDownload(series, extra_row=(LAST, 999.0))
    data = source(tmp_path, download=fake, clock=lambda: MID_SESSION).load(universe())
    assert data.closes.index[-1] == pd.Timestamp("2025-01-16")
    assert (data.closes != 999.0).all().all()
    assert fake.calls[0][1]["end"] == "2025-01-17"  # exclusive: nothing of the open session


def test_fetch_closes_never_returns_the_open_session(tmp_path):
    # asked through today while today's session is still open: the fetcher itself cuts
    # the live bar (the cache would too, but the fetcher must not rely on it)
    fake = FakeDownload(yahoo_series(MEMBERS), extra_row=(LAST, 999.0))
    src = source(tmp_path, download=fake, clock=lambda: MID_SESSION)
    closes = src.fetch_closes(["AAPL", "SPY"], pd.Timestamp(START).date(), LAST.date())
    assert closes.index[-1] == pd.Timestamp("2025-01-16")
    assert fake.calls[0][1]["end"] == "2025-01-17"


def test_partial_batch_of_only_missing_tickers_is_not_an_error(tmp_path, caplog):
    # a batch holding only a ticker Yahoo lacks: the SPY canary tells it from an outage
    series = yahoo_series(MEMBERS)
    fake = FakeDownload(series)
    with caplog.at_level(logging.WARNING, logger="signals.sources.yahoo"):
        closes = source(tmp_path, download=fake).fetch_closes(
            ["GONE"], pd.Timestamp(START).date(), LAST.date()
        )
    assert list(closes.columns) == ["GONE"] and closes["GONE"].isna().all()
    assert fake.calls[0][0] == ["GONE", "SPY"]
    assert "GONE" in caplog.text


def test_end_in_the_past_is_honoured(tmp_path):
    fake = FakeDownload(yahoo_series(MEMBERS))
    data = source(tmp_path, download=fake).load(universe(), end=pd.Timestamp("2024-12-01"))
    assert data.closes.index[-1] == pd.Timestamp("2024-11-29")  # Sunday -> Friday's session


def test_rate_limit_raised_by_download_is_retried(tmp_path):
    series = yahoo_series(MEMBERS)
    inner = FakeDownload(series)
    state = {"fail": 2}

    def flaky(tickers, **kw):
        if state["fail"]:
            state["fail"] -= 1
            raise YFRateLimitError()
        return inner(tickers, **kw)

    sleeps: list[float] = []
    src = source(tmp_path, download=flaky, sleep=sleeps.append, backoff=0.5)
    data = src.load(universe())
    assert sleeps == [0.5, 1.0]
    assert data.closes.notna().all().all()


def test_universe_none_uses_the_bundled_list(tmp_path, monkeypatch):
    import signals.sources.yahoo as mod

    monkeypatch.setattr(mod, "load_universe", lambda: universe(["MSFT"]))
    data = source(tmp_path, download=FakeDownload(yahoo_series(["MSFT"]))).load(None)
    assert data.universe.tickers == ["MSFT"] and "MSFT" in data.closes.columns


# -- the real yf.download through a canned HTTP session ----------------------------------------


def canned(tmp_path, series, **kw) -> tuple[YahooSource, CannedYahoo]:
    adapter = CannedYahoo(series, live=kw.pop("live", None))
    return source(tmp_path, session=canned_session(adapter), **kw), adapter


def chart_symbols(adapter: CannedYahoo) -> set[str]:
    return {
        u.split("/v8/finance/chart/")[1].split("?")[0] for u in adapter.requests if "/chart/" in u
    }


def test_real_download_normal_batches(tmp_path):
    series = yahoo_series(MEMBERS)
    src, adapter = canned(tmp_path, series, batch_size=8)
    data = src.load(universe())
    check_panel(data.closes)
    pd.testing.assert_frame_equal(
        data.closes, expected_closes(series, MEMBERS), check_names=False, check_freq=False
    )
    assert "BRK-B" in chart_symbols(adapter) and "BRK.B" not in chart_symbols(adapter)
    assert list(data.closes.columns[:3]) == MEMBERS  # mapped back to the caller's spelling
    hosts = {u.split("/")[2] for u in adapter.requests}
    assert hosts <= {"fc.yahoo.com", "query1.finance.yahoo.com", "query2.finance.yahoo.com"}


def test_real_download_empty_answer_is_a_data_source_error(tmp_path):
    src, adapter = canned(tmp_path, yahoo_series(MEMBERS))
    adapter.down = True
    with pytest.raises(DataSourceError, match="Yahoo returned nothing.*network"):
        src.load(universe())
    assert not (tmp_path / "cache" / "prices.parquet").exists()


def test_real_download_partial_answer_warns_and_keeps_the_rest(tmp_path, caplog):
    series = yahoo_series([*MEMBERS, "GONE"])
    del series["GONE"]  # Yahoo has nothing for it
    src, _ = canned(tmp_path, series)
    with caplog.at_level(logging.WARNING, logger="signals.sources.yahoo"):
        data = src.load(universe([*MEMBERS, "GONE"]))
    assert data.closes["GONE"].isna().all()
    others = data.closes.drop(columns="GONE")
    pd.testing.assert_frame_equal(
        others, expected_closes(series, MEMBERS), check_names=False, check_freq=False
    )
    warned = [r for r in caplog.records if "no closes" in r.getMessage()]
    assert len(warned) == 1 and warned[0].getMessage().endswith(": GONE")


def test_real_download_nan_last_row(tmp_path):
    series = yahoo_series(MEMBERS)
    for s in series.values():
        s.iloc[-1] = np.nan  # Yahoo sends nulls for the last bar of everyone
    src, adapter = canned(tmp_path, series)
    data = src.load(universe())
    assert data.closes.index[-1] == pd.Timestamp("2025-01-16")
    # once Yahoo has the bar, the next load asks again and fills it
    for i, s in enumerate(series.values()):
        s.iloc[-1] = 50.0 + i
    data = src.load(universe())
    assert data.closes.index[-1] == LAST
    assert data.closes.loc[LAST, "AAPL"] == 50.0


def test_real_download_live_bar_dropped(tmp_path):
    series = yahoo_series(MEMBERS)
    live = {sym: ("2025-01-17", 999.0) for sym in series}
    src, adapter = canned(tmp_path, series, live=live, clock=lambda: MID_SESSION)
    data = src.load(universe())
    assert data.closes.index[-1] == pd.Timestamp("2025-01-16")
    assert (data.closes != 999.0).all().all()


def test_real_download_rate_limit_backs_off_then_recovers(tmp_path):
    series = yahoo_series(MEMBERS)
    sleeps: list[float] = []
    src, adapter = canned(tmp_path, series, backoff=2.0, batch_size=100)

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 2:
            adapter.throttle = False

    src._sleep = sleep
    adapter.throttle = True
    data = src.load(universe())
    assert sleeps == [2.0, 4.0]  # exponential back-off
    pd.testing.assert_frame_equal(
        data.closes, expected_closes(series, MEMBERS), check_names=False, check_freq=False
    )


def test_real_download_rate_limit_gives_up_with_a_transient_error(tmp_path):
    sleeps: list[float] = []
    src, adapter = canned(
        tmp_path, yahoo_series(MEMBERS), max_retries=2, backoff=1.0, sleep=sleeps.append
    )
    adapter.throttle = True
    with pytest.raises(TransientDataError, match="rate-limited.*after 2 retries"):
        src.load(universe())
    assert sleeps == [1.0, 2.0]


# -- market caps and P/E --------------------------------------------------------------------


class FakeInfo:
    """``Ticker.info`` stand-in: answers from `data`, raises `errors`, counts calls."""

    def __init__(self, data: dict[str, dict], errors: dict[str, Exception] | None = None):
        self.data = data
        self.errors = errors or {}
        self.calls: list[str] = []

    def __call__(self, ticker: str) -> dict:
        self.calls.append(ticker)
        if ticker in self.errors:
            raise self.errors[ticker]
        return self.data.get(ticker, {})


INFO = {
    "AAPL": {"marketCap": 3.5e12, "trailingPE": 35.0},
    "MSFT": {"marketCap": 3.1e12},
    "BRK-B": {"marketCap": 1.0e12},
    "SPY": {"trailingPE": 27.5, "forwardPE": 22.1},
    "IWM": {"trailingPE": 18.0},  # no forward P/E from Yahoo: stays NaN
}


def test_caps_and_pe_snapshots(tmp_path):
    info = FakeInfo(INFO)
    data = source(tmp_path, download=FakeDownload(yahoo_series(MEMBERS)), info=info).load(
        universe()
    )
    caps = data.caps.set_index("ticker")["market_cap"]
    assert caps.to_dict() == {"AAPL": 3.5e12, "BRK.B": 1.0e12, "MSFT": 3.1e12}
    assert (data.caps["date"] == LAST).all()
    vals = data.valuations.set_index("ticker")
    assert vals.loc["SPY", "trailing_pe"] == 27.5 and vals.loc["SPY", "forward_pe"] == 22.1
    assert vals.loc["IWM", "trailing_pe"] == 18.0 and np.isnan(vals.loc["IWM", "forward_pe"])
    assert sorted(info.calls) == ["AAPL", "BRK-B", "IWM", "MSFT", "SPY"]
    stored = pd.read_parquet(tmp_path / "cache" / "caps.parquet")
    assert list(stored.columns) == ["date", "ticker", "market_cap"]


def test_caps_refresh_at_most_weekly_and_accumulate(tmp_path):
    info = FakeInfo(INFO)
    clock = {"now": pd.Timestamp("2025-01-10 17:00", tz=NY)}
    src = source(
        tmp_path,
        download=FakeDownload(yahoo_series(MEMBERS)),
        info=info,
        clock=lambda: clock["now"],
    )
    src.load(universe())
    assert len(info.calls) == 5
    clock["now"] = pd.Timestamp("2025-01-15 17:00", tz=NY)  # 5 days later
    src.load(universe())
    assert len(info.calls) == 5
    clock["now"] = AFTER_CLOSE  # 7 days later
    data = src.load(universe())
    assert len(info.calls) == 10
    assert sorted(data.caps["date"].unique()) == [pd.Timestamp("2025-01-10"), LAST]
    assert len(data.caps) == 6


def test_fundamental_failures_never_fail_the_price_load(tmp_path, caplog):
    info = FakeInfo(
        {**INFO, "MSFT": {"marketCap": "Infinity"}, "SPY": {"trailingPE": None}},
        errors={"AAPL": RuntimeError("HTTP 500 from quoteSummary")},
    )
    src = source(tmp_path, download=FakeDownload(yahoo_series(MEMBERS)), info=info)
    with caplog.at_level(logging.WARNING):
        data = src.load(universe())
    assert data.closes.notna().all().all()
    caps = data.caps.set_index("ticker")["market_cap"]
    assert "AAPL" not in caps.index  # no answer: asked again next load
    assert np.isnan(caps["MSFT"]) and caps["BRK.B"] == 1.0e12
    assert np.isnan(data.valuations.set_index("ticker").loc["SPY", "trailing_pe"])
    assert "AAPL" in caplog.text
    info.calls.clear()
    src.load(universe())
    assert info.calls == ["AAPL"]


def test_rate_limited_fundamentals_stop_the_round(tmp_path, caplog):
    info = FakeInfo(INFO, errors={t: YFRateLimitError() for t in INFO})
    src = source(tmp_path, download=FakeDownload(yahoo_series(MEMBERS)), info=info)
    with caplog.at_level(logging.WARNING):
        data = src.load(universe())
    assert data.caps is None and data.valuations is None
    assert data.closes.notna().all().all()
    assert "rate-limited" in caplog.text


def test_fundamentals_not_fetched_for_a_past_as_of(tmp_path):
    info = FakeInfo(INFO)
    src = source(tmp_path, download=FakeDownload(yahoo_series(MEMBERS)), info=info)
    data = src.load(universe(), end=pd.Timestamp("2024-12-31"))
    assert info.calls == [] and data.caps is None
    src.load(universe())
    data = src.load(universe(), end=pd.Timestamp("2024-12-31"))
    assert data.caps is None  # the snapshot dated 2025-01-17 is not visible before it


def test_corrupt_caps_file_is_set_aside(tmp_path, caplog):
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "caps.parquet").write_bytes(b"garbage")
    info = FakeInfo(INFO)
    src = source(tmp_path, download=FakeDownload(yahoo_series(MEMBERS)), info=info)
    with caplog.at_level(logging.WARNING):
        data = src.load(universe())
    assert len(data.caps) == 3 and "caps.parquet" in caplog.text
    assert (tmp_path / "cache" / "caps.parquet.corrupt").exists()


def test_default_info_path_stays_on_the_canned_session(tmp_path):
    # the real Ticker.info path (quoteSummary, quote, timeseries) meets only the adapter,
    # which has no fundamentals: the price load still succeeds, with no cap rows
    adapter = CannedYahoo(yahoo_series(MEMBERS))
    src = YahooSource(
        tmp_path / "cache",
        session=canned_session(adapter),
        progress=False,
        start=START,
        clock=lambda: AFTER_CLOSE,
    )
    data = src.load(universe())
    assert data.closes.notna().all().all()
    assert data.caps is None and data.valuations is None
    asked = [u for u in adapter.requests if "quoteSummary" in u]
    assert any("/quoteSummary/BRK-B" in u for u in asked)
