"""Company market caps and ETF P/E ratios from Yahoo, kept as dated snapshots.

Yahoo only gives *current* fundamentals, so each refresh appends one row per ticker dated
with the last completed session, and history accumulates in the cache folder
(``caps.parquet``: date, ticker, market_cap; ``valuations.parquet``: date, ticker,
trailing_pe, forward_pe). A ticker is asked again at most once a week. Missing values stay
NaN, never invented; a failed call is logged and never fails the price load.

Market cap comes from ``Ticker.info["marketCap"]``, not ``fast_info["marketCap"]``: in
yfinance 1.7 ``fast_info`` computes ``shares x last price`` from the share count of that one
share class (and needs two extra requests for shares and a year of prices), so GOOGL, GOOG
and BRK-B would each get a class-level cap. ``info`` carries Yahoo's own company-level
``marketCap``, the figure the signals expect on every class of a company.
"""

from __future__ import annotations

import logging
import math
import os
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
from tqdm import tqdm

from signals.cache import write_parquet_atomic

log = logging.getLogger(__name__)

#: ``info(ticker)`` -> Yahoo's info mapping for one ticker (``yf.Ticker(t).info``).
InfoFetch = Callable[[str], Mapping[str, Any]]

CAP_FIELDS: dict[str, str] = {"market_cap": "marketCap"}
PE_FIELDS: dict[str, str] = {"trailing_pe": "trailingPE", "forward_pe": "forwardPE"}
#: The ETFs whose P/E the valuation signal compares.
PE_TICKERS: tuple[str, ...] = ("SPY", "IWM")


def _number(value: Any, positive: bool) -> float:
    """A finite float from Yahoo's field, else NaN (strings like 'Infinity', bools, None)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return math.nan
    x = float(value)
    if not math.isfinite(x) or (positive and x <= 0):
        return math.nan
    return x


def _is_rate_limit(exc: Exception) -> bool:
    return type(exc).__name__ == "YFRateLimitError" or "Too Many Requests" in str(exc)


class SnapshotFile:
    """Long snapshots ``date, ticker, <fields>`` in one Parquet file, appended per refresh.

    fields: output column -> Yahoo info key. positive: values must be > 0 (market caps).
    """

    def __init__(
        self,
        path: Path,
        fields: Mapping[str, str],
        positive: bool = False,
        max_age_days: int = 7,
    ) -> None:
        self.path = Path(path)
        self.fields = dict(fields)
        self.positive = positive
        self.max_age = pd.Timedelta(days=max_age_days)

    @property
    def columns(self) -> list[str]:
        return ["date", "ticker", *self.fields]

    def _empty(self) -> pd.DataFrame:
        out = pd.DataFrame({c: pd.Series(dtype="float64") for c in self.columns})
        out["date"] = pd.Series(dtype="datetime64[ns]")
        out["ticker"] = pd.Series(dtype=object)
        return out[self.columns]

    def read(self) -> pd.DataFrame:
        """All snapshots so far; an unreadable or misshapen file is moved aside and logged."""
        if not self.path.exists():
            return self._empty()
        try:
            df = pd.read_parquet(self.path)
            if list(df.columns) != self.columns:
                raise ValueError(f"columns {list(df.columns)}, expected {self.columns}")
            df["date"] = pd.to_datetime(df["date"]).astype("datetime64[ns]")
            df["ticker"] = df["ticker"].astype(object)
            return df.astype({c: "float64" for c in self.fields}).reset_index(drop=True)
        except (pa.ArrowException, OSError, ValueError, TypeError) as exc:
            aside = self.path.with_name(self.path.name + ".corrupt")
            os.replace(self.path, aside)
            log.warning("%s is unusable (%s); moved to %s, starting afresh", self.path, exc, aside)
            return self._empty()

    def due(self, tickers: Iterable[str], today: pd.Timestamp, known: pd.DataFrame) -> list[str]:
        """Tickers not asked within `max_age` before `today` (every answer is a row)."""
        last = known.groupby("ticker")["date"].max()
        tickers = list(dict.fromkeys(tickers))
        last = last.reindex(tickers)
        fresh = last.notna() & (last > pd.Timestamp(today) - self.max_age)
        return list(last.index[~fresh.to_numpy()])

    def refresh(
        self,
        info: InfoFetch,
        tickers: Iterable[str],
        today: pd.Timestamp,
        workers: int = 4,
        progress: bool = False,
    ) -> pd.DataFrame:
        """Ask Yahoo for the due tickers, append their rows dated `today`, return everything.

        Never raises for a Yahoo failure: a ticker whose call fails gets no row (so it is
        asked again next time); a rate limit stops the round and leaves the rest for later.
        """
        known = self.read()
        due = self.due(tickers, today, known)
        if not due:
            return known
        rows, failed = self._ask(info, due, workers, progress)
        if failed:
            log.warning(
                "Yahoo fundamentals: no answer for %d of %d tickers (%s%s); asked again next load",
                len(failed),
                len(due),
                ", ".join(failed[:10]),
                "..." if len(failed) > 10 else "",
            )
        if not rows:
            return known
        new = pd.DataFrame(rows, columns=[*self.columns[1:]])
        new.insert(0, "date", pd.Timestamp(today).normalize())
        new["date"] = new["date"].astype("datetime64[ns]")
        both = pd.concat([known, new], ignore_index=True) if len(known) else new
        both = both.drop_duplicates(["date", "ticker"], keep="last")
        both = both.sort_values(["date", "ticker"]).reset_index(drop=True)[self.columns]
        write_parquet_atomic(both, self.path, index=False)
        return both

    def _ask(
        self, info: InfoFetch, due: list[str], workers: int, progress: bool
    ) -> tuple[list[list[Any]], list[str]]:
        stop = threading.Event()

        def one(ticker: str) -> list[Any] | None:
            if stop.is_set():
                return None
            try:
                data = info(ticker) or {}
            # a fundamentals call must never fail the price load: any error from yfinance or
            # the network is logged and the ticker is left for the next refresh
            except Exception as exc:
                if _is_rate_limit(exc):
                    stop.set()
                    log.warning("Yahoo rate-limited the fundamentals calls; stopping this round")
                else:
                    log.debug("Yahoo info for %s failed: %r", ticker, exc)
                return None
            return [ticker, *(_number(data.get(k), self.positive) for k in self.fields.values())]

        rows: list[list[Any]] = []
        failed: list[str] = []
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            futures = {pool.submit(one, t): t for t in due}
            bar = tqdm(
                as_completed(futures),
                total=len(futures),
                desc="Yahoo fundamentals",
                file=sys.stderr,
                disable=not (progress and len(futures) > 20),
            )
            for fut in bar:
                row = fut.result()
                if row is None:
                    failed.append(futures[fut])
                else:
                    rows.append(row)
        return rows, sorted(failed)
