"""The values rule evaluation passes around: state, events and a whole run's result.

`RuleState` is explicit and JSON-safe because the bot stores it between runs (one row per rule)
and resumes from it; `Event` is one transition. The logic that moves them is `signals.rules.step`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

import pandas as pd

STATE_VERSION = 1


class Status(StrEnum):
    """A rule's alert status (ok -> pending -> firing, and back to ok when it resolves)."""

    OK = "ok"
    PENDING = "pending"
    FIRING = "firing"


class Transition(StrEnum):
    """What an `Event` records. Only FIRED and RESOLVED are alerts; PENDING is for history."""

    PENDING = "pending"
    FIRED = "fired"
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class RuleState:
    """Everything a rule remembers between sessions; stored as `to_dict()` JSON by the bot.

    started: a session with a value has been seen (the reference is set).
    streak: consecutive past sessions (crossing/combined) or sessions the candidate label has
        held (changes), counted while armed.
    last_index / last_session: the last session stepped (also missing ones).
    last_fired / last_fired_index: the last firing, for cooldown and display.
    last_label: `changes` reference label; pending_label: its candidate.
    clear_streak: consecutive cleared sessions while firing, towards `resolve_confirm`.
        Added later: a stored state without it reads as 0 (a firing rule then counts afresh).
    """

    status: Status = Status.OK
    armed: bool = False
    streak: int = 0
    started: bool = False
    last_index: int | None = None
    last_session: date | None = None
    last_fired: date | None = None
    last_fired_index: int | None = None
    last_label: str | None = None
    pending_label: str | None = None
    clear_streak: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe (dates as ISO strings)."""
        return {
            "version": STATE_VERSION,
            "status": self.status.value,
            "armed": self.armed,
            "streak": self.streak,
            "started": self.started,
            "last_index": self.last_index,
            "last_session": _iso(self.last_session),
            "last_fired": _iso(self.last_fired),
            "last_fired_index": self.last_fired_index,
            "last_label": self.last_label,
            "pending_label": self.pending_label,
            "clear_streak": self.clear_streak,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RuleState:
        """Inverse of `to_dict`; a ValueError says what is wrong with a stored state."""
        version = d.get("version")
        if version != STATE_VERSION:
            raise ValueError(f"rule state version {version!r} is not {STATE_VERSION}")
        try:
            return cls(
                status=Status(d["status"]),
                armed=_typed(d, "armed", bool),
                streak=_typed(d, "streak", int),
                started=_typed(d, "started", bool),
                last_index=_typed(d, "last_index", int, optional=True),
                last_session=_date_or_none(d.get("last_session")),
                last_fired=_date_or_none(d.get("last_fired")),
                last_fired_index=_typed(d, "last_fired_index", int, optional=True),
                last_label=_typed(d, "last_label", str, optional=True),
                pending_label=_typed(d, "pending_label", str, optional=True),
                clear_streak=_typed(d, "clear_streak", int, optional=True) or 0,
            )
        except KeyError as exc:
            raise ValueError(f"rule state lacks {exc.args[0]!r}") from None


#: The state before any session: `evaluate` and `initial_state` start from it.
BLANK = RuleState()


@dataclass(frozen=True, slots=True)
class Event:
    """One transition of one rule on one session.

    value: the signal value (crossing), how many conditions hold (combined), None (changes).
    label / previous: the new and the old label (changes only).
    notify: whether this is an alert to deliver: fired always, resolved if the rule's
        notify_resolved, pending never.
    inputs: the condition inputs of a combined rule, as (signal path, value) pairs.
    """

    rule_id: str
    kind: Transition
    session: date
    value: float | None
    label: str | None = None
    previous: str | None = None
    notify: bool = False
    inputs: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True, slots=True)
class RuleRun:
    """The result of `evaluate`: every transition in order and the state after the last row."""

    rule_id: str
    events: tuple[Event, ...]
    final_state: RuleState

    def of_kind(self, kind: Transition | str) -> tuple[Event, ...]:
        return tuple(e for e in self.events if e.kind == kind)

    @property
    def fired(self) -> tuple[Event, ...]:
        return self.of_kind(Transition.FIRED)

    @property
    def resolved(self) -> tuple[Event, ...]:
        return self.of_kind(Transition.RESOLVED)

    @property
    def pending(self) -> tuple[Event, ...]:
        return self.of_kind(Transition.PENDING)

    def to_frame(self) -> pd.DataFrame:
        """One row per event: session, kind, value, label, previous, notify."""
        cols = ["session", "kind", "value", "label", "previous", "notify"]
        rows = [
            (pd.Timestamp(e.session), e.kind.value, e.value, e.label, e.previous, e.notify)
            for e in self.events
        ]
        return pd.DataFrame(rows, columns=cols)


def _iso(d: date | None) -> str | None:
    return None if d is None else d.isoformat()


def _date_or_none(v: Any) -> date | None:
    return None if v is None else date.fromisoformat(v)


def _typed(d: Mapping[str, Any], key: str, kind: type, optional: bool = False) -> Any:
    v = d.get(key) if optional else d[key]
    if v is None and optional:
        return None
    if not isinstance(v, kind) or (kind is int and isinstance(v, bool)):
        raise ValueError(f"rule state field {key!r}: expected {kind.__name__}, got {v!r}")
    return v
