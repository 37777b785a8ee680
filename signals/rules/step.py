"""Pure rule evaluation: a rule + its series -> the sessions it goes pending, fires and resolves.

One function, `step`, moves a rule's explicit state forward by one session; `evaluate` is the
fold of `step` over a series, so the history path (backtest) and the live path (one session a
day from a stored state) give identical events by construction (docs/rules.md).

Semantics of a crossing rule (crosses_above; crosses_below is the mirror image)
------------------------------------------------------------------------------
- *past*: value >= threshold (<= for crosses_below). *cleared*: value < clear (> clear for
  crosses_below), strictly. clear defaults to threshold; between clear and threshold the value
  is neither (the hysteresis band).
- *armed*: not firing, and cleared (or never past) since the last firing. An armed rule goes
  pending on a past session and fires on the confirm-th consecutive past session (with
  confirm 1 it fires at once, no pending event); a non-past session resets the count and
  returns it to ok.
- A firing rule resolves on the `resolve_confirm`-th consecutive cleared session (default 1:
  the first) and is armed again at once; a session that is not cleared restarts that count.
- A missing session (NaN/None) leaves the state exactly as it was: it neither counts towards
  confirm or resolve_confirm nor resets either count, and cannot fire or resolve. It still
  counts as a session for cooldown.
- The first session with a value is the reference: no event on it; a rule already past there
  starts disarmed and needs a cleared session before it can fire. Leading missing sessions are
  skipped (the rule starts at its first known value), so a signal's warm-up never fires.
- Cooldown (`cooldown_days`, counted in sessions) runs from the *firing* session: the
  cooldown_days sessions after it cannot fire. Resolving is never delayed by it. A rule that
  resolves and re-crosses inside the cooldown goes pending (confirm keeps counting) and fires
  on the first session after the cooldown on which it is past with its confirm count reached;
  if it stops being past meanwhile, the pending crossing is dropped (ok, still armed).

Timeline: crosses_above, threshold 65, clear 60, confirm 2, cooldown_days 3::

    session   0    1    2    3    4    5    6    7    8    9
    value    66   61   59   66  NaN   67   59   66   67   68
    status   ok   ok   ok   pend pend fire ok   pend pend fire
    armed    no   no   yes  yes  yes  no   yes  yes  yes  no
    streak   0    0    0    1    1    0    0    1    2    0
    event    -    -    -    pend -    FIRE res  pend -    FIRE

Session 0 is past but is the reference (disarmed); 1 is in the band (still disarmed); 2 clears
(armed); 3 starts the streak; the NaN at 4 leaves it; 5 completes confirm=2 and fires; 6 clears
and resolves; 7-8 reach confirm again but 6-8 are the cooldown after the firing at 5, so it stays
pending; 9 is the first session after the cooldown, still past: it fires.

`changes` rules (the value is a label; None/NaN/empty = missing)
----------------------------------------------------------------
The first known label is the reference. A label different from the reference that has held
`confirm` consecutive known sessions fires and becomes the new reference; a different candidate
restarts the count, a return to the reference drops it. Cooldown applies as for crossings. A
change is an event, not a condition: there is no resolve (the rule is back to ok at once with the
new reference label), and `notify_resolved` is refused for these rules at validation.

`all` / `any` rules (the value is a mapping signal path -> number)
------------------------------------------------------------------
Each condition holds (`above` >, `below` <, `at_least` >=, `at_most` <=) or is *cleared*: past
its own `clear` level the other way, strictly (clear defaults to the threshold). `all` is past
when every condition holds and cleared when any condition is cleared; `any` is past when one
holds and cleared when every one is cleared. In between the combination is in its band, exactly
as a crossing, with confirm, resolve_confirm and cooldown as above. If any condition's input is
missing, the combination is missing and the state is left as it was — also for `any` with
another condition true: a rule never moves on part of its data. The event's value is how many
conditions hold.

Session indices: `step` takes a strictly increasing integer per session with consecutive
sessions one apart (a position on the NYSE calendar); cooldown is measured in it. `evaluate`
numbers its rows from 0, or from the resumed state's last index + 1, so a series must hold one
row per session (a session without data is a NaN row, not a missing row).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from signals.rules.spec import RuleSpec, render_message
from signals.rules.state import BLANK, Event, RuleRun, RuleState, Status, Transition

__all__ = ["evaluate", "event_message", "initial_state", "rule_inputs", "step"]


def step(
    rule: RuleSpec,
    state: RuleState,
    session: date | pd.Timestamp | None,
    value: Any,
    session_index: int,
) -> tuple[RuleState, Event | None]:
    """Advance `rule` by one session: the new state and the transition it made, if any.

    value: a number (crossing rules), a label (changes), or a mapping signal path -> number
    with every condition's signal (combined; a missing key is a KeyError, a NaN is missing data).
    """
    if state.last_index is not None and session_index <= state.last_index:
        raise ValueError(
            f"rule {rule.id}: session index {session_index} is not after the state's "
            f"last index {state.last_index} (each session is stepped once, in order)"
        )
    day = _as_date(session)
    if rule.op == "changes":
        return _step_changes(rule, state, day, _label(value), session_index)
    if rule.signal is not None:
        x = _number(value)
        if x is None:
            return _skip(state, day, session_index), None
        if rule.op == "crosses_above":
            past, cleared = x >= rule.threshold, x < rule.clear  # type: ignore[operator]
        else:
            past, cleared = x <= rule.threshold, x > rule.clear  # type: ignore[operator]
        return _step_level(rule, state, day, session_index, past, cleared, x, ())
    inputs = _condition_inputs(rule, value)
    if inputs is None:
        return _skip(state, day, session_index), None
    held = sum(c.holds(inputs[c.signal]) for c in rule.conditions)
    gone = sum(c.cleared(inputs[c.signal]) for c in rule.conditions)
    total = len(rule.conditions)
    past, cleared = (held == total, gone > 0) if rule.all else (held > 0, gone == total)
    return _step_level(
        rule, state, day, session_index, past, cleared, float(held), tuple(inputs.items())
    )


def initial_state(
    rule: RuleSpec,
    first_value: Any,
    session: date | pd.Timestamp | None = None,
    session_index: int = 0,
) -> RuleState:
    """The state after the first evaluated session (never an event; see the module doc)."""
    return step(rule, BLANK, session, first_value, session_index)[0]


def evaluate(
    rule: RuleSpec,
    data: pd.Series | pd.DataFrame,
    start: date | pd.Timestamp | str | None = None,
    state: RuleState | None = None,
) -> RuleRun:
    """Fold `step` over a date-indexed history (one row per session).

    data: for a signal rule a Series (or a DataFrame with a column named by `rule.signal`);
        for a combined rule a DataFrame with a column per condition signal (`rule_inputs`
        builds either from a resolver). Index: sorted, unique DatetimeIndex.
    start: the first evaluated session (earlier rows are ignored; a backtest's --from).
    state: resume from a stored state: rows up to its last session are skipped and session
        indices continue from its last index, so evaluating in pieces equals evaluating whole.
    """
    frame = _select(rule, data)
    index = frame.index
    if not isinstance(index, pd.DatetimeIndex):
        raise ValueError(f"rule {rule.id}: the series needs a DatetimeIndex of sessions")
    if not (index.is_monotonic_increasing and index.is_unique):
        raise ValueError(f"rule {rule.id}: the session index must be sorted and unique")
    keep = pd.Series(True, index=index)
    if start is not None:
        keep &= index >= pd.Timestamp(start)
    if state is not None and state.last_session is not None:
        keep &= index > pd.Timestamp(state.last_session)
    frame = frame[keep.to_numpy()]
    current = BLANK if state is None else state
    first = 0 if current.last_index is None else current.last_index + 1
    events: list[Event] = []
    for k, (day, value) in enumerate(
        zip(pd.DatetimeIndex(frame.index).date, _values(rule, frame), strict=True)
    ):
        current, event = step(rule, current, day, value, first + k)
        if event is not None:
            events.append(event)
    return RuleRun(rule.id, tuple(events), current)


def rule_inputs(rule: RuleSpec, resolve: Callable[[str], pd.Series]) -> pd.Series | pd.DataFrame:
    """The `evaluate` input for `rule`, with `resolve(path)` giving each signal's series."""
    if rule.signal is not None:
        return resolve(rule.signal)
    return pd.DataFrame({path: resolve(path) for path in rule.inputs})


def event_message(rule: RuleSpec, event: Event) -> str:
    """The rule's message rendered for one of its events."""
    return render_message(rule, event.value, event.label, event.previous)


# --- the two state machines -------------------------------------------------------------


def _step_level(
    rule: RuleSpec,
    s: RuleState,
    day: date | None,
    idx: int,
    past: bool,
    cleared: bool,
    shown: float,
    inputs: tuple[tuple[str, float], ...],
) -> tuple[RuleState, Event | None]:
    """Crossing and combined rules: past/cleared already decided for this session."""
    if not s.started:  # the reference session: never an event
        return _state(s, day, idx, Status.OK, armed=not past, streak=0, started=True), None
    if s.status == Status.FIRING:
        count = s.clear_streak + 1 if cleared else 0
        if count >= rule.resolve_confirm:
            new = _state(s, day, idx, Status.OK, armed=True, streak=0)
            return new, _event(rule, Transition.RESOLVED, day, shown, inputs=inputs)
        return _state(s, day, idx, Status.FIRING, armed=False, streak=0, clear_streak=count), None
    if not s.armed:
        return _state(s, day, idx, Status.OK, armed=cleared, streak=0), None
    if not past:
        return _state(s, day, idx, Status.OK, armed=True, streak=0), None
    streak = s.streak + 1
    if streak >= rule.confirm and not _cooling(rule, s, idx):
        new = _state(s, day, idx, Status.FIRING, armed=False, streak=0, fired=True)
        return new, _event(rule, Transition.FIRED, day, shown, inputs=inputs)
    new = _state(s, day, idx, Status.PENDING, armed=True, streak=streak)
    if s.status == Status.PENDING:
        return new, None
    return new, _event(rule, Transition.PENDING, day, shown, inputs=inputs)


def _step_changes(
    rule: RuleSpec, s: RuleState, day: date | None, label: str | None, idx: int
) -> tuple[RuleState, Event | None]:
    """`changes` rules: a new label held `confirm` sessions fires and becomes the reference."""
    if label is None:
        return _skip(s, day, idx), None
    if not s.started:
        return _state(s, day, idx, Status.OK, armed=True, streak=0, started=True, label=label), None
    if label == s.last_label:
        return _state(s, day, idx, Status.OK, armed=True, streak=0, candidate=None), None
    streak = s.streak + 1 if label == s.pending_label else 1
    if streak >= rule.confirm and not _cooling(rule, s, idx):
        new = _state(
            s, day, idx, Status.OK, armed=True, streak=0, fired=True, label=label, candidate=None
        )
        return new, _event(rule, Transition.FIRED, day, None, label=label, previous=s.last_label)
    new = _state(s, day, idx, Status.PENDING, armed=True, streak=streak, candidate=label)
    if s.status == Status.PENDING and s.pending_label == label:
        return new, None
    return new, _event(rule, Transition.PENDING, day, None, label=label, previous=s.last_label)


# --- small helpers ----------------------------------------------------------------------

_KEEP: Any = object()  # sentinel: leave the field as it was


def _state(
    s: RuleState,
    day: date | None,
    idx: int,
    status: Status,
    *,
    armed: bool,
    streak: int,
    started: bool = True,
    fired: bool = False,
    label: Any = _KEEP,
    candidate: Any = _KEEP,
    clear_streak: int = 0,
) -> RuleState:
    """The next state; a direct constructor call, as this runs once per rule and session."""
    return RuleState(
        status,
        armed,
        streak,
        started,
        idx,
        day,
        day if fired else s.last_fired,
        idx if fired else s.last_fired_index,
        s.last_label if label is _KEEP else label,
        s.pending_label if candidate is _KEEP else candidate,
        clear_streak,
    )


def _skip(s: RuleState, day: date | None, idx: int) -> RuleState:
    """A missing session: nothing changes but the position."""
    return replace(s, last_index=idx, last_session=day)


def _cooling(rule: RuleSpec, s: RuleState, idx: int) -> bool:
    return s.last_fired_index is not None and idx - s.last_fired_index <= rule.cooldown_days


def _event(
    rule: RuleSpec,
    kind: Transition,
    day: date | None,
    value: float | None,
    *,
    label: str | None = None,
    previous: str | None = None,
    inputs: tuple[tuple[str, float], ...] = (),
) -> Event:
    if day is None:
        raise ValueError(f"rule {rule.id}: a transition needs a session date")
    notify = kind == Transition.FIRED or (kind == Transition.RESOLVED and rule.notify_resolved)
    return Event(rule.id, kind, day, value, label, previous, notify, inputs)


def _number(value: Any) -> float | None:
    """A float, or None for missing (None, NaN, pd.NA)."""
    if value is None or value is pd.NA:
        return None
    x = float(value)
    return None if math.isnan(x) else x


def _label(value: Any) -> str | None:
    """A label string, or None for missing (None, NaN, pd.NA, empty)."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    text = value if isinstance(value, str) else str(value)
    return text or None


def _condition_inputs(rule: RuleSpec, value: Any) -> dict[str, float] | None:
    """Each input signal's value (one per signal path), or None when any is missing."""
    if not isinstance(value, Mapping):
        raise TypeError(f"rule {rule.id}: expected a mapping of signal path -> value")
    out: dict[str, float] = {}
    for c in rule.conditions:
        if c.signal not in value:
            raise KeyError(f"rule {rule.id}: no input for signal {c.signal!r}")
        x = _number(value[c.signal])
        if x is None:
            return None
        out[c.signal] = x
    return out


def _select(rule: RuleSpec, data: pd.Series | pd.DataFrame) -> pd.Series | pd.DataFrame:
    if rule.signal is not None:
        if isinstance(data, pd.DataFrame):
            if rule.signal not in data.columns:
                raise KeyError(f"rule {rule.id}: no column {rule.signal!r}")
            return data[rule.signal]
        return data
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"rule {rule.id}: a combined rule needs a DataFrame of its inputs")
    missing = [p for p in rule.inputs if p not in data.columns]
    if missing:
        raise KeyError(f"rule {rule.id}: no column for {missing}")
    return data[list(rule.inputs)]


def _values(rule: RuleSpec, frame: pd.Series | pd.DataFrame) -> Iterable[Any]:
    if isinstance(frame, pd.Series):
        if rule.op == "changes":
            return frame.to_numpy(dtype=object)
        return frame.to_numpy(dtype=float, na_value=np.nan)
    cols = list(frame.columns)
    arrays = [frame[c].to_numpy(dtype=float, na_value=np.nan) for c in cols]
    return [dict(zip(cols, row, strict=True)) for row in zip(*arrays, strict=True)]


def _as_date(session: date | pd.Timestamp | None) -> date | None:
    if isinstance(session, datetime):  # includes pd.Timestamp
        return session.date()
    return session
