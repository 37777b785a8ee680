"""Yahoo Finance prices (via yfinance) behind the `PriceSource` contract, cached locally.

yfinance's field pains, and what this module does about each (seen with yfinance 1.7):
- ``download()`` never raises on network failure; it logs and returns an empty frame. Every
  batch carries a canary (SPY): a batch with no close at all, canary included, means Yahoo
  returned nothing (no network, or blocked) and raises `DataSourceError`. Tickers missing
  from an otherwise good batch are named in one warning.
- ``YFRateLimitError`` is caught inside ``download()`` and only logged, so the yfinance log
  is watched while a batch downloads: on a rate limit the missing tickers are asked again
  after an exponential back-off, up to ``max_retries`` times, then `TransientDataError`.
- ``auto_adjust=True`` is passed explicitly (adjusted closes, no ``Adj Close``); the
  ``(Price, Ticker)`` MultiIndex, NaN last bars, ``BRK.B`` -> ``BRK-B`` and today's unfinished
  bar are handled in `signals.sources.yahoo_frames`.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import yfinance as yf
from tqdm import tqdm
from yfinance.exceptions import YFRateLimitError

from signals import calendar
from signals.cache import PriceCache
from signals.errors import DataSourceError, TransientDataError
from signals.market import ETF_TICKERS, MarketData
from signals.sources.yahoo_frames import (
    all_nan_tickers,
    closes_from_download,
    drop_unfinished,
    to_yahoo,
    yahoo_symbols,
)
from signals.sources.yahoo_fundamentals import (
    CAP_FIELDS,
    PE_FIELDS,
    PE_TICKERS,
    InfoFetch,
    SnapshotFile,
)
from signals.universe import Universe, load_universe

log = logging.getLogger(__name__)

#: First date of the full history fetched for a ticker new to the cache.
DEFAULT_START = date(2015, 1, 1)
#: A liquid ticker added to every batch: if even it has no close, Yahoo answered nothing.
CANARY = "SPY"

Download = Callable[..., pd.DataFrame]


class _YfErrors(logging.Handler):
    """Collects the errors yfinance logs during one ``download()`` call (it raises none)."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())

    @property
    def rate_limited(self) -> bool:
        return any("YFRateLimitError" in m or "Too Many Requests" in m for m in self.messages)


class YahooSource:
    """Adjusted daily closes from Yahoo for the members and ETFs, plus market caps and P/Es.

    cache_dir: holds ``prices.parquet`` (see `signals.cache`), ``caps.parquet`` and
        ``valuations.parquet``.
    session: a curl_cffi or requests Session handed to yfinance (None: yfinance's own).
    sleep, clock: injectable so tests neither wait nor depend on the wall clock.
    download: the ``yf.download`` seam; info: ``ticker -> Ticker.info`` for fundamentals.
    """

    name = "yahoo"
    simulated = False

    def __init__(
        self,
        cache_dir: Path,
        batch_size: int = 100,
        session: Any = None,
        progress: bool = True,
        max_retries: int = 3,
        backoff: float = 2.0,
        *,
        start: date | str = DEFAULT_START,
        fundamentals: bool = True,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], pd.Timestamp] | None = None,
        download: Download | None = None,
        info: InfoFetch | None = None,
    ) -> None:
        self.cache_dir = Path(cache_dir)
        self.batch_size = max(1, int(batch_size))
        self.session = session
        self.progress = progress
        self.max_retries = max(0, int(max_retries))
        self.backoff = backoff
        self.start = pd.Timestamp(start).date()
        self.fundamentals = fundamentals
        self.cache = PriceCache(self.cache_dir / "prices.parquet")
        self._sleep = sleep
        self._clock = clock
        self._download = download or yf.download
        self._info = info or self._yahoo_info

    # -- the PriceSource contract ---------------------------------------------------------

    def load(self, universe: Universe | None, end: pd.Timestamp | None = None) -> MarketData:
        """Members (every ticker the universe ever lists) and ETFs up to `end` (default and
        cap: the last completed NYSE session), with cap and P/E snapshots."""
        universe = universe if universe is not None else load_universe()
        last = self.last_completed()
        end_s = last if end is None else min(calendar.session_on_or_before(end), last)
        back = yahoo_symbols([*universe.all_tickers(), *ETF_TICKERS])
        closes = self.cache.refresh(self.fetch_closes, list(back), end_s, self.start)
        closes = closes.rename(columns=back)
        if closes.empty:
            raise DataSourceError(
                f"Yahoo has no closes up to {end_s.date()} for any of {len(back)} tickers"
            )
        caps, valuations = self._snapshots(universe, end_s, last, back)
        return MarketData(
            closes=closes,
            universe=universe,
            caps=caps,
            valuations=valuations,
            source=self.name,
            simulated=False,
        )

    def last_completed(self) -> pd.Timestamp:
        """The last completed NYSE session by this source's clock."""
        return calendar.last_completed_session(None if self._clock is None else self._clock())

    # -- prices ---------------------------------------------------------------------------

    def fetch_closes(self, tickers: list[str], start: date, end: date) -> pd.DataFrame:
        """Closes (dates x `tickers`, Yahoo spelling) from `start` to `end` inclusive, in
        batches; never a row after the last completed session. The cache's fetcher."""
        last = self.last_completed()
        end_d = min(pd.Timestamp(end), last)
        batches = [
            tickers[i : i + self.batch_size] for i in range(0, len(tickers), self.batch_size)
        ]
        bar = tqdm(
            batches,
            desc="Yahoo prices",
            unit="batch",
            file=sys.stderr,
            disable=not (self.progress and len(batches) > 1),
        )
        parts = [self._fetch_batch(b, pd.Timestamp(start), end_d) for b in bar]
        closes = pd.concat(parts, axis=1) if parts else closes_from_download(None, tickers)
        missing = all_nan_tickers(closes)
        if missing:
            log.warning(
                "Yahoo returned no closes from %s to %s for %d of %d tickers: %s",
                pd.Timestamp(start).date(),
                end_d.date(),
                len(missing),
                len(tickers),
                ", ".join(missing),
            )
        return drop_unfinished(closes.sort_index(), last)

    def _fetch_batch(
        self, batch: list[str], start: pd.Timestamp, end: pd.Timestamp
    ) -> pd.DataFrame:
        """One batch with retries on rate limits; raises when Yahoo answered nothing."""
        symbols = [*batch, CANARY] if CANARY not in batch else list(batch)
        got = closes_from_download(None, symbols)
        pending = symbols
        for attempt in range(self.max_retries + 1):
            frame, limited = self._download_once(pending, start, end)
            got = closes_from_download(frame, pending).combine_first(got)
            pending = all_nan_tickers(got.reindex(columns=symbols))
            if not (limited and pending):
                break
            if attempt == self.max_retries:
                raise TransientDataError(
                    f"Yahoo rate-limited the price download (HTTP 429) and {len(pending)} "
                    f"tickers still have no data after {self.max_retries} retries; "
                    "try again in a few minutes"
                )
            wait = self.backoff * 2**attempt
            log.warning(
                "Yahoo rate limit on %d tickers; retry %d/%d in %.1f s",
                len(pending),
                attempt + 1,
                self.max_retries,
                wait,
            )
            self._sleep(wait)
        got = got.reindex(columns=symbols)
        if got.notna().to_numpy().sum() == 0:
            raise DataSourceError(
                f"Yahoo returned nothing for {len(symbols)} tickers ({symbols[0]}...) from "
                f"{start.date()} to {end.date()}, not even {CANARY}: probably no network "
                "access or Yahoo is blocking this address"
            )
        return got[batch].dropna(how="all")

    def _download_once(
        self, symbols: list[str], start: pd.Timestamp, end: pd.Timestamp
    ) -> tuple[pd.DataFrame | None, bool]:
        """One ``yf.download`` call; returns the frame and whether Yahoo rate-limited it."""
        errors = _YfErrors()
        yf_log = logging.getLogger("yfinance")
        yf_log.addHandler(errors)
        try:
            frame = self._download(
                symbols,
                start=start.strftime("%Y-%m-%d"),
                end=(end + pd.Timedelta(days=1)).strftime("%Y-%m-%d"),  # yfinance: exclusive
                auto_adjust=True,  # adjusted closes (splits and dividends); stated on purpose
                actions=False,
                threads=True,
                group_by="column",
                progress=False,
                session=self.session,
            )
        except YFRateLimitError:
            return None, True
        finally:
            yf_log.removeHandler(errors)
        return frame, errors.rate_limited

    # -- fundamentals ---------------------------------------------------------------------

    def _yahoo_info(self, ticker: str) -> dict[str, Any]:
        return yf.Ticker(ticker, session=self.session).info

    def _snapshots(
        self, universe: Universe, end_s: pd.Timestamp, last: pd.Timestamp, back: dict[str, str]
    ) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
        """Cap and P/E snapshots up to `end_s`, refreshed (weekly) only when loading the
        latest session: Yahoo's figures are current ones, never back-dated."""
        caps_file = SnapshotFile(self.cache_dir / "caps.parquet", CAP_FIELDS, positive=True)
        vals_file = SnapshotFile(self.cache_dir / "valuations.parquet", PE_FIELDS)
        members = [to_yahoo(t) for t in universe.tickers]
        out: list[pd.DataFrame | None] = []
        for file, tickers in ((caps_file, members), (vals_file, list(PE_TICKERS))):
            try:
                if self.fundamentals and end_s == last:
                    df: pd.DataFrame | None = file.refresh(
                        self._info, tickers, last, progress=self.progress
                    )
                else:
                    df = file.read()
            # fundamentals must never fail the price load (a full disk, a yfinance bug):
            # log with the traceback and carry on without this snapshot
            except Exception:
                log.exception("Yahoo fundamentals for %s failed; continuing", file.path.name)
                df = file.read() if file.path.exists() else None
            if df is None or df.empty:
                out.append(None)
                continue
            df = df[df["date"] <= end_s].copy()
            df["ticker"] = df["ticker"].map(lambda t: back.get(t, t))
            out.append(df.reset_index(drop=True) if len(df) else None)
        return out[0], out[1]
