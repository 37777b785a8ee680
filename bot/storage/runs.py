"""Evaluation runs: one row per evaluation (or failed refresh), what it saw and what came of it.

`Runs` works inside a transaction someone else opened (an evaluation writes its run with its
alerts); `record_failed_run` opens its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.model import Clock, utcnow
from bot.storage.store import Store, as_utc
from bot.storage.tables import Run

#: characters of a failure's reason kept in its run row
_REASON_CHARS = 2000


@dataclass(frozen=True)
class RunStart:
    """What is known when a run starts."""

    as_of: date
    started_at: datetime
    source: str
    simulated: bool


@dataclass(frozen=True)
class RunEnd:
    """How a run ended, and how fresh its data was (None where the guard did not look)."""

    finished_at: datetime
    outcome: str  # initialized | evaluated | guarded | up_to_date
    reason: str | None
    sessions_evaluated: int
    alerts: int
    last_session: date | None = None
    stale_sessions: int | None = None
    coverage: float | None = None


@dataclass(frozen=True)
class RunSummary:
    """A recorded run; datetimes in UTC (SQLite returns them naive)."""

    id: int
    as_of: date
    started_at: datetime
    finished_at: datetime | None
    source: str
    simulated: bool
    outcome: str  # running | initialized | evaluated | guarded | up_to_date | error
    reason: str | None
    last_session: date | None
    stale_sessions: int | None
    coverage: float | None
    sessions_evaluated: int
    alerts: int

    @classmethod
    def of(cls, row: Run) -> RunSummary:
        started = as_utc(row.started_at)
        assert started is not None  # a non-null column
        return cls(
            id=row.id,
            as_of=row.as_of,
            started_at=started,
            finished_at=as_utc(row.finished_at),
            source=row.source,
            simulated=row.simulated,
            outcome=row.outcome,
            reason=row.reason,
            last_session=row.last_session,
            stale_sessions=row.stale_sessions,
            coverage=row.coverage,
            sessions_evaluated=row.sessions_evaluated,
            alerts=row.alerts,
        )


class Runs:
    """Run rows within one transaction."""

    def __init__(self, session: Session) -> None:
        self._session = session
        #: runs started in this transaction, held until `finish` updates them in place
        self._open: dict[int, Run] = {}

    def start(self, start: RunStart) -> int:
        """Insert a "running" row now (its id links the alerts) and return its id."""
        run = Run(
            as_of=start.as_of,
            started_at=start.started_at,
            source=start.source,
            simulated=start.simulated,
            outcome="running",
        )
        self._session.add(run)
        self._session.flush()
        self._open[run.id] = run
        return run.id

    def finish(self, run_id: int, end: RunEnd) -> None:
        """Record how a run started in this transaction ended (written at commit)."""
        run = self._open.pop(run_id)
        run.finished_at = end.finished_at
        run.outcome, run.reason = end.outcome, end.reason
        run.sessions_evaluated = end.sessions_evaluated
        run.alerts = end.alerts
        run.last_session = end.last_session
        run.stale_sessions = end.stale_sessions
        run.coverage = end.coverage

    def last(self) -> RunSummary | None:
        """The most recent run, finished or not; None before the first."""
        row = self._session.scalars(select(Run).order_by(Run.id.desc()).limit(1)).first()
        return None if row is None else RunSummary.of(row)


def record_failed_run(store: Store, start: RunStart, reason: str, clock: Clock = utcnow) -> None:
    """A run that never evaluated (its data could not be loaded), in a transaction of its own;
    it finished when written."""
    with store.transaction() as s:
        s.add(
            Run(
                as_of=start.as_of,
                started_at=start.started_at,
                finished_at=clock(),
                source=start.source,
                simulated=start.simulated,
                outcome="error",
                reason=reason[:_REASON_CHARS],
            )
        )
