"""The cap coverage behind a concentration or Mega-7 figure, in words.

`caps_line` says how many member companies have a cap and the date of the oldest cap
snapshot used; `cap_warning` is one line when the caps are partial (coverage under
`texts.CAPS_MIN_COVERAGE`) or old (over `texts.CAPS_MAX_AGE_DAYS`); `partial_caps_notes`
gives a snapshot's note per figure that rests on such caps.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import pandas as pd

from bot.render import texts as T
from bot.render.numbers import format_coverage
from signals.indicators.json_values import finite_number as number


def _day(value: Any) -> date | None:
    if value is None:
        return None
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError):
        return None
    return None if pd.isna(ts) else ts.date()


def cap_warning(details: Mapping[str, Any], session: date | None) -> str | None:
    """The warning line when the caps behind a figure are partial (coverage below
    T.CAPS_MIN_COVERAGE) or old (the oldest snapshot used more than T.CAPS_MAX_AGE_DAYS
    before `session`, or before the details' ``cap_base_session`` when they have one: the
    Mega-7 weights' day); None when neither holds."""
    coverage = number(details.get("cap_coverage"))
    oldest = _day(details.get("oldest_cap_snapshot"))
    session = _day(details.get("cap_base_session")) or session  # Mega-7: the weights' day
    reasons = []
    if coverage is not None and coverage < T.CAPS_MIN_COVERAGE:
        reasons.append(T.CAPS_WARN_COVERAGE.format(coverage=format_coverage(coverage)))
    if oldest is not None and session is not None:
        days = (session - oldest).days
        if days > T.CAPS_MAX_AGE_DAYS:
            reasons.append(T.CAPS_WARN_AGE.format(oldest=oldest.isoformat(), days=days))
    return T.CAPS_WARNING.format(reasons=T.CAPS_WARN_JOIN.join(reasons)) if reasons else None


def caps_line(details: Mapping[str, Any]) -> str | None:
    """`caps: N of M companies (…%), oldest cap snapshot YYYY-MM-DD`; None when the details
    carry no coverage (no member companies)."""
    used = number(details.get("caps_used"))
    companies = number(details.get("member_companies"))
    if companies is None or companies <= 0:
        return None
    oldest = _day(details.get("oldest_cap_snapshot"))
    if not used or oldest is None:
        return T.CAPS_NONE.format(companies=f"{companies:.0f}")
    return T.CAPS_LINE.format(
        used=f"{used:.0f}",
        companies=f"{companies:.0f}",
        coverage=format_coverage(number(details.get("cap_coverage"))),
        oldest=oldest.isoformat(),
    )


def cap_lines(details: Mapping[str, Any], session: date | None) -> list[str]:
    """The coverage line and, when the caps are partial or old, the warning line."""
    lines = [line for line in (caps_line(details), cap_warning(details, session)) if line]
    return lines


#: the figures whose details carry a cap coverage, with their label in a note
CAP_FIGURES: dict[str, str] = {"top10_share": "Top-10 share", "mega7_contribution": "Mega-7 share"}


def partial_caps_notes(signals: Mapping[str, Any], session: date | None) -> list[str]:
    """One note per figure of `signals` (id -> reading with `details`) whose caps are
    partial or old: its label, the coverage line and why."""
    notes = []
    for signal_id, label in CAP_FIGURES.items():
        reading = signals.get(signal_id)
        details = getattr(reading, "details", None) or {}
        warning = cap_warning(details, session)
        line = caps_line(details)
        if warning and line:
            notes.append(T.CAPS_PARTIAL_NOTE.format(label=label, line=line, warning=warning))
    return notes
