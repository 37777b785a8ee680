"""Fundamentals in the answers: the bank margin, the energy FCF yield, the bottom-up P/E.

Every figure is read from the snapshot of the session asked for (so it is the number the
rules and backtests see), with what makes it trustworthy or not: its quarter, its
publication date and source, how many members a bottom-up figure covers (and a line when it
is partial), and a warning when the newest publication is old. A figure that no source gives
is one line saying why; nothing is invented.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import pandas as pd

from bot.commands.common import number, session_used
from bot.render import format_percent, format_ratio
from bot.render import texts as T

if TYPE_CHECKING:
    from bot.alerts import MarketState


def _day(value: Any) -> date | None:
    if value is None or value == "":
        return None
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError):
        return None
    return None if pd.isna(stamp) else stamp.date()


def _quarter(value: Any) -> str:
    day = _day(value)
    return "period unknown" if day is None else f"{day.year} Q{(day.month - 1) // 3 + 1}"


def _source(value: Any) -> str:
    names = [T.FUNDAMENTAL_SOURCES.get(s.strip(), s.strip()) for s in str(value or "").split(",")]
    return ", ".join(n for n in names if n) or "source unknown"


def _details(state: MarketState, signal_id: str) -> tuple[float | None, Mapping[str, Any]]:
    reading = state.snapshot.signals.get(signal_id)
    if reading is None:
        return None, {}
    return number(reading.value), reading.details


def _session(state: MarketState) -> date:
    return session_used(state) or state.snapshot.as_of


def _age_warning(state: MarketState, published: Any, what: str) -> list[str]:
    day = _day(published)
    if day is None:
        return []
    days = (_session(state) - day).days
    if days <= T.FUNDAMENTAL_MAX_AGE_DAYS:
        return []
    return [T.FUNDAMENTAL_OLD.format(what=what, days=days)]


def _partial(covered: int, members: int) -> list[str]:
    if members <= 0 or covered >= members:
        return []
    return [T.PARTIAL_MEMBERS.format(left=members - covered, members=members)]


def nim_lines(state: MarketState) -> list[str]:
    """The bank margin with its quarter, publication date and source (`sector financials`)."""
    value, d = _details(state, "bank_nim")
    if value is None:
        return [T.NIM_NONE.format(date=_session(state).isoformat())]
    line = T.NIM_LINE.format(
        value=format_percent(value),
        quarter=_quarter(d.get("period_end")),
        published=d.get("published") or "—",
        source=_source(d.get("source")),
    )
    return [line, *_age_warning(state, d.get("published"), "margin")]


def fcf_lines(state: MarketState) -> list[str]:
    """The energy FCF yield with the members it covers (`sector energy`)."""
    value, d = _details(state, "energy_fcf_yield")
    covered, members = number(d.get("covered")), number(d.get("members"))
    if value is None:
        why = T.FCF_WHY_NO_SOURCE if covered is None else T.FCF_WHY_NO_COVER
        return [T.FCF_NONE.format(date=_session(state).isoformat(), why=why)]
    fields = {
        "value": format_percent(value),
        "quarter": _quarter(d.get("period_end")),
        "published": d.get("published") or "—",
        "source": _source(d.get("source")),
    }
    if covered is None or members is None:  # a user's file: the vendor's own figure
        return [T.FCF_FILE_LINE.format(**fields)]
    line = T.FCF_LINE.format(covered=int(covered), members=int(members), **fields)
    return [
        line,
        *_partial(int(covered), int(members)),
        *_age_warning(state, d.get("published"), "filing behind it"),
    ]


def sector_lines(state: MarketState, etf: str) -> list[str]:
    """The fundamentals a sector answer shows: XLF the margin, XLE the FCF yield."""
    if etf == "XLF":
        return nim_lines(state)
    if etf == "XLE":
        return fcf_lines(state)
    return []


@dataclass(frozen=True)
class BottomUpPE:
    """The valuation answer's bottom-up row (None: no figure) and its lines."""

    row: tuple[str, str, str, str] | None
    lines: list[str]


def bottom_up_pe(state: MarketState) -> BottomUpPE:
    """The bottom-up S&P 500 trailing (and, where a file gives it, forward) P/E."""
    _, d = _details(state, "valuation")
    trailing = number(d.get("sp500_pe_bottom_up"))
    forward = number(d.get("sp500_forward_pe"))
    covered, members = number(d.get("pe_covered")), number(d.get("pe_members"))
    lines: list[str] = []
    if trailing is None:
        why = T.PE_WHY_NO_SOURCE if covered is None else T.PE_WHY_NO_COVER
        lines.append(T.PE_BOTTOM_UP_NONE.format(why=why))
    elif covered is None or members is None:
        lines.append(
            T.PE_BOTTOM_UP_FILE.format(
                source=_source(d.get("pe_source")), published=d.get("pe_published") or "—"
            )
        )
    else:
        lines.append(
            T.PE_BOTTOM_UP_LINE.format(
                covered=int(covered),
                members=int(members),
                published=d.get("pe_published") or "—",
                source=_source(d.get("pe_source")),
            )
        )
        lines += _partial(int(covered), int(members))
        lines += _age_warning(state, d.get("pe_published"), "filing behind it")
    if forward is not None:
        lines.append(
            T.PE_FORWARD_FILE.format(
                source=_source(d.get("forward_pe_source")),
                published=d.get("forward_pe_published") or "—",
            )
        )
    if trailing is None and forward is None:
        return BottomUpPE(None, lines)
    dates = [x for x in (_day(d.get("pe_published")), _day(d.get("forward_pe_published"))) if x]
    row = (
        T.PE_BOTTOM_UP_ROW,
        format_ratio(trailing),
        format_ratio(forward),
        max(dates).isoformat() if dates else "—",
    )
    return BottomUpPE(row, lines)
