"""History: the live engine run over past sessions on a throwaway in-memory store.

The backtest does not re-implement the rules: it initialises an `Engine` at `--from` (first
start semantics: nothing fires there) and lets it catch up to `--to`, exactly as the live bot
would after downtime. Each firing is then paired with the forward returns of SPY, RSP and IWM
and summarised beside the unconditional base rate over the same period.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

import pandas as pd

from bot.alerts.engine import Engine
from bot.config import AlertSettings, GuardSettings
from bot.model import (
    AlertTransition,
    BacktestEvent,
    BacktestResult,
    BacktestSummary,
    ForwardStats,
    ReturnStats,
    RuleBacktest,
)
from bot.storage import MEMORY_URL, Store, alert_log
from signals import calendar
from signals.forward_returns import at_sessions, forward_return_panel, summarize
from signals.indicators import SignalHistory
from signals.market import MarketData
from signals.rules import RuleSpec

#: sessions of history the signals need before a backtest's default start (12 m returns)
WARM_UP_SESSIONS = 252


def default_start(data: MarketData) -> pd.Timestamp:
    idx = data.closes.index
    return idx[min(WARM_UP_SESSIONS, len(idx) - 1)]


def run_backtest(
    data: MarketData,
    history: SignalHistory,
    rules: Sequence[RuleSpec],
    start: date | pd.Timestamp | None = None,
    end: date | pd.Timestamp | None = None,
    guard: GuardSettings | None = None,
) -> BacktestResult:
    """Fired/resolved events per rule with forward returns, and a summary per rule."""
    start_ts = calendar.session_on_or_before(start if start is not None else default_start(data))
    end_ts = calendar.session_on_or_before(end if end is not None else data.closes.index[-1])
    if end_ts <= start_ts:
        raise ValueError(f"--to ({end_ts.date()}) must be after --from ({start_ts.date()})")
    store = Store(MEMORY_URL)
    try:
        engine = Engine(store, rules, guard, AlertSettings(), enqueue=False)
        engine.evaluate(history, data, start_ts)
        result = engine.evaluate(history, data, end_ts)
        events = [(a.rule_id, a.transition, a.session, a.value, a.label) for a in alert_log(store)]
    finally:
        store.close()

    panel = forward_return_panel(data.closes)
    out: dict[str, RuleBacktest] = {}
    for rule in rules:
        mine = [e for e in events if e[0] == rule.id]
        fired = [pd.Timestamp(e[2]) for e in mine if e[1] == AlertTransition.FIRED]
        fwd = iter(at_sessions(panel, fired))
        listed = []
        for _, kind, session, value, label in mine:
            transition = AlertTransition(kind)
            returns = next(fwd) if transition == AlertTransition.FIRED else None
            listed.append(BacktestEvent(session, transition, value, label, returns))
        years = max((end_ts - start_ts).days / 365.25, 1e-9)
        summary = BacktestSummary(
            fired=len(fired),
            resolved=sum(1 for e in mine if e[1] == AlertTransition.RESOLVED),
            per_year=len(fired) / years,
            forward_returns=_forward_stats(summarize(panel, fired, start_ts, end_ts)),
        )
        out[rule.id] = RuleBacktest(tuple(listed), summary)
    return BacktestResult(
        start_ts.date(), end_ts.date(), data.source, data.simulated, out, len(result.guarded)
    )


def _return_stats(raw: Mapping[str, float | int | None]) -> ReturnStats:
    n, median, share = raw["n"], raw["median"], raw["share_positive"]
    return ReturnStats(
        n=int(n or 0),
        median=None if median is None else float(median),
        share_positive=None if share is None else float(share),
    )


def _forward_stats(
    raw: Mapping[str, Mapping[str, Mapping[str, float | int | None]]],
) -> dict[str, ForwardStats]:
    """signals' summary (plain mappings) as typed values, keeping its order."""
    return {
        key: ForwardStats(_return_stats(s["events"]), _return_stats(s["base_rate"]))
        for key, s in raw.items()
    }
