"""Concentration and valuation: `top10 [DATE]` and `valuation [DATE]`, with honest coverage.

Every number comes from the signal history computed once per refresh, read through the
snapshot of the session asked for (`state_on`: built once per state and session): the top
ten and their weights, the top-ten share, and the cap coverage behind them (companies with a
cap of the member companies, and the oldest cap snapshot used). `cap_lines` is the coverage
line, plus a warning line when the caps are partial or old, that every concentration or
Mega-7 answer shows. P/E ratios are shown with their source and date, or the one-line
reason there are none: never invented; the bottom-up P/E with the members it covers.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from bot.commands.common import (
    CommandError,
    as_of_date,
    freshness_line,
    header_date,
    market_reply,
    need_state,
    number,
    session_used,
    state_on,
)
from bot.commands.context import CommandContext
from bot.commands.fundamentals import bottom_up_pe
from bot.commands.parse import CommandRequest
from bot.model import Reply, Table
from bot.render import cap_lines, format_percent, format_ratio, format_value
from bot.render import texts as T

if TYPE_CHECKING:
    from bot.alerts import MarketState


def _dated(command: str, word: str | None) -> str:
    return command if word is None else f"{command} {word}"


def _date_word(req: CommandRequest, ctx: CommandContext, command: str) -> str | None:
    """The optional DATE; more than one word is a one-line error with a valid example."""
    if len(req.args) > 1:
        state = need_state(ctx)
        day = session_used(state) or as_of_date(state)
        raise CommandError(T.ONE_DATE.format(command=command, example=f"{command} {day}"))
    return req.args[0] if req.args else None


# --- top10 [DATE] ---------------------------------------------------------------------------


def top10(req: CommandRequest, ctx: CommandContext) -> Reply:
    """The ten largest member companies with their weights, their share of all member cap,
    and the cap coverage behind it, at the session on or before DATE (default: latest)."""
    word = _date_word(req, ctx, "top10")
    state = state_on(ctx, word, "top10")
    session = session_used(state)
    reading = state.snapshot.signals.get("top10_share")
    details: Mapping[str, Any] = {} if reading is None else reading.details
    companies = list(details.get("companies") or ())
    share = None if reading is None else number(reading.value)
    blocks: list[str] = []
    table = None
    if share is None or not companies:
        blocks.append(T.TOP10_NONE.format(date=session or header_date(state)))
    else:
        blocks.append(T.TOP10_SHARE.format(share=format_percent(share)))
        rows = tuple(
            (str(i), str(c.get("company", "")), format_percent(number(c.get("weight"))))
            for i, c in enumerate(companies, start=1)
        )
        table = Table(T.TOP10_HEADER, rows, ("r", "l", "r"))
    blocks.extend(cap_lines(details, session))
    blocks.append(freshness_line(state))
    return market_reply(
        state,
        _dated("top10", word),
        T.TOP10_TITLE.format(date=header_date(state)),
        blocks,
        table=table,
    )


# --- valuation [DATE] -----------------------------------------------------------------------


def _valuation_dates(state: MarketState, session: date) -> dict[str, date | None]:
    """'spy_trailing_pe' ... -> the date of the value on or before `session` (None: none)."""
    out: dict[str, date | None] = {}
    vals = state.data.valuations
    for _, prefix in T.VALUATION_ROWS:
        for field in ("trailing_pe", "forward_pe"):
            key = f"{prefix}_{field}"
            out[key] = None
            if vals is None or vals.empty or field not in vals.columns:
                continue
            rows = vals[vals["ticker"].astype(str).str.upper() == prefix.upper()]
            values = pd.to_numeric(rows[field], errors="coerce").to_numpy(dtype=np.float64)
            days = pd.to_datetime(rows["date"]).dt.normalize()
            ok = np.isfinite(values) & (days <= pd.Timestamp(session)).to_numpy()
            if ok.any():
                out[key] = days[ok].max().date()
    return out


def valuation(req: CommandRequest, ctx: CommandContext) -> Reply:
    """Trailing and forward P/E of SPY and IWM with source and date, or why there is none."""
    word = _date_word(req, ctx, "valuation")
    state = state_on(ctx, word, "valuation")
    session = session_used(state)
    reading = state.snapshot.signals.get("valuation")
    details: Mapping[str, Any] = {} if reading is None else reading.details
    source = T.VALUATION_SOURCES.get(state.snapshot.source, state.snapshot.source)
    values = {
        f"{p}_{f}": number(details.get(f"{p}_{f}"))
        for _, p in T.VALUATION_ROWS
        for f in ("trailing_pe", "forward_pe")
    }
    blocks: list[str] = []
    table = None
    bottom_up = bottom_up_pe(state)
    if session is None or all(v is None for v in values.values()):
        when = session.isoformat() if session is not None else header_date(state)
        if bottom_up.row is None:
            blocks.append(T.VALUATION_NONE.format(date=when, source=state.snapshot.source))
        else:
            blocks.append(T.VALUATION_NO_ETF.format(date=when, source=state.snapshot.source))
            table = Table(T.VALUATION_HEADER, (bottom_up.row,), ("l", "r", "r", "r"))
    else:
        dates = ctx.cache.get(
            ("valuation-dates", session), state, lambda: _valuation_dates(state, session)
        )
        rows = []
        for label, p in T.VALUATION_ROWS:
            known = [d for d in (dates[f"{p}_trailing_pe"], dates[f"{p}_forward_pe"]) if d]
            rows.append(
                (
                    label,
                    format_ratio(values[f"{p}_trailing_pe"]),
                    format_ratio(values[f"{p}_forward_pe"]),
                    max(known).isoformat() if known else "—",
                )
            )
        if bottom_up.row is not None:
            rows.append(bottom_up.row)
        table = Table(T.VALUATION_HEADER, tuple(rows), ("l", "r", "r", "r"))
        gap = None if reading is None else number(reading.value)
        gap_text = (
            T.VALUATION_GAP.format(gap=format_value(gap, "x"))
            if gap is not None
            else T.VALUATION_NO_GAP
        )
        blocks.append(T.VALUATION_SOURCE.format(source=source, gap=gap_text))
    blocks.extend(bottom_up.lines)
    blocks.append(freshness_line(state))
    return market_reply(
        state,
        _dated("valuation", word),
        T.VALUATION_TITLE.format(date=header_date(state)),
        blocks,
        table=table,
    )
