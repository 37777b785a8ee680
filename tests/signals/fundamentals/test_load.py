"""`load_fundamentals`: files override sources; offline never asks a server."""

from __future__ import annotations

import math

import pandas as pd

from signals.calendar import sessions
from signals.sources.fundamentals import FundamentalsSpec, load_fundamentals
from tests.signals.fundamentals.facts_data import full_company, tickers_doc
from tests.signals.fundamentals.fake_sources import FakeFred, FakeSec

T = pd.Timestamp
UA = "rotation-bot tests ops@example.com"


def spec(fred, sec, tmp_path, **kw):
    return FundamentalsSpec(
        cache_dir=tmp_path / "cache",
        fred_url=fred.csv_url,
        sec_user_agent=UA,
        sec_facts_url=sec.facts_url,
        sec_tickers_url=sec.tickers_url,
        **kw,
    )


def test_online_with_a_file_that_overrides_one_series(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text("date,series,value\n2025-09-02,energy_fcf_yield,8.9\n")
    with FakeFred() as fred, FakeSec() as sec:
        sec.set_tickers(tickers_doc([(34088, "XOM", "EXXON MOBIL CORP")]))
        sec.set_facts(34088, full_company())
        got = load_fundamentals(spec(fred, sec, tmp_path, files=[path]), ["XOM"])
    days = sessions("2025-08-01", "2025-09-30")
    nim = got.daily("bank_nim", days).as_of("2025-09-30")
    assert nim is not None and (nim.value, nim.source) == (3.28, "fred")
    assert got.from_file("energy_fcf_yield") and not got.from_file("bank_nim")
    assert got.daily("energy_fcf_yield", days).value_at("2025-09-02") == 8.9
    caps = pd.DataFrame({"XOM": 450e9}, index=days)
    value, covered = got.fcf_yield(caps).at("2025-09-30")
    assert covered == 1 and math.isclose(value, 100 * (55_022 - 24_306) * 1e6 / 450e9)


def test_offline_reads_the_files_only(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text("date,series,value,period_end\n2025-05-29,bank_nim,3.25,2025-03-31\n")
    with FakeFred() as fred, FakeSec() as sec:
        got = load_fundamentals(spec(fred, sec, tmp_path, files=[path], offline=True), ["XOM"])
        assert fred.requests() == [] and sec.requests() == []
    assert [o.value for o in got.series["bank_nim"]] == [3.25]
    assert got.sec is None and got.companies == {}
