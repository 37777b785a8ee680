"""What the bot knows and what it says: market state, the evaluation engine, its guard,
backtests."""

from bot.alerts.backtest import run_backtest
from bot.alerts.engine import Engine, EvaluationResult
from bot.alerts.market_state import (
    LoadedMarket,
    MarketLoader,
    MarketState,
    build_market_state,
    state_from_data,
)

__all__ = [
    "Engine",
    "EvaluationResult",
    "LoadedMarket",
    "MarketLoader",
    "MarketState",
    "build_market_state",
    "run_backtest",
    "state_from_data",
]
