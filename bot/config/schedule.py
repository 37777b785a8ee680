"""Typed `schedule:` settings: when the scheduler refreshes, evaluates, delivers and reports.

The evaluate job follows the NYSE calendar (close + a delay, so 16:30 New York on a normal day
and 13:30 on an early close; nothing on weekends and holidays). The digest and heartbeat are
wall-clock jobs in `timezone`. `coalesce` and `misfire_grace_time` decide what happens to runs
missed while the bot was down (APScheduler's default grace of 1 s would skip them).
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from bot.config.base import StrictModel

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _parse_time(value: object) -> object:
    """Accept "08:00" (and YAML's sexagesimal 480 for an unquoted 08:00) as a time of day."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 24 * 60:
        return dt.time(value // 60, value % 60)  # YAML 1.1 reads unquoted 08:00 as 480
    if isinstance(value, str) and re.fullmatch(r"\d{1,2}:\d{2}", value.strip()):
        hour, minute = (int(p) for p in value.strip().split(":"))
        return dt.time(hour, minute)
    return value


class DigestSchedule(StrictModel):
    """The weekly digest (snapshot and chart to subscribers); off by default."""

    #: send the weekly digest to destinations whose digest kind is on or silent
    enabled: bool = False
    #: mon, tue, ... sun
    day_of_week: str = "mon"
    #: time of day in schedule.timezone
    time: dt.time = Field(default=dt.time(8, 0))

    @field_validator("day_of_week")
    @classmethod
    def _day(cls, v: str) -> str:
        day = v.strip().lower()[:3]
        if day not in _DAYS:
            raise ValueError(f"day_of_week must be one of {', '.join(_DAYS)}")
        return day

    _time = field_validator("time", mode="before")(_parse_time)


class HeartbeatSchedule(StrictModel):
    """A daily 'still alive' message to subscribers of the heartbeat kind; off by default."""

    #: send a daily heartbeat to destinations whose heartbeat kind is on or silent
    enabled: bool = False
    #: time of day in schedule.timezone
    time: dt.time = Field(default=dt.time(9, 0))

    _time = field_validator("time", mode="before")(_parse_time)


class ScheduleSettings(StrictModel):
    """Everything the scheduler needs from the config file."""

    #: minutes after each NYSE close (16:00, or 13:00 on early closes) to refresh and evaluate
    evaluate_delay_minutes: int = Field(30, ge=0, le=8 * 60)
    #: seconds between delivery-worker passes over the outbox
    delivery_interval_seconds: float = Field(15.0, gt=0, le=3600)
    #: a run missed by at most this many seconds (downtime, a busy loop) still runs on start
    misfire_grace_time: int | None = Field(3600, ge=1)
    #: several missed runs of one job run once
    coalesce: bool = True
    #: evaluate once right after start (every session since the last stored evaluation)
    catch_up: bool = True
    #: time zone of the digest and heartbeat times (the evaluate job follows the exchange)
    timezone: str = "America/New_York"
    digest: DigestSchedule = DigestSchedule()
    heartbeat: HeartbeatSchedule = HeartbeatSchedule()

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r} (use an IANA name such as UTC)") from None
        return v
