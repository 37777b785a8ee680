"""Which fundamentals each source's market gets, against fake FRED and SEC servers.

yahoo asks FRED, and the SEC only with a User-Agent contact; files asks no server at all; the
demo keeps its simulated figures unless a file replaces a series.
"""

from __future__ import annotations

import math

import pandas as pd

from signals.calendar import sessions
from signals.indicators import compute_signals
from signals.sources.demo import DemoSource
from signals.sources.fundamentals import FundamentalsSpec
from signals.sources.with_fundamentals import attach_fundamentals
from tests.signals.fundamentals.facts_data import full_company, tickers_doc
from tests.signals.fundamentals.fake_sources import FakeFred, FakeSec
from tests.signals.indicators.test_history import market

T = pd.Timestamp
UA = "rotation-bot tests ops@example.com"
DAYS = sessions("2025-08-01", "2025-09-30")
XOM_CAP = 450e9


def small_market():
    n = len(DAYS)
    closes = {"XOM": [100.0] * n, "SPY": [500.0] * n}
    members = {"XOM": ("Energy", "Exxon")}
    return market(
        closes, start="2025-08-01", members=members, caps=[("2025-08-01", "XOM", XOM_CAP)]
    )


def spec(fred, sec, tmp_path, **kw) -> FundamentalsSpec:
    return FundamentalsSpec(
        cache_dir=tmp_path / "cache",
        fred_url=fred.csv_url,
        sec_facts_url=sec.facts_url,
        sec_tickers_url=sec.tickers_url,
        **kw,
    )


def test_yahoo_asks_fred_and_the_sec(tmp_path) -> None:
    with FakeFred() as fred, FakeSec() as sec:
        sec.set_tickers(tickers_doc([(34088, "XOM", "EXXON MOBIL CORP")]))
        sec.set_facts(34088, full_company())
        data = attach_fundamentals(
            small_market(), "yahoo", spec(fred, sec, tmp_path, sec_user_agent=UA)
        )
        assert fred.requests() and sec.requests()
    h = compute_signals(data)
    # USNIM's 2025-04-01 quarter ends 06-30 and is taken as public 60 days later (08-29)
    assert h.details_at("bank_nim", "2025-09-30") == {
        "source": "fred",
        "period_end": "2025-06-30",
        "published": "2025-08-29",
    }
    assert h.series("bank_nim").loc["2025-08-29"] == 3.28
    fcf = h.frame("energy_fcf_yield").loc["2025-09-30"]
    assert fcf["covered"] == 1 and fcf["members"] == 1 and fcf["source"] == "sec"
    assert math.isclose(fcf["value"], 100 * (55_022 - 24_306) * 1e6 / XOM_CAP)


def test_yahoo_without_a_contact_leaves_the_sec_alone(tmp_path) -> None:
    with FakeFred() as fred, FakeSec() as sec:
        data = attach_fundamentals(small_market(), "yahoo", spec(fred, sec, tmp_path))
        assert fred.requests() and sec.requests() == []
    h = compute_signals(data)
    assert h.series("energy_fcf_yield").isna().all()
    assert h.series("energy_fcf_yield.covered").isna().all()  # not asked, not "none covered"


def test_files_reads_the_files_and_no_server(tmp_path) -> None:
    path = tmp_path / "f.csv"
    path.write_text("date,series,value\n2025-09-02,bank_nim,3.31\n")
    with FakeFred() as fred, FakeSec() as sec:
        wanted = spec(fred, sec, tmp_path, sec_user_agent=UA, files=(path,))
        data = attach_fundamentals(small_market(), "files", wanted)
        assert fred.requests() == [] and sec.requests() == []
    nim = compute_signals(data).series("bank_nim")
    assert math.isnan(nim.loc["2025-08-29"]) and nim.loc["2025-09-02"] == 3.31


def test_a_file_replaces_one_simulated_series_of_the_demo(tmp_path) -> None:
    path = tmp_path / "f.csv"
    path.write_text("date,series,value\n2021-06-01,bank_nim,2.5\n")
    demo = DemoSource(seed=7).load(None, T("2022-12-30"))
    data = attach_fundamentals(demo, "demo", FundamentalsSpec(files=(path,)))
    h = compute_signals(data)
    nim = h.series("bank_nim").dropna()
    assert set(nim) == {2.5} and nim.index[0] == T("2021-06-01")
    assert h.series("energy_fcf_yield.source").dropna().eq("simulated").all()


def test_an_sec_that_knows_no_member_covers_none_rather_than_nothing_asked(tmp_path) -> None:
    with FakeFred() as fred, FakeSec() as sec:
        sec.set_tickers(tickers_doc([(19617, "JPM", "JPMORGAN CHASE & CO")]))
        wanted = spec(fred, sec, tmp_path, sec_user_agent=UA)
        data = attach_fundamentals(small_market(), "yahoo", wanted)
    fcf = compute_signals(data).frame("energy_fcf_yield")
    assert fcf["value"].isna().all()
    assert (fcf["covered"] == 0).all() and (fcf["members"] == 1).all()
