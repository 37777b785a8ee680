"""Price sources: yahoo (yfinance), files (CSV/Parquet), demo (bundled simulated market).

`open_source` is the one place that turns a source name plus the shared data flags into a
`PriceSource`; `load_market` adds the universe and the optional snapshot files on top.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from signals.errors import DataSourceError
from signals.market import MarketData
from signals.sources.base import PriceSource

SOURCE_NAMES = ("demo", "yahoo", "files")

__all__ = ["SOURCE_NAMES", "DataSpec", "PriceSource", "load_market", "open_source"]


@dataclass(frozen=True)
class DataSpec:
    """Where the market data comes from: the command line's shared data flags."""

    source: str = "demo"
    prices: Sequence[Path] = field(default_factory=tuple)
    members: Path | None = None
    membership: Path | None = None
    shares: Path | None = None
    cache_dir: Path = Path(".rotation-bot/cache")
    demo_seed: int = 7
    demo_years: int = 7
    #: pin the simulated market's last session (default: the last completed session)
    demo_end: pd.Timestamp | None = None


def open_source(spec: DataSpec) -> PriceSource:
    """The source `spec.source` names, configured from `spec`."""
    # imported here so that a user of one source never pays for (or needs) the others
    if spec.source == "demo":
        from signals.sources.demo import DemoSource

        return DemoSource(seed=spec.demo_seed, years=spec.demo_years, end=spec.demo_end)
    if spec.source == "files":
        if not spec.prices:
            raise DataSourceError(
                "source 'files' needs at least one --prices PATH (CSV, CSV.gz or Parquet)"
            )
        from signals.sources.files import FilesSource

        return FilesSource(prices=[Path(p) for p in spec.prices])
    if spec.source == "yahoo":
        from signals.sources.yahoo import YahooSource

        return YahooSource(cache_dir=Path(spec.cache_dir))
    raise DataSourceError(
        f"unknown source {spec.source!r}; choose one of {', '.join(SOURCE_NAMES)}"
    )


def load_market(spec: DataSpec, end: pd.Timestamp | None = None) -> MarketData:
    """Market data for `spec` up to `end`: prices from the source, members from `--members`
    (or the bundled list, or the demo's own), `--membership` and `--shares` when given."""
    from dataclasses import replace

    from signals.universe import Universe, load_membership, load_universe

    source = open_source(spec)
    universe: Universe | None = None
    if spec.source != "demo" or spec.members is not None:
        universe = load_universe(spec.members, None)
    data = source.load(universe, end)
    if universe is not None and data.universe is not universe:
        # the demo keeps its own members unless --members replaces them
        data = replace(data, universe=universe)
    if spec.membership is not None:
        data = replace(
            data, universe=replace(data.universe, membership=load_membership(spec.membership))
        )
    if spec.shares is not None:
        from signals.sources.files import load_cap_snapshots

        data = replace(data, caps=load_cap_snapshots(spec.shares))
    return data
