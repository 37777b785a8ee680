"""The chats' own rules within one evaluation: started, stepped, logged and queued.

The engine drives this beside its configured rules, inside the same transaction and over the
same evaluated sessions (guarded ones are skipped for both), so an own rule has the same
semantics, idempotency (alert key `own:<id>`, transition, session) and outbox as a configured
one. Only its delivery differs: each chat's items go to that chat alone.

A rule with no state yet (new, or resumed) starts silently at the last evaluated session
(at a first start, at the as-of session) and is stepped from the next one on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime

import pandas as pd

from bot.alerts.own_rules import OwnRule, SubjectSeries, alert_message, own_rule
from bot.model import AlertGroup, AlertItem, AlertTransition
from bot.storage import ChatKey, EvaluationUnit, OwnAlert
from signals.indicators import SignalHistory
from signals.market import MarketData
from signals.rules import BLANK, RuleConfigError, RuleState, Transition, step

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _OwnNew:
    alert: OwnAlert
    item: AlertItem
    notify: bool


class OwnPass:
    """One evaluation's pass over the stored own rules (neither paused nor deleted)."""

    def __init__(self, unit: EvaluationUnit, history: SignalHistory, data: MarketData) -> None:
        self._unit = unit
        self._series = SubjectSeries(history, data)
        self._rules: list[tuple[OwnAlert, OwnRule]] = []
        for alert in unit.own_rules.load():
            try:
                own = own_rule(alert.rule_id, alert.spec)
                self._series.series(own.subject)  # built once here; a bad subject is skipped
            except (KeyError, TypeError, ValueError, RuleConfigError) as exc:
                log.error("own rule %s cannot be evaluated, skipped: %s", alert.rule_id, exc)
                continue
            self._rules.append((alert, own))
        self._states: dict[int, RuleState] = {}
        self._new: list[_OwnNew] = []

    def __len__(self) -> int:
        return len(self._rules)

    def start(self, session: pd.Timestamp, ordinal: int) -> None:
        """Take each rule's stored state; a rule without one starts at `session`, silently."""
        for alert, own in self._rules:
            state = alert.state
            if state is None:
                value = own.input_value(self._series.value(own.subject, session))
                state, _ = step(own.rule, BLANK, session.date(), value, ordinal)
            self._states[alert.id] = state

    def step(self, session: pd.Timestamp, ordinal: int, late: bool) -> None:
        """Move every rule by one evaluated session, noting its fired and resolved events."""
        for alert, own in self._rules:
            state = self._states[alert.id]
            if state.last_index is not None and state.last_index >= ordinal:
                continue  # started on this very session
            value = self._series.value(own.subject, session)
            state, event = step(own.rule, state, session.date(), own.input_value(value), ordinal)
            self._states[alert.id] = state
            if event is None or event.kind not in (Transition.FIRED, Transition.RESOLVED):
                continue
            item = AlertItem(
                rule_id=alert.rule_id,
                transition=AlertTransition(event.kind.value),
                session=event.session,
                severity=own.rule.severity,
                message=alert_message(alert.number, alert.text, value),
                value=value,
                threshold=own.threshold,
                late=late,
            )
            self._new.append(_OwnNew(alert, item, event.notify))

    def save(self, day: date) -> None:
        """Store each rule's state as of `day`."""
        self._unit.own_rules.save(self._states, day)

    def record(
        self,
        run_id: int,
        data: MarketData,
        as_of: date,
        now: datetime,
        *,
        enqueue: bool,
        skip_late: bool,
        footer: str,
        join_key: str | None = None,
    ) -> list[AlertItem]:
        """Log every event; queue what is announced to its chat alone: into the message the
        configured alerts of this evaluation (`join_key`) already have for that chat, if any,
        else as a message of its own."""
        by_chat: dict[ChatKey, list[tuple[AlertItem, int]]] = {}
        for new in self._new:
            alert_id = self._unit.alerts.add(
                new.item, run_id=run_id, simulated=data.simulated, notify=new.notify, created_at=now
            )
            if new.notify and not (new.item.late and skip_late):
                by_chat.setdefault(new.alert.chat, []).append((new.item, alert_id))
        if enqueue:
            for chat, pairs in by_chat.items():
                items = tuple(item for item, _ in pairs)
                group = AlertGroup(
                    as_of=as_of,
                    source=data.source,
                    simulated=data.simulated,
                    items=items,
                    footer=footer,
                )
                self._unit.own_rules.enqueue(
                    chat,
                    group_key=join_key or f"alerts:{items[0].session}:{as_of}",
                    group=group,
                    alert_ids=[aid for _, aid in pairs],
                    now=now,
                )
        return [new.item for new in self._new]
