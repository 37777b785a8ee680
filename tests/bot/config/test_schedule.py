"""The `schedule:` settings: defaults, times from YAML, and errors naming field and line."""

from __future__ import annotations

import datetime as dt
import textwrap

import pytest

from bot.config.schedule import ScheduleSettings
from bot.config.settings import load_settings
from bot.model.errors import ConfigError


def test_defaults_match_the_documented_ones() -> None:
    s = ScheduleSettings()
    assert (s.evaluate_delay_minutes, s.delivery_interval_seconds) == (30, 15.0)
    assert (s.misfire_grace_time, s.coalesce, s.catch_up) == (3600, True, True)
    assert not s.digest.enabled and not s.heartbeat.enabled
    assert (s.digest.day_of_week, s.digest.time) == ("mon", dt.time(8, 0))
    # the shipped config spells out exactly these defaults
    assert load_settings().schedule == s


def test_yaml_times_and_days(tmp_path) -> None:
    path = tmp_path / "c.yaml"
    # unquoted 8:00 is a YAML 1.1 sexagesimal integer (480); both spellings mean 08:00
    path.write_text(
        "schedule:\n  digest: {enabled: true, day_of_week: Friday, time: 8:00}\n"
        "  heartbeat: {enabled: true, time: '17:05'}\n  timezone: Europe/London\n"
    )
    s = load_settings(path).schedule
    assert s.digest.enabled and s.digest.day_of_week == "fri" and s.digest.time == dt.time(8)
    assert s.heartbeat.time == dt.time(17, 5) and s.timezone == "Europe/London"


@pytest.mark.parametrize(
    ("body", "field", "line"),
    [
        ("schedule:\n  evaluate_delay_minutes: -1\n", "schedule.evaluate_delay_minutes", 2),
        ("schedule:\n  coalesce: true\n  timezone: Mars/Base\n", "schedule.timezone", 3),
        ("schedule:\n  digest:\n    day_of_week: someday\n", "schedule.digest.day_of_week", 3),
        ("schedule:\n  heartbeat: {time: '25:00'}\n", "schedule.heartbeat.time", 2),
        ("schedule:\n  misfire_grace_time: 0\n", "schedule.misfire_grace_time", 2),
        ("schedule:\n  every: 5\n", "schedule.every", 2),
    ],
)
def test_bad_values_name_field_and_line(tmp_path, body, field, line) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(textwrap.dedent(body))
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert f"{path}:{line}: {field}:" in str(info.value)
