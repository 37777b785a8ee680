"""FRED's CSV download against a fake fredgraph.csv on 127.0.0.1."""

from __future__ import annotations

import logging

import pandas as pd
import pytest

from signals.sources.fundamentals import BANK_NIM, FredSeries, FredSource, parse_fred_csv
from tests.signals.fundamentals.fake_sources import FakeFred, malformed, status, too_many

T = pd.Timestamp


@pytest.fixture
def fred():
    with FakeFred() as fake:
        yield fake


def test_usnim_observations_carry_quarter_end_and_a_60_day_lag(fred):
    got = FredSource(base_url=fred.csv_url).fetch()
    nim = got["bank_nim"]
    assert [(o.value, o.period_end, o.published) for o in nim[:2]] == [
        (3.22, T("2024-03-31"), T("2024-05-30")),  # 2024Q1: March 31 + 60 days
        (3.19, T("2024-06-30"), T("2024-08-29")),
    ]
    assert nim[-1].period_end == T("2025-06-30")
    assert {o.unit for o in nim} == {"%"} and {o.source for o in nim} == {"fred"}
    [rec] = fred.requests("fredgraph")
    assert rec.params["key"] == "USNIM"
    assert rec.params["user_agent"] == "rotation-bot"


def test_the_older_layout_with_dots_for_missing_values():
    text = "DATE,USNIM\n2023-10-01,3.29\n2024-01-01,.\n2024-04-01,3.19\n"
    assert parse_fred_csv(text, "USNIM") == [(T("2023-10-01"), 3.29), (T("2024-04-01"), 3.19)]


@pytest.mark.parametrize(
    "text, problem",
    [
        ("<html>maintenance</html>", "not a FRED CSV"),
        ("observation_date,GDP\n2024-01-01,1\n", "no column 'USNIM'"),
        ("observation_date,USNIM\n2024-01-01,high\n", "line 2"),
        ("observation_date,USNIM\n", "no value"),
    ],
)
def test_malformed_answers_are_refused(text, problem):
    with pytest.raises(ValueError, match=problem):
        parse_fred_csv(text, "USNIM")


@pytest.mark.parametrize("fault", [status(500), too_many(), malformed("<html>oops</html>")])
def test_a_bad_answer_keeps_the_last_good_values_with_one_log_line(fred, fault, caplog):
    source = FredSource(base_url=fred.csv_url)
    good = source.fetch()
    fred.set_csv("USNIM", "observation_date,USNIM\n2024-01-01,9.99\n")
    fred.inject(fault, times=1)
    with caplog.at_level(logging.WARNING, logger="signals.sources.fred"):
        again = source.fetch()
    assert again == good  # neither the fault nor an invented value
    [line] = caplog.records
    message = line.getMessage()
    assert "USNIM" in message and "keeping the last good answer" in message
    assert "\n" not in message
    assert source.fetch()["bank_nim"][0].value == 9.99  # the next good answer is used


def test_the_last_good_answer_survives_a_restart_on_disk(fred, tmp_path, caplog):
    FredSource(base_url=fred.csv_url, cache_dir=tmp_path).fetch()
    fred.inject(status(503))
    with caplog.at_level(logging.WARNING, logger="signals.sources.fred"):
        got = FredSource(base_url=fred.csv_url, cache_dir=tmp_path).fetch()
    assert got["bank_nim"][-1].value == 3.28
    assert len(caplog.records) == 1


def test_without_any_good_answer_the_series_is_left_out(fred, caplog):
    fred.inject(status(500))
    with caplog.at_level(logging.WARNING, logger="signals.sources.fred"):
        assert FredSource(base_url=fred.csv_url).fetch() == {}
    [line] = caplog.records
    assert "left out" in line.getMessage()


def test_other_series_and_frequencies(fred):
    fred.set_csv("DRCCLACBS", "observation_date,DRCCLACBS\n2025-04-01,3.05\n")
    fred.set_csv("MORTGAGE30US", "observation_date,MORTGAGE30US\n2025-07-03,6.67\n")
    series = [
        BANK_NIM,
        FredSeries("card_delinquency", "DRCCLACBS", "%", "quarterly", 45),
        FredSeries("mortgage_30y", "MORTGAGE30US", "%", "weekly", 0),
    ]
    got = FredSource(series, base_url=fred.csv_url).fetch()
    [card] = got["card_delinquency"]
    assert (card.period_end, card.published) == (T("2025-06-30"), T("2025-08-14"))
    [mortgage] = got["mortgage_30y"]
    assert (mortgage.period_end, mortgage.published) == (T("2025-07-03"), T("2025-07-03"))
