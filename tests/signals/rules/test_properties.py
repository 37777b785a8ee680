"""Property tests (hypothesis) for rule evaluation, plus a plain reference implementation.

Values are drawn from a few integers around the thresholds plus NaN, so equality with the
threshold or the clear level, the band between them and missing sessions all come up often.
The reference implementations below are written as searches over the known (non-NaN) values,
a different formulation from the state machine in signals/rules.py.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from signals.rules import BLANK, Condition, RuleSpec, RuleState, Transition, evaluate, step

SETTINGS = settings(max_examples=150, deadline=None)
DATES = pd.bdate_range("2020-01-01", periods=80)
NAN = math.nan

value = st.one_of(st.integers(-3, 3).map(float), st.just(NAN))
values = st.lists(value, min_size=1, max_size=60)
label = st.one_of(st.sampled_from(["narrow", "broadening", "rotation"]), st.none())


@st.composite
def crossing_rules(draw: st.DrawFn, cooldown: bool = True) -> RuleSpec:
    op = draw(st.sampled_from(["crosses_above", "crosses_below"]))
    threshold = float(draw(st.integers(-1, 1)))
    band = float(draw(st.integers(0, 2)))
    return RuleSpec(
        id="r",
        signal="s",
        op=op,
        threshold=threshold,
        clear=threshold - band if op == "crosses_above" else threshold + band,
        confirm=draw(st.integers(1, 3)),
        cooldown_days=draw(st.integers(0, 4)) if cooldown else 0,
    )


@st.composite
def combined_rules(draw: st.DrawFn, cooldown: bool = True) -> RuleSpec:
    conditions = tuple(
        Condition(
            draw(st.sampled_from(["a", "b"])),
            draw(st.sampled_from(["above", "below", "at_least", "at_most"])),
            float(draw(st.integers(-1, 1))),
        )
        for _ in range(draw(st.integers(1, 3)))
    )
    key = draw(st.sampled_from(["all", "any"]))
    return RuleSpec(
        id="c",
        confirm=draw(st.integers(1, 3)),
        cooldown_days=draw(st.integers(0, 4)) if cooldown else 0,
        **{key: conditions},
    )


def as_series(vals: list[float]) -> pd.Series:
    return pd.Series(vals, index=DATES[: len(vals)], dtype=float)


def as_labels(vals: list[str | None]) -> pd.Series:
    return pd.Series(vals, index=DATES[: len(vals)], dtype=object)


def positions(run_events: Any) -> list[tuple[int, str]]:
    where = {d.date(): i for i, d in enumerate(DATES)}
    return [(where[e.session], e.kind.value) for e in run_events]


def is_past(rule: RuleSpec, v: float) -> bool:
    return v >= rule.threshold if rule.op == "crosses_above" else v <= rule.threshold


def is_cleared(rule: RuleSpec, v: float) -> bool:
    return v < rule.clear if rule.op == "crosses_above" else v > rule.clear


# --- reference implementations (no cooldown) ---------------------------------------------


def reference_level(past: list[bool | None], cleared: list[bool | None], confirm: int) -> list:
    """Fired/resolved/pending positions by searching the known sessions phase by phase."""
    known = [i for i, p in enumerate(past) if p is not None]
    if not known:
        return []
    p = [bool(past[i]) for i in known]
    c = [bool(cleared[i]) for i in known]
    n = len(known)
    out: list[tuple[int, str]] = []
    # the first known session is the reference: armed from 1 unless it is past
    if p[0]:
        first_clear = next((k for k in range(1, n) if c[k]), None)
        j = n if first_clear is None else first_clear + 1
    else:
        j = 1
    while j < n:  # armed; sessions j.. count
        fire = next((k for k in range(j + confirm - 1, n) if all(p[k - confirm + 1 : k + 1])), None)
        end = n - 1 if fire is None else fire
        if confirm > 1:  # each run of past sessions that starts while armed goes pending
            out += [
                (known[k], "pending")
                for k in range(j, end + 1)
                if p[k] and (k == j or not p[k - 1])
            ]
        if fire is None:
            break
        out.append((known[fire], "fired"))
        res = next((k for k in range(fire + 1, n) if c[k]), None)
        if res is None:
            break
        out.append((known[res], "resolved"))
        j = res + 1
    return sorted(out)


def reference_crossing(rule: RuleSpec, vals: list[float]) -> list:
    past = [None if math.isnan(v) else is_past(rule, v) for v in vals]
    cleared = [None if math.isnan(v) else is_cleared(rule, v) for v in vals]
    return reference_level(past, cleared, rule.confirm)


def reference_combined(rule: RuleSpec, frame: pd.DataFrame) -> list:
    """Vectorised truth of the combination, then the same phase search."""
    tests = {
        "above": np.greater,
        "below": np.less,
        "at_least": np.greater_equal,
        "at_most": np.less_equal,
    }
    held = np.column_stack(
        [tests[c.op](frame[c.signal].to_numpy(), c.threshold) for c in rule.conditions]
    )
    truth = held.all(axis=1) if rule.all else held.any(axis=1)
    missing = frame[list(rule.inputs)].isna().any(axis=1).to_numpy()
    past = [None if m else bool(t) for m, t in zip(missing, truth, strict=True)]
    cleared = [None if m else not bool(t) for m, t in zip(missing, truth, strict=True)]
    return reference_level(past, cleared, rule.confirm)


def reference_changes(labels: list[str | None], confirm: int) -> list:
    """Fired positions from the run-length encoding of the known labels."""
    known = [(i, lab) for i, lab in enumerate(labels) if lab is not None]
    if not known:
        return []
    ref, out, k = known[0][1], [], 1
    while k < len(known):
        e = k
        while e < len(known) and known[e][1] == known[k][1]:
            e += 1
        if known[k][1] != ref and e - k >= confirm:
            out.append((known[k + confirm - 1][0], "fired"))
            ref = known[k][1]
        k = e
    return out


# --- properties --------------------------------------------------------------------------


@SETTINGS
@given(st.one_of(crossing_rules(), combined_rules()), values)
def test_never_fires_twice_without_resolving(rule: RuleSpec, vals: list[float]) -> None:
    data: pd.Series | pd.DataFrame = as_series(vals)
    if rule.kind == "combined":
        data = pd.DataFrame({"a": vals, "b": vals[::-1]}, index=DATES[: len(vals)])
    kinds = [e.kind for e in evaluate(rule, data).events if e.kind != "pending"]
    assert kinds == [Transition.FIRED, Transition.RESOLVED] * (len(kinds) // 2) + (
        [Transition.FIRED] if len(kinds) % 2 else []
    )


@SETTINGS
@given(st.one_of(crossing_rules(), combined_rules()), values, values)
def test_never_fires_inside_cooldown(rule: RuleSpec, a: list[float], b: list[float]) -> None:
    data: pd.Series | pd.DataFrame = as_series(a)
    if rule.kind == "combined":
        b = (b * len(a))[: len(a)]
        data = pd.DataFrame({"a": a, "b": b}, index=DATES[: len(a)])
    fired = [i for i, kind in positions(evaluate(rule, data).events) if kind == "fired"]
    gaps = np.diff(fired)
    assert (gaps > rule.cooldown_days).all()


@SETTINGS
@given(crossing_rules(), values)
def test_never_past_never_fires(rule: RuleSpec, vals: list[float]) -> None:
    step_back = -0.5 if rule.op == "crosses_above" else 0.5
    capped = [
        v if math.isnan(v) or not is_past(rule, v) else rule.threshold + step_back for v in vals
    ]
    run = evaluate(rule, as_series(capped))
    assert not run.fired and not run.pending


@SETTINGS
@given(crossing_rules(), values)
def test_firing_needs_confirm_consecutive_past_sessions(rule: RuleSpec, vals: list[float]) -> None:
    for i, kind in positions(evaluate(rule, as_series(vals)).events):
        if kind != "fired":
            continue
        known_before = [v for v in vals[: i + 1] if not math.isnan(v)]
        assert not math.isnan(vals[i])
        assert len(known_before) > rule.confirm  # the reference session is never counted
        assert all(is_past(rule, v) for v in known_before[-rule.confirm :])


@SETTINGS
@given(st.one_of(crossing_rules(), combined_rules()), values)
def test_first_known_session_never_has_an_event(rule: RuleSpec, vals: list[float]) -> None:
    data: pd.Series | pd.DataFrame = as_series(vals)
    known = data.notna().to_numpy()
    if rule.kind == "combined":
        data = pd.DataFrame({"a": vals, "b": vals[::-1]}, index=DATES[: len(vals)])
        known = data[list(rule.inputs)].notna().all(axis=1).to_numpy()
    events = positions(evaluate(rule, data).events)
    if not known.any():
        assert not events
    else:
        assert all(i > known.argmax() for i, _ in events)


def one_at_a_time(rule: RuleSpec, data: pd.Series) -> tuple[list, RuleState]:
    """The live path: one session per run, the state stored as JSON in between."""
    stored, events = json.dumps(BLANK.to_dict()), []
    for i, (day, v) in enumerate(data.items()):
        state, event = step(rule, RuleState.from_dict(json.loads(stored)), day, v, i)
        stored = json.dumps(state.to_dict())
        if event is not None:
            events.append(event)
    return events, RuleState.from_dict(json.loads(stored))


@SETTINGS
@given(
    st.one_of(
        crossing_rules(),
        st.builds(
            RuleSpec,
            id=st.just("c"),
            signal=st.just("r.label"),
            op=st.just("changes"),
            confirm=st.integers(1, 3),
            cooldown_days=st.integers(0, 3),
        ),
    ),
    st.data(),
)
def test_whole_equals_one_at_a_time_and_resumed(rule: RuleSpec, data: st.DataObject) -> None:
    if rule.op == "changes":
        series = as_labels(data.draw(st.lists(label, min_size=1, max_size=60)))
    else:
        series = as_series(data.draw(values))
    whole = evaluate(rule, series)
    events, final = one_at_a_time(rule, series)
    assert list(whole.events) == events and whole.final_state == final

    cut = data.draw(st.integers(0, len(series)))
    head = evaluate(rule, series.iloc[:cut])
    stored = RuleState.from_dict(json.loads(json.dumps(head.final_state.to_dict())))
    for rest in (series, series.iloc[cut:]):  # the whole history (skipped to the state) or the tail
        tail = evaluate(rule, rest, state=stored)
        assert head.events + tail.events == whole.events
        assert tail.final_state == whole.final_state


@SETTINGS
@given(crossing_rules(cooldown=False), values)
def test_crossing_agrees_with_reference(rule: RuleSpec, vals: list[float]) -> None:
    assert positions(evaluate(rule, as_series(vals)).events) == reference_crossing(rule, vals)


@SETTINGS
@given(combined_rules(cooldown=False), values, values)
def test_combined_agrees_with_reference(rule: RuleSpec, a: list[float], b: list[float]) -> None:
    b = (b * len(a))[: len(a)]
    frame = pd.DataFrame({"a": a, "b": b}, index=DATES[: len(a)])
    assert positions(evaluate(rule, frame).events) == reference_combined(rule, frame)


@SETTINGS
@given(st.integers(1, 3), st.lists(label, min_size=1, max_size=60))
def test_changes_agrees_with_reference(confirm: int, labels: list[str | None]) -> None:
    rule = RuleSpec(id="c", signal="r.label", op="changes", confirm=confirm)
    fired = [p for p in positions(evaluate(rule, as_labels(labels)).events) if p[1] != "pending"]
    assert fired == reference_changes(labels, confirm)
