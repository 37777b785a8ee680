"""Alert rules as data: their spec, their state, and the pure `step` that advances one.

The history path (a backtest, a catch-up) and the live path fold the same `step` over the
same signal values, so they give identical events.
"""

from signals.rules.holds import (
    ConditionCheck,
    Holding,
    Phase,
    Verdict,
    cooldown_left,
    holds_now,
    phase_of,
)
from signals.rules.spec import (
    CONDITION_OPS,
    RULE_OPS,
    SEVERITIES,
    TEMPLATE_FIELDS,
    Condition,
    RuleConfigError,
    RuleSpec,
    render_message,
)
from signals.rules.state import BLANK, Event, RuleRun, RuleState, Status, Transition
from signals.rules.step import evaluate, event_message, initial_state, rule_inputs, step

__all__ = [
    "BLANK",
    "CONDITION_OPS",
    "RULE_OPS",
    "SEVERITIES",
    "TEMPLATE_FIELDS",
    "Condition",
    "ConditionCheck",
    "Event",
    "Holding",
    "Phase",
    "RuleConfigError",
    "RuleRun",
    "RuleSpec",
    "RuleState",
    "Status",
    "Transition",
    "Verdict",
    "cooldown_left",
    "evaluate",
    "event_message",
    "holds_now",
    "initial_state",
    "phase_of",
    "render_message",
    "rule_inputs",
    "step",
]
