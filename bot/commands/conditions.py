"""The words for what holds now and where each rule stands, shared by `signals`, `subscribe`
and the startup message (so all three say it alike).

The values come from `bot.alerts.conditions_now`; this module only words them: a cell for
"holds now" with the value it was decided on, a cell for the firing state, and the two lines
("conditions that hold now", "firing now") a subscription and the startup message carry.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.commands.common import number, unit_of
from bot.model import echo
from bot.render import format_plain, format_value
from bot.render import texts as T
from signals.rules import Phase, Verdict, cooldown_left

if TYPE_CHECKING:
    from bot.alerts import RuleCondition
    from signals.rules import Holding, RuleSpec


def holding_value(rule: RuleSpec, holding: Holding) -> str:
    """The value the verdict was decided on: the signal's, "k of n" tests, or the label."""
    if rule.kind == "changes":
        return "—" if holding.value is None else echo(str(holding.value), 24)
    if rule.kind == "combined":
        held = number(holding.value)
        if held is None:
            held = sum(1 for c in holding.checks if c.holds)
        return T.CONDITIONS_HELD.format(held=int(held), n=len(rule.conditions))
    assert rule.signal is not None
    return format_value(number(holding.value), unit_of(rule.signal))


def holds_cell(cond: RuleCondition) -> str:
    """ "yes · 40.2%", "no · 28.5%", "no data", "n/a · rotation"."""
    verdict = cond.holding.verdict
    if verdict == Verdict.NO_DATA:
        return T.HOLDS_NO_DATA
    value = holding_value(cond.rule, cond.holding)
    if verdict == Verdict.NOT_APPLICABLE:
        return T.HOLDS_NOT_APPLICABLE.format(value=value)
    return (T.HOLDS_YES if verdict == Verdict.YES else T.HOLDS_NO).format(value=value)


def phase_cell(cond: RuleCondition) -> str:
    """ "firing since 2026-06-23", "pending 1/3", "cooling down, 4 more sessions", "armed",
    "waiting to clear (< 33)", or "—" when no state is stored."""
    state, rule = cond.state, cond.rule
    if state is None or cond.phase is None:
        return T.STATE_UNKNOWN
    if cond.phase == Phase.FIRING:
        since = "—" if state.last_fired is None else state.last_fired.isoformat()
        return T.PHASE_FIRING.format(date=since)
    if cond.phase == Phase.PENDING:
        return T.PHASE_PENDING.format(streak=state.streak, confirm=rule.confirm)
    if cond.phase == Phase.WAITING:
        if rule.kind == "crossing" and rule.clear is not None:
            op = "<" if rule.op == "crosses_above" else ">"
            return T.PHASE_WAITING_LEVEL.format(op=op, clear=format_plain(rule.clear))
        return T.PHASE_WAITING
    if cond.phase == Phase.COOLING:
        n = cooldown_left(rule, state)
        return T.PHASE_COOLING.format(n=n, s="" if n == 1 else "s")
    return T.PHASE_ARMED if cond.phase == Phase.ARMED else T.PHASE_NEW


def _detail(cond: RuleCondition) -> str:
    """Why it holds, in a few characters: "40.2% ≥ 35", or "2 of 2"."""
    rule = cond.rule
    value = holding_value(rule, cond.holding)
    if rule.kind != "crossing":
        return value
    op = "≥" if rule.op == "crosses_above" else "≤"
    return f"{value} {op} {format_plain(rule.threshold)}"


def holds_not_firing(conds: Sequence[RuleCondition]) -> str | None:
    """The line naming rules that hold but wait to clear before they can fire, if any."""
    waiting = [c for c in conds if c.holding.holds and c.phase == Phase.WAITING]
    if not waiting:
        return None
    items = ", ".join(T.IN_FORCE_ITEM.format(rule=c.rule.id, detail=_detail(c)) for c in waiting)
    return T.HOLDS_NOT_FIRING.format(rules=items)


def _holding_items(conds: Sequence[RuleCondition]) -> list[str]:
    return [
        T.IN_FORCE_ITEM.format(rule=c.rule.id, detail=_detail(c)) for c in conds if c.holding.holds
    ]


def _firing_items(conds: Sequence[RuleCondition]) -> list[str]:
    return [
        T.IN_FORCE_SINCE.format(
            rule=c.rule.id,
            date="—" if c.state is None or c.state.last_fired is None else c.state.last_fired,
        )
        for c in conds
        if c.firing
    ]


def in_force_lines(conds: Sequence[RuleCondition]) -> list[str]:
    """The conditions that hold now (with their values), the rules firing, and the rules
    that hold but wait to clear before they can fire (when there are any)."""
    sessions = [c.session for c in conds if c.session is not None]
    if not sessions:
        holds = T.IN_FORCE_NO_DATA
    else:
        day = max(sessions).isoformat()
        items = _holding_items(conds)
        holds = (
            T.IN_FORCE_HOLDS.format(date=day, rules=", ".join(items))
            if items
            else T.IN_FORCE_NONE_HOLD.format(date=day)
        )
    firing = _firing_items(conds)
    fires = T.IN_FORCE_FIRING.format(rules=", ".join(firing)) if firing else T.IN_FORCE_NONE_FIRING
    waiting = holds_not_firing(conds)
    return [holds, fires] if waiting is None else [holds, fires, waiting]


def startup_lines(conds: Sequence[RuleCondition]) -> list[str]:
    """The startup message's two lines: what holds now and what fires now."""
    holding = _holding_items(conds)
    firing = [c.rule.id for c in conds if c.firing]
    if any(c.session is not None for c in conds):
        holds = ", ".join(holding) if holding else T.STARTUP_NOTHING
    else:
        holds = T.STARTUP_NO_DATA
    return [
        T.STARTUP_HOLDS.format(rules=holds),
        T.STARTUP_FIRING.format(rules=", ".join(firing) if firing else T.STARTUP_NOTHING),
    ]
