"""Signal history + stored rule state -> new alerts, written once (docs/alerts.md).

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
- The chats' own rules (`bot.alerts.own_pass`) are stepped beside the configured ones, in the
  same transaction and over the same sessions, and queued to their own chat only.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

import numpy as np
import pandas as pd

from bot.alerts.guard import SessionCheck, session_checks
from bot.alerts.own_pass import OwnPass
from bot.config import AlertSettings, GuardSettings
from bot.model import (
    AlertGroup,
    AlertItem,
    AlertTransition,
    Clock,
    MessageKind,
    TextMessage,
    utcnow,
)
from bot.storage import (
    EvaluationUnit,
    Progress,
    RunEnd,
    RunStart,
    Store,
    WriteConflict,
    evaluation_unit,
)
from signals import calendar
from signals.indicators import SignalHistory
from signals.market import MarketData
from signals.rules import BLANK, RuleSpec, RuleState, event_message, step

log = logging.getLogger(__name__)

DATA_HEALTH_RULE = "data_health"


@dataclass(frozen=True)
class EvaluationResult:
    """What one evaluation did (also recorded as a run)."""

    run_id: int
    as_of: date
    outcome: str  # initialized | evaluated | guarded | up_to_date
    reason: str | None
    evaluated: tuple[date, ...] = ()
    guarded: tuple[SessionCheck, ...] = ()
    alerts: tuple[AlertItem, ...] = field(default_factory=tuple)
    check: SessionCheck | None = None


@dataclass(frozen=True)
class _NewAlert:
    """A transition found while catching up, and whether its rule announces it."""

    item: AlertItem
    notify: bool


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


def alerts_group_key(first: AlertItem, as_of: date) -> str:
    """The outbox key of one evaluation's alerts to a destination (unique per destination,
    so a re-run adds nothing); a chat's own alerts join the row under the same key."""
    return f"alerts:{first.session}:{as_of}"


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
        clock: Clock = utcnow,
    ) -> None:
        self.store = store
        self.rules = list(rules)
        self.guard = guard or GuardSettings()
        self.alert_settings = alerts or AlertSettings()
        self.enqueue = enqueue
        self.clock = clock
        self._severity = {r.id: r.severity for r in self.rules}
        self._rule_ids = frozenset(self._severity)

    # --- the guard ------------------------------------------------------------------------

    def checks(self, data: MarketData, sessions: pd.DatetimeIndex) -> list[SessionCheck]:
        return session_checks(data, sessions, self.guard)

    # --- evaluation -----------------------------------------------------------------------

    def evaluate(
        self,
        history: SignalHistory,
        data: MarketData,
        as_of: pd.Timestamp | date | str | None = None,
        now: datetime | None = None,
        *,
        cancel: threading.Event | None = None,
    ) -> EvaluationResult:
        """Evaluate every session after the stored one up to `as_of` (default: the last
        session of the data), in one transaction. A first start racing another process's
        first start loses on the primary key and then simply finds the state it wrote. Once
        `cancel` is set it stops and commits nothing (`EvaluationAbandoned`)."""
        try:
            return self._evaluate(history, data, as_of, now, cancel)
        except WriteConflict:
            log.info("another evaluation committed first; evaluating again from its state")
            return self._evaluate(history, data, as_of, now, cancel)

    def _evaluate(
        self,
        history: SignalHistory,
        data: MarketData,
        as_of: pd.Timestamp | date | str | None,
        now: datetime | None,
        cancel: threading.Event | None = None,
    ) -> EvaluationResult:
        now = now or self.clock()
        as_of_ts = calendar.session_on_or_before(
            pd.Timestamp(as_of) if as_of is not None else data.closes.index[-1]
        )
        with evaluation_unit(self.store, self.clock, cancel) as unit:
            progress = unit.progress()
            run_id = unit.runs.start(RunStart(as_of_ts.date(), now, data.source, data.simulated))
            if progress is None:
                result = self._initialize(unit, run_id, history, data, as_of_ts)
            else:
                result = self._catch_up(unit, run_id, progress, history, data, as_of_ts, now)
            check = result.check
            unit.runs.finish(
                run_id,
                RunEnd(
                    finished_at=self.clock(),
                    outcome=result.outcome,
                    reason=result.reason,
                    sessions_evaluated=len(result.evaluated),
                    alerts=len(result.alerts),
                    last_session=None if check is None else check.last_session,
                    stale_sessions=None if check is None else check.stale_sessions,
                    coverage=None if check is None else check.coverage,
                ),
            )
        log.info(
            "evaluation as of %s: %s (%d session(s), %d alert(s))%s",
            result.as_of,
            result.outcome,
            len(result.evaluated),
            len(result.alerts),
            f": {result.reason}" if result.reason else "",
        )
        return result

    def _initialize(
        self,
        unit: EvaluationUnit,
        run_id: int,
        history: SignalHistory,
        data: MarketData,
        as_of: pd.Timestamp,
    ) -> EvaluationResult:
        """First start: every rule's state from the as-of values; nothing is announced."""
        check = self.checks(data, pd.DatetimeIndex([as_of]))[0]
        inputs = RuleInputs(self.rules, history)
        ordinal = int(calendar.session_ordinal(as_of)[0])
        states: dict[str, RuleState] = {}
        for rule in self.rules:
            states[rule.id], _ = step(rule, BLANK, as_of.date(), inputs.value(rule, as_of), ordinal)
        unit.rule_states.save(states, as_of.date())
        own = OwnPass(unit, history, data)  # the chats' own rules start silently too
        own.start(as_of, ordinal)
        own.save(as_of.date())
        unit.start_progress(as_of.date())
        return EvaluationResult(
            run_id,
            as_of.date(),
            "initialized",
            "first start: rule state set silently",
            evaluated=(as_of.date(),),
            check=check,
        )

    def _catch_up(
        self,
        unit: EvaluationUnit,
        run_id: int,
        progress: Progress,
        history: SignalHistory,
        data: MarketData,
        as_of: pd.Timestamp,
        now: datetime,
    ) -> EvaluationResult:
        last = pd.Timestamp(progress.last_session)
        todo = calendar.sessions(last + pd.Timedelta(days=1), as_of)
        if len(todo) == 0:
            check = self.checks(data, pd.DatetimeIndex([as_of]))[0]
            return EvaluationResult(
                run_id,
                as_of.date(),
                "up_to_date",
                f"already evaluated through {progress.last_session}",
                check=check,
            )
        checks = self.checks(data, todo)
        states = unit.rule_states.load(self._rule_ids)
        inputs = RuleInputs(self.rules, history)
        own = OwnPass(unit, history, data)
        own.start(last, int(calendar.session_ordinal(pd.DatetimeIndex([last]))[0]))
        ordinals = calendar.session_ordinal(todo)
        as_of_ord = int(ordinals[-1])
        evaluated: list[date] = []
        guarded: list[SessionCheck] = []
        new_alerts: list[_NewAlert] = []
        for ts, ordinal, check in zip(todo, ordinals, checks, strict=True):
            unit.check_cancel()  # a stopping process gives up between sessions
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
                        transition=AlertTransition(event.kind.value),
                        session=event.session,
                        severity=rule.severity,
                        message=event_message(rule, event),
                        value=event.value,
                        threshold=rule.threshold,
                        label=event.label,
                        late=late,
                    )
                    new_alerts.append(_NewAlert(item, event.notify))
            own.step(ts, int(ordinal), late)
        day = (evaluated or [last.date()])[-1]
        unit.rule_states.save(
            {rule.id: states[rule.id] for rule in self.rules if rule.id in states}, day
        )
        own.save(day)
        unit.advance(evaluated[-1] if evaluated else None)
        items = self._record(unit, run_id, new_alerts, data, as_of, now)
        skip_late = self.alert_settings.late_policy == "skip"
        sent = [n.item for n in new_alerts if n.notify and not (n.item.late and skip_late)]
        items += own.record(
            run_id,
            data,
            as_of.date(),
            now,
            enqueue=self.enqueue,
            skip_late=skip_late,
            footer=self.alert_settings.footer,
            join_key=alerts_group_key(sent[0], as_of.date()) if sent else None,
        )
        health = self._data_health(unit, run_id, guarded, data, as_of, now)
        outcome = "evaluated" if evaluated else "guarded"
        reason = None
        if guarded:
            reason = f"{len(guarded)} session(s) not evaluated: {guarded[-1].reason}"
        return EvaluationResult(
            run_id,
            as_of.date(),
            outcome,
            reason,
            tuple(evaluated),
            tuple(guarded),
            tuple(items + health),
            check=checks[-1],
        )

    # --- what is logged and queued --------------------------------------------------------

    def _record(
        self,
        unit: EvaluationUnit,
        run_id: int,
        alerts: Sequence[_NewAlert],
        data: MarketData,
        as_of: pd.Timestamp,
        now: datetime,
    ) -> list[AlertItem]:
        """Alert log rows, then the outbox rows for what is to be delivered."""
        to_send: list[AlertItem] = []
        ids: list[int] = []
        for new in alerts:
            item = new.item
            # a key already logged fails here and rolls the whole evaluation back
            alert_id = unit.alerts.add(
                item, run_id=run_id, simulated=data.simulated, notify=new.notify, created_at=now
            )
            if new.notify and not (item.late and self.alert_settings.late_policy == "skip"):
                to_send.append(item)
                ids.append(alert_id)
        if to_send and self.enqueue:
            group = AlertGroup(
                as_of=as_of.date(),
                source=data.source,
                simulated=data.simulated,
                items=tuple(to_send),
                footer=self.alert_settings.footer,
            )
            unit.enqueue_alerts(
                group_key=alerts_group_key(to_send[0], as_of.date()),
                group=group,
                rule_severity=self._severity,
                alert_ids=ids,
                now=now,
            )
        return [new.item for new in alerts]

    def _data_health(
        self,
        unit: EvaluationUnit,
        run_id: int,
        guarded: Sequence[SessionCheck],
        data: MarketData,
        as_of: pd.Timestamp,
        now: datetime,
    ) -> list[AlertItem]:
        """One notice to admins once `data_health_after` sessions in a row were guarded."""
        if len(guarded) < self.guard.data_health_after:
            return []
        first = guarded[0]
        message = (
            f"No rule evaluated for {len(guarded)} session(s) since {first.session}: "
            f"{guarded[-1].reason}"
        )
        item = AlertItem(
            DATA_HEALTH_RULE, AlertTransition.DATA_HEALTH, first.session, "warning", message
        )
        logged = unit.alerts.add_new(
            item, run_id=run_id, simulated=data.simulated, notify=True, created_at=now
        )
        if logged is None:  # announced when this streak began
            return []
        if self.enqueue:
            lines = (message, f"as of {as_of.date()}, source {data.source}")
            unit.enqueue_message(
                group_key=f"data_health:{first.session}",
                message=TextMessage(
                    MessageKind.DATA_HEALTH, "Data health", lines, simulated=data.simulated
                ),
                to="admins",
                now=now,
            )
        return [item]
