"""An APScheduler trigger that fires a fixed delay after each NYSE session's close.

16:30 New York on a normal day and 13:30 on an early close (with the default 30 minutes);
nothing on weekends and holidays; the New York wall-clock time holds across DST changes
(the UTC instant moves). Sessions and closes come from `signals.calendar`.

The SQLAlchemy job store pickles triggers, so the instance holds only simple attributes
(`delay_minutes`) and carries a state version; the class's import path is part of every stored
job (moving it makes APScheduler drop the job, which the scheduler then re-adds).
"""

from __future__ import annotations

import bisect
import functools
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from apscheduler.triggers.base import BaseTrigger

from signals import calendar

NEW_YORK = ZoneInfo(calendar.NEW_YORK)
_STATE_VERSION = 1


@functools.lru_cache(maxsize=64)
def _fire_times(year: int, delay_minutes: int) -> tuple[datetime, ...]:
    """Every session of `year` as its close + delay, in UTC, ascending."""
    days = calendar.sessions(f"{year}-01-01", f"{year}-12-31")
    delay = pd.Timedelta(minutes=delay_minutes)
    return tuple(
        (calendar.close_time(day) + delay).tz_convert("UTC").to_pydatetime() for day in days
    )


def next_session_fire(after: datetime, delay_minutes: int, *, inclusive: bool) -> datetime:
    """The first close + delay at or after (inclusive) / strictly after `after`."""
    instant = after.astimezone(UTC)
    # a fire on `year`'s last session can fall on the next calendar day (a long delay)
    for year in range(instant.year - 1, instant.year + 3):
        fires = _fire_times(year, delay_minutes)
        pick = bisect.bisect_left if inclusive else bisect.bisect_right
        i = pick(fires, instant)
        if i < len(fires):
            return fires[i].astimezone(NEW_YORK)
    raise ValueError(f"no NYSE session found after {after.isoformat()}")  # pragma: no cover


class SessionCloseTrigger(BaseTrigger):
    """Fires `delay_minutes` after every NYSE close (see the module docstring)."""

    def __init__(self, delay_minutes: int = 30) -> None:
        if not 0 <= int(delay_minutes) <= 8 * 60:
            raise ValueError("delay_minutes must be between 0 and 480")
        self.delay_minutes = int(delay_minutes)

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        """After a run: the next fire strictly after it (so the runs missed during downtime
        are each seen, then coalesced); for a new job: the first fire at or after `now`."""
        if previous_fire_time is not None:
            return next_session_fire(previous_fire_time, self.delay_minutes, inclusive=False)
        return next_session_fire(now, self.delay_minutes, inclusive=True)

    def __getstate__(self) -> dict[str, Any]:
        return {"version": _STATE_VERSION, "delay_minutes": self.delay_minutes}

    def __setstate__(self, state: dict[str, Any]) -> None:
        if state.get("version", 1) > _STATE_VERSION:
            raise ValueError(
                f"stored SessionCloseTrigger state v{state['version']} is newer than this bot"
            )
        self.delay_minutes = int(state["delay_minutes"])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SessionCloseTrigger) and other.delay_minutes == self.delay_minutes

    def __hash__(self) -> int:
        return hash((SessionCloseTrigger, self.delay_minutes))

    def __str__(self) -> str:
        return f"nyse_close[+{self.delay_minutes}min]"

    def __repr__(self) -> str:
        return f"<SessionCloseTrigger (delay_minutes={self.delay_minutes})>"


def fire_times_between(trigger: BaseTrigger, start: datetime, end: datetime) -> list[datetime]:
    """Every fire time of `trigger` in [start, end], through `get_next_fire_time` only (the
    way APScheduler walks a trigger; the virtual clock and the tests rely on it)."""
    out: list[datetime] = []
    nxt = trigger.get_next_fire_time(None, start)
    while nxt is not None and nxt <= end:
        out.append(nxt)
        nxt = trigger.get_next_fire_time(nxt, nxt)
    return out
