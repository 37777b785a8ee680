"""A local Parquet cache of the close panel, so a refresh fetches only what is missing.

Layout: one *wide* Parquet file (a ``date`` index, one float64 column per ticker). Wide because
the panel is what every consumer reads (`MarketData.closes`, the indicators) so a load is a
plain read with no pivot, Parquet stores each ticker as its own compressed column, and the
universe here is a few hundred tickers (a wide schema gets slow only in the thousands).

The file carries its own metadata record in the Parquet key-value metadata (schema version,
history start, tickers, last session, rows, a checksum of the values, and per ticker the last
session fetched), so data and metadata are replaced together by one atomic ``os.replace``. A
file that cannot be read, has another shape, or disagrees with its metadata is moved aside
(``<name>.corrupt``) and rebuilt from scratch: it is never used.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from signals import calendar

log = logging.getLogger(__name__)

#: ``fetch(tickers, start, end)`` -> closes (dates x tickers), both dates inclusive.
Fetch = Callable[[list[str], date, date], pd.DataFrame]

SCHEMA_VERSION = 1
_META_KEY = b"rotation_bot.price_cache"
_DAY = pd.Timedelta(days=1)


class CacheError(Exception):
    """A cache file is unusable; the message says why (internal: it triggers a rebuild)."""


def write_parquet_atomic(
    frame: pd.DataFrame,
    path: Path,
    metadata: Mapping[bytes, bytes] | None = None,
    index: bool = True,
) -> None:
    """Write `frame` to `path` via a temp file in the same folder + ``os.replace``, so a
    crash or a full disk leaves the old file or the new one, never half of one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pandas(frame, preserve_index=index)
    if metadata:
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), **metadata})
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        pq.write_table(table, tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def panel_checksum(panel: pd.DataFrame) -> str:
    """SHA-256 of the dates, the ticker names and the values (NaN canonicalised)."""
    values = np.ascontiguousarray(panel.to_numpy(dtype="float64", na_value=np.nan))
    values = np.where(np.isnan(values), np.nan, values)
    h = hashlib.sha256()
    h.update(np.asarray(pd.DatetimeIndex(panel.index).asi8, dtype="int64").tobytes())
    h.update("\x1f".join(map(str, panel.columns)).encode())
    h.update(values.tobytes())
    return h.hexdigest()


@dataclass(frozen=True)
class CacheState:
    """A validated cache: the panel plus per-ticker progress.

    through: ticker -> the last session that was fetched for it (a later session is missing).
    start: the first date full histories were fetched from.
    """

    panel: pd.DataFrame
    through: dict[str, pd.Timestamp]
    start: pd.Timestamp

    @classmethod
    def empty(cls, start: pd.Timestamp) -> CacheState:
        idx = pd.DatetimeIndex([], name="date").as_unit("ns")
        return cls(pd.DataFrame(index=idx, dtype="float64"), {}, start)


def _day(value: date | str | pd.Timestamp) -> pd.Timestamp:
    return pd.Timestamp(value).normalize()


def _conform(
    block: pd.DataFrame, tickers: list[str], start: pd.Timestamp, end: pd.Timestamp
) -> pd.DataFrame:
    """A fetcher's answer as float64 dates x `tickers` within [start, end], no all-NaN rows."""
    if block is None or block.empty:
        block = pd.DataFrame(index=pd.DatetimeIndex([]), columns=tickers, dtype="float64")
    idx = pd.DatetimeIndex(block.index)
    idx = (idx.tz_localize(None) if idx.tz is not None else idx).normalize()
    out = block.set_axis(pd.DatetimeIndex(idx, name="date").as_unit("ns"), axis=0)
    out = out.reindex(columns=tickers).astype("float64")
    out = out.loc[(out.index >= start) & (out.index <= end)]
    out = out.groupby(level=0).last()
    return out.dropna(how="all")


class PriceCache:
    """The close panel in one Parquet file at `path`.

    overlap: sessions re-fetched before each ticker's last fetched session, to catch revisions.
    rtol: a re-fetched close differing from the cached one by more than this (relative) means
        the history was re-adjusted (a split or dividend): that ticker's full history is
        fetched again.
    """

    def __init__(self, path: Path, overlap: int = 5, rtol: float = 1e-4) -> None:
        self.path = Path(path)
        self.overlap = overlap
        self.rtol = rtol

    # -- reading -------------------------------------------------------------------------

    def read(self) -> CacheState | None:
        """The validated cache, or None when there is none or it was unusable (then it is
        moved aside to ``<name>.corrupt`` and a warning says why)."""
        if not self.path.exists():
            return None
        try:
            return self._read_checked()
        except CacheError as exc:
            aside = self.path.with_name(self.path.name + ".corrupt")
            os.replace(self.path, aside)
            log.warning(
                "price cache %s is unusable (%s); moved to %s and rebuilding from scratch",
                self.path,
                exc,
                aside.name,
            )
            return None

    def _read_checked(self) -> CacheState:
        try:
            table = pq.read_table(self.path)
        except (pa.ArrowException, OSError) as exc:
            raise CacheError(f"unreadable Parquet: {exc}") from exc
        raw = (table.schema.metadata or {}).get(_META_KEY)
        if raw is None:
            raise CacheError("no rotation-bot metadata record (not written by this cache)")
        try:
            meta = json.loads(raw)
            version = meta["schema_version"]
            tickers, rows, checksum = meta["tickers"], meta["rows"], meta["checksum"]
            through = {t: _day(d) for t, d in meta["through"].items()}
            start = _day(meta["start"])
            last = meta["last_session"]
        except (ValueError, KeyError, TypeError) as exc:
            raise CacheError(f"metadata record is malformed: {exc!r}") from exc
        if version != SCHEMA_VERSION:
            raise CacheError(f"schema version {version}, expected {SCHEMA_VERSION}")
        try:
            panel = table.to_pandas()
        except (pa.ArrowException, ValueError) as exc:
            raise CacheError(f"cannot convert to a frame: {exc}") from exc
        if not isinstance(panel.index, pd.DatetimeIndex) or panel.index.name != "date":
            raise CacheError("index is not a 'date' DatetimeIndex")
        bad = [c for c in panel.columns if panel[c].dtype != np.float64]
        if bad:
            raise CacheError(f"non-float64 columns {bad[:5]}")
        if list(panel.columns) != list(tickers):
            raise CacheError("columns differ from the metadata's tickers")
        if len(panel) != rows:
            raise CacheError(f"{len(panel)} rows, metadata says {rows} (partial write?)")
        if not (panel.index.is_monotonic_increasing and panel.index.is_unique):
            raise CacheError("dates are not sorted and unique")
        actual_last = None if panel.empty else panel.index[-1].strftime("%Y-%m-%d")
        if actual_last != last:
            raise CacheError(f"last session {actual_last}, metadata says {last}")
        panel.index = pd.DatetimeIndex(panel.index, name="date").as_unit("ns")
        if panel_checksum(panel) != checksum:
            raise CacheError("checksum mismatch (values changed after writing)")
        return CacheState(panel=panel, through=through, start=start)

    def write(self, state: CacheState) -> None:
        """Replace the file atomically with `state` and its metadata record."""
        panel = state.panel.sort_index()
        panel.columns = [str(c) for c in panel.columns]
        meta = {
            "schema_version": SCHEMA_VERSION,
            "start": state.start.strftime("%Y-%m-%d"),
            "tickers": list(panel.columns),
            "rows": len(panel),
            "last_session": None if panel.empty else panel.index[-1].strftime("%Y-%m-%d"),
            "checksum": panel_checksum(panel),
            "through": {t: d.strftime("%Y-%m-%d") for t, d in sorted(state.through.items())},
        }
        write_parquet_atomic(panel, self.path, {_META_KEY: json.dumps(meta).encode()})

    # -- refreshing ----------------------------------------------------------------------

    def refresh(
        self,
        fetch: Fetch,
        tickers: Iterable[str],
        end: date | pd.Timestamp,
        start_default: date | pd.Timestamp,
    ) -> pd.DataFrame:
        """Bring `tickers` up to the session `end` and return their panel (dates x tickers).

        Asks `fetch` for full history (from `start_default`) only for tickers the cache has
        no close for, or whose overlap shows a revised past; every other ticker is asked only
        for the sessions after its last fetched one plus `overlap` sessions before it. Nothing
        is fetched when every ticker is already fetched through `end`.
        """
        tickers = list(dict.fromkeys(tickers))
        end_s = calendar.session_on_or_before(_day(end))
        start = _day(start_default)
        state = self.read()
        if state is not None and start < state.start:
            log.info("price cache starts %s; %s asked: fetching full history", state.start, start)
            state = None
        state = state or CacheState.empty(start)
        panel, through = state.panel, dict(state.through)

        never = pd.Timestamp.min
        has_data = set(panel.columns[panel.notna().any(axis=0).to_numpy()])
        due = [t for t in tickers if through.get(t, never) < end_s]
        stale = [t for t in due if t in has_data]
        full = [t for t in due if t not in has_data]

        if stale:
            first = min(self._overlap_start(through[t]) for t in stale)
            block = _conform(fetch(stale, first.date(), end_s.date()), stale, first, end_s)
            revised = self._revised(panel, block)
            if revised:
                log.info(
                    "price cache: past closes changed for %s (new adjustment): full refetch",
                    ", ".join(revised),
                )
            keep = [t for t in stale if t not in revised]
            panel = block[keep].combine_first(panel)
            through.update(self._through(block[keep], end_s))
            full += revised

        if full:
            hist = state.start
            block = _conform(fetch(full, hist.date(), end_s.date()), full, hist, end_s)
            got = list(block.columns[block.notna().any(axis=0).to_numpy()])
            panel = pd.concat([panel.drop(columns=got, errors="ignore"), block[got]], axis=1)
            through.update(self._through(block[full], end_s))

        if due:
            panel = panel.dropna(how="all").sort_index()
            panel.index = pd.DatetimeIndex(panel.index, name="date").as_unit("ns")
            self.write(CacheState(panel=panel, through=through, start=state.start))
            log.info(
                "price cache: %d sessions x %d tickers through %s (%d updated, %d full)",
                len(panel),
                panel.shape[1],
                end_s.date(),
                len(stale),
                len(full),
            )
        out = panel.reindex(columns=tickers).loc[start:end_s]
        return out.dropna(how="all")

    def _overlap_start(self, through: pd.Timestamp) -> pd.Timestamp:
        """The session `overlap` - 1 sessions before `through` (so `overlap` sessions in all)."""
        days = calendar.sessions(through - pd.Timedelta(days=3 * self.overlap + 10), through)
        return days[-min(self.overlap, len(days))] if len(days) else through

    def _revised(self, panel: pd.DataFrame, block: pd.DataFrame) -> list[str]:
        """Tickers whose re-fetched closes differ from the cached ones beyond `rtol`."""
        cols = block.columns.intersection(panel.columns)
        dates = block.index.intersection(panel.index)
        old = panel.loc[dates, cols].to_numpy(dtype="float64")
        new = block.loc[dates, cols].to_numpy(dtype="float64")
        with np.errstate(invalid="ignore"):
            changed = np.abs(new - old) > self.rtol * np.abs(old)
        return list(cols[changed.any(axis=0)])

    def _through(self, block: pd.DataFrame, end_s: pd.Timestamp) -> dict[str, pd.Timestamp]:
        """Per ticker, the session it is now fetched through.

        `end_s`, except where the ticker's last close is a recent session before `end_s` (a
        NaN last bar, or a ticker Yahoo has not updated yet): then that close's session, so
        the next refresh asks again. A ticker without a recent close (delisted, unknown to
        the source) counts as fetched through `end_s`, so it is not asked again this session.
        """
        mask = block.notna().to_numpy()
        has = mask.any(axis=0)
        through = pd.Series(end_s, index=block.columns)
        if has.any():
            last_row = mask.shape[0] - 1 - np.argmax(mask[::-1], axis=0)
            last_valid = pd.Series(block.index[last_row], index=block.columns)
            recent = has & (last_valid >= self._overlap_start(end_s)).to_numpy()
            through = through.mask(recent, last_valid)
        return {str(t): pd.Timestamp(d) for t, d in through.items()}
