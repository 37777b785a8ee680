"""Shared fixtures for the bot tests: a deterministic demo market and its signals."""

from __future__ import annotations

import pandas as pd
import pytest

from bot.rules_config import build_rules
from bot.settings import load_settings
from signals.indicators import SignalHistory, compute_signals
from signals.market import MarketData
from signals.rules import RuleSpec
from signals.sources.demo import DemoSource

DEMO_END = pd.Timestamp("2026-10-30")


@pytest.fixture(scope="session")
def demo_data() -> MarketData:
    return DemoSource(seed=7).load(None, DEMO_END)


@pytest.fixture(scope="session")
def demo_history(demo_data: MarketData) -> SignalHistory:
    return compute_signals(demo_data)


@pytest.fixture(scope="session")
def default_rules() -> list[RuleSpec]:
    settings = load_settings()
    return build_rules(settings.rules, settings.config_path)
