"""Price sources: yahoo (yfinance), files (CSV/Parquet), demo (bundled simulated market).

`open_source` is the one place that turns a source name plus the shared data flags into a
`PriceSource`; `load_market` adds the universe, the optional snapshot files and the
fundamentals on top.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from signals.errors import DataSourceError
from signals.market import MarketData
from signals.sources.base import PriceSource

SOURCE_NAMES = ("demo", "yahoo", "files")

log = logging.getLogger("signals.sources")

__all__ = [
    "SOURCE_NAMES",
    "DataSpec",
    "PriceSource",
    "load_market",
    "open_source",
    "unpriced_members",
]


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
    #: fundamentals files (``date,series,value[,period_end]``); each replaces a source's series
    fundamentals: Sequence[Path] = field(default_factory=tuple)
    #: the contact the SEC requires in the User-Agent (yahoo source); None: no SEC figures
    sec_user_agent: str | None = None


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
    data = _with_fundamentals(data, spec)
    _require_priced_members(data, spec, end)
    _name_unpriced(data)
    return data


def _with_fundamentals(data: MarketData, spec: DataSpec) -> MarketData:
    """The source's fundamentals (`signals.sources.with_fundamentals`)."""
    from signals.sources.fundamentals import FundamentalsSpec
    from signals.sources.with_fundamentals import attach_fundamentals

    wanted = FundamentalsSpec(
        files=tuple(Path(p) for p in spec.fundamentals),
        cache_dir=Path(spec.cache_dir),
        sec_user_agent=spec.sec_user_agent,
    )
    return attach_fundamentals(data, spec.source, wanted)


def _require_priced_members(data: MarketData, spec: DataSpec, end: pd.Timestamp | None) -> None:
    """Refuse data on which no member of the universe has a single close (the ETFs' price
    file alone, say): every member signal would be empty and coverage 0 %, not a market to
    report on."""
    closes = data.closes
    members = closes.columns.intersection(pd.Index(data.universe.all_tickers(), dtype=object))
    if len(members) and closes[members].notna().to_numpy().any():
        return
    if spec.source == "files":
        where = "in " + ", ".join(str(p) for p in spec.prices)
        fix = "give the members' price file with --prices"
    else:
        where = f"from the {spec.source} source"
        fix = "check the members' tickers (--members) and the log above"
    if end is not None:
        where += f" on or before {pd.Timestamp(end):%Y-%m-%d}"
    universe = f"--members {spec.members}" if spec.members is not None else "the bundled S&P 500"
    raise DataSourceError(f"no member of the universe ({universe}) has prices {where}: {fix}")


def unpriced_members(data: MarketData) -> list[str]:
    """Members of the universe (file or membership intervals) with no price column at all."""
    priced = set(map(str, data.closes.columns))
    return [t for t in data.universe.all_tickers() if t not in priced]


def _name_unpriced(data: MarketData) -> None:
    """The universe's own check at load: members without prices, named once in the log
    (the freshness guard counts them as missing). With a membership file, those that are
    members on the data's last session are named and the past members only counted."""
    missing = unpriced_members(data)
    membership = data.universe.membership
    past = 0
    if membership is not None and len(data.closes.index):
        last = pd.Timestamp(data.closes.index[-1])
        now = membership[
            (membership["start_date"] <= last)
            & (membership["end_date"].isna() | (membership["end_date"] > last))
        ]
        current = set(now["ticker"])
        named = [t for t in missing if t in current]
        past = len(missing) - len(named)
        missing = named
    if missing or past:
        log.warning(
            "%d member(s) of the universe have no prices in the data and count as missing: %s%s",
            len(missing),
            ", ".join(missing) or "none",
            f" (and {past} past member(s) without prices)" if past else "",
        )
