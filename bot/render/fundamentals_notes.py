"""The snapshot table's notes on the fundamentals: which quarter, when published, how covered.

A fundamentals figure is only as good as its date and its coverage, and the table row shows
neither; these lines under the table do (the chat's `sector` and `valuation` answers say the
same in full sentences).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.render.numbers import format_ratio

#: how a note names an observation's source
_SOURCES = {"fred": "FRED", "sec": "SEC", "file": "file", "simulated": "simulated"}


def _source(value: Any) -> str:
    return ", ".join(_SOURCES.get(s.strip(), s.strip()) for s in str(value or "?").split(","))


def _covered(covered: Any, members: Any) -> str:
    if covered is None or members is None:
        return ""
    partial = " (partial)" if covered < members else ""
    return f", {int(covered)} of {int(members)} members{partial}"


def fundamentals_notes(signals: Mapping[str, Any]) -> list[str]:
    """One line per fundamentals figure with a value: source, period end, publication,
    member coverage. `signals`: signal id -> reading with ``value`` and ``details``."""
    lines: list[str] = []
    nim = signals.get("bank_nim")
    if nim is not None and nim.value is not None:
        d = nim.details
        lines.append(
            f"bank_nim: period ending {d.get('period_end') or '?'}, published "
            f"{d.get('published') or '?'} ({_source(d.get('source'))})"
        )
    fcf = signals.get("energy_fcf_yield")
    if fcf is not None and fcf.value is not None:
        d = fcf.details
        lines.append(
            f"energy_fcf_yield: latest filing {d.get('published') or '?'}"
            f"{_covered(d.get('covered'), d.get('members'))} ({_source(d.get('source'))})"
        )
    val = signals.get("valuation")
    pe = None if val is None else val.details.get("sp500_pe_bottom_up")
    if val is not None and pe is not None:
        d = val.details
        lines.append(
            f"valuation: bottom-up S&P 500 P/E {format_ratio(pe)}, latest filing "
            f"{d.get('pe_published') or '?'}{_covered(d.get('pe_covered'), d.get('pe_members'))}"
            f" ({_source(d.get('pe_source'))})"
        )
    return lines
