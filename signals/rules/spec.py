"""Rule definitions: the validated, frozen form of one `rules:` entry of the config.

Pure and free of pydantic: the bot's settings layer reads the YAML and calls
`RuleSpec.from_dict` for each entry; every problem is a `RuleConfigError` naming the rule and
the field, so a bad config fails at start and never at alert time. The state machine that
evaluates a rule lives in `signals.rules.step`.
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from signals.errors import SignalsError

CROSSING_OPS: tuple[str, ...] = ("crosses_above", "crosses_below")
RULE_OPS: tuple[str, ...] = (*CROSSING_OPS, "changes")
CONDITION_OPS: tuple[str, ...] = ("above", "below", "at_least", "at_most")
SEVERITIES: tuple[str, ...] = ("info", "warning")

RuleKind = Literal["crossing", "changes", "combined"]

_RULE_KEYS = frozenset(
    {
        "id",
        "signal",
        "op",
        "threshold",
        "clear",
        "confirm",
        "resolve_confirm",
        "cooldown_days",
        "severity",
        "notify_resolved",
        "message",
        "all",
        "any",
    }
)
_CONDITION_KEYS = frozenset({"signal", "op", "threshold", "clear"})
#: condition ops that hold above their threshold (the others hold below it)
_UPWARD_OPS = frozenset({"above", "at_least"})
_SIGNAL_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")

#: The names a message template may use, per kind of rule (see `render_message`).
TEMPLATE_FIELDS: dict[str, frozenset[str]] = {
    "crossing": frozenset({"id", "signal", "value", "threshold", "clear", "severity"}),
    "changes": frozenset({"id", "signal", "value", "label", "previous", "severity"}),
    "combined": frozenset({"id", "value", "total", "severity"}),
}

_DEFAULT_MESSAGES: dict[str, str] = {
    "crosses_above": "{signal} crossed above {threshold:g}: {value:.2f}",
    "crosses_below": "{signal} crossed below {threshold:g}: {value:.2f}",
    "changes": "{signal} changed from {previous} to {label}",
    "all": "{id}: all {total} conditions hold",
    "any": "{id}: {value:.0f} of {total} conditions hold",
}


class RuleConfigError(SignalsError, ValueError):
    """A rule entry is invalid; says which rule and which field, so the operator can fix it."""

    def __init__(self, rule_id: str | None, field: str, message: str) -> None:
        self.rule_id = rule_id
        self.field = field
        self.message = message
        super().__init__(f"rule {rule_id or '<unnamed>'!s}, field {field!r}: {message}")


@dataclass(frozen=True, slots=True)
class Condition:
    """One level test of an `all`/`any` rule: `signal op threshold` on a single session.

    `clear` is the level the value must pass the other way, strictly, for the test to count as
    cleared (below it for above/at_least, above it for below/at_most); it defaults to the
    threshold and gives a combination the same hysteresis band as a crossing.
    """

    signal: str
    op: str  # above (>) | below (<) | at_least (>=) | at_most (<=)
    threshold: float
    clear: float | None = None

    def holds(self, value: float) -> bool:
        """The test on a non-missing value (the caller handles NaN)."""
        if self.op == "above":
            return value > self.threshold
        if self.op == "below":
            return value < self.threshold
        if self.op == "at_least":
            return value >= self.threshold
        return value <= self.threshold

    def cleared(self, value: float) -> bool:
        """Past the clear level the other way, strictly (the caller handles NaN)."""
        level = self.threshold if self.clear is None else self.clear
        return value < level if self.op in _UPWARD_OPS else value > level


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """One alert rule. Construct through `from_dict` (config) or directly (tests, code).

    Exactly one of `signal` (with `op`) or `all`/`any` is set. `clear` defaults to `threshold`
    (also per condition) and `message` to a plain template for the rule's kind; both are filled
    in on construction, so a `RuleSpec` always holds its effective values. `resolve_confirm`
    is how many consecutive cleared sessions a firing rule needs before it resolves.
    """

    id: str
    signal: str | None = None
    op: str | None = None
    threshold: float | None = None
    clear: float | None = None
    confirm: int = 1
    resolve_confirm: int = 1
    cooldown_days: int = 0
    severity: str = "info"
    notify_resolved: bool = False
    message: str = ""
    all: tuple[Condition, ...] = ()
    any: tuple[Condition, ...] = ()

    def __post_init__(self) -> None:
        _validate(self)

    @property
    def kind(self) -> RuleKind:
        """crossing (crosses_above/below), changes (a label) or combined (all/any)."""
        if self.conditions:
            return "combined"
        return "changes" if self.op == "changes" else "crossing"

    @property
    def conditions(self) -> tuple[Condition, ...]:
        """The `all` or `any` conditions (empty for single-signal rules)."""
        return self.all or self.any

    @property
    def inputs(self) -> tuple[str, ...]:
        """The signal paths this rule reads, in order and without repeats."""
        if self.signal is not None:
            return (self.signal,)
        return tuple(dict.fromkeys(c.signal for c in self.conditions))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RuleSpec:
        """Build a rule from one config entry; a `RuleConfigError` names any bad field."""
        if not isinstance(d, Mapping):
            raise RuleConfigError(None, "rule", f"expected a mapping, got {type(d).__name__}")
        rule_id = d.get("id")
        if not isinstance(rule_id, str) or not rule_id.strip():
            raise RuleConfigError(None, "id", "every rule needs a non-empty string id")
        for key in d:
            if key not in _RULE_KEYS:
                raise RuleConfigError(
                    rule_id, str(key), f"unknown field (allowed: {', '.join(sorted(_RULE_KEYS))})"
                )
        kwargs: dict[str, Any] = {k: v for k, v in d.items() if k not in ("all", "any")}
        for key in ("all", "any"):
            if key in d and d[key] is not None:
                kwargs[key] = _parse_conditions(rule_id, key, d[key])
        if kwargs.get("message") is None:
            kwargs.pop("message", None)  # `message:` left empty in YAML -> the default
        return cls(**kwargs)


def _parse_conditions(rule_id: str, key: str, raw: Any) -> tuple[Condition, ...]:
    if isinstance(raw, (str, bytes, Mapping)) or not hasattr(raw, "__iter__"):
        raise RuleConfigError(rule_id, key, "expected a list of {signal, op, threshold[, clear]}")
    if not raw:
        raise RuleConfigError(rule_id, key, "needs at least one condition")
    out = []
    for i, item in enumerate(raw):
        where = f"{key}[{i}]"
        if not isinstance(item, Mapping):
            raise RuleConfigError(
                rule_id, where, "expected a mapping {signal, op, threshold[, clear]}"
            )
        for k in item:
            if k not in _CONDITION_KEYS:
                raise RuleConfigError(rule_id, f"{where}.{k}", "unknown field")
        for k in ("signal", "op", "threshold"):
            if k not in item:
                raise RuleConfigError(rule_id, f"{where}.{k}", "missing")
        out.append(Condition(item["signal"], item["op"], item["threshold"], item.get("clear")))
    return tuple(out)


def _number(rule_id: str, field: str, v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise RuleConfigError(rule_id, field, f"expected a number, got {v!r}")
    if not math.isfinite(v):
        raise RuleConfigError(rule_id, field, f"must be finite, got {v!r}")
    return float(v)


def _int_at_least(rule_id: str, field: str, v: Any, low: int) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < low:
        raise RuleConfigError(rule_id, field, f"expected a whole number >= {low}, got {v!r}")
    return v


def _check_signal(rule_id: str, field: str, v: Any) -> None:
    if not isinstance(v, str) or not _SIGNAL_PATH.match(v):
        raise RuleConfigError(
            rule_id, field, f"expected a signal id or dotted path like smallcap_rs.iwm_qqq: {v!r}"
        )


def _validate(r: RuleSpec) -> None:
    """Every check in one flat list, so each error names its field."""
    rid = r.id
    if not isinstance(rid, str) or not rid.strip():
        raise RuleConfigError(None, "id", "every rule needs a non-empty string id")
    put = object.__setattr__  # frozen: normalise the effective values once, here
    put(r, "all", tuple(r.all))
    put(r, "any", tuple(r.any))
    if r.all and r.any:
        raise RuleConfigError(rid, "any", "give either all or any, not both")
    if r.signal is not None and r.conditions:
        raise RuleConfigError(rid, "signal", "give either signal (with op) or all/any, not both")
    if r.signal is None and not r.conditions:
        raise RuleConfigError(rid, "signal", "missing: give a signal with op, or all/any")
    if r.conditions:
        key = "all" if r.all else "any"
        for name in ("op", "threshold", "clear"):
            if getattr(r, name) is not None:
                raise RuleConfigError(
                    rid, name, f"not used by an {key} rule (each condition has one)"
                )
        for i, c in enumerate(r.conditions):
            _check_signal(rid, f"{key}[{i}].signal", c.signal)
            if c.op not in CONDITION_OPS:
                raise RuleConfigError(
                    rid, f"{key}[{i}].op", f"unknown op {c.op!r} (use {', '.join(CONDITION_OPS)})"
                )
            t = _number(rid, f"{key}[{i}].threshold", c.threshold)
            clear = t if c.clear is None else _number(rid, f"{key}[{i}].clear", c.clear)
            if c.op in _UPWARD_OPS and clear > t:
                raise RuleConfigError(
                    rid,
                    f"{key}[{i}].clear",
                    f"must be <= threshold {t:g} for {c.op}, got {clear:g}",
                )
            if c.op not in _UPWARD_OPS and clear < t:
                raise RuleConfigError(
                    rid,
                    f"{key}[{i}].clear",
                    f"must be >= threshold {t:g} for {c.op}, got {clear:g}",
                )
            object.__setattr__(c, "threshold", t)
            object.__setattr__(c, "clear", clear)
    else:
        _check_signal(rid, "signal", r.signal)
        if r.op is None:
            raise RuleConfigError(rid, "op", f"missing (use {', '.join(RULE_OPS)})")
        if r.op not in RULE_OPS:
            raise RuleConfigError(rid, "op", f"unknown op {r.op!r} (use {', '.join(RULE_OPS)})")
        if r.op == "changes":
            for name in ("threshold", "clear"):
                if getattr(r, name) is not None:
                    raise RuleConfigError(
                        rid, name, "not used by a changes rule (it compares labels)"
                    )
            if r.notify_resolved is True:
                raise RuleConfigError(
                    rid,
                    "notify_resolved",
                    "a changes rule never resolves (a change is an event)",
                )
            if _int_at_least(rid, "resolve_confirm", r.resolve_confirm, 1) > 1:
                raise RuleConfigError(
                    rid,
                    "resolve_confirm",
                    "a changes rule never resolves (a change is an event)",
                )
        else:
            if r.threshold is None:
                raise RuleConfigError(rid, "threshold", f"missing (required by {r.op})")
            thr = _number(rid, "threshold", r.threshold)
            clear = thr if r.clear is None else _number(rid, "clear", r.clear)
            if r.op == "crosses_above" and clear > thr:
                raise RuleConfigError(
                    rid, "clear", f"must be <= threshold {thr:g} for crosses_above, got {clear:g}"
                )
            if r.op == "crosses_below" and clear < thr:
                raise RuleConfigError(
                    rid, "clear", f"must be >= threshold {thr:g} for crosses_below, got {clear:g}"
                )
            put(r, "threshold", thr)
            put(r, "clear", clear)
    _int_at_least(rid, "confirm", r.confirm, 1)
    _int_at_least(rid, "resolve_confirm", r.resolve_confirm, 1)
    _int_at_least(rid, "cooldown_days", r.cooldown_days, 0)
    if r.severity not in SEVERITIES:
        raise RuleConfigError(rid, "severity", f"expected one of {SEVERITIES}, got {r.severity!r}")
    if not isinstance(r.notify_resolved, bool):
        raise RuleConfigError(
            rid, "notify_resolved", f"expected true/false, got {r.notify_resolved!r}"
        )
    if not isinstance(r.message, str):
        raise RuleConfigError(rid, "message", f"expected a string template, got {r.message!r}")
    if not r.message.strip():
        kind = "all" if r.all else "any" if r.any else r.op
        assert kind is not None  # checked above: a rule has an op, all or any
        put(r, "message", _DEFAULT_MESSAGES[kind])
    _check_template(r)


def _check_template(r: RuleSpec) -> None:
    """Reject a template that could fail at alert time: unknown names, then a sample render."""
    allowed = TEMPLATE_FIELDS[r.kind]
    try:
        parsed = list(string.Formatter().parse(r.message))
    except ValueError as exc:  # unbalanced braces
        raise RuleConfigError(r.id, "message", f"bad template: {exc}") from None
    for _, name, _, _ in parsed:
        if name is None:
            continue
        if name not in allowed:
            raise RuleConfigError(
                r.id,
                "message",
                f"unknown name {{{name}}} in template (use {', '.join(sorted(allowed))})",
            )
    if r.kind == "changes":
        sample: Any = "sample_label"
    elif r.kind == "combined":
        sample = float(len(r.conditions))
    else:
        sample = r.threshold
    try:
        r.message.format_map(_context(r, sample, "sample_label", "sample_previous"))
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        raise RuleConfigError(
            r.id, "message", f"template fails on a sample value {sample!r}: {exc}"
        ) from None


def _context(r: RuleSpec, value: Any, label: str | None, previous: str | None) -> dict[str, Any]:
    ctx: dict[str, Any] = {"id": r.id, "severity": r.severity, "value": value}
    if r.kind == "crossing":
        ctx.update(signal=r.signal, threshold=r.threshold, clear=r.clear)
    elif r.kind == "changes":
        ctx.update(signal=r.signal, label=label, previous=previous)
    else:
        ctx["total"] = len(r.conditions)
    return ctx


def render_message(
    rule: RuleSpec, value: Any, label: str | None = None, previous: str | None = None
) -> str:
    """The rule's message for one event; never raises (templates are checked at validation).

    Names: crossing rules `{value}` (the signal), `{threshold}`, `{clear}`, `{signal}`;
    changes rules `{value}`/`{label}` (the new label), `{previous}`, `{signal}`; combined rules
    `{value}` (how many conditions hold) and `{total}`; all rules `{id}`, `{severity}`.
    """
    if rule.kind == "changes" and value is None:
        value = label
    try:
        return rule.message.format_map(_context(rule, value, label, previous))
    except (ValueError, TypeError, KeyError, IndexError, AttributeError):
        # Validation rendered a sample; this only catches odd runtime values (e.g. None).
        shown = label if label is not None else value
        return f"{rule.id}: {shown}"
