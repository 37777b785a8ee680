"""TTM arithmetic across 10-K and 10-Q year-to-date facts, point in time, against figures
worked out by hand from the rows in facts_data.py (in millions)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from signals.sources.fundamentals import parse_facts, ttm_observations
from tests.signals.fundamentals.facts_data import CAPEX, NET_INCOME, OCF, M, unit_list

T = pd.Timestamp


def ttm(table, series="x"):
    return ttm_observations(parse_facts(unit_list(table)), series)


def as_rows(observations):
    return [
        (
            f"{o.published:%Y-%m-%d}",
            f"{o.period_end:%Y-%m-%d}",
            None if math.isnan(o.value) else round(o.value / M),
        )
        for o in observations
    ]


def test_ocf_ttm_across_10k_and_10q_with_a_restatement():
    assert as_rows(ttm(OCF)) == [
        ("2024-02-28", "2023-12-31", 55_369),  # the fiscal year itself
        ("2024-05-02", "2024-03-31", 55_369 + 14_662 - 16_345),  # = 53,686
        # the 10-K/A restates FY2023 from its own filed date on: 55,000 + 14,662 - 16,345
        ("2024-06-10", "2024-03-31", 53_317),
        # six months, not the three-month quarter also reported: 55,000 + 25,876 - 25,811
        ("2024-08-05", "2024-06-30", 55_065),
        ("2024-11-01", "2024-09-30", 55_000 + 42_967 - 42_738),  # = 55,229
        ("2025-02-19", "2024-12-31", 55_022),
    ]


def test_a_missing_comparative_makes_the_ttm_unavailable_until_computable():
    assert as_rows(ttm(CAPEX)) == [
        ("2024-02-28", "2023-12-31", 21_919),
        ("2024-05-02", "2024-03-31", 21_919 + 5_813 - 6_360),  # = 21,372
        ("2024-08-05", "2024-06-30", None),  # H1 2023 never reported: nothing invented
        ("2024-11-01", "2024-09-30", 21_919 + 18_140 - 15_984),  # = 24,075
        ("2025-02-19", "2024-12-31", 24_306),
    ]


def test_net_income_ttm():
    assert as_rows(ttm(NET_INCOME)) == [
        ("2024-02-28", "2023-12-31", 36_010),
        ("2024-05-02", "2024-03-31", 32_800),  # 36,010 + 8,220 - 11,430
        ("2024-08-05", "2024-06-30", 34_160),  # 36,010 + 17,460 - 19,310
    ]


def test_a_value_is_invisible_before_its_filed_date():
    cut = [r for r in OCF if r[7] < "2024-06-10"]  # what was filed before the 10-K/A
    obs = ttm(cut)
    assert as_rows(obs)[-1] == ("2024-05-02", "2024-03-31", 53_686)
    assert all(o.published < T("2024-06-10") for o in obs)


def test_52_53_week_fiscal_years():
    table = [
        ("2022-01-02", "2022-12-31", 100, "a1", 2022, "FY", "10-K", "2023-02-20"),
        ("2023-01-01", "2023-12-30", 120, "a2", 2023, "FY", "10-K", "2024-02-20"),
        ("2023-01-01", "2023-04-01", 30, "a3", 2024, "Q1", "10-Q", "2024-05-01"),
        ("2023-12-31", "2024-03-30", 36, "a3", 2024, "Q1", "10-Q", "2024-05-01"),
    ]
    assert as_rows(ttm(table))[-1] == ("2024-05-01", "2024-03-30", 120 + 36 - 30)


def test_a_non_calendar_fiscal_year():
    # fiscal year July..June: Q1 = July..September
    table = [
        ("2022-07-01", "2023-06-30", 400, "a1", 2023, "FY", "10-K", "2023-08-25"),
        ("2022-07-01", "2022-09-30", 90, "a2", 2024, "Q1", "10-Q", "2023-10-30"),
        ("2023-07-01", "2023-09-30", 110, "a2", 2024, "Q1", "10-Q", "2023-10-30"),
    ]
    assert as_rows(ttm(table))[-1] == ("2023-10-30", "2023-09-30", 420)


def test_other_forms_and_instant_facts_are_ignored():
    rows = unit_list(OCF[:3])
    rows.append({"end": "2023-12-31", "val": 5, "accn": "x", "form": "10-K", "filed": "2024-03-01"})
    rows.append(
        {
            "start": "2023-01-01",
            "end": "2023-12-31",
            "val": 1,
            "accn": "y",
            "form": "8-K",
            "filed": "2024-03-02",
        }
    )
    assert [round(o.value / M) for o in ttm_observations(parse_facts(rows), "x")] == [55_369]


def test_a_malformed_fact_is_an_error():
    with pytest.raises(ValueError, match="unreadable fact"):
        parse_facts(
            [
                {
                    "start": "2023-01-01",
                    "end": "2023-12-31",
                    "val": "n/a",
                    "form": "10-K",
                    "filed": "2024-01-01",
                }
            ]
        )


def test_restatements_are_listed_with_their_filed_date():
    from signals.sources.fundamentals.ttm import restatements

    [r] = restatements(parse_facts(unit_list(OCF)))
    assert (r.start, r.end, r.old / M, r.new / M, r.filed, r.form) == (
        T("2023-01-01"),
        T("2023-12-31"),
        55_369,
        55_000,
        T("2024-06-10"),
        "10-K/A",
    )
