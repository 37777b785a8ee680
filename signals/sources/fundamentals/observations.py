"""Point-in-time fundamentals: published figures laid on the session calendar.

A fundamental figure (a bank margin, a company's trailing cash flow) becomes known on the day
it is published, weeks after the period it describes. A backtest that used it from its
period end would see the future, so every `Observation` carries its publication date and
`daily_series` applies it from the first session on or after that date until the next
publication replaces it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

#: The unit of the series the bot knows; a series not listed keeps the unit its source gives.
SERIES_UNITS: dict[str, str] = {
    "bank_nim": "%",
    "energy_fcf_yield": "%",
    "sp500_pe_bottom_up": "x",
}


@dataclass(frozen=True)
class Observation:
    """One published figure.

    value: in the series' unit; NaN means "not available from `published` on" (a trailing
        figure that a newer filing made uncomputable), never a guess.
    period_end: the last day of the period the figure describes (None when unknown).
    published: the day it became public; it is used from the first session on or after it.
    """

    series: str
    value: float
    unit: str
    source: str
    period_end: pd.Timestamp | None
    published: pd.Timestamp

    @property
    def available(self) -> bool:
        return not math.isnan(self.value)


def day(value: object) -> pd.Timestamp:
    """A date as a tz-naive midnight Timestamp (the calendar's convention)."""
    stamp = pd.Timestamp(value)  # type: ignore[arg-type]
    if stamp.tzinfo is not None:
        stamp = stamp.tz_localize(None)
    return stamp.normalize()


@dataclass(frozen=True)
class PointInTime:
    """One series on every session, with the observation behind each value.

    values: session -> value (NaN before the first publication or while unavailable).
    rows: per session, the index into `observations` in force (-1: none yet).
    observations: sorted by publication date.
    """

    series: str
    values: pd.Series
    rows: np.ndarray
    observations: tuple[Observation, ...]

    def as_of(self, session: object) -> Observation | None:
        """The observation in force on the last session on or before `session`."""
        pos = int(self.values.index.searchsorted(day(session), side="right")) - 1
        if pos < 0 or self.rows[pos] < 0:
            return None
        return self.observations[int(self.rows[pos])]

    def value_at(self, session: object) -> float:
        obs = self.as_of(session)
        return math.nan if obs is None else obs.value

    def frame(self) -> pd.DataFrame:
        """value, source, period_end and published per session (for a signal's detail columns)."""
        index = self.values.index
        have = self.rows >= 0
        rows = np.maximum(self.rows, 0)

        def column(get: str) -> np.ndarray:
            items = [getattr(o, get) for o in self.observations] or [None]
            picked = np.asarray(items, dtype=object)[rows]
            picked[~have] = None
            return picked

        out = pd.DataFrame({"value": self.values.to_numpy()}, index=index)
        out["source"] = column("source")
        out["period_end"] = pd.to_datetime(pd.Series(column("period_end"), index=index))
        out["published"] = pd.to_datetime(pd.Series(column("published"), index=index))
        return out


def daily_series(
    observations: Iterable[Observation], sessions: pd.DatetimeIndex, series: str | None = None
) -> PointInTime:
    """Lay `observations` of one series on `sessions` without look-ahead.

    Each applies from the first session on or after its `published` date and holds until the
    next one applies. Two published the same day: the one with the later period end wins (a
    filing that also restates an older period), then the later in the input.
    """
    obs = [o for o in observations if series is None or o.series == series]
    name = series if series is not None else (obs[0].series if obs else "")
    keyed = sorted(
        enumerate(obs),
        key=lambda io: (io[1].published, io[1].period_end or pd.Timestamp.min, io[0]),
    )
    ordered = tuple(o for _, o in keyed)
    days = sessions.to_numpy(dtype="datetime64[ns]")
    first = np.searchsorted(
        days, np.array([o.published.to_datetime64() for o in ordered], dtype="datetime64[ns]")
    )
    rows = np.full(len(sessions), -1, dtype=np.int64)
    starts = np.full(len(sessions) + 1, -1, dtype=np.int64)
    # the last observation whose first session is p wins p; then carry forward
    np.maximum.at(starts, first, np.arange(len(ordered)))
    rows = np.maximum.accumulate(starts[: len(sessions)]) if len(sessions) else rows
    values = np.array([o.value for o in ordered] or [math.nan], dtype=np.float64)
    laid = np.where(rows >= 0, values[np.maximum(rows, 0)], np.nan)
    return PointInTime(name, pd.Series(laid, index=sessions, name=name), rows, ordered)


def by_series(observations: Iterable[Observation]) -> dict[str, list[Observation]]:
    """Observations grouped by series id, in input order."""
    out: dict[str, list[Observation]] = {}
    for o in observations:
        out.setdefault(o.series, []).append(o)
    return out


def override(
    base: Mapping[str, Sequence[Observation]], over: Mapping[str, Sequence[Observation]]
) -> dict[str, list[Observation]]:
    """`base` with every series that `over` has replaced whole (a user's file beats a source:
    mixing a vendor's figures with another source's within one series would blend two
    definitions)."""
    out = {k: list(v) for k, v in base.items()}
    out.update({k: list(v) for k, v in over.items()})
    return out
