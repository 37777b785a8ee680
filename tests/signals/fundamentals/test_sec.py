"""The SEC source against a fake data.sec.gov / www.sec.gov on 127.0.0.1: User-Agent, the
ten-a-second cap, the disk cache, bad answers, and TTM figures from recorded-shape facts."""

from __future__ import annotations

import logging
import math

import pandas as pd
import pytest

from signals.errors import DataSourceError
from signals.sources.fundamentals import RateLimiter, SecClient, SecSource
from tests.signals.fundamentals.facts_data import (
    CAPEX,
    NET_INCOME,
    OCF,
    M,
    company_facts,
    full_company,
    tickers_doc,
)
from tests.signals.fundamentals.fake_sources import FakeSec, malformed, status, too_many

T = pd.Timestamp
UA = "rotation-bot tests ops@example.com"
XOM, CVX, OXY = 34088, 93410, 797468


@pytest.fixture
def sec():
    with FakeSec() as fake:
        fake.set_tickers(
            tickers_doc(
                [
                    (XOM, "XOM", "EXXON MOBIL CORP"),
                    (CVX, "CVX", "CHEVRON CORP"),
                    (OXY, "OXY", "OCCIDENTAL PETROLEUM CORP"),
                ]
            )
        )
        fake.set_facts(XOM, full_company(XOM))
        fake.set_facts(CVX, full_company(CVX, "CHEVRON CORP"))
        # Occidental here reports no capex concept
        fake.set_facts(
            OXY,
            company_facts(
                OXY,
                "OCCIDENTAL PETROLEUM CORP",
                {"NetCashProvidedByUsedInOperatingActivities": OCF, "NetIncomeLoss": NET_INCOME},
            ),
        )
        yield fake


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def client(sec, tmp_path, clock=None, **kw):
    return SecClient(
        UA,
        tmp_path,
        facts_url=sec.facts_url,
        tickers_url=sec.tickers_url,
        clock=clock or Clock(),
        **kw,
    )


def test_refuses_to_start_without_a_contact_in_the_user_agent(sec, tmp_path):
    for ua in (None, "", "rotation-bot/1.0"):
        with pytest.raises(DataSourceError, match="User-Agent with a contact"):
            SecClient(ua, tmp_path, facts_url=sec.facts_url, tickers_url=sec.tickers_url)
    assert sec.requests() == []


def test_ttm_figures_per_company_with_the_user_agent_sent(sec, tmp_path):
    got = SecSource(client(sec, tmp_path)).fetch(["XOM", "OXY"])
    xom = got.companies["XOM"]
    assert (xom.cik, xom.name) == (XOM, "EXXON MOBIL CORP")
    assert [round(o.value / M) for o in xom.ttm["ocf"]] == [
        55_369,
        53_686,
        53_317,
        55_065,
        55_229,
        55_022,
    ]
    assert xom.ttm["capex"][2].published == T("2024-08-05")
    assert math.isnan(xom.ttm["capex"][2].value)
    assert got.companies["OXY"].lacking == frozenset({"capex"})
    assert got.lacking["capex"] == ("OXY",)
    recs = sec.requests()
    assert [r.method for r in recs] == ["company_tickers", "companyfacts", "companyfacts"]
    assert {r.params["user_agent"] for r in recs} == {UA}
    assert [r.params["key"] for r in recs[1:]] == [f"CIK{XOM:010d}", f"CIK{OXY:010d}"]


def test_unknown_tickers_are_left_out_and_counted(sec, tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="signals.sources.sec"):
        got = SecSource(client(sec, tmp_path)).fetch(["XOM", "NOPE"])
    assert got.unknown == ("NOPE",) and list(got.companies) == ["XOM"]
    assert any("NOPE" in r.getMessage() for r in caplog.records)


def test_a_company_without_the_concept_gets_one_log_line(sec, tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="signals.sources.sec"):
        SecSource(client(sec, tmp_path)).fetch(["XOM", "CVX", "OXY"])
    [line] = caplog.records
    message = line.getMessage()
    assert "1 of 3 companies do not report PaymentsToAcquirePropertyPlantAndEquipment" in message
    assert message.endswith(": OXY")


def test_at_most_ten_requests_a_second(tmp_path):
    with FakeSec() as sec:  # the fake answers 429 past 10 in any second, like the SEC
        n = 14
        sec.set_tickers(tickers_doc([(1000 + i, f"T{i}", f"CO {i}") for i in range(n)]))
        for i in range(n):
            sec.set_facts(1000 + i, full_company(1000 + i, f"CO {i}"))
        got = SecSource(client(sec, tmp_path)).fetch([f"T{i}" for i in range(n)])
        recs = sec.requests()
    assert len(got.companies) == n
    assert len(recs) == n + 1 and all(r.http_status == 200 for r in recs)
    times = sorted(r.at for r in recs)
    # no window of one second holds more than ten arrivals
    assert max(sum(1 for t in times if s <= t < s + 1.0) for s in times) <= 10
    assert times[10] - times[0] >= 0.95  # the 11th waits about a second after the 1st
    assert times[-1] - times[0] < 2.0  # but not much longer: paced, not serialised by chance


def test_the_limiter_spaces_calls_without_sleeping_in_the_test():
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    limiter = RateLimiter(10, clock=lambda: now[0], sleep=sleep)
    starts = []
    for _ in range(25):
        limiter.wait()
        starts.append(now[0])
    assert starts[10] == pytest.approx(1.0) and starts[20] == pytest.approx(2.0)
    assert max(sum(1 for t in starts if s <= t < s + 1.0 - 1e-9) for s in starts) <= 10


def test_the_cache_serves_a_second_run_and_revalidates_when_stale(sec, tmp_path):
    clock = Clock()
    first = SecSource(client(sec, tmp_path, clock)).fetch(["XOM", "CVX"])
    assert len(sec.requests()) == 3
    sec.clear_requests()

    again = SecSource(client(sec, tmp_path, clock)).fetch(["XOM", "CVX"])
    assert sec.requests() == []  # fresh: nothing asked
    assert again.companies["XOM"].ttm == first.companies["XOM"].ttm

    clock.now += 7 * 3600  # stale: ask with the validators, 304 costs no download
    changed = full_company(CVX, "CHEVRON CORP")
    changed["facts"]["us-gaap"]["NetIncomeLoss"]["units"]["USD"][-1]["val"] = 18_000 * M
    sec.set_facts(CVX, changed)
    later = SecSource(client(sec, tmp_path, clock)).fetch(["XOM", "CVX"])
    recs = {r.params["key"]: r for r in sec.requests()}
    assert all(r.params["if_none_match"] for r in recs.values())
    assert recs[f"CIK{XOM:010d}"].http_status == 304
    assert recs["company_tickers"].http_status == 304
    assert recs[f"CIK{CVX:010d}"].http_status == 200  # only what changed is downloaded
    assert later.companies["XOM"].ttm == first.companies["XOM"].ttm
    # 36,010 + 18,000 - 19,310 (the changed six months)
    assert round(later.companies["CVX"].ttm["net_income"][-1].value / M) == 34_700


@pytest.mark.parametrize("fault", [too_many(), status(500), malformed()])
def test_a_bad_answer_keeps_the_last_good_value_with_one_log_line(sec, tmp_path, fault, caplog):
    clock = Clock()
    good = SecSource(client(sec, tmp_path, clock)).fetch(["XOM"])
    clock.now += 7 * 3600
    changed = full_company(XOM)
    changed["facts"]["us-gaap"]["NetIncomeLoss"]["units"]["USD"][-1]["val"] = 1 * M
    sec.set_facts(XOM, changed)
    sec.inject(fault, method="companyfacts", times=1)
    with caplog.at_level(logging.WARNING, logger="signals.sources.sec"):
        got = SecSource(client(sec, tmp_path, clock)).fetch(["XOM"])
    assert got.companies["XOM"].ttm == good.companies["XOM"].ttm
    [line] = caplog.records
    assert "keeping the cached copy of CIK0000034088.json" in line.getMessage()
    assert "\n" not in line.getMessage()


def test_a_malformed_concept_is_a_bad_answer_too(sec, tmp_path, caplog):
    clock = Clock()
    good = SecSource(client(sec, tmp_path, clock)).fetch(["XOM"])
    clock.now += 7 * 3600
    broken = full_company(XOM)
    broken["facts"]["us-gaap"]["NetIncomeLoss"]["units"]["USD"][0]["val"] = "n/a"
    sec.set_facts(XOM, broken)
    with caplog.at_level(logging.WARNING, logger="signals.sources.sec"):
        got = SecSource(client(sec, tmp_path, clock)).fetch(["XOM"])
    assert got.companies["XOM"].ttm == good.companies["XOM"].ttm
    assert len(caplog.records) == 1 and "malformed answer" in caplog.records[0].getMessage()


def test_without_any_good_copy_the_company_is_left_out(sec, tmp_path, caplog):
    sec.inject(status(500), method="companyfacts")
    with caplog.at_level(logging.WARNING, logger="signals.sources.sec"):
        got = SecSource(client(sec, tmp_path)).fetch(["XOM", "CVX"])
    assert got.companies == {} and got.failed == ("XOM", "CVX")
    assert len(caplog.records) == 2


def test_a_damaged_cached_copy_is_downloaded_again(sec, tmp_path):
    clock = Clock()
    SecSource(client(sec, tmp_path, clock)).fetch(["XOM"])
    (tmp_path / "sec" / f"CIK{XOM:010d}.json").write_text('{"facts": {"us-ga')
    sec.clear_requests()
    got = SecSource(client(sec, tmp_path, clock)).fetch(["XOM"])  # fresh, but unreadable
    assert round(got.companies["XOM"].ttm["ocf"][-1].value / M) == 55_022
    [rec] = sec.requests("companyfacts")
    assert rec.http_status == 200


def test_without_the_ticker_list_every_company_fails_with_one_line(sec, tmp_path, caplog):
    sec.inject(status(503), method="company_tickers")
    with caplog.at_level(logging.WARNING, logger="signals.sources.sec"):
        got = SecSource(client(sec, tmp_path)).fetch(["XOM", "CVX"])
    assert got.failed == ("XOM", "CVX") and got.companies == {}
    [line] = caplog.records
    assert "company_tickers.json: HTTP 503" in line.getMessage()
    assert sec.requests("companyfacts") == []


def test_a_restatement_in_the_newest_filing_gets_one_log_line(sec, tmp_path, caplog):
    upto_amendment = [r for r in OCF if r[7] <= "2024-06-10"]
    sec.set_facts(
        XOM,
        company_facts(
            XOM,
            "EXXON MOBIL CORP",
            {
                "NetCashProvidedByUsedInOperatingActivities": upto_amendment,
                "PaymentsToAcquirePropertyPlantAndEquipment": [
                    r for r in CAPEX if r[7] <= "2024-06-10"
                ],
                "NetIncomeLoss": [r for r in NET_INCOME if r[7] <= "2024-06-10"],
            },
        ),
    )
    with caplog.at_level(logging.WARNING, logger="signals.sources.sec"):
        got = SecSource(client(sec, tmp_path)).fetch(["XOM"])
    [line] = caplog.records
    assert line.getMessage().endswith(
        "XOM ocf 2023-01-01..2023-12-31 55,369,000,000 -> 55,000,000,000 (10-K/A filed 2024-06-10)"
    )
    ocf = got.companies["XOM"].ttm["ocf"]
    # the old TTM stays in place before the amendment, the restated one applies from it
    assert [(f"{o.published:%Y-%m-%d}", round(o.value / M)) for o in ocf[-2:]] == [
        ("2024-05-02", 53_686),
        ("2024-06-10", 53_317),
    ]
