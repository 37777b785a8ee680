"""The one contract every price source meets."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import pandas as pd

from signals.market import MarketData
from signals.universe import Universe


@runtime_checkable
class PriceSource(Protocol):
    """Delivers a `MarketData` (see `signals.market`) for a universe.

    name: ``demo`` | ``yahoo`` | ``files``; shown with every number.
    simulated: True only for the bundled simulated market.
    """

    name: str
    simulated: bool

    def load(self, universe: Universe | None, end: pd.Timestamp | None = None) -> MarketData:
        """Market data for `universe` (members plus the ETFs in `signals.market.ETF_TICKERS`)
        up to `end` inclusive (default: the latest available). A source with its own universe
        (the demo) ignores `universe` when it is None and returns its own in the result.
        Raises `signals.errors.DataFileError` / `DataSourceError` with a message that names
        the file, line, ticker or cause."""
        ...
