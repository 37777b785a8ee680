"""The one number formatter: each format as its surface shows it, zero and missing included."""

from __future__ import annotations

import pytest

from bot.render.numbers import (
    format_change,
    format_coverage,
    format_decimal,
    format_delta,
    format_plain,
    format_return,
    format_share,
    format_signed,
    format_value,
)


@pytest.mark.parametrize(
    ("value", "unit", "signed", "text"),
    [
        (None, "%", False, "—"),
        (61.25, "%", False, "61.2%"),
        (3.0, "%", True, "+3.0%"),
        (-3.0, "%", True, "-3.0%"),
        (0.0, "%", True, "0.0%"),
        (1.25, "pp", False, "+1.2 pp"),
        (-0.5, "x", False, "-0.5"),
        (3.0, "", False, "3"),
        (3.0, "", True, "+3"),
        (2.5, "", False, "2.5"),
    ],
)
def test_format_value(value: float | None, unit: str, signed: bool, text: str) -> None:
    assert format_value(value, unit, signed) == text


@pytest.mark.parametrize(
    ("value", "unit", "chat", "terminal"),
    [
        (None, "%", "—", "—"),
        (1.26, "%", "+1.3 pp", "+1.3 pp"),
        (-0.01, "pp", "0.0 pp", "-0.0 pp"),
        (0.0, "pp", "0.0 pp", "+0.0 pp"),
        (2.0, "", "+2", "+2.0"),
        (0.0, "", "0", "+0.0"),
        (0.04, "", "+0.0", "+0.0"),
        (-3.0, "x", "-3", "-3.0"),
    ],
)
def test_a_change_in_a_chat_and_in_the_terminal(
    value: float | None, unit: str, chat: str, terminal: str
) -> None:
    assert format_change(value, unit) == chat
    assert format_delta(value, unit) == terminal


def test_percentages_and_fractions() -> None:
    assert format_return(None) == "—"
    assert format_return(0.0) == "+0.0%"
    assert format_return(-1.25) == "-1.2%"
    assert format_share(None) == "—"
    assert format_share(0.571) == "57%"
    assert format_share(0.125) == f"{0.125 * 100:.0f}%"  # the same rounding as 12.5 -> "12"
    assert format_coverage(None) == "—"
    assert format_coverage(0.985) == "98.5%"
    assert format_coverage(1.0) == "100.0%"


def test_signed_decimal_and_plain() -> None:
    assert format_signed(0.04) == "0.0"
    assert format_signed(-0.04) == "0.0"
    assert format_signed(1.25) == "+1.2"
    assert format_decimal(None) == "—"
    assert format_decimal(1.0) == "1.00"
    assert format_decimal(1.234, 1) == "1.2"
    assert format_plain(65.0) == "65"
    assert format_plain(0.5) == "0.5"
    assert format_plain(None) == "—"
