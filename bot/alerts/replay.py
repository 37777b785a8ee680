"""Fill a throwaway store with the rules' state as if the bot had run over the whole history.

`rotation-bot chat` answers on a fresh in-memory store. Left empty, its `signals` showed no
state for any rule while `history` (a replay of the same rules) listed firings, which read as
a contradiction. Replaying the engine into that store from the backtest's default start to
the market's session gives the chat the state a bot running since then would hold: the
firings `history` lists, the rules firing now, the run `status` shows. Nothing is queued.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.alerts.backtest import default_start
from bot.alerts.engine import Engine
from bot.alerts.market_state import MarketState
from bot.config import AlertSettings, GuardSettings
from bot.storage import Store
from signals import calendar
from signals.rules import RuleSpec


def replay_history(
    store: Store,
    market: MarketState,
    rules: Sequence[RuleSpec],
    guard: GuardSettings | None = None,
    alerts: AlertSettings | None = None,
) -> None:
    """Evaluate `rules` into `store` from the default start up to `market`'s session: a
    silent first start there, then a catch-up (the same two steps as a backtest). Meant for
    a store nothing else uses; on one that has evaluated already it only catches up."""
    engine = Engine(store, rules, guard, alerts or AlertSettings(), enqueue=False)
    end = calendar.session_on_or_before(market.as_of)
    start = calendar.session_on_or_before(default_start(market.data))
    if start < end:
        engine.evaluate(market.history, market.data, start)
    engine.evaluate(market.history, market.data, end)
