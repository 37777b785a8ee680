"""A user's fundamentals file: ``date,series,value[,period_end]``, read without any network.

`date` is the publication date (the value applies from the first session on or after it),
`series` the bot's series id (``bank_nim``), `value` in the series' own unit (percent for the
margins and yields), used unchanged. A file's series replaces a source's whole (see
`observations.override`). A bad line is one error naming the file and line.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from signals.errors import DataFileError
from signals.sources.fundamentals.observations import SERIES_UNITS, Observation, day

SOURCE = "file"
COLUMNS = ("date", "series", "value")


def load_fundamentals_file(path: Path | str) -> list[Observation]:
    """The observations of one CSV (or CSV.gz) file, in file order."""
    path = Path(path)
    if not path.is_file():
        raise DataFileError(f"{path}: file not found")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise DataFileError(f"{path}: empty file") from None
    except (pd.errors.ParserError, UnicodeDecodeError, OSError, EOFError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataFileError(f"{path}: cannot be parsed as CSV: {first}") from None
    names = {str(c).strip().lower(): c for c in frame.columns}
    for need in COLUMNS:
        if need not in names:
            found = ", ".join(map(str, frame.columns))
            raise DataFileError(f"{path}: missing column '{need}' (columns: {found})")
    end_col = names.get("period_end")
    out: list[Observation] = []
    for i, row in enumerate(frame.itertuples(index=False), start=2):
        values = dict(zip(frame.columns, row, strict=True))
        series = str(values[names["series"]]).strip()
        where = f"{path}: line {i}"
        if not series:
            raise DataFileError(f"{where}: empty series")
        published = _date(values[names["date"]], where, "date")
        raw = str(values[names["value"]]).strip()
        try:
            value = float(raw)
        except ValueError:
            raise DataFileError(f"{where}: value {raw!r} is not a number") from None
        if not math.isfinite(value):
            raise DataFileError(f"{where}: value {raw!r} is not a number")
        end = None
        if end_col is not None and str(values[end_col]).strip():
            end = _date(values[end_col], where, "period_end")
        unit = SERIES_UNITS.get(series, "")
        out.append(Observation(series, value, unit, SOURCE, end, published))
    return out


def load_fundamentals_files(paths: Iterable[Path | str]) -> dict[str, list[Observation]]:
    """Series id -> observations over all `paths` (a series in several files: all of them)."""
    out: dict[str, list[Observation]] = {}
    for path in paths:
        for obs in load_fundamentals_file(path):
            out.setdefault(obs.series, []).append(obs)
    return out


def _date(raw: object, where: str, column: str) -> pd.Timestamp:
    text = str(raw).strip()
    try:
        return day(pd.Timestamp(text)) if text else _bad(where, column, text)
    except ValueError:
        return _bad(where, column, text)


def _bad(where: str, column: str, text: str) -> pd.Timestamp:
    raise DataFileError(f"{where}: {column} {text!r} is not a date (YYYY-MM-DD)")
