"""`delivery:` settings refuse values that make no sense (negative, zero, infinite, or too
large to add to a date), and a lease shorter than the longest part of a send: a claim that
runs out mid-send lets a second worker send the same message again."""

from __future__ import annotations

import math
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from bot.config.delivery import DeliverySettings
from bot.config.settings import load_settings
from bot.model.errors import ConfigError


def _error(**fields: Any) -> str:
    with pytest.raises(ValidationError) as info:
        DeliverySettings.model_validate(fields)
    return str(info.value)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("lease", -5),
        ("lease", 0),
        ("lease", 10**12),
        ("max_age", -1),
        ("max_age", 0),
        ("max_age", 10**12),  # past the last date a datetime can hold
        ("once_max_age", -1),
        ("once_max_age", 0),
        ("timeout", math.inf),
        ("timeout", math.nan),
        ("timeout", 0),
        ("timeout", -1.0),
        ("connect_timeout", math.inf),
        ("connect_timeout", 0),
        ("backoff_base", math.nan),
        ("backoff_max", math.inf),
        ("backoff_max", 1e300),  # a retry that far away overflows the date
        ("backoff_max", -1),
        ("poll_interval", math.inf),
        ("poll_interval", 0),
        ("batch", 0),
        ("headroom", math.nan),
    ],
)
def test_nonsense_values_are_refused_naming_the_field(field: str, value: float) -> None:
    message = _error(**{field: value})
    assert message.splitlines()[1] == field, message


@pytest.mark.parametrize("cap", ["overall", "per_chat", "per_group"])
@pytest.mark.parametrize(("count", "per"), [(0, 1.0), (1, 0), (1, -1.0), (1, math.inf)])
def test_nonsense_caps_are_refused(cap: str, count: int, per: float) -> None:
    message = _error(telegram={cap: {"count": count, "per": per}})
    assert f"telegram.{cap}." in message


def test_a_lease_must_outlast_the_longest_part_of_a_send() -> None:
    # defaults: a group's 60 s window + a batch of 200 at 30/s with 0.95 headroom (7.0 s)
    # + 5 s to connect + 10 s for the answer = 82.0 s
    assert DeliverySettings().longest_part == pytest.approx(82.0, abs=0.1)
    message = _error(lease=60)
    assert message.splitlines()[1] == "lease"
    assert "82.0 s" in message and "60 s" in message
    # one second, shorter than a rate-limited send (one chat's 1 s window alone)
    assert "lease" in _error(
        lease=1,
        timeout=0.1,
        connect_timeout=0.1,
        telegram={"per_group": {"count": 20, "per": 0.5}},
    )
    # fine once the caps, batch and timeouts fit inside it
    quick = DeliverySettings.model_validate(
        {
            "lease": 5,
            "timeout": 1.0,
            "connect_timeout": 1.0,
            "batch": 30,
            "telegram": {"per_group": {"count": 20, "per": 1.0}},
        }
    )
    assert quick.longest_part < 5 and quick.lease == timedelta(seconds=5)


def test_the_config_file_error_is_one_line_naming_the_field_and_its_line(tmp_path: Path) -> None:
    path = tmp_path / "rotation.yaml"
    path.write_text("delivery:\n  max_age: 86400\n  timeout: .inf\n  lease: -5\n", "utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    lines = str(info.value).splitlines()[1:]
    assert len(lines) == 2, lines
    assert lines[0].strip().startswith(f"{path}:3: delivery.timeout: ")
    assert lines[1].strip().startswith(f"{path}:4: delivery.lease: ")
    assert "positive" in lines[1]
