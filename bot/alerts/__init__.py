"""What the bot knows and what it says: market state, the evaluation engine, its guard,
backtests."""

from bot.alerts.backtest import run_backtest
from bot.alerts.conditions import RuleCondition, conditions_now
from bot.alerts.engine import Engine, EvaluationResult
from bot.alerts.market_state import (
    LoadedMarket,
    MarketLoader,
    MarketState,
    build_market_state,
    state_from_data,
)
from bot.alerts.own_rules import (
    OwnBacktest,
    OwnRule,
    Subject,
    own_rule,
    own_rule_backtest,
    own_rule_spec,
    subject_series,
)
from bot.alerts.replay import replay_history

__all__ = [
    "Engine",
    "EvaluationResult",
    "LoadedMarket",
    "MarketLoader",
    "MarketState",
    "OwnBacktest",
    "OwnRule",
    "RuleCondition",
    "Subject",
    "build_market_state",
    "conditions_now",
    "own_rule",
    "own_rule_backtest",
    "own_rule_spec",
    "replay_history",
    "run_backtest",
    "state_from_data",
    "subject_series",
]
