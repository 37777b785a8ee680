"""The real panel in ../shared/data, loaded through the project's own `files` source.

The benchmarks time the bot's path, so they read the data as `rotation-bot --source files`
would (unlike the tests, which load it independently to check the numbers).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where used, so checking for the files stays light
    from signals.market import MarketData
    from signals.sources import DataSpec

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT / ".." / "shared" / "data"
PRICES = ("sp500_members_daily.csv.gz", "etfs_daily.csv.gz")
MEMBERS = "sp500_constituents.csv"
SHARES = "sp500_shares.csv.gz"


def missing_files(folder: Path = SHARED_DATA) -> list[str]:
    """The files the real benchmarks need that `folder` lacks."""
    return [f for f in (*PRICES, MEMBERS, SHARES) if not (folder / f).is_file()]


def real_spec(folder: Path = SHARED_DATA) -> DataSpec:
    """The files source over the shared data, as the default rules are tuned on."""
    from signals.sources import DataSpec

    return DataSpec(
        source="files",
        prices=tuple(folder / p for p in PRICES),
        members=folder / MEMBERS,
        shares=folder / SHARES,
    )


def load_real_panel(since: str = "2015-01-01", folder: Path = SHARED_DATA) -> MarketData:
    """Closes from `since` on (cap snapshots kept whole, so caps carry into `since`)."""
    from dataclasses import replace

    import pandas as pd

    from signals.sources import load_market

    data = load_market(real_spec(folder))
    return replace(data, closes=data.closes.loc[pd.Timestamp(since) :])
