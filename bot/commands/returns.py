"""Returns over a period: `return TICKER... [PERIOD]`, `compare A B [PERIOD]`, `mega7 [PERIOD]`.

Periods (`signals.periods`) are read as of the state's session: `ytd` is the year to date of
the answer's session. Each answer's title names the period and the two sessions whose closes
measure it; a period cut at the end of the data says so. What every question needs (the
closes on the signal calendar, the cap ratios and members) is built once per market state
(`CapBases`, kept in the context's cache), so an answer is a few lookups.
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from bot.commands.common import (
    CommandError,
    freshness_line,
    header_date,
    market_reply,
    need_state,
)
from bot.commands.context import CommandContext
from bot.commands.parse import CommandRequest
from bot.commands.sector_names import panel_ticker
from bot.model import Button, Reply, Table, echo
from bot.render import cap_lines, format_percent, format_return_pct, format_spread_pp
from bot.render import texts as T
from signals.indicators.mega_period import CapBases, MegaSeven
from signals.periods import (
    Period,
    PeriodError,
    Span,
    TickerReturn,
    looks_like_period,
    parse_period,
    resolve,
    ticker_return,
)

if TYPE_CHECKING:
    from bot.alerts import MarketState

DEFAULT_PERIOD = "ytd"
#: most tickers one `return` answers
MAX_TICKERS = 12
RETURN_EXAMPLE = "return IWM 2025"
COMPARE_EXAMPLE = "compare RSP SPY 2025-11"
MEGA7_EXAMPLE = "mega7 2025"
_SEPARATORS = frozenset({"vs", "vs.", "versus", "/", "against"})


def cap_bases(ctx: CommandContext, state: MarketState) -> CapBases:
    """The per-state precomputation, built at most once per state (cached)."""
    return ctx.cache.get(
        ("cap_bases",), state, lambda: CapBases.build(state.data, state.history.sessions)
    )


def _period(word: str | None, example: str) -> Period:
    try:
        return parse_period(word or DEFAULT_PERIOD)
    except PeriodError as exc:
        raise CommandError(T.BAD_PERIOD.format(error=str(exc), example=example)) from None


def _split_args(args: tuple[str, ...], example: str) -> tuple[list[str], Period]:
    """Words -> (ticker words, period): the last word is the period when it looks like one."""
    words = [w for a in args for w in a.replace("/", " / ").split()]
    words = [w for w in words if w.lower() not in _SEPARATORS]
    period_word = words.pop() if words and looks_like_period(words[-1]) else None
    return words, _period(period_word, example)


def _span(bases: CapBases, state: MarketState, period: Period, example: str) -> Span:
    try:
        return resolve(period, bases.sessions, state.as_of)
    except PeriodError as exc:
        raise CommandError(T.BAD_PERIOD.format(error=str(exc), example=example)) from None


def _ticker(bases: CapBases, word: str, command: str) -> str:
    """A ticker of the panel as typed (BRK.B -> BRK-B), or a one-word sector name's ETF;
    else a one-line CommandError naming it and the closest tickers."""
    found = panel_ticker(word, bases.columns)
    if found is not None:
        return found
    known = [str(c) for c in bases.columns]
    close = difflib.get_close_matches(word.upper().replace(".", "-")[:16], known, n=3, cutoff=0.5)
    message = T.UNKNOWN_TICKER.format(name=echo(word))
    if close:
        message += " " + T.CLOSEST.format(suggestions=", ".join(close))
    raise CommandError(message, buttons=[Button(c, f"{command} {c}") for c in close])


def _series(bases: CapBases, ticker: str) -> pd.Series:
    return pd.Series(
        bases.closes[:, bases.columns.get_loc(ticker)], index=bases.sessions, name=ticker
    )


def _span_text(base: pd.Timestamp | None, end: pd.Timestamp) -> str:
    return T.SPAN.format(base="first close" if base is None else base.date(), end=end.date())


def _title(state: MarketState, title: str) -> str:
    """A title with, when the data is stale, where it ends (in the first line)."""
    if state.snapshot.freshness.stale_sessions > 0:
        return f"{title} · {header_date(state)}"
    return title


def _notes(state: MarketState, span: Span) -> list[str]:
    notes = []
    if span.cut:
        notes.append(T.PERIOD_CUT.format(period=span.period.text, end=span.end.date()))
    notes.append(freshness_line(state))
    return notes


def _row(r: TickerReturn) -> tuple[str, str, str, str]:
    return (r.ticker, format_return_pct(r.value), str(r.base.date()), str(r.end.date()))


# --- return TICKER... [PERIOD] --------------------------------------------------------------


def return_command(req: CommandRequest, ctx: CommandContext) -> Reply:
    """Each ticker's return over the period (default ytd), with the sessions used."""
    words, period = _split_args(req.args, RETURN_EXAMPLE)
    if not words:
        raise CommandError(T.NEED_TICKER.format(example=RETURN_EXAMPLE))
    if len(words) > MAX_TICKERS:
        raise CommandError(T.TOO_MANY_TICKERS.format(n=MAX_TICKERS, example=RETURN_EXAMPLE))
    state = need_state(ctx)
    bases = cap_bases(ctx, state)
    tickers = list(dict.fromkeys(_ticker(bases, w, "return") for w in words))
    span = _span(bases, state, period, RETURN_EXAMPLE)
    rows: list[tuple[str, str, str, str]] = []
    missing: list[str] = []
    for ticker in tickers:
        try:
            rows.append(_row(ticker_return(_series(bases, ticker), span)))
        except PeriodError as exc:
            if len(tickers) == 1:
                message = T.BAD_PERIOD.format(error=str(exc), example=RETURN_EXAMPLE)
                raise CommandError(message) from None
            missing.append(T.RETURN_MISSING.format(message=str(exc)))
    if not rows:
        raise CommandError(" ".join(missing))
    title = T.RETURN_TITLE.format(period=period.text, span=_span_text(span.base, span.end))
    return market_reply(
        state,
        " ".join(("return", *tickers, period.text)),
        _title(state, title),
        [*missing, *_notes(state, span)],
        table=Table(T.RETURN_HEADER, tuple(rows), ("l", "r", "r", "r")),
    )


# --- compare A B [PERIOD] -------------------------------------------------------------------


def _common_max(bases: CapBases, span: Span, tickers: list[str]) -> Span:
    """For `max`, a span from the first session on which every ticker has a close."""
    starts = []
    for t in tickers:
        valid = np.flatnonzero(
            np.isfinite(bases.closes[: span.end_row + 1, bases.columns.get_loc(t)])
        )
        if not len(valid):
            raise CommandError(
                T.BAD_PERIOD.format(
                    error=f"{t} has no close on or before {span.end.date()}",
                    example=COMPARE_EXAMPLE,
                )
            )
        starts.append(int(valid[0]))
    row = max(starts)
    return Span(span.period, bases.sessions[row], span.end, row, span.end_row, span.cut)


def compare_command(req: CommandRequest, ctx: CommandContext) -> Reply:
    """A's return minus B's over the period, in percentage points."""
    words, period = _split_args(req.args, COMPARE_EXAMPLE)
    if len(words) != 2:
        raise CommandError(T.COMPARE_NEEDS_TWO.format(example=COMPARE_EXAMPLE))
    state = need_state(ctx)
    bases = cap_bases(ctx, state)
    a, b = (_ticker(bases, w, "compare") for w in words)
    if a == b:
        raise CommandError(T.COMPARE_NEEDS_TWO.format(example=COMPARE_EXAMPLE))
    span = _span(bases, state, period, COMPARE_EXAMPLE)
    if span.base is None:
        span = _common_max(bases, span, [a, b])
    try:
        ra, rb = (ticker_return(_series(bases, t), span) for t in (a, b))
    except PeriodError as exc:
        raise CommandError(T.BAD_PERIOD.format(error=str(exc), example=COMPARE_EXAMPLE)) from None
    spread = ra.value - rb.value
    title = T.COMPARE_TITLE.format(
        a=a, b=b, period=period.text, span=_span_text(span.base, span.end)
    )
    line = T.COMPARE_SPREAD.format(
        a=a,
        b=b,
        spread=format_spread_pp(spread),
        ra=format_return_pct(ra.value),
        rb=format_return_pct(rb.value),
    )
    return market_reply(
        state,
        f"compare {a} {b} {period.text}",
        _title(state, title),
        [line, *_notes(state, span)],
        table=Table(T.RETURN_HEADER, (_row(ra), _row(rb)), ("l", "r", "r", "r")),
    )


# --- mega7 [PERIOD] -------------------------------------------------------------------------


def _caps_lines(m: MegaSeven) -> list[str]:
    """The cap coverage on the base session (the weights' day), worded as every
    concentration answer words it, with the warning when caps are partial or old."""
    details = {
        "caps_used": m.companies_with_cap,
        "member_companies": m.member_companies,
        "cap_coverage": (m.companies_with_cap / m.member_companies if m.member_companies else None),
        "oldest_cap_snapshot": m.oldest_snapshot,
    }
    return cap_lines(details, m.base.date())


def mega7_command(req: CommandRequest, ctx: CommandContext) -> Reply:
    """The seven's weights, returns and contributions over the period, the index return and
    the seven's share of it, with the cap coverage behind the weights."""
    period = _period(req.args[0] if req.args else None, MEGA7_EXAMPLE)
    state = need_state(ctx)
    bases = cap_bases(ctx, state)
    span = _span(bases, state, period, MEGA7_EXAMPLE)
    base_row = max(span.base_row, 0)  # max: from the first session
    min_pp = state.history.params.mega7_min_pp
    m = bases.mega_seven(base_row, span.end_row, min_pp)
    if m.companies_with_cap == 0:
        raise CommandError(T.MEGA7_NO_CAPS.format(base=m.base.date(), example=MEGA7_EXAMPLE))
    rows = tuple(
        (
            p.company,
            p.ticker or "—",
            format_percent(p.weight),
            format_return_pct(p.ret),
            format_spread_pp(p.contribution),
        )
        for p in m.parts
    )
    index, pp = format_return_pct(m.index_return), format_spread_pp(m.seven_pp)
    summary = (
        T.MEGA7_INDEX.format(index=index, pp=pp, share=format_percent(m.share))
        if m.share is not None
        else T.MEGA7_NO_SHARE.format(index=index, pp=pp, min_pp=f"{min_pp:g}")
    )
    title = T.MEGA7_TITLE.format(period=period.text, span=_span_text(m.base, m.end))
    blocks = [
        summary,
        T.MEGA7_WEIGHTS.format(base=m.base.date()),
        "\n".join(_caps_lines(m)),
        *_notes(state, span),
    ]
    return market_reply(
        state,
        f"mega7 {period.text}",
        _title(state, title),
        blocks,
        table=Table(T.MEGA7_HEADER, rows, ("l", "l", "r", "r", "r")),
    )
