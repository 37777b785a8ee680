"""One call that gathers every fundamentals source for a run: files, FRED, SEC.

The application gives a `FundamentalsSpec` (from its config and flags) and the member tickers
whose company facts it wants; it gets back a `Fundamentals` bundle whose series are already
merged (a file's series replaces a source's) and whose company figures feed `fcf_yield` and
`trailing_pe`. Offline (the files source) reads the files only and never opens a socket.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from signals.sources.fundamentals.aggregate import Bottomup, fcf_yield, trailing_pe
from signals.sources.fundamentals.files import SOURCE as FILE_SOURCE
from signals.sources.fundamentals.files import load_fundamentals_files
from signals.sources.fundamentals.fred import (
    DEFAULT_FRED_SERIES,
    FRED_CSV_URL,
    FredSeries,
    FredSource,
)
from signals.sources.fundamentals.observations import (
    Observation,
    PointInTime,
    daily_series,
    override,
)
from signals.sources.fundamentals.sec import (
    FACTS_URL,
    TICKERS_URL,
    CompanyTTM,
    SecClient,
    SecFacts,
    SecSource,
)


@dataclass(frozen=True)
class FundamentalsSpec:
    """Where fundamentals come from.

    files: user files (``date,series,value[,period_end]``), read always.
    offline: True for the files source: no FRED, no SEC, whatever else is set.
    sec_user_agent: the contact the SEC requires; None leaves the SEC figures out.
    """

    files: Sequence[Path] = ()
    offline: bool = False
    cache_dir: Path = Path(".rotation-bot/cache")
    fred_url: str = FRED_CSV_URL
    fred_series: Sequence[FredSeries] = DEFAULT_FRED_SERIES
    sec_user_agent: str | None = None
    sec_facts_url: str = FACTS_URL
    sec_tickers_url: str = TICKERS_URL


@dataclass(frozen=True)
class Fundamentals:
    """Every fundamentals series of a run.

    series: series id -> observations (files already override sources).
    sec: the SEC's per-company TTM figures (None when the SEC was not asked).
    """

    series: Mapping[str, Sequence[Observation]] = field(default_factory=dict)
    sec: SecFacts | None = None

    @property
    def companies(self) -> Mapping[str, CompanyTTM]:
        return {} if self.sec is None else self.sec.companies

    def from_file(self, series_id: str) -> bool:
        """Whether a user's file gives this series (then it replaces any computed figure)."""
        return any(o.source == FILE_SOURCE for o in self.series.get(series_id, ()))

    def daily(self, series_id: str, sessions: pd.DatetimeIndex) -> PointInTime:
        """The series on `sessions`, point in time (all NaN when no source has it)."""
        return daily_series(self.series.get(series_id, ()), sessions, series_id)

    def fcf_yield(self, caps: pd.DataFrame) -> Bottomup:
        """The FCF yield of the members that are `caps`' columns (sessions x tickers)."""
        return fcf_yield(caps, self.companies)

    def trailing_pe(self, caps: pd.DataFrame) -> Bottomup:
        """The bottom-up trailing P/E of the members that are `caps`' columns."""
        return trailing_pe(caps, self.companies)


def load_fundamentals(spec: FundamentalsSpec, tickers: Sequence[str] = ()) -> Fundamentals:
    """Files, then (online) FRED and the SEC facts of `tickers`. A bad file raises
    `DataFileError`; a source's bad answer is logged and its last good answer used."""
    from_files = load_fundamentals_files(spec.files)
    if spec.offline:
        return Fundamentals(from_files, None)
    fetched = FredSource(spec.fred_series, base_url=spec.fred_url, cache_dir=spec.cache_dir).fetch()
    sec = None
    if spec.sec_user_agent is not None and tickers:
        client = SecClient(
            spec.sec_user_agent,
            spec.cache_dir,
            facts_url=spec.sec_facts_url,
            tickers_url=spec.sec_tickers_url,
        )
        sec = SecSource(client).fetch(tickers)
    return Fundamentals(override(fetched, from_files), sec)
