"""Index members: ticker, GICS sector, company, and optional point-in-time membership.

The bundled list (``signals/data/sp500_universe.csv``) is written by hand for this project;
``--members`` replaces it and ``--membership`` adds point-in-time intervals.
Share classes of one company are grouped so that concentration counts companies, not tickers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from signals.errors import DataFileError

BUNDLED_UNIVERSE = "sp500_universe.csv"
#: The date the bundled list describes (stated in the file's header comment too).
BUNDLED_AS_OF = "2025-06-30"

_CLASS_SUFFIX = re.compile(r"\s*\((?:class|series)\s+[a-z0-9]+\)\s*$", re.IGNORECASE)


def company_key(name: str | None, ticker: str) -> str:
    """The company a share class belongs to: its name without a trailing ' (Class X)'."""
    if name is None or (isinstance(name, float) and np.isnan(name)) or not str(name).strip():
        return ticker
    return _CLASS_SUFFIX.sub("", str(name)).strip()


@dataclass(frozen=True)
class Universe:
    """Members of the watched index.

    table: one row per ticker (index ``ticker``), columns ``name``, ``sector`` (GICS, may be
        empty), ``company`` (share classes of one company share it).
    membership: optional point-in-time intervals (``ticker``, ``start_date``, ``end_date``
        with NaT = still a member). When given, it alone decides who is a member on a date.
    """

    table: pd.DataFrame
    membership: pd.DataFrame | None = None
    as_of: str | None = None

    @property
    def tickers(self) -> list[str]:
        return list(self.table.index)

    def all_tickers(self) -> list[str]:
        """Every ticker that is ever a member (universe file, plus the membership file)."""
        extra = [] if self.membership is None else list(self.membership["ticker"].unique())
        return list(dict.fromkeys([*self.table.index, *extra]))

    def sector_tickers(self, sector: str) -> list[str]:
        return list(self.table.index[self.table["sector"] == sector])

    def company_of(self, tickers: list[str]) -> pd.Series:
        """Company key per ticker; a ticker unknown to the table is its own company."""
        known = self.table["company"].reindex(tickers)
        return known.fillna(pd.Series(tickers, index=tickers)).astype(object)

    def member_mask(self, sessions: pd.DatetimeIndex, tickers: list[str]) -> pd.DataFrame:
        """Booleans sessions x tickers: True where the ticker is a member on that session.

        Without a membership file every universe ticker is a member on every session.
        With one, a ticker is a member on t when an interval has start_date <= t < end_date
        (empty end_date = still a member), whether or not the universe file lists it.
        """
        if self.membership is None:
            known = set(self.table.index)  # a set: pandas' arrow-string isin is slow here
            row = np.fromiter((t in known for t in tickers), dtype=bool, count=len(tickers))
            return pd.DataFrame(
                np.broadcast_to(row, (len(sessions), len(tickers))).copy(),
                index=sessions,
                columns=tickers,
            )
        mask = interval_mask(
            self.membership, pd.DatetimeIndex(sessions), pd.Index(tickers, dtype=object), "C"
        )
        return pd.DataFrame(mask, index=sessions, columns=tickers)


def interval_mask(
    membership: pd.DataFrame,
    sessions: pd.DatetimeIndex,
    tickers: pd.Index,
    order: Literal["C", "F"] = "F",
) -> np.ndarray:
    """Booleans sessions x tickers: start_date <= t < end_date (NaT end = still a member).

    By a difference array (+1 at each interval's first session, -1 after its last) and one
    cumulative sum instead of a loop over intervals; overlapping intervals of one ticker
    stay True.
    """
    col = tickers.get_indexer(pd.Index(membership["ticker"]))
    days = sessions.to_numpy(dtype="datetime64[ns]")
    start_dates = membership["start_date"].to_numpy(dtype="datetime64[ns]")
    start = np.searchsorted(days, start_dates, "left")
    end_dates = membership["end_date"].to_numpy(dtype="datetime64[ns]")
    end = np.where(np.isnat(end_dates), len(days), np.searchsorted(days, end_dates, "left"))
    keep = (start < end) & (col >= 0)
    diff = np.zeros((len(days) + 1, len(tickers)), dtype=np.int32, order="F")
    np.add.at(diff, (start[keep], col[keep]), 1)
    np.add.at(diff, (end[keep], col[keep]), -1)
    np.cumsum(diff, axis=0, out=diff)
    out = np.empty((len(days), len(tickers)), dtype=bool, order=order)
    np.greater(diff[:-1], 0, out=out)
    return out


def _read_csv(path: Path | str, what: str) -> pd.DataFrame:
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, comment="#")
        df.attrs["path"] = str(path)
        return df
    except FileNotFoundError as exc:
        raise DataFileError(f"{what} file not found: {path}") from exc
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataFileError(f"{what} file {path} cannot be parsed: {exc}") from exc


def _file_line(df: pd.DataFrame, row: int) -> int:
    """The 1-based file line of data row `row`, so errors point at the right line.

    The reader skips comment and blank lines; re-read the file (only on the error path) to
    count them. A frame not read from a file assumes one header line and no comments.
    """
    path = df.attrs.get("path")
    if path is not None:
        try:
            with open(path, encoding="utf-8", errors="replace", newline="") as fh:
                lines = [i for i, x in enumerate(fh, 1) if x.strip() and not x.startswith("#")]
        except OSError:
            lines = []
        if row + 1 < len(lines):
            return lines[row + 1]
    return row + 2


def members_from_frame(df: pd.DataFrame, origin: str) -> pd.DataFrame:
    """Validate a members table (``ticker`` required; ``sector``, ``name``, ``company``)."""
    cols = {c.strip().lower(): c for c in df.columns}
    if "ticker" not in cols:
        raise DataFileError(f"{origin}: missing column 'ticker' (columns: {list(df.columns)})")
    out = pd.DataFrame({"ticker": df[cols["ticker"]].astype(str).str.strip().str.upper()})
    out["ticker"] = out["ticker"].str.replace(".", "-", regex=False)
    for c in ("name", "sector", "company"):
        out[c] = df[cols[c]].astype(str).str.strip() if c in cols else ""
    empty = out.index[out["ticker"] == ""]
    if len(empty):
        raise DataFileError(f"{origin}: empty ticker on line {_file_line(df, int(empty[0]))}")
    dup = out["ticker"].duplicated()
    if dup.any():
        line = _file_line(df, int(np.flatnonzero(dup.to_numpy())[0]))
        raise DataFileError(
            f"{origin}: duplicate ticker {out['ticker'][dup].iloc[0]} on line {line}"
        )
    company = [
        c if c else company_key(n, t)
        for t, n, c in zip(out["ticker"], out["name"], out["company"], strict=True)
    ]
    out["company"] = company
    return out.set_index("ticker")


def load_members(path: Path | str | None = None) -> pd.DataFrame:
    """The members table from `path`, or the bundled S&P 500 list."""
    if path is None:
        with resources.as_file(resources.files("signals.data") / BUNDLED_UNIVERSE) as p:
            return members_from_frame(_read_csv(p, "universe"), f"bundled {BUNDLED_UNIVERSE}")
    return members_from_frame(_read_csv(path, "members"), str(path))


def load_membership(path: Path | str) -> pd.DataFrame:
    """Point-in-time membership intervals ``ticker,start_date,end_date``."""
    df = _read_csv(path, "membership")
    missing = {"ticker", "start_date", "end_date"} - set(df.columns)
    if missing:
        raise DataFileError(f"{path}: missing column(s) {sorted(missing)}")
    out = pd.DataFrame({"ticker": df["ticker"].str.strip().str.upper().str.replace(".", "-")})
    for c in ("start_date", "end_date"):
        raw = df[c].str.strip()
        parsed = pd.to_datetime(raw.replace("", None), format="%Y-%m-%d", errors="coerce")
        bad = parsed.isna() & (raw != "")
        if c == "start_date":
            bad |= raw == ""
        if bad.any():
            line = _file_line(df, int(np.flatnonzero(bad.to_numpy())[0]))
            raise DataFileError(f"{path}: line {line}: unparsable {c} {raw[bad].iloc[0]!r}")
        out[c] = parsed.astype("datetime64[ns]")
    return out


def load_universe(
    members: Path | str | None = None, membership: Path | str | None = None
) -> Universe:
    table = load_members(members)
    pit = None if membership is None else load_membership(membership)
    return Universe(table=table, membership=pit, as_of=None if members else BUNDLED_AS_OF)
