"""Every number the bot shows, formatted here: values in their units, changes, returns, shares.

Each function is named for what it formats. Where two surfaces show the same quantity
differently (a change of zero is "0.0 pp" in a chat reply but "+0.0 pp" in the terminal's
snapshot table), both formats live here side by side, so they are changed together or not at
all. A missing number is an em dash everywhere.
"""

from __future__ import annotations

import math

#: what a missing number looks like
DASH = "—"

#: units whose changes are percentage points
_POINTS_UNITS = ("%", "pp")


def format_value(value: float | None, unit: str, signed: bool = False) -> str:
    """A signal's value as people read it: one decimal and its unit ("%" a percentage, "pp"
    percentage points, "x" a P/E difference, "" a count: whole counts without decimals).
    `signed` adds "+" to positive percentages and counts; pp and x are always signed."""
    if value is None:
        return DASH
    sign = "+" if signed and value > 0 else ""
    if unit == "%":
        return f"{sign}{value:.1f}%"
    if unit == "pp":
        return f"{value:+.1f} pp"
    if unit == "x":
        return f"{value:+.1f}"
    return f"{sign}{value:.0f}" if float(value).is_integer() else f"{sign}{value:.1f}"


def format_percent(value: float | None) -> str:
    """A level in percent with two decimals and a space ("40.81 %"): shares and weights
    in the concentration answers."""
    return DASH if value is None else f"{value:.2f} %"


def format_ratio(value: float | None) -> str:
    """A P/E ratio with two decimals ("21.37")."""
    return DASH if value is None else f"{value:.2f}"


def format_change(value: float | None, unit: str) -> str:
    """A change in a chat reply: signed, in points for % and pp values ("+1.2 pp"), plain
    for counts; a change that rounds to zero has no sign ("0.0 pp", "0")."""
    if value is None:
        return DASH
    if unit in _POINTS_UNITS:
        text = f"{value:+.1f} pp"
        return "0.0 pp" if text in ("+0.0 pp", "-0.0 pp") else text
    text = f"{value:+.0f}" if float(value).is_integer() else f"{value:+.1f}"
    return "0" if text in ("+0", "-0") else text


def format_delta(value: float | None, unit: str) -> str:
    """A change in the terminal's snapshot table: always signed with one decimal, " pp"
    after % and pp values ("+0.0 pp", "-3.0")."""
    if value is None:
        return DASH
    return f"{value:+.1f}" + (" pp" if unit in _POINTS_UNITS else "")


def format_signed(value: float) -> str:
    """A bar's label on a chart: +1.2 / -0.4, and 0.0 without a sign when it rounds to zero."""
    text = f"{value:+.1f}"
    return "0.0" if text in ("+0.0", "-0.0") else text


def format_return(value: float | None) -> str:
    """A forward return in percent, always signed ("+1.2%", "-0.4%", "+0.0%")."""
    return DASH if value is None else f"{value:+.1f}%"


def format_return_pct(value: float | None) -> str:
    """A return over a period in percent, signed with two decimals and a space ("+12.66 %");
    one that rounds to zero has no sign ("0.00 %")."""
    if value is None or not math.isfinite(value):
        return DASH
    text = f"{value:+.2f}"
    return ("0.00" if text in ("+0.00", "-0.00") else text) + " %"


def format_spread_pp(value: float | None) -> str:
    """A spread or contribution in percentage points, signed with two decimals ("-1.56 pp");
    one that rounds to zero has no sign ("0.00 pp")."""
    if value is None or not math.isfinite(value):
        return DASH
    text = f"{value:+.2f}"
    return ("0.00" if text in ("+0.00", "-0.00") else text) + " pp"


def format_share(value: float | None) -> str:
    """A fraction as a whole percentage (0.571 -> "57%")."""
    return DASH if value is None else f"{value:.0%}"


def format_coverage(value: float | None) -> str:
    """A fraction as a percentage with one decimal (0.985 -> "98.5%")."""
    return DASH if value is None else format_value(value * 100, "%")


def format_decimal(value: float | None, places: int = 2) -> str:
    """A raw value with a fixed number of decimals (a backtest event's value)."""
    return DASH if value is None else f"{value:.{places}f}"


def format_plain(value: float | None) -> str:
    """A threshold as written in the config: the shortest form ("65", "0.5", "-1e-05")."""
    return DASH if value is None else f"{value:g}"


def format_number(value: float | None) -> str:
    """A value or threshold in an alert: at most two decimals (three significant digits
    below 1), thousands separated, scientific from 10^12; an em dash when missing or not
    finite."""
    if value is None or not math.isfinite(value):
        return DASH
    if abs(value) >= 1e12:
        return f"{value:.3e}"
    if value != 0 and abs(value) < 1:
        text = f"{value:.3g}"
    else:
        text = f"{value:,.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text
