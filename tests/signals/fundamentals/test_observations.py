"""Point-in-time series: a value applies from the first session on or after its publication
and holds until the next, checked against a plain loop written here."""

from __future__ import annotations

import math

import pandas as pd

from signals.calendar import sessions
from signals.sources.fundamentals import Observation, by_series, daily_series, override

T = pd.Timestamp


def obs(value, published, period_end=None, source="fred", series="bank_nim"):
    end = None if period_end is None else T(period_end)
    return Observation(series, value, "%", source, end, T(published))


def expected(observations, sessions):
    """For each session, the value of the latest observation published on or before it."""
    out = []
    for s in sessions:
        seen = [o for o in observations if o.published <= s]
        out.append(seen[-1].value if seen else math.nan)
    return out


SESSIONS = sessions("2025-05-01", "2025-09-30")
NIM = [
    obs(3.25, "2025-05-30", "2025-03-31"),  # a Friday: applies that session
    obs(3.28, "2025-08-29", "2025-06-30"),  # Friday before Labor Day
    obs(3.30, "2025-09-06", "2025-06-30", source="file"),  # a Saturday: from Monday 09-08
]


def test_values_apply_from_the_first_session_on_or_after_publication():
    laid = daily_series(NIM, SESSIONS)
    got = laid.values.to_numpy().tolist()
    want = expected(NIM, SESSIONS)
    assert [round(x, 6) if not math.isnan(x) else None for x in got] == [
        round(x, 6) if not math.isnan(x) else None for x in want
    ]
    assert math.isnan(laid.value_at("2025-05-29"))
    assert laid.value_at("2025-05-30") == 3.25
    assert laid.value_at("2025-09-05") == 3.28
    assert laid.value_at("2025-09-08") == 3.30


def test_the_observation_in_force_is_queryable_as_of_a_session():
    laid = daily_series(NIM, SESSIONS)
    assert laid.as_of("2025-05-29") is None
    at = laid.as_of("2025-09-07")  # a Sunday: the session before it
    assert at is not None
    assert (at.value, at.source, at.period_end, at.published) == (
        3.28,
        "fred",
        T("2025-06-30"),
        T("2025-08-29"),
    )
    frame = laid.frame()
    row = frame.loc[T("2025-09-08")]
    assert (row["source"], row["period_end"], row["published"]) == (
        "file",
        T("2025-06-30"),
        T("2025-09-06"),
    )
    assert pd.isna(frame.loc[T("2025-05-01"), "published"])


def test_order_of_input_does_not_matter_and_a_same_day_restatement_wins_by_period():
    same_day = [obs(1.0, "2025-06-02", "2025-06-30"), obs(2.0, "2025-06-02", "2025-03-31")]
    laid = daily_series(list(reversed(NIM)) + same_day, SESSIONS)
    assert laid.value_at("2025-06-02") == 1.0  # the later period end
    assert laid.value_at("2025-05-30") == 3.25


def test_observations_after_the_last_session_are_not_visible():
    laid = daily_series([obs(9.0, "2025-10-15")], SESSIONS)
    assert laid.values.isna().all()
    assert laid.as_of("2025-09-30") is None


def test_series_filter_and_override():
    mixed = NIM + [obs(7.0, "2025-06-02", series="energy_fcf_yield")]
    assert daily_series(mixed, SESSIONS, "energy_fcf_yield").value_at("2025-09-30") == 7.0
    grouped = by_series(mixed)
    assert sorted(grouped) == ["bank_nim", "energy_fcf_yield"]
    files = {"bank_nim": [obs(4.0, "2025-05-01", source="file")]}
    merged = override(grouped, files)
    assert [o.value for o in merged["bank_nim"]] == [4.0]
    assert [o.value for o in merged["energy_fcf_yield"]] == [7.0]
