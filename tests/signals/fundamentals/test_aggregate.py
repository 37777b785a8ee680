"""Sector FCF yield and bottom-up P/E over members, against sums written out in the test."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from signals.calendar import sessions
from signals.sources.fundamentals import (
    CompanyTTM,
    company_ttm,
    fcf_yield,
    trailing_pe,
)
from tests.signals.fundamentals.facts_data import (
    CAPEX,
    NET_INCOME,
    OCF,
    company_facts,
    full_company,
)

T = pd.Timestamp
B = 1e9
SESSIONS = sessions("2024-01-02", "2025-03-31")


def half(table):
    return [(s, e, v / 2, *rest) for s, e, v, *rest in table]


XOM = company_ttm("XOM", 34088, full_company())
CVX = company_ttm(
    "CVX",
    93410,
    company_facts(
        93410,
        "CHEVRON CORP",
        {
            "NetCashProvidedByUsedInOperatingActivities": half(OCF),
            "PaymentsToAcquirePropertyPlantAndEquipment": half(CAPEX),
            "NetIncomeLoss": half(NET_INCOME),
        },
    ),
)
OXY = company_ttm(
    "OXY",
    797468,
    company_facts(797468, "OCCIDENTAL", {"NetCashProvidedByUsedInOperatingActivities": OCF}),
)
COMPANIES = {"XOM": XOM, "CVX": CVX, "OXY": OXY}


def caps_frame(columns: dict[str, float]) -> pd.DataFrame:
    """Caps growing 0.1 % a session from the given start (USD)."""
    growth = 1.001 ** np.arange(len(SESSIONS))
    return pd.DataFrame({t: c * growth for t, c in columns.items()}, index=SESSIONS)


def in_force(company: CompanyTTM, measure: str, session: pd.Timestamp) -> float:
    seen = [o for o in company.ttm.get(measure, ()) if o.published <= session]
    return seen[-1].value if seen else math.nan


def test_fcf_yield_by_hand_on_one_session():
    caps = caps_frame({"XOM": 450 * B, "CVX": 280 * B})
    got = fcf_yield(caps, COMPANIES)
    day = T("2024-06-12")  # after the 10-K/A of 2024-06-10
    xom = (53_317 - 21_372) * 1e6  # OCF and capex TTM from the Q1 10-Q, FY restated
    cvx = (53_317 - 21_372) / 2 * 1e6
    cap = caps.loc[day].sum()
    value, covered = got.at(day)
    assert value == pytest.approx(100 * (xom + cvx) / cap, rel=1e-12)
    assert covered == 2 and got.companies == 2


def test_fcf_yield_on_every_session_matches_a_plain_loop():
    caps = caps_frame({"XOM": 450 * B, "CVX": 280 * B, "OXY": 45 * B, "NOFACTS": 10 * B})
    caps.loc[T("2024-11-04") : T("2024-11-08"), "CVX"] = np.nan  # no cap for a week
    got = fcf_yield(caps, COMPANIES)
    for day in SESSIONS:
        num = den = 0.0
        n = 0
        for ticker in ("XOM", "CVX"):
            fcf = in_force(COMPANIES[ticker], "ocf", day) - in_force(
                COMPANIES[ticker], "capex", day
            )
            cap = caps.loc[day, ticker]
            if math.isnan(fcf) or math.isnan(cap):
                continue
            num, den, n = num + fcf, den + cap, n + 1
        want = 100 * num / den if n else math.nan
        value, covered = got.at(day)
        assert covered == n, day
        if n:
            assert value == pytest.approx(want, rel=1e-12), day
        else:
            assert math.isnan(value), day
    assert got.companies == 4
    assert got.left_out == {"OXY": "does not report capex", "NOFACTS": "no SEC facts"}
    assert math.isnan(got.at("2024-08-06")[0])  # both capex TTMs unavailable after Q2
    assert math.isnan(got.at("2024-01-31")[0])  # nothing filed yet
    assert got.published_at("2024-06-12") == T("2024-06-10")  # the 10-K/A
    assert got.published_at("2024-01-31") is None


def test_trailing_pe_counts_a_company_once_over_its_share_classes():
    goog = company_ttm("GOOG", 1652044, full_company(1652044, "Alphabet Inc."))
    googl = company_ttm("GOOGL", 1652044, full_company(1652044, "Alphabet Inc."))
    companies = {"XOM": XOM, "GOOG": goog, "GOOGL": googl}
    caps = caps_frame({"XOM": 450 * B, "GOOG": 2_000 * B, "GOOGL": 2_050 * B})
    got = trailing_pe(caps, companies)
    day = T("2024-08-06")
    value, covered = got.at(day)
    income = 34_160 * 1e6  # NI TTM after the Q2 10-Q (36,010 + 17,460 - 19,310)
    want = (caps.loc[day, "XOM"] + caps.loc[day, "GOOGL"]) / (2 * income)
    assert value == pytest.approx(want, rel=1e-12)
    assert covered == 2 and got.companies == 2


def test_trailing_pe_is_undefined_on_summed_losses():
    loss = [(s, e, -abs(v), *rest) for s, e, v, *rest in NET_INCOME]
    loser = company_ttm("L", 1, company_facts(1, "L", {"NetIncomeLoss": loss}))
    got = trailing_pe(caps_frame({"L": 10 * B}), {"L": loser})
    value, covered = got.at("2024-08-06")
    assert math.isnan(value) and covered == 1
