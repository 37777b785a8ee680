"""The neutral market-data bundle every source produces and every signal reads.

Sources differ (Yahoo, files, the simulated demo) but the indicators only ever see a
`MarketData`: one wide panel of adjusted closes plus the optional market-cap and valuation
snapshots. Keeping this one shape is what lets a snapshot, a chart, an alert and a backtest
read the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import pandas as pd

from signals.universe import Universe

if TYPE_CHECKING:  # a runtime import would load signals.sources, which imports this module
    from signals.sources.fundamentals import Fundamentals

#: Sector SPDR ETF -> GICS sector name (the 11 GICS sectors).
SECTOR_ETFS: dict[str, str] = {
    "XLK": "Information Technology",
    "XLF": "Financials",
    "XLV": "Health Care",
    "XLI": "Industrials",
    "XLB": "Materials",
    "XLE": "Energy",
    "XLY": "Consumer Discretionary",
    "XLP": "Consumer Staples",
    "XLU": "Utilities",
    "XLRE": "Real Estate",
    "XLC": "Communication Services",
}

#: Benchmarks the signals compare against.
BENCHMARKS: tuple[str, ...] = ("SPY", "RSP", "QQQ", "IWM", "IWC", "VBR")

#: The 13 instruments that get a `sector_<ETF>` signal (docs/signals.md).
SECTOR_SIGNAL_ETFS: tuple[str, ...] = (*SECTOR_ETFS, "IWM", "VBR")

#: Every non-member ticker a source must deliver.
ETF_TICKERS: tuple[str, ...] = tuple(dict.fromkeys((*BENCHMARKS, *SECTOR_ETFS)))


@dataclass(frozen=True)
class MarketData:
    """Everything the signals need, as of the last session in `closes`.

    closes: sessions x tickers, adjusted daily closes (float64), NaN where a ticker has no
        close. Index: tz-naive `DatetimeIndex` named ``date``, normalised to midnight, sorted,
        unique. Columns: ticker strings in Yahoo spelling (``BRK-B``), members and ETFs alike.
    universe: the members with sector, name and company (and optional point-in-time
        membership).
    caps: optional market-cap snapshots, long format with columns ``date`` (datetime64),
        ``ticker`` and ``market_cap`` (float, NaN where the snapshot has no value). Where a
        source only had shares, ``market_cap`` is already price x shares of that day.
    valuations: optional P/E snapshots, long format: ``date``, ``ticker`` (SPY, IWM),
        ``trailing_pe``, ``forward_pe`` (NaN where absent, never invented).
    source: the source's name (``demo``, ``yahoo``, ``files``).
    simulated: True for the bundled simulated market; shown wherever numbers are shown.
    fundamentals: optional published figures (bank margin, members' trailing cash flow and
        earnings), each used only from its publication date (`signals.sources.fundamentals`).
    """

    closes: pd.DataFrame
    universe: Universe
    caps: pd.DataFrame | None = None
    valuations: pd.DataFrame | None = None
    source: str = "files"
    simulated: bool = False
    fundamentals: Fundamentals | None = None

    def up_to(self, as_of: pd.Timestamp) -> MarketData:
        """The same data cut at `as_of` (inclusive): nothing after it is visible."""
        as_of = pd.Timestamp(as_of).normalize()
        caps = None if self.caps is None else self.caps[self.caps["date"] <= as_of]
        vals = (
            None if self.valuations is None else self.valuations[self.valuations["date"] <= as_of]
        )
        return replace(self, closes=self.closes.loc[:as_of], caps=caps, valuations=vals)
