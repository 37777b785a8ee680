"""Helpers every command module shares: reading the cached state, formatting, charts, errors.

Commands read the cached `MarketState` (`ctx.state()`) and never recompute a signal: values
come from the snapshot, changes of details from the stored history by position, exactly as
the snapshot defines them (value_t - value_(t-5) and value_(t-21); docs/signals.md).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import pandas as pd

from bot.commands.context import CommandContext
from bot.model import Button, Chart, Reply, echo
from bot.render import ChartMeta, format_coverage, format_plain, signal_unit
from bot.render import texts as T
from signals.indicators.json_values import finite_number as number

if TYPE_CHECKING:
    from bot.alerts import MarketState
    from signals.rules import RuleSpec

#: Sessions back for the 1-week and 1-month changes.
WEEK, MONTH = 5, 21


class CommandError(Exception):
    """A request the command cannot serve (bad argument, unknown name, missing data).

    Expected, so not logged with a traceback: `dispatch` turns it into an error `Reply`
    with the message, the usage line when given, and suggestion buttons.
    """

    def __init__(
        self,
        message: str,
        *,
        title: str = T.ERROR_TITLE,
        buttons: Sequence[Button] = (),
        usage: str = "",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.title = title
        self.buttons = tuple(buttons)
        self.usage = usage


def need_state(ctx: CommandContext) -> MarketState:
    state = ctx.state()
    if state is None:
        raise CommandError(T.NO_STATE)
    return state


def as_of_date(state: MarketState) -> date:
    return pd.Timestamp(state.snapshot.as_of).date()


def session_used(state: MarketState) -> date | None:
    """The session the numbers describe: the as-of session, or, when the data ends before
    it, the last session with data (None: no data at all on or before it)."""
    fresh = state.snapshot.freshness
    if fresh.stale_sessions > 0:
        return None if fresh.last_session is None else pd.Timestamp(fresh.last_session).date()
    return as_of_date(state)


def header_date(state: MarketState) -> str:
    """What a market answer's first line says of its date: the session used, or, when the
    data ends before the session asked for (or the one the bot runs at), where it ends and
    how many sessions stale it is ("data to 2026-07-31, 31 sessions stale")."""
    fresh = state.snapshot.freshness
    if fresh.stale_sessions <= 0:
        return as_of_date(state).isoformat()
    used = session_used(state)
    if used is None:
        return T.NO_DATA_HEADER.format(date=as_of_date(state).isoformat())
    n = fresh.stale_sessions
    return T.STALE_HEADER.format(last=used.isoformat(), stale=n, s="" if n == 1 else "s")


#: a DATE argument: YYYY-MM-DD
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def is_date_word(word: str) -> bool:
    """A word meant as a DATE (it starts with a digit; no sector name or word does)."""
    return word[:1].isdigit()


def state_on(ctx: CommandContext, word: str | None, command: str) -> MarketState:
    """The cached state, or, given a DATE `word`, the state read at the session on or before
    it (`MarketState.at`: the snapshot comes from the stored signal history, cached per
    state and session). A word that is not a date, a day before the data or in the future
    is a one-line CommandError with a valid example ("snapshot 2025-09-30"); `command` is
    the command line the example starts with."""
    state = need_state(ctx)
    if word is None:
        return state
    example = f"{command} {(session_used(state) or as_of_date(state)).isoformat()}"
    day: date | None = None
    if _DAY.fullmatch(word):
        try:
            day = date.fromisoformat(word)
        except ValueError:
            day = None
    if day is None:
        raise CommandError(T.BAD_DATE.format(text=echo(word), example=example))
    if day > ctx.clock().date():
        raise CommandError(T.DATE_IN_FUTURE.format(date=day.isoformat(), example=example))
    first = pd.Timestamp(state.history.sessions[0]).date()
    if day < first:
        raise CommandError(
            T.DATE_BEFORE_DATA.format(date=day.isoformat(), first=first, example=example)
        )
    return state.at(day)


@dataclass(frozen=True)
class Reading:
    """A value with its 1-week and 1-month changes (None where missing)."""

    value: float | None
    change_1w: float | None
    change_1m: float | None


def unit_of(path: str) -> str:
    """The unit of a signal or detail path: details named like breadth or volatility are %,
    returns and spreads pp, counts none; a bare signal id has its label's unit."""
    signal_id, _, detail = path.partition(".")
    if not detail:
        return signal_unit(signal_id)
    if detail.startswith("breadth") or detail in ("value",):
        return "%"
    if detail in ("above", "used", "companies_used", "missing_caps"):
        return ""
    if detail.startswith("vol_") and not detail.endswith(("_vs_xlk", "_vs_spy")):
        return "%"
    if detail.startswith("ret_") and not detail.endswith(("_vs_xlk", "_vs_spy")):
        return "%"
    return signal_unit(signal_id) or "pp"


def history_position(state: MarketState) -> int:
    return state.history.position(state.snapshot.as_of)


def series_reading(state: MarketState, path: str) -> Reading:
    """Value and changes of any signal path from the history, at the snapshot's session."""
    series = state.history.series(path)
    pos = history_position(state)

    def at(i: int) -> float | None:
        return number(series.iloc[i]) if 0 <= i < len(series) else None

    now = at(pos)
    week, month = at(pos - WEEK), at(pos - MONTH)
    return Reading(
        now,
        None if now is None or week is None else now - week,
        None if now is None or month is None else now - month,
    )


def reading(state: MarketState, path: str) -> Reading:
    """A signal's reading from the snapshot (its own numbers), a detail's from the history."""
    if "." not in path:
        r = state.snapshot.signals.get(path)
        if r is not None:
            return Reading(number(r.value), number(r.change_1w), number(r.change_1m))
    return series_reading(state, path)


def freshness_line(state: MarketState) -> str:
    snap = state.snapshot
    fresh = snap.freshness
    last = "none" if fresh.last_session is None else pd.Timestamp(fresh.last_session).date()
    return T.FRESHNESS.format(
        last=last,
        stale=fresh.stale_sessions,
        coverage=format_coverage(number(fresh.coverage)),
        source=snap.source,
    )


def window(series: pd.Series, state: MarketState, sessions: int) -> pd.Series:
    """The last `sessions` sessions of `series` up to the snapshot's session."""
    pos = history_position(state) if series.index.equals(state.history.sessions) else None
    if pos is None:
        series = series.loc[: pd.Timestamp(state.snapshot.as_of)]
        return series.iloc[-sessions:]
    return series.iloc[max(0, pos + 1 - sessions) : pos + 1]


def chart_meta(state: MarketState) -> ChartMeta:
    snap = state.snapshot
    return ChartMeta(source=str(snap.source), as_of=session_used(state), simulated=snap.simulated)


def chart(
    ctx: CommandContext,
    state: MarketState,
    key: Hashable,
    alt: str,
    render: Callable[[], bytes],
    filename: str = "chart.png",
) -> Chart | None:
    """The chart for `key` (cached for this state), or None when charts are switched off."""
    if not ctx.options.charts:
        return None
    png = ctx.cache.get((key, state.snapshot.as_of), state, render)
    return Chart(png=png, alt=alt, filename=filename)


def market_reply(
    state: MarketState,
    command: str,
    title: str,
    blocks: Sequence[str],
    **kw: Any,
) -> Reply:
    """A reply about the market: as-of, the simulated flag and its note, a refresh button."""
    blocks = list(blocks)
    if state.snapshot.simulated:
        blocks.append(T.REPLY_SIMULATED)
    buttons = (*kw.pop("buttons", ()), Button(T.REFRESH, command, kind="refresh"))
    return Reply(
        title=title,
        blocks=tuple(blocks),
        buttons=buttons,
        simulated=bool(state.snapshot.simulated),
        as_of=session_used(state),
        command=command,
        **kw,
    )


def trigger_text(rule: RuleSpec) -> str:
    """What makes the rule fire, in a few characters ("≥ 65 (clears < 60)")."""
    if rule.kind == "changes":
        return T.TRIGGER_CHANGES
    if rule.kind == "combined":
        n = len(rule.conditions)
        return (T.TRIGGER_ALL if rule.all else T.TRIGGER_ANY).format(n=n)
    above = rule.op == "crosses_above"
    text = (T.TRIGGER_ABOVE if above else T.TRIGGER_BELOW).format(
        threshold=format_plain(rule.threshold)
    )
    if rule.clear is not None and rule.clear != rule.threshold:
        text += T.TRIGGER_CLEAR.format(op="<" if above else ">", clear=format_plain(rule.clear))
    return text


def find_rule(ctx: CommandContext, name: str) -> RuleSpec:
    """The configured rule called `name` (exact, then case-insensitive), or a CommandError
    naming the closest ids."""
    by_id = {r.id: r for r in ctx.rules}
    if name in by_id:
        return by_id[name]
    folded = {r.id.lower(): r for r in ctx.rules}
    if name.lower() in folded:
        return folded[name.lower()]
    close = difflib.get_close_matches(name.lower()[:64], list(folded), n=3, cutoff=0.3)
    message = T.UNKNOWN_RULE.format(name=echo(name))
    if close:
        message += " " + T.CLOSEST.format(suggestions=", ".join(folded[c].id for c in close))
    raise CommandError(
        message, buttons=[Button(folded[c].id, f"history {folded[c].id}") for c in close]
    )
