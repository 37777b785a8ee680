"""The `files` price source: adjusted closes from CSV, CSV.gz or Parquet files.

Accepted layouts, told apart by their columns:
- long: ``date,ticker,close`` (adjusted close; ``volume`` and any other column ignored),
  as CSV, compressed CSV or Parquet;
- wide: ``date`` plus one column per ticker (CSV or Parquet).
Several files merge into one panel; a ticker in two files is an error naming both. Sessions
after the last completed one (by the wall clock: a future date or today's unfinished session)
are dropped with one warning naming the files, so a typo such as 2099 cannot become the as-of
session. Every problem (missing column, repeated column, unparsable date, non-numeric or
non-positive close, duplicate date and ticker, missing or empty file) is a `DataFileError`
naming the file and the line (1-based, header = line 1) or the column.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd

from signals import calendar
from signals.errors import DataFileError, DataSourceError
from signals.market import MarketData
from signals.sources.file_tables import (
    Table,
    check_positive,
    check_unique,
    normalise_tickers,
    parse_dates,
    parse_numbers,
    parse_tickers,
    read_header,
    read_table,
)
from signals.universe import Universe, load_universe

__all__ = ["FilesSource", "load_cap_snapshots", "read_price_file", "read_price_files"]

log = logging.getLogger(__name__)


def _wall_clock() -> datetime:
    return datetime.now(UTC)


@dataclass(eq=False)
class FilesSource:
    """Closes from the user's files; `shares` optionally adds market-cap snapshots. `clock`
    says what "now" is when dropping sessions that have not closed yet (tests pin it)."""

    prices: Sequence[Path]
    shares: Path | None = None
    clock: Callable[[], datetime] = field(default=_wall_clock, repr=False)
    name: str = field(default="files", init=False)
    simulated: bool = field(default=False, init=False)

    def load(self, universe: Universe | None = None, end: pd.Timestamp | None = None) -> MarketData:
        """The merged panel up to `end` (inclusive) and never past the last completed
        session; members are `universe`, or the bundled S&P 500 list when None."""
        through = calendar.last_completed_session(self.clock())
        closes = read_price_files(self.prices, through=through)
        caps = None if self.shares is None else load_cap_snapshots(self.shares)
        if end is not None:
            end = pd.Timestamp(end).normalize()
            closes = closes.loc[:end]
            if closes.empty:
                files = ", ".join(map(str, self.prices))
                raise DataSourceError(f"no closes on or before {end:%Y-%m-%d} in {files}")
            if caps is not None:
                caps = caps[caps["date"] <= end].reset_index(drop=True)
        return MarketData(
            closes=closes,
            universe=universe if universe is not None else load_universe(),
            caps=caps,
            source=self.name,
            simulated=False,
        )


def read_price_files(
    paths: Sequence[Path | str], through: pd.Timestamp | None = None
) -> pd.DataFrame:
    """Merge several price files into one wide panel (see `read_price_file`). Sessions after
    `through` are dropped, with one warning naming the files that had any."""
    if not paths:
        raise DataSourceError("no price files given (use --prices PATH)")
    frames = {Path(p): read_price_file(p) for p in paths}
    if through is not None:
        frames = _drop_after(frames, pd.Timestamp(through).normalize())
    for (path_a, a), (path_b, b) in combinations(frames.items(), 2):
        common = a.columns.intersection(b.columns)
        if len(common):
            shown = ", ".join(sorted(common)[:5]) + (" ..." if len(common) > 5 else "")
            raise DataFileError(f"ticker(s) {shown} appear in both {path_a} and {path_b}")
    merged = pd.concat(list(frames.values()), axis=1, join="outer").sort_index()
    merged = merged.reindex(columns=sorted(merged.columns))
    merged.index.name = "date"
    if through is not None and merged.empty:
        raise DataSourceError(
            f"no closes on or before {through:%Y-%m-%d}, the last completed session, in "
            + ", ".join(map(str, frames))
        )
    return merged


def _drop_after(
    frames: dict[Path, pd.DataFrame], through: pd.Timestamp
) -> dict[Path, pd.DataFrame]:
    """Each frame without its sessions after `through`; one warning line lists what went."""
    kept: dict[Path, pd.DataFrame] = {}
    dropped: list[str] = []
    for path, frame in frames.items():
        late = frame.index[frame.index > through]
        if len(late):
            span = f"{late[0]:%Y-%m-%d}" + (f" to {late[-1]:%Y-%m-%d}" if len(late) > 1 else "")
            dropped.append(f"{path} ({len(late)} session{'s' * (len(late) > 1)}, {span})")
            frame = frame.loc[:through]
        kept[path] = frame
    if dropped:
        log.warning(
            "ignoring closes dated after %s, the last completed session: %s",
            f"{through:%Y-%m-%d}",
            "; ".join(dropped),
        )
    return kept


def read_price_file(path: Path | str) -> pd.DataFrame:
    """One file as a wide panel: float64 adjusted closes, sessions x tickers.

    Index: sorted, unique, tz-naive midnight ``DatetimeIndex`` named ``date`` (ns);
    columns: tickers in Yahoo spelling (upper case, ``BRK.B`` -> ``BRK-B``).
    """
    path = Path(path)
    header = {c.strip().lower(): c for c in read_header(path)}
    if "ticker" in header:
        return _long_to_wide(path, header)
    if "close" in header:
        raise DataFileError(
            f"{path}: missing column 'ticker' (a long file needs date,ticker,close; "
            "a wide file has date plus one column per ticker)"
        )
    return _wide(path, header)


def _long_to_wide(path: Path, header: dict[str, str]) -> pd.DataFrame:
    for name in ("date", "close"):
        if name not in header:
            raise DataFileError(
                f"{path}: missing column '{name}' (columns: {', '.join(header.values())})"
            )
    date_col, ticker_col, close_col = header["date"], header["ticker"], header["close"]
    table = read_table(path, usecols=[date_col, ticker_col, close_col], text=(date_col, ticker_col))
    date_code, sessions = parse_dates(table, date_col)
    ticker_code, tickers = parse_tickers(table, ticker_col)
    close = parse_numbers(table, close_col, "close", allow_missing=False)
    check_positive(table, close, "close")

    key = date_code.astype(np.int64) * len(tickers) + ticker_code
    check_unique(table, key, "date and ticker")
    wide = np.full((len(sessions), len(tickers)), np.nan)
    wide[date_code, ticker_code] = close
    return _frame(wide, sessions, tickers)


def _wide(path: Path, header: dict[str, str]) -> pd.DataFrame:
    if "date" not in header:
        raise DataFileError(
            f"{path}: missing column 'date' (a long file needs date,ticker,close; "
            "a wide file has date plus one column per ticker)"
        )
    date_col = header["date"]
    table = read_table(path, text=(date_col,))
    value_cols = [c for c in table.frame.columns if c != date_col]
    if not value_cols:
        raise DataFileError(f"{path}: no ticker columns besides '{date_col}'")
    unnamed = [c for c in value_cols if str(c).startswith("Unnamed:") or not str(c).strip()]
    if unnamed:
        position = list(table.frame.columns).index(unnamed[0]) + 1
        raise DataFileError(f"{path}: column {position} has no ticker name")
    tickers = normalise_tickers(pd.Index(value_cols))
    clash = tickers.duplicated()
    if clash.any():
        i = int(np.flatnonzero(clash)[0])
        j = int(np.flatnonzero(tickers == tickers[i])[0])
        raise DataFileError(
            f"{path}: columns '{value_cols[j]}' and '{value_cols[i]}' are the same ticker"
        )
    date_code, days = parse_dates(table, date_col)
    check_unique(table, date_code, "date")
    values = _wide_values(table, value_cols)
    wide = np.empty_like(values)
    wide[date_code] = values  # codes index the sorted dates, one row each
    return _frame(wide, days, tickers)


def _wide_values(table: Table, value_cols: list[str]) -> np.ndarray:
    """The ticker columns as a float64 block; empty cells are NaN (no close that day)."""
    frame = table.frame[value_cols]
    text_cols = [c for c, dtype in frame.dtypes.items() if not pd.api.types.is_numeric_dtype(dtype)]
    if text_cols:  # only a file with a non-numeric cell gets here: report the first one
        text = frame[text_cols]
        coerced = text.apply(pd.to_numeric, errors="coerce")
        blank = text.isna() | text.apply(lambda s: s.astype(str).str.strip() == "")
        bad = (coerced.isna() & ~blank).to_numpy()
        row = int(np.flatnonzero(bad.any(axis=1))[0])
        col = int(np.flatnonzero(bad[row])[0])
        raise DataFileError(
            f"{table.path}: {table.where(int(frame.index[row]))}, column '{text_cols[col]}': "
            f"non-numeric close {text.iloc[row, col]!r}"
        )
    values = frame.to_numpy(dtype=float, na_value=np.nan)
    bad = np.isinf(values) | (values <= 0)
    if bad.any():
        row, col = divmod(int(np.flatnonzero(bad.ravel())[0]), values.shape[1])
        raise DataFileError(
            f"{table.path}: {table.where(int(frame.index[row]))}, column '{value_cols[col]}': "
            f"non-positive or non-finite close {values[row, col]:g}"
        )
    return values


def _frame(values: np.ndarray, sessions: pd.DatetimeIndex, tickers: pd.Index) -> pd.DataFrame:
    index = pd.DatetimeIndex(sessions, name="date").as_unit("ns")
    return pd.DataFrame(values, index=index, columns=pd.Index([str(t) for t in tickers]))


# --- market-cap snapshots (--shares) ---------------------------------------------------------


def load_cap_snapshots(path: Path | str) -> pd.DataFrame:
    """Market-cap snapshots (docs/signals.md) as long ``date, ticker, market_cap``.

    The file has ``date`` (or ``as_of``), ``ticker``, and ``market_cap`` and/or ``shares``,
    optionally ``price`` (the raw quote of that day). market_cap is the given cap; where a row
    has no cap, price x shares; where it has neither a cap nor both price and shares, NaN
    (kept, so a caller can count members without a cap). A price of 0 counts as missing
    (some sources write 0.0 for "no quote"). Shares without any price column are refused:
    adjusted closes must never be multiplied by raw share counts.
    Sorted by date then ticker; dates are tz-naive midnight datetime64[ns].
    """
    path = Path(path)
    header = {c.strip().lower(): c for c in read_header(path)}
    date_key = "date" if "date" in header else "as_of" if "as_of" in header else None
    if date_key is None:
        raise DataFileError(f"{path}: missing column 'date' (or 'as_of')")
    if "ticker" not in header:
        raise DataFileError(f"{path}: missing column 'ticker'")
    if "market_cap" not in header and "shares" not in header:
        raise DataFileError(f"{path}: missing column 'market_cap' (or 'shares' with 'price')")
    if "market_cap" not in header and "price" not in header:
        raise DataFileError(
            f"{path}: column 'shares' needs a 'price' column (the raw quote of the snapshot "
            "day) or a 'market_cap' column"
        )
    wanted = [
        header[k] for k in (date_key, "ticker", "market_cap", "shares", "price") if k in header
    ]
    table = read_table(path, usecols=wanted, text=(header[date_key], header["ticker"]))
    date_code, days = parse_dates(table, header[date_key])
    ticker_code, tickers = parse_tickers(table, header["ticker"])
    check_unique(table, date_code.astype(np.int64) * len(tickers) + ticker_code, "date and ticker")

    def column(name: str) -> np.ndarray:
        if name not in header:
            return np.full(len(table.frame), np.nan)
        return parse_numbers(table, header[name], name, allow_missing=True)

    cap, shares, price = column("market_cap"), column("shares"), column("price")
    check_positive(table, cap, "market_cap")
    check_positive(table, shares, "shares")
    check_positive(table, np.where(price == 0, np.nan, price), "price")
    quoted = np.where(price > 0, price, np.nan)
    out = pd.DataFrame(
        {
            "date": days[date_code],
            "ticker": tickers.to_numpy()[ticker_code],
            "market_cap": np.where(np.isnan(cap), quoted * shares, cap),
        }
    )
    return out.sort_values(["date", "ticker"], ignore_index=True)
