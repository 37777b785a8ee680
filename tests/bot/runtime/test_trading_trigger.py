"""SessionCloseTrigger: close + delay on NYSE sessions only, early closes, DST, weekends,
year ends, pickling. Expected times are written by hand from the 2026 NYSE calendar."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.runtime.trading_trigger import SessionCloseTrigger, fire_times_between

NY = ZoneInfo("America/New_York")


def ny(*args: int) -> datetime:
    return datetime(*args, tzinfo=NY)


def fires(start: datetime, end: datetime, delay: int = 30) -> list[datetime]:
    return fire_times_between(SessionCloseTrigger(delay), start, end)


def test_thanksgiving_week_skips_the_holiday_and_fires_early_on_the_early_close() -> None:
    got = fires(ny(2026, 11, 23), ny(2026, 11, 30, 23, 59))
    assert got == [
        ny(2026, 11, 23, 16, 30),
        ny(2026, 11, 24, 16, 30),
        ny(2026, 11, 25, 16, 30),
        # 11-26 Thanksgiving: nothing; 11-27 closes at 13:00
        ny(2026, 11, 27, 13, 30),
        ny(2026, 11, 30, 16, 30),
    ]
    trigger = SessionCloseTrigger()
    assert trigger.get_next_fire_time(ny(2026, 11, 25, 16, 30), ny(2026, 11, 25, 16, 31)) == ny(
        2026, 11, 27, 13, 30
    )
    assert trigger.get_next_fire_time(None, ny(2026, 11, 26, 10)) == ny(2026, 11, 27, 13, 30)


def test_christmas_eve_and_the_year_end() -> None:
    got = fires(ny(2026, 12, 23), ny(2027, 1, 5, 23, 59))
    assert got == [
        ny(2026, 12, 23, 16, 30),
        ny(2026, 12, 24, 13, 30),  # early close
        ny(2026, 12, 28, 16, 30),  # 25th a holiday, then the weekend
        ny(2026, 12, 29, 16, 30),
        ny(2026, 12, 30, 16, 30),
        ny(2026, 12, 31, 16, 30),
        ny(2027, 1, 4, 16, 30),  # 2027-01-01 a holiday (Friday)
        ny(2027, 1, 5, 16, 30),
    ]


@pytest.mark.parametrize(
    ("start", "end", "utc_hours"),
    [
        # DST starts Sunday 2026-03-08: 16:30 EST = 21:30 UTC, then 16:30 EDT = 20:30 UTC
        ((2026, 3, 2), (2026, 3, 13), [21] * 5 + [20] * 5),
        # DST ends Sunday 2026-11-01: 20:30 UTC, then 21:30 UTC
        ((2026, 10, 26), (2026, 11, 6), [20] * 5 + [21] * 5),
    ],
)
def test_dst_weeks_keep_16_30_new_york(start, end, utc_hours) -> None:
    got = fires(ny(*start), ny(*end, 23, 59))
    assert len(got) == 10  # two full trading weeks, no holiday
    assert all(f.astimezone(NY).strftime("%H:%M") == "16:30" for f in got)
    assert [f.astimezone(UTC).hour for f in got] == utc_hours
    assert all(f.astimezone(UTC).minute == 30 for f in got)
    assert [f.weekday() for f in got] == [0, 1, 2, 3, 4] * 2


def test_dst_instants_by_hand() -> None:
    trigger = SessionCloseTrigger()
    friday = datetime(2026, 3, 6, 21, 30, tzinfo=UTC)
    monday = datetime(2026, 3, 9, 20, 30, tzinfo=UTC)
    assert trigger.get_next_fire_time(None, datetime(2026, 3, 6, 12, tzinfo=UTC)) == friday
    assert trigger.get_next_fire_time(friday, friday) == monday


def test_weekends_fire_nothing() -> None:
    trigger = SessionCloseTrigger()
    monday = ny(2026, 3, 16, 16, 30)
    for now in (ny(2026, 3, 13, 16, 31), ny(2026, 3, 14, 9), ny(2026, 3, 15, 23, 59)):
        assert trigger.get_next_fire_time(None, now) == monday
    assert fires(ny(2026, 3, 14), ny(2026, 3, 15, 23, 59)) == []


def test_boundaries_first_fire_is_inclusive_after_a_run_strict() -> None:
    trigger = SessionCloseTrigger()
    at = ny(2026, 3, 13, 16, 30)
    assert trigger.get_next_fire_time(None, at - timedelta(seconds=1)) == at
    assert trigger.get_next_fire_time(None, at) == at  # a new job at exactly 16:30 runs now
    assert trigger.get_next_fire_time(at, at) == ny(2026, 3, 16, 16, 30)


@pytest.mark.parametrize(
    ("delay", "normal", "early"), [(0, "16:00", "13:00"), (90, "17:30", "14:30")]
)
def test_the_delay_is_configurable(delay, normal, early) -> None:
    got = fires(ny(2026, 11, 25), ny(2026, 11, 27, 23, 59), delay)
    assert [f.strftime("%m-%d %H:%M") for f in got] == [f"11-25 {normal}", f"11-27 {early}"]


def test_pickles_with_simple_state_only() -> None:
    trigger = SessionCloseTrigger(45)
    assert trigger.__getstate__() == {"version": 1, "delay_minutes": 45}
    copy = pickle.loads(pickle.dumps(trigger))
    assert copy == trigger and copy.delay_minutes == 45
    assert copy.get_next_fire_time(None, ny(2026, 3, 13)) == ny(2026, 3, 13, 16, 45)
    with pytest.raises(ValueError, match="newer"):
        SessionCloseTrigger().__setstate__({"version": 99, "delay_minutes": 1})
    with pytest.raises(ValueError):
        SessionCloseTrigger(-1)


def test_a_year_of_fires_is_one_per_session() -> None:
    """2026 has 251 NYSE sessions (exchange-calendars' XNYS) with two early closes."""
    got = fires(ny(2026, 1, 1), ny(2026, 12, 31, 23, 59))
    assert len(got) == 251
    assert len({f.date() for f in got}) == 251
    assert sorted(f.date().isoformat() for f in got if f.hour == 13) == [
        "2026-11-27",
        "2026-12-24",
    ]
    holidays = [
        "01-01",
        "01-19",
        "02-16",
        "04-03",
        "05-25",
        "06-19",
        "07-03",
        "09-07",
        "11-26",
        "12-25",
    ]
    assert not {f.strftime("%m-%d") for f in got} & set(holidays)
    assert all(f.weekday() < 5 for f in got)
