"""Property tests (hypothesis): the rule step against a naive reference written separately here.

Values are drawn from a few integers around the thresholds plus NaN, so equality with the
threshold or the clear level, the band between them and missing sessions all come up often.
The references below are searches over the known (non-NaN) sessions, phase by phase ("where is
the next firing? the next resolve?"), a different formulation from the state machine in
signals/rules/step.py; they cover every rule kind with confirm, resolve_confirm, per-condition
clear, cooldown, missing sessions and the first (reference) session.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from signals.rules import BLANK, Condition, RuleSpec, RuleState, Transition, evaluate, step

SETTINGS = settings(max_examples=200, deadline=None)
DATES = pd.bdate_range("2020-01-01", periods=80)
NAN = math.nan
UPWARD = ("above", "at_least")

value = st.one_of(st.integers(-3, 3).map(float), st.just(NAN))
values = st.lists(value, min_size=1, max_size=60)
label = st.one_of(st.sampled_from(["narrow", "broadening", "rotation"]), st.none())


@st.composite
def crossing_rules(draw: st.DrawFn) -> RuleSpec:
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
        resolve_confirm=draw(st.integers(1, 3)),
        cooldown_days=draw(st.integers(0, 4)),
    )


@st.composite
def conditions(draw: st.DrawFn) -> Condition:
    op = draw(st.sampled_from(["above", "below", "at_least", "at_most"]))
    threshold = float(draw(st.integers(-1, 1)))
    band = draw(st.one_of(st.none(), st.integers(0, 2)))  # None: the default, the threshold
    clear = None if band is None else threshold - band if op in UPWARD else threshold + band
    return Condition(draw(st.sampled_from(["a", "b"])), op, threshold, clear)


@st.composite
def combined_rules(draw: st.DrawFn) -> RuleSpec:
    key = draw(st.sampled_from(["all", "any"]))
    return RuleSpec(
        id="c",
        confirm=draw(st.integers(1, 3)),
        resolve_confirm=draw(st.integers(1, 3)),
        cooldown_days=draw(st.integers(0, 4)),
        **{key: tuple(draw(st.lists(conditions(), min_size=1, max_size=3)))},
    )


changes_rules = st.builds(
    RuleSpec,
    id=st.just("l"),
    signal=st.just("r.label"),
    op=st.just("changes"),
    confirm=st.integers(1, 3),
    cooldown_days=st.integers(0, 4),
)


def as_series(vals: list[float]) -> pd.Series:
    return pd.Series(vals, index=DATES[: len(vals)], dtype=float)


def as_labels(vals: list[str | None]) -> pd.Series:
    return pd.Series(vals, index=DATES[: len(vals)], dtype=object)


def as_frame(a: list[float], b: list[float]) -> pd.DataFrame:
    b = (b * len(a))[: len(a)]
    return pd.DataFrame({"a": a, "b": b}, index=DATES[: len(a)])


def positions(run_events: Any) -> list[tuple[int, str]]:
    where = {d.date(): i for i, d in enumerate(DATES)}
    return [(where[e.session], e.kind.value) for e in run_events]


# --- the naive reference -----------------------------------------------------------------


def reference_level(
    past: list[bool | None],
    cleared: list[bool | None],
    confirm: int,
    resolve_confirm: int,
    cooldown: int,
) -> list[tuple[int, str]]:
    """Events of a crossing or combination, found by searching the known sessions.

    past/cleared: per session, None where the session is missing. Positions in the full list
    are the session indices, so cooldown counts missing sessions too.
    """
    known = [i for i, p in enumerate(past) if p is not None]
    if not known:
        return []
    p = [bool(past[i]) for i in known]
    c = [bool(cleared[i]) for i in known]
    n = len(known)
    out: list[tuple[int, str]] = []

    def run_of(flags: list[bool], k: int, length: int, after: int) -> bool:
        """flags holds on the `length` known sessions ending at k, all of them after `after`."""
        first = k - length + 1
        return first > after and all(flags[first : k + 1])

    # the first known session is the reference: no event; past there -> wait for a clear
    if p[0]:
        first_clear = next((k for k in range(1, n) if c[k]), None)
        armed_from = n if first_clear is None else first_clear + 1
    else:
        armed_from = 1
    last_fire: int | None = None  # session index of the last firing
    while armed_from < n:
        fire = next(
            (
                k
                for k in range(armed_from, n)
                if run_of(p, k, confirm, armed_from - 1)
                and (last_fire is None or known[k] - last_fire > cooldown)
            ),
            None,
        )
        end = n - 1 if fire is None else fire
        # every run of past sessions that starts while armed goes pending, unless it fires at once
        out += [
            (known[k], "pending")
            for k in range(armed_from, end + 1)
            if p[k] and (k == armed_from or not p[k - 1]) and k != fire
        ]
        if fire is None:
            break
        out.append((known[fire], "fired"))
        last_fire = known[fire]
        res = next((k for k in range(fire + 1, n) if run_of(c, k, resolve_confirm, fire)), None)
        if res is None:
            break
        out.append((known[res], "resolved"))
        armed_from = res + 1
    return out


def reference_crossing(rule: RuleSpec, vals: list[float]) -> list[tuple[int, str]]:
    x = np.array(vals, dtype=float)
    if rule.op == "crosses_above":
        past, cleared = x >= rule.threshold, x < rule.clear
    else:
        past, cleared = x <= rule.threshold, x > rule.clear
    missing = np.isnan(x)
    return reference_level(
        [None if m else bool(v) for m, v in zip(missing, past, strict=True)],
        [None if m else bool(v) for m, v in zip(missing, cleared, strict=True)],
        rule.confirm,
        rule.resolve_confirm,
        rule.cooldown_days,
    )


def reference_combined(rule: RuleSpec, frame: pd.DataFrame) -> list[tuple[int, str]]:
    """Vectorised hold / clear matrices of the conditions, then the same phase search."""
    tests = {"above": np.greater, "below": np.less, "at_least": np.greater_equal}
    holds, clears = [], []
    for cond in rule.conditions:
        x = frame[cond.signal].to_numpy(dtype=float)
        holds.append(tests.get(cond.op, np.less_equal)(x, cond.threshold))
        level = cond.threshold if cond.clear is None else cond.clear
        clears.append(x < level if cond.op in UPWARD else x > level)
    h, c = np.column_stack(holds), np.column_stack(clears)
    if rule.all:
        truth, gone = h.all(axis=1), c.any(axis=1)
    else:
        truth, gone = h.any(axis=1), c.all(axis=1)
    missing = frame[list(rule.inputs)].isna().any(axis=1).to_numpy()
    return reference_level(
        [None if m else bool(t) for m, t in zip(missing, truth, strict=True)],
        [None if m else bool(g) for m, g in zip(missing, gone, strict=True)],
        rule.confirm,
        rule.resolve_confirm,
        rule.cooldown_days,
    )


def reference_changes(labels: list[str | None], confirm: int, cooldown: int) -> list:
    """Pending and fired positions from the runs of equal known labels."""
    known = [(i, lab) for i, lab in enumerate(labels) if lab is not None]
    if not known:
        return []
    ref, out, k = known[0][1], [], 1
    last_fire: int | None = None
    while k < len(known):
        e = k
        while e < len(known) and known[e][1] == known[k][1]:
            e += 1
        if known[k][1] != ref:  # a candidate run: known[k:e]
            fire = next(
                (
                    j
                    for j in range(k + confirm - 1, e)
                    if last_fire is None or known[j][0] - last_fire > cooldown
                ),
                None,
            )
            if fire != k:
                out.append((known[k][0], "pending"))
            if fire is not None:
                out.append((known[fire][0], "fired"))
                last_fire, ref = known[fire][0], known[k][1]
        k = e
    return out


# --- the step agrees with the reference ---------------------------------------------------


@SETTINGS
@given(crossing_rules(), values)
def test_crossing_agrees_with_reference(rule: RuleSpec, vals: list[float]) -> None:
    assert positions(evaluate(rule, as_series(vals)).events) == reference_crossing(rule, vals)


@SETTINGS
@given(combined_rules(), values, values)
def test_combined_agrees_with_reference(rule: RuleSpec, a: list[float], b: list[float]) -> None:
    frame = as_frame(a, b)
    assert positions(evaluate(rule, frame).events) == reference_combined(rule, frame)


@SETTINGS
@given(changes_rules, st.lists(label, min_size=1, max_size=60))
def test_changes_agrees_with_reference(rule: RuleSpec, labels: list[str | None]) -> None:
    got = positions(evaluate(rule, as_labels(labels)).events)
    assert got == reference_changes(labels, rule.confirm, rule.cooldown_days)


# --- properties that need no reference ----------------------------------------------------


@SETTINGS
@given(st.one_of(crossing_rules(), combined_rules()), values, values)
def test_never_fires_twice_without_resolving(rule: RuleSpec, a: list[float], b: list[float]):
    data = as_series(a) if rule.kind == "crossing" else as_frame(a, b)
    kinds = [e.kind for e in evaluate(rule, data).events if e.kind != "pending"]
    assert kinds == [Transition.FIRED, Transition.RESOLVED] * (len(kinds) // 2) + (
        [Transition.FIRED] if len(kinds) % 2 else []
    )


@SETTINGS
@given(st.one_of(crossing_rules(), combined_rules()), values, values)
def test_never_fires_inside_cooldown(rule: RuleSpec, a: list[float], b: list[float]) -> None:
    data = as_series(a) if rule.kind == "crossing" else as_frame(a, b)
    fired = [i for i, kind in positions(evaluate(rule, data).events) if kind == "fired"]
    assert (np.diff(fired) > rule.cooldown_days).all()


@SETTINGS
@given(crossing_rules(), values)
def test_resolves_only_after_resolve_confirm_cleared_sessions(rule: RuleSpec, vals: list[float]):
    events = positions(evaluate(rule, as_series(vals)).events)
    fired_at = [i for i, kind in events if kind == "fired"]
    for i, kind in events:
        if kind != "resolved":
            continue
        since = max(f for f in fired_at if f < i)
        known = [v for v in vals[since + 1 : i + 1] if not math.isnan(v)]
        tail = known[-rule.resolve_confirm :]
        assert len(tail) == rule.resolve_confirm
        if rule.op == "crosses_above":
            assert all(v < rule.clear for v in tail)
        else:
            assert all(v > rule.clear for v in tail)


@SETTINGS
@given(st.one_of(crossing_rules(), combined_rules(), changes_rules), values, values)
def test_first_known_session_never_has_an_event(rule: RuleSpec, a: list[float], b: list[float]):
    data: pd.Series | pd.DataFrame
    if rule.kind == "changes":
        data = as_labels([None if math.isnan(v) else str(v) for v in a])
        known = data.notna().to_numpy()
    elif rule.kind == "crossing":
        data = as_series(a)
        known = data.notna().to_numpy()
    else:
        data = as_frame(a, b)
        known = data[list(rule.inputs)].notna().all(axis=1).to_numpy()
    events = positions(evaluate(rule, data).events)
    if not known.any():
        assert not events
    else:
        assert all(i > known.argmax() for i, _ in events)


@SETTINGS
@given(st.one_of(crossing_rules(), combined_rules()), values, values, st.integers(0, 59))
def test_a_missing_session_leaves_the_state(rule, a, b, where) -> None:
    """Inserting a NaN session changes nothing but the positions after it (no cooldown here:
    the extra session would count towards it)."""
    rule = replace(rule, cooldown_days=0)
    data = as_series(a) if rule.kind == "crossing" else as_frame(a, b)
    where = min(where, len(data))
    gapped = pd.concat(
        [data.iloc[:where], data.iloc[:1] * np.nan, data.iloc[where:]], ignore_index=True
    )
    gapped.index = DATES[: len(gapped)]
    shift = [(i + (i >= where), kind) for i, kind in positions(evaluate(rule, data).events)]
    assert positions(evaluate(rule, gapped).events) == shift


# --- the live path: one session a run, the state stored as JSON ----------------------------


def one_at_a_time(rule: RuleSpec, data: pd.Series | pd.DataFrame) -> tuple[list, RuleState]:
    stored, events = json.dumps(BLANK.to_dict()), []
    rows = data.to_dict("index") if isinstance(data, pd.DataFrame) else data.to_dict()
    for i, (day, v) in enumerate(rows.items()):
        state, event = step(rule, RuleState.from_dict(json.loads(stored)), day, v, i)
        stored = json.dumps(state.to_dict())
        if event is not None:
            events.append(event)
    return events, RuleState.from_dict(json.loads(stored))


@SETTINGS
@given(st.one_of(crossing_rules(), combined_rules(), changes_rules), st.data())
def test_whole_equals_one_at_a_time_and_resumed(rule: RuleSpec, data: st.DataObject) -> None:
    series: pd.Series | pd.DataFrame
    if rule.kind == "changes":
        series = as_labels(data.draw(st.lists(label, min_size=1, max_size=60)))
    elif rule.kind == "crossing":
        series = as_series(data.draw(values))
    else:
        series = as_frame(data.draw(values), data.draw(values))
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
