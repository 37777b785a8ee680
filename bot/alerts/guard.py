"""The freshness/coverage guard: may rules evaluate on this session's data?

Rules evaluate only when the data is at most `max_stale_sessions` old and at least
`min_coverage` of the members expected on the session have a close on it (a member missing
from the price file counts as missing); otherwise the session is guarded and the run records
why. A history with known gaps runs with a lower `min_coverage`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from bot.config import GuardSettings
from signals.freshness import freshness_table
from signals.market import MarketData


@dataclass(frozen=True)
class SessionCheck:
    """The guard's verdict on one session."""

    session: date
    stale_sessions: int
    coverage: float | None
    last_session: date | None
    reason: str | None  # None = fresh enough to evaluate


def session_checks(
    data: MarketData, sessions: pd.DatetimeIndex, guard: GuardSettings
) -> list[SessionCheck]:
    """One verdict per session, from one vectorised freshness pass."""
    table = freshness_table(data, sessions)
    out: list[SessionCheck] = []
    for ts, last_ts, stale, cov, reported, expected in zip(
        table.index,
        table["last_session"],
        table["stale_sessions"].to_numpy(),
        table["coverage"].to_numpy(),
        table["members_reported"].to_numpy(),
        table["members_expected"].to_numpy(),
        strict=True,
    ):
        coverage = None if np.isnan(cov) else float(cov)
        last = None if pd.isna(last_ts) else last_ts.date()
        reason: str | None = None
        if stale > guard.max_stale_sessions:
            reason = f"data is {stale} session(s) old (last session with data: {last})"
        elif coverage is None or coverage < guard.min_coverage:
            shown = "none" if coverage is None else f"{coverage:.0%}"
            reason = (
                f"only {shown} of members have a close ({reported} of {expected}; "
                f"guard.min_coverage is {guard.min_coverage:.0%})"
            )
        out.append(SessionCheck(ts.date(), int(stale), coverage, last, reason))
    return out
