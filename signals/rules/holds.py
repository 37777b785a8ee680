"""Whether a rule's condition holds on one session, and what its stored state means now.

A rule fires on a *change* (a crossing, a combination becoming true), so a condition that was
already true when the bot started never fires until it clears and comes back. These two pure
functions let the bot say so: `holds_now` answers "is the condition true on this session?"
from the same input `step` takes, and `phase_of` reads a stored `RuleState` as one of a few
plain phases (firing, pending, cooling down, armed, waiting to clear).

What holds means, per kind of rule:
- crossing: the value is *past* the threshold (>= for crosses_above, <= for crosses_below),
  the same test `step` counts towards confirm;
- all / any: every / at least one level test holds; a missing input makes the answer
  "no data", as `step` never moves a rule on part of its data;
- changes: not applicable (a label change is an event, not a condition).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from signals.indicators.json_values import finite_number as _number
from signals.rules.spec import RuleSpec
from signals.rules.state import RuleState, Status

__all__ = [
    "ConditionCheck",
    "Holding",
    "Phase",
    "Verdict",
    "cooldown_left",
    "holds_now",
    "phase_of",
]


class Verdict(StrEnum):
    """The answer to "does the rule's condition hold on this session?"."""

    YES = "yes"
    NO = "no"
    NO_DATA = "no data"
    NOT_APPLICABLE = "n/a"


@dataclass(frozen=True, slots=True)
class ConditionCheck:
    """One level test on one session: `signal op threshold` with the value seen.

    op: the level operator (`at_least`/`at_most` for a crossing rule's past test, or a
    condition's own op). value None: the input is missing; holds None likewise.
    """

    signal: str
    op: str
    threshold: float
    value: float | None
    holds: bool | None


@dataclass(frozen=True, slots=True)
class Holding:
    """Whether `rule_id`'s condition holds, with the values it was decided on.

    value: the signal's value (crossing), how many tests hold (combined; None when an input
    is missing), the label (changes) or None when missing.
    checks: one per level test (one for a crossing rule, none for changes).
    """

    rule_id: str
    verdict: Verdict
    value: float | str | None
    checks: tuple[ConditionCheck, ...] = ()

    @property
    def holds(self) -> bool:
        return self.verdict == Verdict.YES


class Phase(StrEnum):
    """A stored rule state in words: where the rule is in its fire / resolve cycle."""

    NEW = "not started"  # no session with a value stepped yet
    FIRING = "firing"
    PENDING = "pending"  # past, counting towards confirm
    COOLING = "cooling down"  # could fire next session but for the cooldown of its last firing
    ARMED = "armed"  # can fire on the next past session
    WAITING = "waiting to clear"  # past at the start or since it fired: re-arms once cleared


def holds_now(rule: RuleSpec, value: Any) -> Holding:
    """Whether `rule`'s condition holds on a session with input `value`.

    value: as `step` takes it: a number (crossing), a label (changes), or a mapping signal
    path -> number with every condition's signal (combined; a missing key is missing data).
    """
    if rule.op == "changes":
        return Holding(rule.id, Verdict.NOT_APPLICABLE, _label(value))
    if rule.signal is not None:
        x = _number(value)
        above = rule.op == "crosses_above"
        assert rule.threshold is not None  # set for every crossing rule at validation
        if x is None:
            check = ConditionCheck(rule.signal, _past_op(above), rule.threshold, None, None)
            return Holding(rule.id, Verdict.NO_DATA, None, (check,))
        past = x >= rule.threshold if above else x <= rule.threshold
        check = ConditionCheck(rule.signal, _past_op(above), rule.threshold, x, past)
        return Holding(rule.id, Verdict.YES if past else Verdict.NO, x, (check,))
    if not isinstance(value, Mapping):
        raise TypeError(f"rule {rule.id}: expected a mapping of signal path -> value")
    checks = []
    for c in rule.conditions:
        x = _number(value.get(c.signal))
        checks.append(
            ConditionCheck(c.signal, c.op, c.threshold, x, None if x is None else c.holds(x))
        )
    if any(c.holds is None for c in checks):
        return Holding(rule.id, Verdict.NO_DATA, None, tuple(checks))
    held = sum(1 for c in checks if c.holds)
    ok = held == len(checks) if rule.all else held > 0
    return Holding(rule.id, Verdict.YES if ok else Verdict.NO, float(held), tuple(checks))


def phase_of(rule: RuleSpec, state: RuleState) -> Phase:
    """Where a stored state leaves the rule before its next session (see `Phase`).

    Cooling down: armed (or pending with confirm met on the next past session), but the next
    session (the state's last index + 1) still falls within `cooldown_days` sessions of the
    last firing, so it could not fire there.
    """
    if not state.started:
        return Phase.NEW
    if state.status == Status.FIRING:
        return Phase.FIRING
    if not state.armed:
        return Phase.WAITING
    cooling = cooldown_left(rule, state) > 0
    if state.status == Status.PENDING:
        # confirm is met on the next past session: only the cooldown can hold it back
        return Phase.COOLING if cooling and state.streak + 1 >= rule.confirm else Phase.PENDING
    return Phase.COOLING if cooling else Phase.ARMED


def cooldown_left(rule: RuleSpec, state: RuleState) -> int:
    """How many of the sessions after the state's last one still fall in the cooldown of
    the last firing (0: the next session may fire)."""
    if state.last_fired_index is None or state.last_index is None:
        return 0
    return max(0, state.last_fired_index + rule.cooldown_days - state.last_index)


def _past_op(above: bool) -> str:
    return "at_least" if above else "at_most"


def _label(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = value if isinstance(value, str) else str(value)
    return text if text and text not in ("nan", "<NA>") else None
