"""The freshness/coverage guard (DESIGN §4): may rules evaluate on this session's data?

Rules evaluate only when the data is at most `max_stale_sessions` old and at least
`min_coverage` of the members have a close; otherwise the session is guarded and the run
records why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd

from bot.settings import GuardSettings
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
    out = []
    for ts, row in table.iterrows():
        cov = None if pd.isna(row["coverage"]) else float(row["coverage"])
        stale = int(row["stale_sessions"])
        last = None if pd.isna(row["last_session"]) else row["last_session"].date()
        reason = None
        if stale > guard.max_stale_sessions:
            reason = f"data is {stale} session(s) old (last session with data: {last})"
        elif cov is None or cov < guard.min_coverage:
            shown = "none" if cov is None else f"{cov:.0%}"
            reason = f"only {shown} of members have a close (minimum {guard.min_coverage:.0%})"
        out.append(SessionCheck(ts.date(), stale, cov, last, reason))
    return out
