"""One evaluation's writes as one unit of work: the engine's progress, its run, the rules'
state, the alert log and the outbox rows commit together or not at all.

This is the transactional outbox: an alert is never logged without its deliveries, nor queued
without being logged. `evaluation_unit` opens the transaction; the engine does its work
through the `EvaluationUnit` it yields. A unique key that another evaluation committed first
(racing first starts, a duplicate alert) rolls everything back and surfaces as
`WriteConflict`, after which evaluating again starts from what the winner wrote.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.model import AlertGroup, Clock, TextMessage, utcnow
from bot.storage import outbox
from bot.storage.alerts import Alerts
from bot.storage.own_alerts import OwnRuleStates
from bot.storage.rule_state import RuleStates
from bot.storage.runs import Runs
from bot.storage.store import Store
from bot.storage.tables import EngineState

#: the single row of engine-wide progress
_PROGRESS_ID = 1


class WriteConflict(Exception):
    """Another transaction committed a row with the same unique key first; nothing of this
    unit of work was written."""


class EvaluationAbandoned(Exception):
    """The evaluation was given up (the process is stopping): nothing of it was written."""


@dataclass(frozen=True)
class Progress:
    """How far the engine has evaluated; `version` counts the evaluations that ran."""

    last_session: date
    version: int


class EvaluationUnit:
    """The repositories of one evaluation, sharing its transaction."""

    def __init__(
        self, session: Session, clock: Clock = utcnow, cancel: threading.Event | None = None
    ) -> None:
        self._session = session
        self._cancel = cancel
        self.runs = Runs(session)
        self.rule_states = RuleStates(session, clock)
        self.alerts = Alerts(session)
        #: the chats' own rules: loaded, stepped and queued with the configured ones
        self.own_rules = OwnRuleStates(session)
        self._progress: EngineState | None = None

    def check_cancel(self) -> None:
        """Raise `EvaluationAbandoned` (rolling everything back) once the evaluation was
        given up."""
        if self._cancel is not None and self._cancel.is_set():
            raise EvaluationAbandoned("evaluation abandoned: rolled back")

    def progress(self) -> Progress | None:
        """The engine's progress, locked until commit so that racing evaluations take turns
        (FOR UPDATE; SQLite's BEGIN IMMEDIATE has already serialised them). None before the
        first evaluation."""
        row = self._session.get(EngineState, _PROGRESS_ID, with_for_update=True)
        self._progress = row
        return None if row is None else Progress(row.last_session, row.version)

    def start_progress(self, last_session: date) -> None:
        """The first evaluation's progress (a racing first start fails on its key)."""
        self._session.add(EngineState(id=_PROGRESS_ID, last_session=last_session, version=1))

    def advance(self, last_session: date | None) -> None:
        """Count an evaluation that ran; move the last evaluated session when one was."""
        row = self._progress
        if row is None:
            raise RuntimeError("advance() needs the progress that progress() read")
        if last_session is not None:
            row.last_session = last_session
        row.version += 1

    def enqueue_alerts(
        self,
        *,
        group_key: str,
        group: AlertGroup,
        rule_severity: Mapping[str, str],
        alert_ids: Sequence[int],
        now: datetime,
    ) -> int:
        """Outbox rows for `group` in this transaction (see `outbox.enqueue_alerts`)."""
        return outbox.enqueue_alerts(
            self._session,
            group_key=group_key,
            group=group,
            rule_severity=rule_severity,
            alert_ids=alert_ids,
            now=now,
        )

    def enqueue_message(
        self,
        *,
        group_key: str,
        message: TextMessage,
        to: Literal["admins", "subscribers"],
        now: datetime,
    ) -> int:
        """Outbox rows for a notice in this transaction (see `outbox.enqueue_message`)."""
        return outbox.enqueue_message(
            self._session, group_key=group_key, message=message, to=to, now=now
        )


@contextlib.contextmanager
def evaluation_unit(
    store: Store, clock: Clock = utcnow, cancel: threading.Event | None = None
) -> Iterator[EvaluationUnit]:
    """One transaction for a whole evaluation: commit on success, roll back on any error; a
    unique key taken by another transaction is a `WriteConflict`. `clock` stamps the rows.
    Once `cancel` is set (the process stopping), it commits nothing: `EvaluationAbandoned`."""
    try:
        with store.transaction() as session:
            unit = EvaluationUnit(session, clock, cancel)
            yield unit
            store.check_fence(session)  # a deposed leader's evaluation commits nothing
            unit.check_cancel()  # nor does one given up while it ran
    except IntegrityError as exc:
        raise WriteConflict(str(exc).splitlines()[0] if str(exc) else "unique key") from exc
