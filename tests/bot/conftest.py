"""Shared fixtures for the bot tests: a deterministic demo market and its signals."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from bot.config.rules import build_rules
from bot.config.settings import load_settings
from signals.indicators import SignalHistory, compute_signals
from signals.market import MarketData
from signals.rules import RuleSpec
from signals.sources.demo import DemoSource
from tests.bot.db_helpers import database_url

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


SHARED_DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


@pytest.fixture(scope="session")
def real_data() -> MarketData:
    """The real panel through the project's files source (the setup the default rules are tuned on:
    constituents + shares, no membership file)."""
    if not (SHARED_DATA / "sp500_members_daily.csv.gz").is_file():
        pytest.skip(f"real market data not found at {SHARED_DATA.resolve()}")
    from signals.sources import DataSpec, load_market

    return load_market(
        DataSpec(
            source="files",
            prices=(SHARED_DATA / "sp500_members_daily.csv.gz", SHARED_DATA / "etfs_daily.csv.gz"),
            members=SHARED_DATA / "sp500_constituents.csv",
            shares=SHARED_DATA / "sp500_shares.csv.gz",
        )
    )


@pytest.fixture(scope="session")
def real_history(real_data: MarketData) -> SignalHistory:
    return compute_signals(real_data)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> Iterator[str]:
    """A fresh database per test: an SQLite file, and a fresh PostgreSQL schema where
    TEST_DATABASE_URL is set (skipped with the reason where it is not)."""
    with database_url(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def pg_url(tmp_path) -> Iterator[str]:
    """PostgreSQL only (tests of what SQLite cannot do, such as SKIP LOCKED)."""
    with database_url("postgresql", tmp_path) as url:
        yield url
