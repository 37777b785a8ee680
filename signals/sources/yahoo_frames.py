"""Pure helpers that turn what `yfinance.download` returns into a clean close panel.

yfinance 1.7 returns a frame with `(Price, Ticker)` MultiIndex columns (also for one ticker),
a tz-naive `datetime64[s]` index named ``Date``, NaN rows where tickers' calendars differ,
sometimes a NaN last bar, and (when asked past the last close) today's unfinished bar. These
functions are kept apart from the network code so they can be tested on frames built in that
exact format.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

#: Share-class separators Yahoo spells with a dash (BRK.B -> BRK-B, BF.B -> BF-B).
_CLASS_DOT = "."


def to_yahoo(ticker: str) -> str:
    """Yahoo's spelling of a ticker: upper case, share class after a dash."""
    return ticker.strip().upper().replace(_CLASS_DOT, "-")


def yahoo_symbols(tickers: Iterable[str]) -> dict[str, str]:
    """Yahoo symbol -> the caller's spelling, for mapping results back.

    Two caller spellings of one Yahoo symbol (``BRK.B`` and ``BRK-B``) keep the first.
    """
    out: dict[str, str] = {}
    for t in tickers:
        out.setdefault(to_yahoo(t), t)
    return out


def normalise_index(index: pd.Index) -> pd.DatetimeIndex:
    """Dates as tz-naive midnight ``datetime64[ns]`` named ``date`` (yfinance gives ``[s]``)."""
    idx = pd.DatetimeIndex(index)
    if idx.tz is not None:
        idx = idx.tz_localize(None)
    return pd.DatetimeIndex(idx.normalize(), name="date").as_unit("ns")


def closes_from_download(frame: pd.DataFrame | None, tickers: Iterable[str]) -> pd.DataFrame:
    """The ``Close`` panel (dates x `tickers`, float64) of a `yf.download` result.

    Handles the `(Price, Ticker)` MultiIndex (one ticker included), a flat frame from
    ``multi_level_index=False``, an empty frame, duplicate dates after normalising (the
    last non-NaN value wins) and rows where every ticker is NaN (dropped: that is Yahoo's
    NaN last bar, not a session). Tickers yfinance did not return are all-NaN columns.
    """
    tickers = list(tickers)
    empty = pd.DataFrame(
        index=pd.DatetimeIndex([], name="date").as_unit("ns"), columns=tickers, dtype="float64"
    )
    if frame is None or frame.empty:
        return empty
    if isinstance(frame.columns, pd.MultiIndex):
        level = "Price" if "Price" in frame.columns.names else 0
        if "Close" not in frame.columns.get_level_values(level):
            return empty
        close = frame.xs("Close", axis=1, level=level)
    elif "Close" in frame.columns and len(tickers) == 1:
        close = frame[["Close"]].set_axis(tickers, axis=1)
    else:
        return empty
    close = close.apply(pd.to_numeric, errors="coerce").astype("float64")
    close.columns = [str(c) for c in close.columns]
    close.index = normalise_index(close.index)
    close = close.groupby(level=0).last()  # last non-NaN per date
    close = close.reindex(columns=tickers)
    close.columns.name = None
    return close.dropna(how="all").sort_index()


def drop_unfinished(closes: pd.DataFrame, last_completed: pd.Timestamp) -> pd.DataFrame:
    """Rows up to `last_completed` only: a bar dated after the last completed session is a
    live, unfinished bar (today before the close, or a bar Yahoo appended) and never a close."""
    return closes.loc[closes.index <= pd.Timestamp(last_completed).normalize()]


def all_nan_tickers(closes: pd.DataFrame) -> list[str]:
    """Tickers without a single close in `closes`."""
    return list(closes.columns[closes.isna().all(axis=0).to_numpy()])
