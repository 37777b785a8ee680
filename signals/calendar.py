"""NYSE sessions and early closes, from exchange-calendars, in America/New_York.

"k sessions" everywhere in the signals counts NYSE sessions; freshness counts the sessions a
source is behind; the scheduler runs after each session's close (earlier on early-close days).
"""

from __future__ import annotations

import functools
from datetime import date, datetime, time

import exchange_calendars as xcals
import numpy as np
import pandas as pd

NEW_YORK = "America/New_York"
#: the first session the calendar knows: no date before it can be asked about
FIRST_SESSION = pd.Timestamp("1990-01-02")


@functools.lru_cache(maxsize=4)
def _calendar(end_year: int) -> xcals.ExchangeCalendar:
    # built with a margin on both sides: a query outside the range raises DateOutOfBounds
    return xcals.get_calendar("XNYS", start=FIRST_SESSION, end=pd.Timestamp(f"{end_year}-12-31"))


def _cal_for(ts: pd.Timestamp) -> xcals.ExchangeCalendar:
    return _calendar(max(ts.year + 1, pd.Timestamp.now().year + 1))


def sessions(start: str | pd.Timestamp, end: str | pd.Timestamp) -> pd.DatetimeIndex:
    """NYSE sessions from `start` to `end` inclusive, tz-naive midnight timestamps."""
    start, end = pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize()
    if end < start:
        return pd.DatetimeIndex([], name="date")
    idx = _cal_for(end).sessions_in_range(max(start, FIRST_SESSION), end)
    return pd.DatetimeIndex(idx.tz_localize(None) if idx.tz else idx, name="date").as_unit("ns")


def is_session(day: str | pd.Timestamp) -> bool:
    day = pd.Timestamp(day).normalize()
    return bool(_cal_for(day).is_session(day))


def sessions_between(earlier: pd.Timestamp, later: pd.Timestamp) -> int:
    """Sessions after `earlier` up to and including `later` (0 when later <= earlier)."""
    if later <= earlier:
        return 0
    return len(sessions(pd.Timestamp(earlier) + pd.Timedelta(days=1), later))


def previous_session(day: str | pd.Timestamp) -> pd.Timestamp:
    """The last session strictly before `day`."""
    day = pd.Timestamp(day).normalize()
    return sessions(day - pd.Timedelta(days=14), day - pd.Timedelta(days=1))[-1]


def session_on_or_before(day: str | date | pd.Timestamp) -> pd.Timestamp:
    day = pd.Timestamp(day).normalize()
    return sessions(day - pd.Timedelta(days=14), day)[-1]


def close_time(session: str | pd.Timestamp) -> pd.Timestamp:
    """The session's close as a tz-aware America/New_York timestamp (13:00 on early closes)."""
    session = pd.Timestamp(session).normalize()
    return _cal_for(session).session_close(session).tz_convert(NEW_YORK)


def is_early_close(session: str | pd.Timestamp) -> bool:
    return close_time(session).time() < time(16, 0)


def last_completed_session(now: datetime | pd.Timestamp | None = None) -> pd.Timestamp:
    """The last session whose close is at or before `now` (default: the wall clock)."""
    now = pd.Timestamp.now(tz="UTC") if now is None else pd.Timestamp(now)
    if now.tzinfo is None:
        now = now.tz_localize(NEW_YORK)
    local = now.tz_convert(NEW_YORK)
    candidate = session_on_or_before(local.tz_localize(None).normalize())
    if close_time(candidate) <= local:
        return candidate
    return previous_session(candidate)


def session_ordinal(days: pd.DatetimeIndex | list | pd.Timestamp) -> np.ndarray:
    """A stable integer per session: its position on the NYSE calendar since 1990.

    Rule state counts cooldowns in sessions and must mean the same across restarts whatever
    slice of history a run loaded, so positions come from the calendar, not from a frame.
    A non-session date gets the ordinal of the next session (searchsorted, left).
    """
    idx = pd.DatetimeIndex(pd.to_datetime(np.atleast_1d(np.asarray(days)))).normalize()
    if idx.tz is not None:
        idx = idx.tz_localize(None)
    end = max(idx.max(), pd.Timestamp.now()) if len(idx) else pd.Timestamp.now()
    all_sessions = sessions(FIRST_SESSION, end + pd.Timedelta(days=10))
    return np.searchsorted(all_sessions.values, idx.as_unit("ns").values, side="left")
