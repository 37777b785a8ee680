"""The fundamentals signals on a small market, against sums written out in the test.

bank_nim from a file (value from the first session on or after its date, none before),
energy_fcf_yield and the bottom-up P/E over members with caps and trailing figures (share
classes once, members lacking a figure left out and counted), a file replacing a computed
figure, causality (the history cut at t equals the full one read at t), and the demo's
simulated figures in their plausible ranges.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from signals.indicators import compute_signals
from signals.market import MarketData
from signals.sources.demo import DemoSource
from signals.sources.fundamentals import (
    CompanyTTM,
    Fundamentals,
    Observation,
    SecFacts,
    load_fundamentals_files,
)
from tests.signals.indicators.test_history import market

T = pd.Timestamp
B = 1e9
# 2024-03-04 (Mon) .. 2024-03-13 (Wed): eight sessions, 03-09/10 a weekend
CLOSES = {
    "AEA": [10.0, 11.0, 12.0, 12.0, 13.0, 13.0, 14.0, 15.0],
    "AEB": [10.0, 10.5, 12.5, 12.0, 12.5, 13.5, 14.0, 14.0],
    "BE": [20.0, 20.0, 21.0, 22.0, 22.0, 21.0, 20.0, 20.0],
    "CE": [5.0, 5.0, 5.0, 5.5, 5.5, 5.5, 6.0, 6.0],
    "DE": [8.0, 8.0, 8.0, 8.0, 8.0, 8.0, 8.0, 8.0],
    "T1": [50.0, 51.0, 52.0, 53.0, 54.0, 55.0, 56.0, 57.0],
    "SPY": [100.0] * 8,
}
MEMBERS = {
    "AEA": ("Energy", "Alpha"),
    "AEB": ("Energy", "Alpha"),
    "BE": ("Energy", "Beta"),
    "CE": ("Energy", "Gamma"),
    "DE": ("Energy", "Delta"),
    "T1": ("Information Technology", "Tech"),
}
#: snapshot caps on the first session; both Alpha classes carry the company's cap
CAP0 = {"AEA": 100 * B, "AEB": 102 * B, "BE": 50 * B, "CE": 30 * B, "DE": 20 * B, "T1": 200 * B}


def obs(measure: str, value: float, published: str, end: str = "2023-12-31") -> Observation:
    return Observation(measure, value, "USD", "sec", T(end), T(published))


ALPHA = CompanyTTM(
    "AEA",
    1,
    "ALPHA",
    {
        "ocf": [obs("ocf", 10 * B, "2024-03-05"), obs("ocf", 12 * B, "2024-03-09", "2024-02-29")],
        "capex": [
            obs("capex", 4 * B, "2024-03-05"),
            obs("capex", 4.5 * B, "2024-03-09", "2024-02-29"),
        ],
        "net_income": [
            obs("net_income", 5 * B, "2024-03-05"),
            obs("net_income", 6 * B, "2024-03-09", "2024-02-29"),
        ],
    },
)
BETA = CompanyTTM(
    "BE",
    2,
    "BETA",
    {
        "ocf": [obs("ocf", 6 * B, "2024-03-07")],
        "capex": [obs("capex", 2 * B, "2024-03-07")],
        "net_income": [obs("net_income", 3 * B, "2024-03-07")],
    },
)
GAMMA = CompanyTTM(  # reports no capex: never in the FCF sums, in the P/E's
    "CE",
    3,
    "GAMMA",
    {
        "ocf": [obs("ocf", 3 * B, "2024-03-04")],
        "net_income": [obs("net_income", 1 * B, "2024-03-04")],
    },
    lacking=frozenset({"capex"}),
)
TECH = CompanyTTM("T1", 4, "TECH", {"net_income": [obs("net_income", 8 * B, "2024-03-04")]})
COMPANIES = {"AEA": ALPHA, "AEB": ALPHA, "BE": BETA, "CE": GAMMA, "T1": TECH}  # Delta: none


def small_market(fundamentals: Fundamentals | None) -> MarketData:
    caps = [("2024-03-04", t, c) for t, c in CAP0.items()]
    data = market(CLOSES, members=MEMBERS, caps=caps)
    return replace(data, fundamentals=fundamentals)


def cap(ticker: str, i: int) -> float:
    """The cap carried by the close from the first session's snapshot."""
    return CAP0[ticker] * CLOSES[ticker][i] / CLOSES[ticker][0]


def alpha_cap(i: int) -> float:
    return max(cap("AEA", i), cap("AEB", i))


@pytest.fixture(scope="module")
def history():
    return compute_signals(small_market(Fundamentals({}, SecFacts(COMPANIES))))


def test_energy_fcf_yield_sums_covered_members_once(history) -> None:
    fcf = history.frame("energy_fcf_yield")
    # 03-04: Alpha and Beta have published nothing yet, Gamma lacks capex, Delta has no facts
    assert math.isnan(fcf["value"].iloc[0]) and fcf["covered"].iloc[0] == 0
    # 03-05 .. 03-06: Alpha alone (its larger class cap, once)
    for i in (1, 2):
        assert fcf["value"].iloc[i] == pytest.approx(100 * (10 - 4) * B / alpha_cap(i), rel=1e-12)
        assert fcf["covered"].iloc[i] == 1
    # 03-07: Beta joins
    expected = 100 * ((10 - 4) + (6 - 2)) * B / (alpha_cap(3) + cap("BE", 3))
    assert fcf["value"].iloc[3] == pytest.approx(expected, rel=1e-12)
    # 03-11 (first session after Saturday's filing): Alpha's new figures
    expected = 100 * ((12 - 4.5) + (6 - 2)) * B / (alpha_cap(5) + cap("BE", 5))
    assert fcf["value"].iloc[5] == pytest.approx(expected, rel=1e-12)
    assert fcf["covered"].iloc[5] == 2 and (fcf["members"] == 4).all()
    assert fcf["member_coverage"].iloc[5] == pytest.approx(0.5)
    assert fcf["published"].iloc[5] == T("2024-03-09") and fcf["period_end"].iloc[5] == T(
        "2024-02-29"
    )
    assert fcf["source"].iloc[5] == "sec" and pd.isna(fcf["source"].iloc[0])


def test_bottom_up_pe_over_every_member_company(history) -> None:
    v = history.frame("valuation")
    # 03-04: Gamma and Tech have earnings in force
    expected = (cap("CE", 0) + cap("T1", 0)) / ((1 + 8) * B)
    assert v["sp500_pe_bottom_up"].iloc[0] == pytest.approx(expected, rel=1e-12)
    assert v["pe_covered"].iloc[0] == 2 and v["pe_members"].iloc[0] == 5
    # 03-12: Alpha (new), Beta, Gamma, Tech; Delta left out
    i = 6
    caps = alpha_cap(i) + cap("BE", i) + cap("CE", i) + cap("T1", i)
    assert v["sp500_pe_bottom_up"].iloc[i] == pytest.approx(caps / ((6 + 3 + 1 + 8) * B), rel=1e-12)
    assert v["pe_covered"].iloc[i] == 4 and v["pe_coverage"].iloc[i] == pytest.approx(0.8)
    assert v["pe_published"].iloc[i] == T("2024-03-09")
    # no source gives a forward P/E here: missing, not invented
    assert v["sp500_forward_pe"].isna().all()


def test_details_reach_the_snapshot_as_json(history) -> None:
    details = history.details_at("energy_fcf_yield", "2024-03-12")
    assert details["covered"] == 2 and isinstance(details["covered"], int)
    assert details["published"] == "2024-03-09" and details["period_end"] == "2024-02-29"
    assert history.details_at("valuation", "2024-03-04")["pe_published"] == "2024-03-04"


def test_a_file_gives_bank_nim_from_its_first_session_on(tmp_path) -> None:
    path = tmp_path / "f.csv"
    path.write_text(
        "date,series,value,period_end\n"
        "2024-03-06,bank_nim,3.21,2023-12-31\n"
        "2024-03-09,bank_nim,3.3,2024-03-31\n"  # a Saturday: applies from Monday 03-11
        "2024-03-05,energy_fcf_yield,8.25,2023-12-31\n"
    )
    files = load_fundamentals_files([path])
    h = compute_signals(small_market(Fundamentals(files, SecFacts(COMPANIES))))
    nim = h.series("bank_nim").tolist()
    assert all(math.isnan(x) for x in nim[:2])
    assert nim[2:] == [3.21, 3.21, 3.21, 3.3, 3.3, 3.3]
    assert h.details_at("bank_nim", "2024-03-11") == {
        "source": "file",
        "period_end": "2024-03-31",
        "published": "2024-03-09",
    }
    # the file's energy_fcf_yield replaces the computed one whole
    fcf = h.frame("energy_fcf_yield")
    assert math.isnan(fcf["value"].iloc[0])
    assert (fcf["value"].iloc[1:] == 8.25).all() and fcf["covered"].isna().all()
    assert (fcf["source"].iloc[1:] == "file").all()


def test_no_fundamentals_is_missing_not_zero() -> None:
    h = compute_signals(small_market(None))
    for path in ("bank_nim", "energy_fcf_yield", "valuation.sp500_pe_bottom_up"):
        assert h.series(path).isna().all(), path
    assert h.series("energy_fcf_yield.covered").isna().all()


def test_causal_the_history_cut_at_t_equals_the_full_one_read_at_t(history) -> None:
    data = small_market(Fundamentals({}, SecFacts(COMPANIES)))
    for cut in ("2024-03-06", "2024-03-11"):
        part = compute_signals(data.up_to(T(cut)))
        for sid in ("energy_fcf_yield", "valuation"):
            pd.testing.assert_frame_equal(part.frame(sid), history.frame(sid).loc[:cut])


def test_the_demo_has_plausible_simulated_fundamentals() -> None:
    data = DemoSource(seed=7).load(None, T("2026-10-30"))
    h = compute_signals(data)
    later = h.sessions[h.sessions >= T("2021-01-01")]
    nim = h.series("bank_nim").loc[later]
    fcf = h.series("energy_fcf_yield").loc[later]
    pe = h.series("valuation.sp500_pe_bottom_up").loc[later]
    assert nim.notna().all() and nim.between(3.0, 3.4).all()
    assert fcf.notna().all() and 6 <= fcf.median() <= 10 and fcf.between(5, 11).all()
    assert pe.notna().all() and 18 <= pe.median() <= 28 and pe.between(16, 30).all()
    # quarterly: the margin changes only on publication days, 60 days after a quarter end
    frame = h.frame("bank_nim").loc[later]
    assert frame["source"].eq("simulated").all()
    lag = (frame["published"] - frame["period_end"]).dt.days
    assert lag.eq(60).all() and frame["period_end"].dt.is_quarter_end.all()
    assert (frame.index >= frame["published"]).all()
    # some members report nothing: the coverage is partial and says so
    covered = h.series("valuation.pe_covered").loc[later]
    assert (covered < h.series("valuation.pe_members").loc[later]).all()
    assert np.isfinite(h.series("energy_fcf_yield.member_coverage").loc[later]).all()
