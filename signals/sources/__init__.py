"""Price sources: yahoo (yfinance), files (CSV/Parquet), demo (bundled simulated market)."""

from signals.sources.base import PriceSource

__all__ = ["PriceSource"]
