"""Periods people ask returns over, and the sessions that measure them.

A period is typed as one of:

    ytd  qtd  mtd                 to date, from the start of the as-of session's year,
                                  quarter or month
    2025                          a calendar year
    2025q4                        a calendar quarter
    2025-11                       a calendar month
    2025-03-01..2025-06-30        a range of dates (both ends included)
    1w 1m 3m 6m 1y 3y 5y 10y      the last 5, 21, 63, 126, 252, 756, 1260, 2520 sessions
    max                           all the history there is

`parse_period` turns the text into a `Period`; `resolve` places it on a calendar of sessions
as of one session and gives the two sessions whose closes measure it (a `Span`):

- a calendar period or a range is measured from the close of the last session *before* it
  to the close of its last session; to-date periods end on the as-of session;
- a lookback of k sessions from the close k sessions before the as-of session to its close;
- `max` from the first session of the calendar (a ticker may start later: `ticker_span`).

So a return is close_end / close_base - 1. A period that runs past the as-of session is cut
there (`Span.cut`); one that lies wholly after it, or ends before the first session, or has
no session before it to measure from, is a `PeriodError`. Pure: no I/O, no global state.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

import numpy as np
import pandas as pd

#: Lookbacks in sessions.
LOOKBACKS: dict[str, int] = {
    "1w": 5,
    "1m": 21,
    "3m": 63,
    "6m": 126,
    "1y": 252,
    "3y": 756,
    "5y": 1260,
    "10y": 2520,
}
TO_DATE: tuple[str, ...] = ("ytd", "qtd", "mtd")
#: Every form, for help texts and error messages.
FORMS = (
    "ytd, qtd, mtd, 2025, 2025q4, 2025-11, 2025-03-01..2025-06-30, 1w 1m 3m 6m 1y 3y 5y 10y, max"
)

PeriodKind = Literal["to_date", "year", "quarter", "month", "range", "lookback", "max"]

_YEAR = re.compile(r"(\d{4})")
_QUARTER = re.compile(r"(\d{4})q([1-4])")
_MONTH = re.compile(r"(\d{4})-(\d{1,2})")
_DAY = r"\d{4}-\d{1,2}-\d{1,2}"
_RANGE = re.compile(rf"({_DAY})\.\.({_DAY})")
_FIRST_YEAR, _LAST_YEAR = 1900, 2199


class PeriodError(ValueError):
    """A period that cannot be read or measured; the message is one line for people."""


@dataclass(frozen=True)
class Period:
    """A parsed period. `text` is its canonical spelling ("2025q4", "ytd", "3m").

    Calendar kinds carry `first` and `last` (dates, both included); a lookback carries
    `sessions`; to-date periods and `max` get their dates from the as-of session.
    """

    kind: PeriodKind
    text: str
    first: date | None = None
    last: date | None = None
    sessions: int | None = None


@dataclass(frozen=True)
class Span:
    """Where a period falls on a calendar of sessions.

    base: the session whose close the return starts from (None for `max`: each ticker's
        first close, see `ticker_span`).
    end: the last session measured.
    cut: the period runs past `end` (the as-of session): it was cut there.
    base_row / end_row: their positions in the calendar given to `resolve` (base_row -1
        for `max`).
    """

    period: Period
    base: pd.Timestamp | None
    end: pd.Timestamp
    base_row: int
    end_row: int
    cut: bool = False


def _year(text: str) -> int:
    year = int(text)
    if not _FIRST_YEAR <= year <= _LAST_YEAR:
        raise PeriodError(f"year {year} is out of range")
    return year


def _day(text: str) -> date:
    try:
        return date.fromisoformat("-".join(p.zfill(2) for p in text.split("-")))
    except ValueError:
        raise PeriodError(f"{text} is not a date (YYYY-MM-DD)") from None


def _month_end(year: int, month: int) -> date:
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    return nxt - timedelta(days=1)


def looks_like_period(text: str) -> bool:
    """Whether a word is meant as a period (a keyword, or it starts with a digit), so that
    a mistyped one is reported as a period rather than as an unknown ticker."""
    word = text.strip().lower()
    return word in LOOKBACKS or word in TO_DATE or word == "max" or word[:1].isdigit()


def parse_period(text: str) -> Period:
    """A period as typed (case-insensitive) -> `Period`; `PeriodError` when it is none."""
    word = text.strip().lower()
    if word in TO_DATE:
        return Period("to_date", word)
    if word == "max":
        return Period("max", word)
    if word in LOOKBACKS:
        return Period("lookback", word, sessions=LOOKBACKS[word])
    if m := _YEAR.fullmatch(word):
        year = _year(m[1])
        return Period("year", str(year), date(year, 1, 1), date(year, 12, 31))
    if m := _QUARTER.fullmatch(word):
        year, q = _year(m[1]), int(m[2])
        first = date(year, 3 * q - 2, 1)
        return Period("quarter", f"{year}q{q}", first, _month_end(year, 3 * q))
    if m := _MONTH.fullmatch(word):
        year, month = _year(m[1]), int(m[2])
        if not 1 <= month <= 12:
            raise PeriodError(f"{word} is not a month (YYYY-MM)")
        return Period("month", f"{year}-{month:02d}", date(year, month, 1), _month_end(year, month))
    if m := _RANGE.fullmatch(word):
        first, last = _day(m[1]), _day(m[2])
        if first > last:
            raise PeriodError(f"{word}: the range ends before it starts")
        return Period("range", f"{first}..{last}", first, last)
    if re.fullmatch(_DAY, word):
        day = _day(word)
        raise PeriodError(f"{day} is a date, not a period; a range is {day}..{day}")
    raise PeriodError(f"{text.strip()[:40]} is not a period")


def _to_date_first(kind: str, as_of: date) -> date:
    if kind == "ytd":
        return date(as_of.year, 1, 1)
    if kind == "qtd":
        return date(as_of.year, 3 * ((as_of.month - 1) // 3) + 1, 1)
    return date(as_of.year, as_of.month, 1)


def resolve(period: Period, sessions: pd.DatetimeIndex, as_of: pd.Timestamp) -> Span:
    """`period` on the calendar `sessions` (sorted) as of the session `as_of` (sessions after
    it are not seen). Raises `PeriodError` when the period cannot be measured there."""
    sessions = pd.DatetimeIndex(sessions)
    as_of = pd.Timestamp(as_of).normalize()
    end_row = int(sessions.searchsorted(as_of, side="right")) - 1
    if end_row < 0:
        raise PeriodError(f"no session on or before {as_of.date()}")
    first_session, last_session = sessions[0].date(), sessions[end_row].date()
    if period.kind == "max":
        return Span(period, None, sessions[end_row], -1, end_row)
    if period.kind == "lookback":
        k = int(period.sessions or 0)
        if end_row - k < 0:
            raise PeriodError(
                f"{period.text} needs {k} sessions before {last_session}; the data has "
                f"{end_row} (from {first_session})"
            )
        return Span(period, sessions[end_row - k], sessions[end_row], end_row - k, end_row)
    if period.kind == "to_date":
        first, last = _to_date_first(period.text, last_session), last_session
    else:
        assert period.first is not None and period.last is not None
        first, last = period.first, period.last
    if first > last_session:
        raise PeriodError(f"{period.text} starts after the data, which ends {last_session}")
    if last < first_session:
        raise PeriodError(f"{period.text} ends before the data, which starts {first_session}")
    base_row = int(sessions.searchsorted(pd.Timestamp(first), side="left")) - 1
    if base_row < 0:
        raise PeriodError(f"{period.text} has no close before it: the data starts {first_session}")
    stop = min(int(sessions.searchsorted(pd.Timestamp(last), side="right")) - 1, end_row)
    if stop <= base_row:  # no session inside the period (a range over a holiday)
        raise PeriodError(f"{period.text} holds no session")
    cut = period.kind != "to_date" and last > last_session
    return Span(period, sessions[base_row], sessions[stop], base_row, stop, cut)


@dataclass(frozen=True)
class TickerReturn:
    """One ticker's return over a span: `value` in percent, from the close on `base` to the
    close on `end` (the span's sessions, or the ticker's first close for `max`)."""

    ticker: str
    value: float
    base: pd.Timestamp
    end: pd.Timestamp


def ticker_return(closes: pd.Series, span: Span, ticker: str = "") -> TickerReturn:
    """100 * (close_end / close_base - 1) of one ticker's closes, indexed by the calendar
    `span` was resolved on. `PeriodError` naming the ticker when it has no close on the
    span's base or end session (or, for `max`, none at all)."""
    name = ticker or str(closes.name)
    values = closes.to_numpy(dtype=np.float64)
    index = pd.DatetimeIndex(closes.index)
    end_close = values[span.end_row]
    if not np.isfinite(end_close):
        last = _last_close(values, index)
        raise PeriodError(
            f"{name} has no close on {span.end.date()}" + (f" (its last is {last})" if last else "")
        )
    if span.base is None:
        valid = np.flatnonzero(np.isfinite(values[: span.end_row + 1]))
        base_row = int(valid[0])
        if base_row == span.end_row:
            raise PeriodError(f"{name} has one close only, on {span.end.date()}")
    else:
        base_row = span.base_row
        if not np.isfinite(values[base_row]):
            first = np.flatnonzero(np.isfinite(values))
            since = f" (its data starts {index[first[0]].date()})" if len(first) else ""
            raise PeriodError(f"{name} has no close on {span.base.date()}{since}")
    value = 100.0 * (float(end_close) / float(values[base_row]) - 1.0)
    return TickerReturn(name, value, index[base_row], index[span.end_row])


def _last_close(values: np.ndarray, index: pd.DatetimeIndex) -> date | None:
    valid = np.flatnonzero(np.isfinite(values))
    return index[valid[-1]].date() if len(valid) else None
