"""Signal history + stored rule state -> new alerts, written once (DESIGN §2, §4, §5).

Every evaluation walks the NYSE sessions after the last evaluated one up to its as-of
session, in order, stepping each rule with `signals.rules.step.step` — the same fold a backtest
uses, so the live path and the history path agree to the day. Rule state, the alert log, the
run record and the outbox rows are written in one transaction; the alert key (rule,
transition, session) is unique, so a restart, a re-run or a racing evaluation never records
(or sends) an alert twice.

- First start: the rules' state is set from the as-of session's values, silently.
- Guard: a session whose data is stale or thin is not evaluated (rules keep their state) and
  the run says why. Guarded sessions at the end of the range are retried on the next run, so a
  late data feed loses nothing; after `data_health_after` of them admins get one notice.
- Catch-up after downtime: alerts older than `late_after_sessions` are marked late (or only
  recorded, with `late_policy: skip`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bot.alerts.guard import SessionCheck, session_checks
from bot.config import AlertSettings, GuardSettings
from bot.model import AlertGroup, AlertItem, MessageKind, TextMessage
from bot.storage import AlertRow, EngineState, RuleStateRow, Run, Store, outbox, utcnow
from signals import calendar
from signals.indicators.history import SignalHistory
from signals.market import MarketData
from signals.rules.step import BLANK, RuleSpec, RuleState, event_message, step

log = logging.getLogger(__name__)

DATA_HEALTH_RULE = "data_health"


@dataclass(frozen=True)
class EvaluationResult:
    """What one evaluation did (also recorded as a `Run` row)."""

    run_id: int
    as_of: date
    outcome: str  # initialized | evaluated | guarded | up_to_date
    reason: str | None
    evaluated: tuple[date, ...] = ()
    guarded: tuple[SessionCheck, ...] = ()
    alerts: tuple[AlertItem, ...] = field(default_factory=tuple)
    check: SessionCheck | None = None


class RuleInputs:
    """Each rule's input per session, looked up once per evaluation (not per step)."""

    def __init__(self, rules: Sequence[RuleSpec], history: SignalHistory) -> None:
        self._rules = rules
        self._history = history
        self._cache: dict[str, pd.Series] = {}

    def _series(self, path: str) -> pd.Series:
        if path not in self._cache:
            self._cache[path] = self._history.series(path)
        return self._cache[path]

    def value(self, rule: RuleSpec, session: pd.Timestamp) -> object:
        if rule.signal is not None:
            path = rule.signal
            if rule.op == "changes" and "." not in path:
                path = f"{path}.label"
            return self._series(path).get(session, np.nan)
        return {p: self._series(p).get(session, np.nan) for p in rule.inputs}


class Engine:
    """Evaluates the configured rules against a store. One instance per store."""

    def __init__(
        self,
        store: Store,
        rules: Sequence[RuleSpec],
        guard: GuardSettings | None = None,
        alerts: AlertSettings | None = None,
        *,
        enqueue: bool = True,
    ) -> None:
        self.store = store
        self.rules = list(rules)
        self.guard = guard or GuardSettings()
        self.alert_settings = alerts or AlertSettings()
        self.enqueue = enqueue
        self._severity = {r.id: r.severity for r in self.rules}

    # --- the guard ------------------------------------------------------------------------

    def checks(self, data: MarketData, sessions: pd.DatetimeIndex) -> list[SessionCheck]:
        return session_checks(data, sessions, self.guard)

    # --- evaluation -----------------------------------------------------------------------

    def evaluate(
        self,
        history: SignalHistory,
        data: MarketData,
        as_of: pd.Timestamp | date | None = None,
        now: datetime | None = None,
    ) -> EvaluationResult:
        """Evaluate every session after the stored one up to `as_of` (default: the last
        session of the data), in one transaction. A first start racing another process's
        first start loses on the primary key and then simply finds the state it wrote."""
        try:
            return self._evaluate(history, data, as_of, now)
        except IntegrityError:
            log.info("another evaluation committed first; evaluating again from its state")
            return self._evaluate(history, data, as_of, now)

    def _evaluate(
        self,
        history: SignalHistory,
        data: MarketData,
        as_of: pd.Timestamp | date | None,
        now: datetime | None,
    ) -> EvaluationResult:
        now = now or utcnow()
        as_of_ts = calendar.session_on_or_before(
            pd.Timestamp(as_of) if as_of is not None else data.closes.index[-1]
        )
        with self.store.transaction() as s:
            engine_row = s.get(EngineState, 1, with_for_update=True)
            run = Run(
                as_of=as_of_ts.date(),
                started_at=now,
                source=data.source,
                simulated=data.simulated,
                outcome="running",
            )
            s.add(run)
            s.flush()
            if engine_row is None:
                result = self._initialize(s, run, history, data, as_of_ts)
            else:
                result = self._catch_up(s, run, engine_row, history, data, as_of_ts, now)
            run.finished_at = utcnow()
            run.outcome, run.reason = result.outcome, result.reason
            run.sessions_evaluated = len(result.evaluated)
            run.alerts = len(result.alerts)
            if result.check is not None:
                run.last_session = result.check.last_session
                run.stale_sessions = result.check.stale_sessions
                run.coverage = result.check.coverage
        log.info(
            "evaluation as of %s: %s (%d session(s), %d alert(s))%s",
            result.as_of,
            result.outcome,
            len(result.evaluated),
            len(result.alerts),
            f": {result.reason}" if result.reason else "",
        )
        return result

    def _initialize(self, s, run: Run, history, data, as_of: pd.Timestamp) -> EvaluationResult:
        """First start: every rule's state from the as-of values; nothing is announced."""
        check = self.checks(data, pd.DatetimeIndex([as_of]))[0]
        inputs = RuleInputs(self.rules, history)
        ordinal = int(calendar.session_ordinal(as_of)[0])
        for rule in self.rules:
            state, _ = step(rule, BLANK, as_of.date(), inputs.value(rule, as_of), ordinal)
            self._save_state(s, rule.id, state, as_of.date())
        s.add(EngineState(id=1, last_session=as_of.date(), version=1))
        return EvaluationResult(
            run.id,
            as_of.date(),
            "initialized",
            "first start: rule state set silently",
            evaluated=(as_of.date(),),
            check=check,
        )

    def _catch_up(
        self, s, run: Run, engine_row: EngineState, history, data, as_of: pd.Timestamp, now
    ) -> EvaluationResult:
        last = pd.Timestamp(engine_row.last_session)
        todo = calendar.sessions(last + pd.Timedelta(days=1), as_of)
        if len(todo) == 0:
            check = self.checks(data, pd.DatetimeIndex([as_of]))[0]
            return EvaluationResult(
                run.id,
                as_of.date(),
                "up_to_date",
                f"already evaluated through {engine_row.last_session}",
                check=check,
            )
        checks = self.checks(data, todo)
        states = self._load_states(s)
        inputs = RuleInputs(self.rules, history)
        ordinals = calendar.session_ordinal(todo)
        as_of_ord = int(ordinals[-1])
        evaluated: list[date] = []
        guarded: list[SessionCheck] = []
        new_alerts: list[tuple[AlertItem, bool]] = []
        for ts, ordinal, check in zip(todo, ordinals, checks, strict=True):
            if check.reason is not None:
                guarded.append(check)
                continue
            guarded.clear()  # only a trailing run of guarded sessions matters
            evaluated.append(ts.date())
            late = as_of_ord - int(ordinal) > self.alert_settings.late_after_sessions
            for rule in self.rules:
                state = states.get(rule.id, BLANK)
                if state.last_index is not None and state.last_index >= ordinal:
                    continue  # this rule already saw the session (added mid-history)
                state, event = step(rule, state, ts.date(), inputs.value(rule, ts), int(ordinal))
                states[rule.id] = state
                if event is not None and event.kind.value in ("fired", "resolved"):
                    item = AlertItem(
                        rule_id=rule.id,
                        transition=event.kind.value,
                        session=event.session,
                        severity=rule.severity,
                        message=event_message(rule, event),
                        value=event.value,
                        threshold=rule.threshold,
                        label=event.label,
                        late=late,
                    )
                    new_alerts.append((item, event.notify))
        with s.no_autoflush:
            for rule in self.rules:
                if rule.id in states:
                    day = (evaluated or [last.date()])[-1]
                    self._save_state(s, rule.id, states[rule.id], day)
        if evaluated:
            engine_row.last_session = evaluated[-1]
        engine_row.version += 1
        items = self._record(s, run, new_alerts, data, as_of, now)
        health = self._data_health(s, run, guarded, data, as_of, now)
        outcome = "evaluated" if evaluated else "guarded"
        reason = None
        if guarded:
            reason = f"{len(guarded)} session(s) not evaluated: {guarded[-1].reason}"
        return EvaluationResult(
            run.id,
            as_of.date(),
            outcome,
            reason,
            tuple(evaluated),
            tuple(guarded),
            tuple(items + health),
            check=checks[-1],
        )

    # --- persistence ----------------------------------------------------------------------

    def _load_states(self, s) -> dict[str, RuleState]:
        # keep the rows: the session's identity map holds them weakly, and _save_state
        # updates them in place instead of querying each one again
        self._rows = {row.rule_id: row for row in s.scalars(select(RuleStateRow)).all()}
        known = {r.id for r in self.rules}
        return {
            rid: RuleState.from_dict(row.state) for rid, row in self._rows.items() if rid in known
        }

    def _save_state(self, s, rule_id: str, state: RuleState, session: date) -> None:
        row = getattr(self, "_rows", {}).get(rule_id) or s.get(RuleStateRow, rule_id)
        if row is None:
            s.add(
                RuleStateRow(
                    rule_id=rule_id, state=state.to_dict(), session=session, updated_at=utcnow()
                )
            )
        else:
            row.state, row.session, row.updated_at = state.to_dict(), session, utcnow()

    def _record(self, s, run: Run, alerts, data: MarketData, as_of, now) -> list[AlertItem]:
        """Alert log rows, then the outbox rows for what is to be delivered."""
        to_send: list[AlertItem] = []
        ids: list[int] = []
        for item, notify in alerts:
            row = AlertRow(
                rule_id=item.rule_id,
                transition=item.transition,
                session=item.session,
                kind=item.kind.value,
                severity=item.severity,
                value=item.value,
                threshold=item.threshold,
                label=item.label,
                message=item.message,
                late=item.late,
                simulated=data.simulated,
                run_id=run.id,
                created_at=now,
                notify=notify,
            )
            s.add(row)
            s.flush()  # a duplicate key fails here and rolls the whole evaluation back
            if notify and not (item.late and self.alert_settings.late_policy == "skip"):
                to_send.append(item)
                ids.append(row.id)
        if to_send and self.enqueue:
            group = AlertGroup(
                as_of=as_of.date(),
                source=data.source,
                simulated=data.simulated,
                items=tuple(to_send),
                footer=self.alert_settings.footer,
            )
            outbox.enqueue_alerts(
                s,
                group_key=f"alerts:{to_send[0].session}:{as_of.date()}",
                group=group,
                rule_severity=self._severity,
                alert_ids=ids,
                now=now,
            )
        return [item for item, _ in alerts]

    def _data_health(self, s, run: Run, guarded, data, as_of, now) -> list[AlertItem]:
        """One notice to admins once `data_health_after` sessions in a row were guarded."""
        if len(guarded) < self.guard.data_health_after:
            return []
        first = guarded[0]
        key = (DATA_HEALTH_RULE, "data_health", first.session)
        exists = s.scalar(
            select(AlertRow.id).where(
                AlertRow.rule_id == key[0],
                AlertRow.transition == key[1],
                AlertRow.session == key[2],
            )
        )
        if exists is not None:
            return []
        message = (
            f"No rule evaluated for {len(guarded)} session(s) since {first.session}: "
            f"{guarded[-1].reason}"
        )
        item = AlertItem(DATA_HEALTH_RULE, "data_health", first.session, "warning", message)
        s.add(
            AlertRow(
                rule_id=key[0],
                transition=key[1],
                session=key[2],
                kind=MessageKind.DATA_HEALTH.value,
                severity="warning",
                value=None,
                threshold=None,
                label=None,
                message=message,
                late=False,
                simulated=data.simulated,
                run_id=run.id,
                created_at=now,
                notify=True,
            )
        )
        s.flush()
        if self.enqueue:
            lines = (message, f"as of {as_of.date()}, source {data.source}")
            outbox.enqueue_message(
                s,
                group_key=f"data_health:{first.session}",
                message=TextMessage(
                    MessageKind.DATA_HEALTH, "Data health", lines, simulated=data.simulated
                ),
                to="admins",
                now=now,
            )
        return [item]
