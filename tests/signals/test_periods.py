"""Periods: every form parsed, placed on hand-built calendars, and measured by a ticker."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from signals.periods import (
    LOOKBACKS,
    Period,
    PeriodError,
    looks_like_period,
    parse_period,
    resolve,
    ticker_return,
)

#: weekdays from 2023-12-01 to 2025-03-14 (no holidays: a hand-built calendar)
CAL = pd.bdate_range("2023-12-01", "2025-03-14")
AS_OF = pd.Timestamp("2025-03-14")


def day(text: str) -> pd.Timestamp:
    return pd.Timestamp(text)


@pytest.mark.parametrize(
    ("text", "kind", "canonical", "first", "last", "sessions"),
    [
        ("ytd", "to_date", "ytd", None, None, None),
        ("QTD", "to_date", "qtd", None, None, None),
        ("mtd", "to_date", "mtd", None, None, None),
        ("2025", "year", "2025", date(2025, 1, 1), date(2025, 12, 31), None),
        ("2024Q4", "quarter", "2024q4", date(2024, 10, 1), date(2024, 12, 31), None),
        ("2024q1", "quarter", "2024q1", date(2024, 1, 1), date(2024, 3, 31), None),
        ("2024-02", "month", "2024-02", date(2024, 2, 1), date(2024, 2, 29), None),
        ("2024-2", "month", "2024-02", date(2024, 2, 1), date(2024, 2, 29), None),
        ("2024-12", "month", "2024-12", date(2024, 12, 1), date(2024, 12, 31), None),
        (
            "2024-03-01..2024-06-30",
            "range",
            "2024-03-01..2024-06-30",
            date(2024, 3, 1),
            date(2024, 6, 30),
            None,
        ),
        ("max", "max", "max", None, None, None),
        *((k, "lookback", k, None, None, n) for k, n in LOOKBACKS.items()),
    ],
)
def test_every_form_parses(text, kind, canonical, first, last, sessions):
    p = parse_period(text)
    assert (p.kind, p.text, p.first, p.last, p.sessions) == (
        kind,
        canonical,
        first,
        last,
        sessions,
    )
    assert looks_like_period(text)


def test_lookbacks_are_the_documented_session_counts():
    assert LOOKBACKS == {
        "1w": 5, "1m": 21, "3m": 63, "6m": 126, "1y": 252, "3y": 756, "5y": 1260, "10y": 2520,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("2025q5", "not a period"),
        ("2025-13", "not a month"),
        ("2025-02-30..2025-03-01", "not a date"),
        ("2025-03-01..2025-02-01", "ends before it starts"),
        ("2025-09-30", "a date, not a period"),
        ("1900000", "not a period"),
        ("0999", "out of range"),
        ("2w", "not a period"),
        ("yesterday", "not a period"),
    ],
)
def test_bad_periods_are_one_line_errors(text, says):
    with pytest.raises(PeriodError, match=says) as err:
        parse_period(text)
    assert "\n" not in str(err.value)


def test_words_that_are_not_periods():
    assert not looks_like_period("IWM")
    assert not looks_like_period("banks")
    assert looks_like_period("2025-11")


def test_calendar_periods_start_from_the_last_session_before_them():
    span = resolve(parse_period("2024"), CAL, AS_OF)
    assert (span.base, span.end, span.cut) == (day("2023-12-29"), day("2024-12-31"), False)
    assert CAL[span.base_row] == span.base and CAL[span.end_row] == span.end
    span = resolve(parse_period("2024q3"), CAL, AS_OF)
    assert (span.base, span.end) == (day("2024-06-28"), day("2024-09-30"))
    span = resolve(parse_period("2024-06"), CAL, AS_OF)
    assert (span.base, span.end) == (day("2024-05-31"), day("2024-06-28"))  # 06-30 is a Sunday


def test_a_range_uses_the_last_close_before_its_first_day():
    span = resolve(parse_period("2024-03-04..2024-06-30"), CAL, AS_OF)
    assert (span.base, span.end) == (day("2024-03-01"), day("2024-06-28"))
    # a range starting on a weekend: the Friday before is the base
    span = resolve(parse_period("2024-03-02..2024-03-08"), CAL, AS_OF)
    assert (span.base, span.end) == (day("2024-03-01"), day("2024-03-08"))


def test_to_date_periods_are_relative_to_the_as_of_session():
    as_of = day("2024-08-14")
    assert resolve(parse_period("ytd"), CAL, as_of).base == day("2023-12-29")
    assert resolve(parse_period("qtd"), CAL, as_of).base == day("2024-06-28")
    mtd = resolve(parse_period("mtd"), CAL, as_of)
    assert (mtd.base, mtd.end, mtd.cut) == (day("2024-07-31"), as_of, False)
    # a non-session as-of date reads the session on or before it
    assert resolve(parse_period("ytd"), CAL, day("2024-08-17")).end == day("2024-08-16")


def test_lookbacks_count_sessions_back_from_the_as_of_session():
    as_of_row = CAL.get_loc(AS_OF)
    for text, k in (("1w", 5), ("1m", 21), ("3m", 63), ("6m", 126), ("1y", 252)):
        span = resolve(parse_period(text), CAL, AS_OF)
        assert (span.base_row, span.end_row) == (as_of_row - k, as_of_row)
        assert span.base == CAL[as_of_row - k]
    with pytest.raises(PeriodError, match="3y needs 756 sessions"):
        resolve(parse_period("3y"), CAL, AS_OF)


def test_max_starts_at_each_tickers_first_close():
    span = resolve(parse_period("max"), CAL, AS_OF)
    assert span.base is None and span.end == AS_OF
    closes = pd.Series(np.nan, index=CAL)
    closes.loc["2024-01-10":] = np.linspace(10.0, 20.0, len(closes.loc["2024-01-10":]))
    r = ticker_return(closes, span, "NEW")
    assert r.base == day("2024-01-10") and r.value == pytest.approx(100.0)


def test_a_period_past_the_data_is_cut_and_says_so():
    span = resolve(parse_period("2025"), CAL, AS_OF)
    assert (span.base, span.end, span.cut) == (day("2024-12-31"), AS_OF, True)
    span = resolve(parse_period("2025q1"), CAL, day("2025-02-10"))  # cut at the as-of
    assert (span.end, span.cut) == (day("2025-02-10"), True)
    span = resolve(parse_period("2024-12-01..2026-01-01"), CAL, AS_OF)
    assert span.cut and span.end == AS_OF


@pytest.mark.parametrize(
    ("text", "as_of", "says"),
    [
        ("2026", AS_OF, "starts after the data, which ends 2025-03-14"),
        ("2025-04", AS_OF, "starts after the data"),
        ("2024-09", day("2024-08-30"), "starts after the data, which ends 2024-08-30"),
        ("2022", AS_OF, "ends before the data, which starts 2023-12-01"),
        ("2023", AS_OF, "no close before it: the data starts 2023-12-01"),
        ("2024-03-02..2024-03-03", AS_OF, "holds no session"),
    ],
)
def test_periods_outside_the_data_are_one_line_errors(text, as_of, says):
    with pytest.raises(PeriodError, match=says) as err:
        resolve(parse_period(text), CAL, as_of)
    assert "\n" not in str(err.value)


def test_a_return_is_end_close_over_base_close():
    closes = pd.Series(np.arange(len(CAL), dtype=float) + 100.0, index=CAL, name="X")
    span = resolve(parse_period("2024"), CAL, AS_OF)
    r = ticker_return(closes, span)
    want = 100.0 * (closes["2024-12-31"] / closes["2023-12-29"] - 1.0)
    assert r.ticker == "X" and r.value == pytest.approx(want)
    assert (r.base, r.end) == (span.base, span.end)


def test_a_ticker_without_a_close_on_the_base_or_end_is_named():
    closes = pd.Series(1.0, index=CAL, name="LATE")
    closes.loc[:"2024-02-15"] = np.nan
    with pytest.raises(
        PeriodError, match=r"LATE has no close on 2023-12-29 \(its data starts 2024-02-16\)"
    ):
        ticker_return(closes, resolve(parse_period("2024"), CAL, AS_OF))
    gone = pd.Series(1.0, index=CAL, name="GONE")
    gone.loc["2025-03-01":] = np.nan
    with pytest.raises(
        PeriodError, match=r"GONE has no close on 2025-03-14 \(its last is 2025-02-28\)"
    ):
        ticker_return(gone, resolve(parse_period("ytd"), CAL, AS_OF))


def test_period_values_are_frozen():
    p = parse_period("2025")
    assert isinstance(p, Period)
    with pytest.raises(AttributeError):
        p.text = "x"  # type: ignore[misc]
