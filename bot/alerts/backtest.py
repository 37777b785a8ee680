"""History: the live engine run over past sessions on a throwaway in-memory store.

The backtest does not re-implement the rules: it initialises an `Engine` at `--from` (first
start semantics: nothing fires there) and lets it catch up to `--to`, exactly as the live bot
would after downtime. Each firing is then paired with the forward returns of SPY, RSP and IWM
and summarised beside the unconditional base rate over the same period.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
from sqlalchemy import select

from bot.alerts.engine import Engine
from bot.config import AlertSettings, GuardSettings
from bot.model import BacktestResult
from bot.storage import MEMORY_URL, AlertRow, Store
from signals import calendar
from signals.forward_returns import at_sessions, forward_return_panel, summarize
from signals.indicators.history import SignalHistory
from signals.market import MarketData
from signals.rules.step import RuleSpec

#: sessions of history the signals need before a backtest's default start (12 m returns)
WARM_UP_SESSIONS = 252


def default_start(data: MarketData) -> pd.Timestamp:
    idx = data.closes.index
    return idx[min(WARM_UP_SESSIONS, len(idx) - 1)]


def run_backtest(
    data: MarketData,
    history: SignalHistory,
    rules: Sequence[RuleSpec],
    start: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
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
        with store.transaction() as s:
            rows = s.scalars(select(AlertRow).order_by(AlertRow.session, AlertRow.id)).all()
            events = [(r.rule_id, r.transition, r.session, r.value, r.label) for r in rows]
    finally:
        store.close()

    panel = forward_return_panel(data.closes)
    out: dict[str, dict[str, Any]] = {}
    for rule in rules:
        mine = [e for e in events if e[0] == rule.id]
        fired = [pd.Timestamp(e[2]) for e in mine if e[1] == "fired"]
        fwd = iter(at_sessions(panel, fired))
        listed = []
        for _, kind, session, value, label in mine:
            ev: dict[str, Any] = {"date": session.isoformat(), "kind": kind, "value": value}
            if label is not None:
                ev["label"] = label
            if kind == "fired":
                ev["forward_returns"] = next(fwd)
            listed.append(ev)
        years = max((end_ts - start_ts).days / 365.25, 1e-9)
        out[rule.id] = {
            "events": listed,
            "summary": {
                "fired": len(fired),
                "resolved": sum(1 for e in mine if e[1] == "resolved"),
                "per_year": len(fired) / years,
                "forward_returns": summarize(panel, fired, start_ts, end_ts),
            },
        }
    return BacktestResult(
        start_ts.date(), end_ts.date(), data.source, data.simulated, out, len(result.guarded)
    )
