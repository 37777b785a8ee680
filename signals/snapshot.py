"""Every signal as of one session, with its weekly and monthly change and the data's health.

`build_snapshot` reads a `SignalHistory` (computed once per refresh) at the as-of session, so
`/snapshot`, `evaluate --json` and the rules see the same numbers. `freshness` says whether
the data can be trusted that day: how many NYSE sessions it lags behind the as-of
session, and what share of the members expected on it have a close on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from signals import calendar
from signals.errors import DataSourceError
from signals.freshness import freshness_table
from signals.indicators.history import SignalHistory
from signals.indicators.json_values import iso_day, json_safe
from signals.market import MarketData

#: Sessions back for the weekly and the monthly change.
WEEK, MONTH = 5, 21


@dataclass(frozen=True)
class Freshness:
    """last_session: last session on or before as-of with any member close (None: none).
    stale_sessions: NYSE sessions after last_session up to the as-of session.
    coverage: members with a close on the as-of session / members expected on it (the
        universe list, or the membership file's members that day); a member with no prices
        at all counts as missing."""

    last_session: date | None
    stale_sessions: int
    coverage: float


@dataclass(frozen=True)
class SignalReading:
    """A signal's value on the as-of session, its 5- and 21-session changes, and details."""

    value: float | None
    change_1w: float | None
    change_1m: float | None
    details: dict[str, Any]


@dataclass(frozen=True)
class MarketSnapshot:
    """Every signal as of one session; `to_json` is the `evaluate --json` object."""

    as_of: date
    source: str
    simulated: bool
    freshness: Freshness
    signals: Mapping[str, SignalReading]

    def to_json(self) -> dict[str, Any]:
        """Missing numbers are None (never NaN), dates 'YYYY-MM-DD'."""
        return json_safe(
            {
                "as_of": iso_day(self.as_of),
                "source": self.source,
                "simulated": self.simulated,
                "freshness": {
                    "last_session": iso_day(self.freshness.last_session),
                    "stale_sessions": self.freshness.stale_sessions,
                    "coverage": self.freshness.coverage,
                },
                "signals": {
                    signal_id: {
                        "value": r.value,
                        "change_1w": r.change_1w,
                        "change_1m": r.change_1m,
                        **r.details,
                    }
                    for signal_id, r in self.signals.items()
                },
            }
        )


def _as_of_session(data: MarketData, as_of: Any) -> pd.Timestamp:
    """The as-of session: the given day or the session before it; default the panel's end."""
    if as_of is None:
        if len(data.closes.index) == 0:
            raise DataSourceError("no closes at all: there is no session to report on")
        as_of = data.closes.index.max()
    return calendar.session_on_or_before(pd.Timestamp(as_of))


def freshness(data: MarketData, as_of: Any = None) -> Freshness:
    """How far the data lags the as-of session and how complete its last session is (the
    same computation the engine's guard uses, `signals.freshness.freshness_table`)."""
    session = _as_of_session(data, as_of)
    row = freshness_table(data, pd.DatetimeIndex([session])).iloc[0]
    last = row["last_session"]
    return Freshness(
        last_session=None if pd.isna(last) else last.date(),
        stale_sessions=int(row["stale_sessions"]),
        coverage=float(row["coverage"]),
    )


def _number(x: Any) -> float | None:
    x = float(x)
    return x if np.isfinite(x) else None


def _change(values: np.ndarray, pos: int, back: int) -> float | None:
    if pos < back:
        return None
    return _number(values[pos] - values[pos - back])


def build_snapshot(history: SignalHistory, data: MarketData, as_of: Any = None) -> MarketSnapshot:
    """Every signal of `history` read at the as-of session (default: the panel's last
    session; a non-session day maps to the session before it). With stale data the values
    are those of the last session on or before as-of; `freshness` says how stale."""
    session = _as_of_session(data, as_of)
    try:
        pos = history.position(session)
    except KeyError:
        first = iso_day(history.sessions[0]) if len(history.sessions) else "none"
        raise ValueError(
            f"as-of {iso_day(session)} is before the first session of the data ({first})"
        ) from None
    readings: dict[str, SignalReading] = {}
    for signal_id in history.ids():
        values = history.frames[signal_id]["value"].to_numpy(dtype=np.float64)
        readings[signal_id] = SignalReading(
            value=_number(values[pos]),
            change_1w=_change(values, pos, WEEK),
            change_1m=_change(values, pos, MONTH),
            details=history.details_at(signal_id, history.sessions[pos]),
        )
    return MarketSnapshot(
        as_of=session.date(),
        source=data.source,
        simulated=data.simulated,
        freshness=freshness(data, session),
        signals=readings,
    )
