"""`history RULE`: a rule's past firings with the returns that followed, beside the base rate.

The numbers come from the backtest (`bot.alerts.backtest.run_backtest`: the live engine replayed
over the cached state's history on a throwaway store), so `history`, `rotation-bot backtest` and
the live alerts agree by construction. One rule's replay takes ~0.1 s on the demo market; it
is cached per state, so only the first request after a refresh pays for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from bot.alerts import run_backtest
from bot.commands.common import (
    find_rule,
    header_date,
    market_reply,
    need_state,
    number,
    trigger_text,
    unit_of,
)
from bot.commands.context import CommandContext
from bot.commands.parse import CommandRequest
from bot.model import BacktestEvent, Reply, RuleBacktest, Table, echo
from bot.render import format_share, format_value
from bot.render import texts as T

if TYPE_CHECKING:
    from bot.alerts import MarketState
    from signals.rules import RuleSpec


@dataclass(frozen=True)
class RuleHistory:
    """One rule's replay over the state's whole history, and the period it covers."""

    start: date
    end: date
    backtest: RuleBacktest


def rule_backtest(state: MarketState, rule: RuleSpec) -> RuleHistory:
    """One rule replayed over the state's whole history."""
    result = run_backtest(state.data, state.history, [rule], end=state.snapshot.as_of)
    return RuleHistory(result.start, result.end, result.rules[rule.id])


def _event_value(rule: RuleSpec, event: BacktestEvent) -> str:
    if rule.kind == "changes":
        return echo(str(event.label or event.value or "—"), 16)
    if rule.kind == "combined":
        v = number(event.value)
        return "—" if v is None else f"{v:.0f}/{len(rule.conditions)}"
    assert rule.signal is not None
    return format_value(number(event.value), unit_of(rule.signal))


def _pct(value: float | None) -> str:
    return format_value(number(value), "%", signed=True)


def _share(value: float | None) -> str:
    return format_share(number(value))


def history(req: CommandRequest, ctx: CommandContext) -> Reply:
    """Past firings of one rule (newest first) with SPY, RSP and IWM returns after each."""
    rule = find_rule(ctx, req.args[0])
    state = need_state(ctx)
    bt = ctx.cache.get(("history", rule.id), state, lambda: rule_backtest(state, rule))
    fired = bt.backtest.fired
    summary = bt.backtest.summary
    span = {"start": bt.start.isoformat(), "end": bt.end.isoformat()}
    blocks: list[str] = []
    table = None
    if fired:
        blocks.append(
            T.HISTORY_COUNTS.format(
                fired=summary.fired,
                resolved=summary.resolved,
                per_year=summary.per_year,
                **span,
            )
        )
        shown = list(reversed(fired))[: ctx.options.history_rows]
        rows = tuple(
            (
                e.session.isoformat(),
                _event_value(rule, e),
                *(_pct((e.forward_returns or {}).get(f"{t}_{k}")) for t, k in T.HISTORY_COLUMNS),
            )
            for e in shown
        )
        table = Table(T.HISTORY_HEADER, rows)
        blocks.append(T.HISTORY_SHOWN.format(n=len(shown)))
        for ticker in ("SPY", "IWM"):
            stats = summary.forward_returns.get(f"{ticker}_63")
            if stats and stats.events.n:
                ev, base = stats.events, stats.base_rate
                blocks.append(
                    T.HISTORY_VERSUS.format(
                        ticker=ticker,
                        median=_pct(ev.median),
                        share=_share(ev.share_positive),
                        n=ev.n,
                        base_median=_pct(base.median),
                        base_share=_share(base.share_positive),
                    )
                )
    else:
        blocks.append(T.HISTORY_NONE.format(**span))
    signal = rule.signal or ", ".join(rule.inputs)
    blocks.append(T.HISTORY_TRIGGER.format(signal=signal, trigger=trigger_text(rule)))
    blocks.append(T.HISTORY_CAVEAT)
    return market_reply(
        state,
        f"history {rule.id}",
        T.HISTORY_TITLE.format(rule=rule.id, date=header_date(state)),
        blocks,
        table=table,
    )
