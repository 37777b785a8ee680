"""Reading user data files (CSV, CSV.gz, Parquet) with errors that name the file and line.

Shared by the `files` price source and the market-cap snapshot reader. Validation is
vectorised: the whole column is checked with masks and only the first offending row is
looked up to build the message. Line numbers are 1-based with the header as line 1 (CSV);
Parquet files have no lines, so their messages say "row N" (1-based, no header).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from pandas.api.types import is_datetime64_any_dtype, is_numeric_dtype

from signals.errors import DataFileError

PARQUET_SUFFIXES = (".parquet", ".pq")


@dataclass(frozen=True)
class Table:
    """A file's raw columns; `frame.index` holds each row's position in the file."""

    path: Path
    frame: pd.DataFrame
    parquet: bool

    def where(self, row: int) -> str:
        """The location of the row with index label `row`, as a reader of the file sees it."""
        return f"row {row + 1}" if self.parquet else f"line {row + 2}"

    def error(self, row: int, message: str) -> DataFileError:
        return DataFileError(f"{self.path}: {self.where(row)}: {message}")

    def columns(self) -> dict[str, str]:
        """Lower-cased, stripped column name -> the column's name in the file."""
        return {str(c).strip().lower(): c for c in self.frame.columns}

    def require(self, *names: str) -> list[str]:
        """The file's names for the columns `names` (any case), or an error naming the first
        one missing."""
        cols = self.columns()
        for name in names:
            if name not in cols:
                found = ", ".join(map(str, self.frame.columns))
                raise DataFileError(f"{self.path}: missing column '{name}' (columns: {found})")
        return [cols[n] for n in names]


def read_header(path: Path) -> list[str]:
    """The column names of a CSV or Parquet file, checking that it exists and is not empty."""
    path = Path(path)
    if not path.is_file():
        raise DataFileError(f"{path}: file not found")
    if path.suffix.lower() in PARQUET_SUFFIXES:
        import pyarrow.parquet as pq

        try:
            names = list(pq.read_schema(path).names)
        except Exception as exc:  # pyarrow raises several unrelated types for a bad file
            raise DataFileError(f"{path}: cannot be read as Parquet: {exc}") from exc
        _refuse_repeated(path, names)
        return names
    try:
        names = [str(c) for c in pd.read_csv(path, nrows=0).columns]
        # the header as written: pandas renames a repeated name (AAPL, AAPL.1)
        raw = pd.read_csv(path, nrows=1, header=None, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError as exc:
        raise DataFileError(f"{path}: empty file") from exc
    except (pd.errors.ParserError, UnicodeDecodeError, OSError, EOFError) as exc:
        raise DataFileError(f"{path}: cannot be parsed as CSV: {exc}") from exc
    _refuse_repeated(path, [str(c) for c in raw.iloc[0]])
    return names


def _refuse_repeated(path: Path, names: list[str]) -> None:
    """A column named twice is ambiguous (which close is AAPL's?): an error naming both."""
    first: dict[str, int] = {}
    for position, name in enumerate(names, start=1):
        key = name.strip()
        if key in first:
            raise DataFileError(
                f"{path}: column '{key}' appears twice (columns {first[key]} and {position})"
            )
        if key:  # unnamed columns have their own message
            first[key] = position


def read_table(path: Path, usecols: list[str] | None = None, text: tuple[str, ...] = ()) -> Table:
    """Read `path` (CSV, optionally compressed, or Parquet); `text` columns stay strings.

    Blank CSV lines are dropped but keep their place in the numbering, so messages point
    at the right line. A file with a header and no rows is an error.
    """
    path = Path(path)
    read_header(path)  # existence, emptiness and a readable header first
    parquet = path.suffix.lower() in PARQUET_SUFFIXES
    try:
        if parquet:
            frame = pd.read_parquet(path, columns=usecols)
            if frame.index.name is not None:  # a date index written by DataFrame.to_parquet
                frame = frame.reset_index()
            frame = frame.reset_index(drop=True)
        else:
            frame = pd.read_csv(
                path,
                usecols=usecols,
                # categories: the parser factorises dates and tickers as it reads (3x faster)
                dtype=dict.fromkeys(text, "category"),
                skip_blank_lines=False,
                engine="c",
            )
            blank = frame.isna().all(axis=1)
            if blank.any():
                frame = frame[~blank.to_numpy()]
    except (pd.errors.ParserError, UnicodeDecodeError, OSError, EOFError, ValueError) as exc:
        raise DataFileError(f"{path}: cannot be read: {exc}") from exc
    if frame.empty:
        raise DataFileError(f"{path}: no data rows (only a header)")
    return Table(path=path, frame=frame, parquet=parquet)


def parse_dates(table: Table, column: str) -> tuple[np.ndarray, pd.DatetimeIndex]:
    """Integer codes per row into the sorted, unique midnight dates they name.

    Text must start with an ISO date, YYYY-MM-DD; a time or UTC offset after it is ignored
    (the date is the session's). Unique strings are parsed once, so millions of rows with a
    few thousand dates parse in milliseconds.
    """
    raw = table.frame[column]
    if is_datetime64_any_dtype(raw):
        values = raw.dt.tz_localize(None) if raw.dt.tz is not None else raw
        missing = values.isna().to_numpy()
        if missing.any():
            raise table.error(_first(table, missing), "missing date")
        codes, days = pd.factorize(values.dt.normalize().to_numpy("datetime64[ns]"), sort=True)
        return codes, pd.DatetimeIndex(days, name="date").as_unit("ns")
    codes, uniques = pd.factorize(raw, use_na_sentinel=True)
    text = pd.Index(np.asarray(uniques, dtype=object)).astype(str).str.strip().str.slice(0, 10)
    parsed = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
    bad = codes < 0
    bad_unique = np.flatnonzero(parsed.isna())
    if len(bad_unique):
        bad |= np.isin(codes, bad_unique)
    if bad.any():
        row = _first(table, bad)
        value = raw.loc[row]
        what = "missing date" if pd.isna(value) else f"unparsable date {value!r}"
        raise table.error(row, f"{what} (expected YYYY-MM-DD)")
    unique_codes, days = pd.factorize(parsed.to_numpy("datetime64[ns]"), sort=True)
    return unique_codes[codes], pd.DatetimeIndex(days, name="date").as_unit("ns")


def normalise_tickers(values: pd.Index | pd.Series) -> pd.Index:
    """Yahoo spelling: stripped, upper case, ``BRK.B`` -> ``BRK-B``."""
    return pd.Index(values).astype(str).str.strip().str.upper().str.replace(".", "-", regex=False)


def parse_tickers(table: Table, column: str) -> tuple[np.ndarray, pd.Index]:
    """Integer codes per row and the normalised tickers they point to."""
    raw = table.frame[column]
    codes, uniques = pd.factorize(raw, use_na_sentinel=True)
    names = normalise_tickers(pd.Index(np.asarray(uniques, dtype=object)))
    bad = (codes < 0) | np.isin(codes, np.flatnonzero(names == ""))
    if bad.any():
        raise table.error(_first(table, bad), "empty ticker")
    # two spellings of one ticker (BRK.B, brk-b) become one
    merged, tickers = pd.factorize(names)
    return merged[codes], pd.Index(tickers)


def parse_numbers(table: Table, column: str, label: str, allow_missing: bool) -> np.ndarray:
    """The column as float64; non-numeric text, infinities and (unless `allow_missing`)
    empty cells are errors naming the line and the column."""
    raw = table.frame[column]
    if is_numeric_dtype(raw) and raw.dtype != bool:
        values = raw.to_numpy(dtype=float, na_value=np.nan)
        bad_text = np.zeros(len(values), dtype=bool)
    else:
        values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        blank = raw.isna().to_numpy() | (raw.astype(str).str.strip() == "").to_numpy()
        bad_text = np.isnan(values) & ~blank
    if bad_text.any():
        row = _first(table, bad_text)
        raise table.error(row, f"non-numeric {label} {table.frame[column].loc[row]!r}")
    infinite = np.isinf(values)
    if infinite.any():
        raise table.error(_first(table, infinite), f"non-finite {label}")
    if not allow_missing:
        missing = np.isnan(values)
        if missing.any():
            raise table.error(_first(table, missing), f"missing {label}")
    return values


def check_positive(table: Table, values: np.ndarray, label: str) -> None:
    """Values must be > 0 where present."""
    bad = values <= 0  # NaN compares False
    if bad.any():
        row = _first(table, bad)
        raise table.error(row, f"non-positive {label} {values[np.flatnonzero(bad)[0]]:g}")


def check_unique(table: Table, key: np.ndarray, describe: str) -> None:
    """Each `key` (one integer per row) must occur once; the error names both lines."""
    dup = pd.Series(key).duplicated().to_numpy()
    if dup.any():
        pos = int(np.flatnonzero(dup)[0])
        first = int(np.flatnonzero(key == key[pos])[0])
        labels = table.frame.index
        raise table.error(
            int(labels[pos]),
            f"duplicate {describe} (first on {table.where(int(labels[first]))})",
        )


def _first(table: Table, mask: np.ndarray) -> int:
    """Index label (file position) of the first row where `mask` holds."""
    return int(table.frame.index[int(np.flatnonzero(mask)[0])])
