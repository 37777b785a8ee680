"""Hand-written timelines for each clause of the rule semantics (docs/rules.md), and config errors.

Each timeline lists values by session position and the (position, transition) pairs expected,
worked out by hand from the written semantics (docs/rules.md), not from the code.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from signals.rules import (
    BLANK,
    Condition,
    RuleConfigError,
    RuleSpec,
    RuleState,
    Status,
    Transition,
    evaluate,
    event_message,
    initial_state,
    render_message,
    rule_inputs,
    step,
)

DATES = pd.bdate_range("2024-01-01", periods=80)
POS = {d.date(): i for i, d in enumerate(DATES)}
N = None  # a missing session in a timeline


def series(values: list[Any]) -> pd.Series:
    data = [np.nan if v is None else v for v in values]
    return pd.Series(data, index=DATES[: len(values)], dtype=float)


def labels(values: list[str | None]) -> pd.Series:
    return pd.Series(values, index=DATES[: len(values)], dtype=object)


def timeline(rule: RuleSpec, data: pd.Series | pd.DataFrame, **kw: Any) -> list[tuple[int, str]]:
    return [(POS[e.session], e.kind.value) for e in evaluate(rule, data, **kw).events]


def above(threshold: float = 65, **kw: Any) -> RuleSpec:
    return RuleSpec(id="r", signal="breadth_200d", op="crosses_above", threshold=threshold, **kw)


def below(threshold: float = 50, **kw: Any) -> RuleSpec:
    return RuleSpec(id="r", signal="breadth_200d", op="crosses_below", threshold=threshold, **kw)


# --- crossings ---------------------------------------------------------------------------


def test_threshold_equality_counts_as_past() -> None:
    assert timeline(above(), series([60, 65])) == [(1, "fired")]
    assert timeline(above(), series([60, 64.999])) == []


def test_clear_is_strict() -> None:
    rule = above(clear=60)
    assert timeline(rule, series([50, 66, 60, 60, 59.99])) == [(1, "fired"), (4, "resolved")]
    # clear defaults to threshold: below it resolves, at it stays firing
    assert timeline(above(), series([50, 65, 65, 64.99])) == [(1, "fired"), (3, "resolved")]


def test_band_between_clear_and_threshold_neither_resolves_nor_rearms() -> None:
    rule = above(clear=60)
    assert timeline(rule, series([50, 66, 62, 66, 61, 70])) == [(1, "fired")]


def test_resolve_then_fire_again() -> None:
    rule = above(clear=60)
    got = timeline(rule, series([50, 66, 59, 66, 59, 65]))
    assert got == [(1, "fired"), (2, "resolved"), (3, "fired"), (4, "resolved"), (5, "fired")]


def test_confirm_needs_consecutive_past_sessions_and_resets() -> None:
    rule = above(confirm=3)
    got = timeline(rule, series([50, 66, 66, 64, 66, 66, 66, 67]))
    # 1-2 pending, 3 resets silently, 4 pending again, 6 is the third in a row
    assert got == [(1, "pending"), (4, "pending"), (6, "fired")]


def test_a_session_in_the_band_also_resets_confirm() -> None:
    rule = above(clear=60, confirm=2)
    assert timeline(rule, series([50, 66, 62, 66, 66])) == [
        (1, "pending"),
        (3, "pending"),
        (4, "fired"),
    ]


def test_nan_in_a_streak_neither_counts_nor_resets() -> None:
    rule = above(confirm=3)
    assert timeline(rule, series([50, 66, N, 66, N, N, 66])) == [(1, "pending"), (6, "fired")]


def test_nan_never_resolves_and_leaves_firing() -> None:
    assert timeline(above(), series([50, 66, N, N, 59])) == [(1, "fired"), (4, "resolved")]


def test_first_session_never_fires() -> None:
    assert timeline(above(), series([70, 70, 70])) == []
    assert timeline(above(confirm=1), series([70])) == []


def test_already_past_at_start_needs_a_clear_first() -> None:
    rule = above(clear=60)
    # 62 is in the band, not cleared: still disarmed; 59 clears; 70 fires
    assert timeline(rule, series([70, 62, 70, 59, 70])) == [(4, "fired")]


def test_first_value_in_the_band_is_armed_because_never_past() -> None:
    assert timeline(above(clear=60), series([62, 66])) == [(1, "fired")]


def test_leading_missing_sessions_make_the_first_known_value_the_reference() -> None:
    assert timeline(above(), series([N, N, 70, 59, 70])) == [(4, "fired")]
    assert timeline(above(), series([N, 50, 70])) == [(2, "fired")]


def test_design_docstring_timeline_states() -> None:
    """The module docstring's timeline, session by session (status, armed, streak, event)."""
    rule = above(clear=60, confirm=2, cooldown_days=3)
    values = [66, 61, 59, 66, N, 67, 59, 66, 67, 68]
    expected = [
        ("ok", False, 0, None),
        ("ok", False, 0, None),
        ("ok", True, 0, None),
        ("pending", True, 1, "pending"),
        ("pending", True, 1, None),
        ("firing", False, 0, "fired"),
        ("ok", True, 0, "resolved"),
        ("pending", True, 1, "pending"),
        ("pending", True, 2, None),
        ("firing", False, 0, "fired"),
    ]
    state = BLANK
    for i, (v, (status, armed, streak, kind)) in enumerate(zip(values, expected, strict=True)):
        state, event = step(rule, state, DATES[i], math.nan if v is None else v, i)
        assert (state.status.value, state.armed, state.streak) == (status, armed, streak), i
        assert (event.kind.value if event else None) == kind, i
    assert state.last_fired == DATES[9].date()


def test_cooldown_pending_then_fires_on_first_session_after() -> None:
    rule = above(cooldown_days=3)
    # fired at 1; 2-4 are the cooldown; re-crossing at 3 waits; 5 is the first allowed
    got = timeline(rule, series([50, 66, 59, 66, 66, 66, 66]))
    assert got == [(1, "fired"), (2, "resolved"), (3, "pending"), (5, "fired")]


def test_cooldown_pending_dropped_when_no_longer_past() -> None:
    rule = above(clear=60, cooldown_days=3)
    got = timeline(rule, series([50, 66, 59, 66, 62, 62, 66]))
    # 4 is in the band: the pending crossing is dropped; 6 fires on its own (6 - 1 > 3)
    assert got == [(1, "fired"), (2, "resolved"), (3, "pending"), (6, "fired")]


def test_cooldown_counts_missing_sessions() -> None:
    rule = above(cooldown_days=3)
    got = timeline(rule, series([50, 66, 59, N, N, 66]))
    assert got == [(1, "fired"), (2, "resolved"), (5, "fired")]


def test_cooldown_does_not_delay_a_resolve() -> None:
    assert timeline(above(cooldown_days=10), series([50, 66, 59])) == [
        (1, "fired"),
        (2, "resolved"),
    ]


def test_cooldown_with_confirm_counts_through_the_cooldown() -> None:
    rule = above(confirm=2, cooldown_days=2)
    # fired at 2; 3 resolves; 4 past (pending, streak 1, in cooldown); 5 out of cooldown, streak 2
    got = timeline(rule, series([50, 66, 66, 59, 66, 66]))
    assert got == [(1, "pending"), (2, "fired"), (3, "resolved"), (4, "pending"), (5, "fired")]


def test_crosses_below_mirror() -> None:
    rule = below(clear=55)
    got = timeline(rule, series([60, 50, 54, 55, 55.01, 49]))
    assert got == [(1, "fired"), (4, "resolved"), (5, "fired")]
    assert timeline(below(), series([40, 40])) == []  # already past at start


def test_crosses_below_equals_crosses_above_on_negated_values() -> None:
    rng = np.random.default_rng(7)
    values = rng.integers(40, 60, 300).astype(float)
    values[rng.random(300) < 0.1] = np.nan
    down = below(threshold=50, clear=53, confirm=2, cooldown_days=4)
    up = above(threshold=-50, clear=-53, confirm=2, cooldown_days=4)
    a = evaluate(down, pd.Series(values, index=pd.bdate_range("2020-01-01", periods=300)))
    b = evaluate(up, pd.Series(-values, index=pd.bdate_range("2020-01-01", periods=300)))
    assert [(e.session, e.kind) for e in a.events] == [(e.session, e.kind) for e in b.events]
    assert len(a.fired) >= 3


def test_notify_flag_on_events() -> None:
    quiet = evaluate(above(confirm=2), series([50, 66, 66, 59]))
    assert [(e.kind.value, e.notify) for e in quiet.events] == [
        ("pending", False),
        ("fired", True),
        ("resolved", False),
    ]
    loud = evaluate(above(notify_resolved=True), series([50, 66, 59]))
    assert [e.notify for e in loud.events] == [True, True]
    assert loud.events[1].value == 59.0


# --- changes -----------------------------------------------------------------------------


def test_changes_with_confirm() -> None:
    rule = RuleSpec(id="regime", signal="rotation_regime.label", op="changes", confirm=2)
    data = labels(
        [
            "narrow",
            "narrow",
            "broadening",
            "narrow",
            "broadening",
            "broadening",
            "rotation",
            N,
            "rotation",
            "rotation",
        ]  # fmt: skip
    )
    run = evaluate(rule, data)
    got = [(POS[e.session], e.kind.value, e.label, e.previous) for e in run.events]
    assert got == [
        (2, "pending", "broadening", "narrow"),
        (4, "pending", "broadening", "narrow"),
        (5, "fired", "broadening", "narrow"),
        (6, "pending", "rotation", "broadening"),
        (8, "fired", "rotation", "broadening"),
    ]
    assert run.final_state.status == Status.OK and run.final_state.last_label == "rotation"
    assert not run.resolved


def test_changes_first_label_is_the_reference_and_candidates_restart() -> None:
    rule = RuleSpec(id="regime", signal="rotation_regime.label", op="changes", confirm=2)
    assert timeline(rule, labels(["rotation", "rotation"])) == []
    assert timeline(rule, labels([N, "b", "b"])) == []
    got = timeline(rule, labels(["a", "b", "c", "c"]))
    assert got == [(1, "pending"), (2, "pending"), (3, "fired")]


def test_changes_cooldown() -> None:
    rule = RuleSpec(id="regime", signal="x.label", op="changes", cooldown_days=2)
    got = timeline(rule, labels(["a", "b", "c", "c", "c"]))
    assert got == [(1, "fired"), (2, "pending"), (4, "fired")]
    # back to the label before the last firing is a change too
    got = timeline(rule, labels(["a", "b", "a", "a", "a"]))
    assert got == [(1, "fired"), (2, "pending"), (4, "fired")]


def test_changes_message_uses_labels() -> None:
    rule = RuleSpec(
        id="regime", signal="rotation_regime.label", op="changes",
        message="Regime: {previous} -> {label}",
    )  # fmt: skip
    run = evaluate(rule, labels(["narrow", "rotation"]))
    assert event_message(rule, run.fired[0]) == "Regime: narrow -> rotation"


# --- all / any ---------------------------------------------------------------------------


def combo_frame(rows: list[tuple[Any, Any]]) -> pd.DataFrame:
    data = [[np.nan if v is None else v for v in row] for row in rows]
    return pd.DataFrame(data, columns=["breadth_200d", "ew_vs_cw"], index=DATES[: len(rows)])


def test_all_fires_when_true_and_resolves_when_false() -> None:
    rule = RuleSpec(
        id="broad",
        all=(Condition("breadth_200d", "at_least", 65), Condition("ew_vs_cw", "above", 0)),
        notify_resolved=True,
    )
    frame = combo_frame([(70, 0), (65, 0.1), (66, N), (64, 1), (66, 1), (70, 2)])
    run = evaluate(rule, frame)
    assert [(POS[e.session], e.kind.value, e.value) for e in run.events] == [
        (1, "fired", 2.0),
        (3, "resolved", 1.0),
        (4, "fired", 2.0),
    ]
    assert run.fired[0].inputs == (("breadth_200d", 65.0), ("ew_vs_cw", 0.1))


def test_any_with_a_missing_input_leaves_the_state() -> None:
    rule = RuleSpec(
        id="either",
        any=(Condition("breadth_200d", "above", 65), Condition("ew_vs_cw", "above", 0)),
        confirm=2,
    )
    # 1: one input missing -> missing even though breadth alone would make `any` true
    frame = combo_frame([(60, -1), (70, N), (70, -1), (60, 1), (60, -1)])
    assert timeline(rule, frame) == [(2, "pending"), (3, "fired"), (4, "resolved")]


def test_combined_true_at_start_needs_false_first() -> None:
    rule = RuleSpec(id="c", all=(Condition("breadth_200d", "above", 65),))
    assert timeline(rule, combo_frame([(70, 0), (70, 0), (60, 0), (70, 0)])) == [(3, "fired")]


def test_condition_ops_boundaries() -> None:
    assert not Condition("s", "above", 1).holds(1) and Condition("s", "above", 1).holds(1.1)
    assert not Condition("s", "below", 1).holds(1) and Condition("s", "below", 1).holds(0.9)
    assert Condition("s", "at_least", 1).holds(1) and not Condition("s", "at_least", 1).holds(0.9)
    assert Condition("s", "at_most", 1).holds(1) and not Condition("s", "at_most", 1).holds(1.1)


def test_same_signal_twice_in_a_combination() -> None:
    band = RuleSpec(
        id="band",
        all=(Condition("breadth_200d", "at_least", 50), Condition("breadth_200d", "at_most", 60)),
    )
    frame = combo_frame([(40, 0), (55, 0), (61, 0)])[["breadth_200d"]]
    assert timeline(band, frame) == [(1, "fired"), (2, "resolved")]


def test_combined_step_needs_every_input() -> None:
    rule = RuleSpec(id="c", all=(Condition("breadth_200d", "above", 65),))
    with pytest.raises(KeyError, match="breadth_200d"):
        step(rule, BLANK, DATES[0], {"other": 1.0}, 0)


# --- resolve_confirm and per-condition clear -----------------------------------------------


def test_resolve_confirm_needs_consecutive_cleared_sessions() -> None:
    rule = above(clear=60, resolve_confirm=3)
    # 2-3 cleared, 4 in the band resets, 5-6 cleared, 7 missing (leaves the count), 8 the third
    data = series([50, 66, 59, 58, 62, 59, 58, N, 57, 66])
    assert timeline(rule, data) == [(1, "fired"), (8, "resolved"), (9, "fired")]
    # a past session resets the count too, and does not fire again while firing
    data = series([50, 66, 59, 59, 70, 59, 59, 59])
    assert timeline(rule, data) == [(1, "fired"), (7, "resolved")]


def test_resolve_confirm_crosses_below() -> None:
    rule = below(threshold=50, clear=55, resolve_confirm=2)
    assert timeline(rule, series([60, 49, 56, 54, 56, 57])) == [(1, "fired"), (5, "resolved")]


def test_resolve_confirm_count_is_kept_in_the_stored_state() -> None:
    rule = above(clear=60, resolve_confirm=3)
    head = evaluate(rule, series([50, 66, 59, 58]))
    state = head.final_state
    assert (state.status, state.clear_streak) == (Status.FIRING, 2)
    again = RuleState.from_dict(json.loads(json.dumps(state.to_dict())))
    assert again == state
    tail = evaluate(rule, series([50, 66, 59, 58, 57]), state=again)
    assert [(POS[e.session], e.kind.value) for e in tail.events] == [(4, "resolved")]


def test_a_state_stored_before_resolve_confirm_loads_with_a_zero_count() -> None:
    old = {**BLANK.to_dict(), "status": "firing", "started": True, "last_index": 3}
    del old["clear_streak"]
    state = RuleState.from_dict(old)
    assert state.clear_streak == 0 and state.status == Status.FIRING
    rule = above(clear=60, resolve_confirm=2)
    state, event = step(rule, state, DATES[4], 59, 4)
    assert event is None and state.clear_streak == 1
    state, event = step(rule, state, DATES[5], 59, 5)
    assert event is not None and event.kind == Transition.RESOLVED


def test_all_resolves_when_any_condition_is_cleared_past_its_own_clear() -> None:
    rule = RuleSpec(
        id="broad",
        all=(
            Condition("breadth_200d", "at_least", 65, clear=60),
            Condition("ew_vs_cw", "above", 0, clear=-1),
        ),
        notify_resolved=True,
    )
    # 2: neither test holds, neither is cleared (62 >= 60, -0.5 >= -1): still firing;
    # 3: breadth cleared; 5: equal weight cleared
    frame = combo_frame([(50, 1), (66, 1), (62, -0.5), (59, 1), (66, 0.5), (66, -2)])
    assert timeline(rule, frame) == [(1, "fired"), (3, "resolved"), (4, "fired"), (5, "resolved")]


def test_any_resolves_only_when_every_condition_is_cleared() -> None:
    rule = RuleSpec(
        id="either",
        any=(
            Condition("breadth_200d", "at_least", 65, clear=60),
            Condition("ew_vs_cw", "above", 2, clear=0),
        ),
    )
    # 2: breadth cleared but equal weight not: firing; 3: both cleared; 5: neither holds, but
    # breadth is in its band: firing; 6: both cleared
    frame = combo_frame([(50, -1), (66, -1), (59, 1), (59, -0.5), (61, 3), (62, 1), (59, -1)])
    assert timeline(rule, frame) == [(1, "fired"), (3, "resolved"), (4, "fired"), (6, "resolved")]


def test_a_strict_condition_at_its_threshold_is_neither_held_nor_cleared() -> None:
    rule = RuleSpec(id="c", all=(Condition("ew_vs_cw", "above", 0),))
    frame = combo_frame([(0, -1), (0, 1), (0, 0), (0, -0.1)])[["ew_vs_cw"]]
    assert timeline(rule, frame) == [(1, "fired"), (3, "resolved")]
    # held at the reference: disarmed; 0 does not re-arm it, -1 does
    frame = combo_frame([(0, 1), (0, 0), (0, 1), (0, -1), (0, 1)])[["ew_vs_cw"]]
    assert timeline(rule, frame) == [(4, "fired")]


def test_combined_resolve_confirm() -> None:
    rule = RuleSpec(id="c", all=(Condition("breadth_200d", "at_least", 65),), resolve_confirm=2)
    frame = combo_frame([(50, 0), (66, 0), (64, 0), (66, 0), (64, 0), (63, 0)])
    assert timeline(rule, frame[["breadth_200d"]]) == [(1, "fired"), (5, "resolved")]


def test_condition_cleared_levels() -> None:
    assert Condition("s", "above", 1, 0).cleared(-0.1) and not Condition(
        "s", "above", 1, 0
    ).cleared(0)
    assert Condition("s", "at_least", 1).cleared(0.9) and not Condition("s", "at_least", 1).cleared(
        1
    )
    assert Condition("s", "below", 1, 2).cleared(2.1) and not Condition("s", "below", 1, 2).cleared(
        2
    )
    assert Condition("s", "at_most", 1).cleared(1.1) and not Condition("s", "at_most", 1).cleared(1)


# --- state, step and evaluate plumbing ---------------------------------------------------


def test_initial_state() -> None:
    rule = above(clear=60)
    assert initial_state(rule, 70) == RuleState(Status.OK, armed=False, started=True, last_index=0)
    assert initial_state(rule, 62).armed and initial_state(rule, 50).armed
    assert not initial_state(rule, math.nan).started
    changes = RuleSpec(id="c", signal="x.label", op="changes")
    assert initial_state(changes, "narrow", DATES[0]).last_label == "narrow"


def test_step_refuses_a_session_twice() -> None:
    state, _ = step(above(), BLANK, DATES[0], 50, 0)
    with pytest.raises(ValueError, match="index"):
        step(above(), state, DATES[0], 70, 0)


def test_state_round_trips_through_json() -> None:
    run = evaluate(above(cooldown_days=5), series([50, 66, 59, 66]))
    state = run.final_state
    assert state.status == Status.PENDING and state.last_fired == DATES[1].date()
    again = RuleState.from_dict(json.loads(json.dumps(state.to_dict())))
    assert again == state


@pytest.mark.parametrize(
    "patch",
    [{"version": 99}, {"status": "exploded"}, {"streak": "3"}, {"armed": 1}, {"last_session": "x"}],
)
def test_state_from_dict_rejects_junk(patch: dict[str, Any]) -> None:
    d = {**BLANK.to_dict(), **patch}
    with pytest.raises(ValueError):
        RuleState.from_dict(d)


def test_evaluate_start_makes_that_session_the_reference() -> None:
    data = series([50, 70, 70, 59, 70])
    assert timeline(above(), data) == [(1, "fired"), (3, "resolved"), (4, "fired")]
    assert timeline(above(), data, start=DATES[1]) == [(4, "fired")]


def test_evaluate_resumes_after_the_state_session() -> None:
    rule = above(cooldown_days=2)
    data = series([50, 66, 59, 66, 66, 66])
    whole = evaluate(rule, data)
    head = evaluate(rule, data.iloc[:3])
    rest = evaluate(rule, data, state=head.final_state)  # rows up to session 2 are skipped
    assert head.events + rest.events == whole.events
    assert rest.final_state == whole.final_state


def test_evaluate_checks_its_index() -> None:
    with pytest.raises(ValueError, match="sorted"):
        evaluate(above(), series([1, 2, 3]).iloc[::-1])
    with pytest.raises(ValueError, match="DatetimeIndex"):
        evaluate(above(), pd.Series([1.0, 2.0]))


def test_rule_inputs_from_a_resolver() -> None:
    store = {"breadth_200d": series([50, 70]), "ew_vs_cw": series([1, 1])}
    combined = RuleSpec(
        id="c", all=(Condition("breadth_200d", "above", 65), Condition("ew_vs_cw", "above", 0))
    )
    frame = rule_inputs(combined, store.__getitem__)
    assert list(frame.columns) == ["breadth_200d", "ew_vs_cw"]
    assert timeline(combined, frame) == [(1, "fired")]
    assert timeline(above(), rule_inputs(above(), store.__getitem__)) == [(1, "fired")]
    # a signal rule also takes a frame with its column
    assert timeline(above(), frame) == [(1, "fired")]


def test_to_frame() -> None:
    frame = evaluate(above(), series([50, 66, 59])).to_frame()
    assert list(frame["kind"]) == ["fired", "resolved"]
    assert frame["session"].iloc[0] == DATES[1]


# --- messages ----------------------------------------------------------------------------


def test_render_message() -> None:
    rule = above(message="Breadth is broadening: {value:.1f}% (threshold {threshold:g})")
    assert render_message(rule, 66.04) == "Breadth is broadening: 66.0% (threshold 65)"
    # an odd runtime value falls back to a plain line instead of raising
    assert render_message(rule, None) == "r: None"


def test_default_messages() -> None:
    assert render_message(above(), 66.0) == "breadth_200d crossed above 65: 66.00"
    assert render_message(below(), 49.5) == "breadth_200d crossed below 50: 49.50"
    combo = RuleSpec(id="c", any=(Condition("a", "above", 0), Condition("b", "above", 0)))
    assert render_message(combo, 1.0) == "c: 1 of 2 conditions hold"


@pytest.mark.parametrize(
    "message",
    [
        "{value:.1f",  # unbalanced
        "{valu:.1f}",  # unknown name
        "{label}",  # not a crossing field
        "{}",  # positional
        "{value.real}",  # attribute access
        "{value:d}",  # float with an int spec
        "{value:{width}}",  # nested unknown name
    ],
)
def test_bad_templates_fail_at_validation(message: str) -> None:
    with pytest.raises(RuleConfigError) as info:
        above(message=message)
    assert info.value.field == "message" and info.value.rule_id == "r"


def test_changes_template_with_a_number_format_fails_at_validation() -> None:
    with pytest.raises(RuleConfigError, match="message"):
        RuleSpec(id="c", signal="x.label", op="changes", message="{value:.1f}")


# --- RuleSpec.from_dict ------------------------------------------------------------------

BASE = {
    "id": "breadth_broadening",
    "signal": "breadth_200d",
    "op": "crosses_above",
    "threshold": 65,
}
COMBO = {
    "id": "broad_rotation",
    "all": [
        {"signal": "breadth_200d", "op": "above", "threshold": 65},
        {"signal": "ew_vs_cw", "op": "above", "threshold": 0},
    ],
}


def test_design_examples_parse_with_defaults() -> None:
    rule = RuleSpec.from_dict(
        {
            **BASE,
            "clear": 60,
            "confirm": 2,
            "cooldown_days": 5,
            "severity": "info",
            "notify_resolved": True,
            "message": "Breadth is broadening: {value:.1f}% of S&P 500 members are above their "
            "200-day average",
        }
    )
    assert (rule.clear, rule.confirm, rule.cooldown_days, rule.kind) == (60.0, 2, 5, "crossing")
    plain = RuleSpec.from_dict(BASE)
    assert (plain.clear, plain.confirm, plain.cooldown_days) == (65.0, 1, 0)
    assert (plain.severity, plain.notify_resolved) == ("info", False)
    combo = RuleSpec.from_dict({**COMBO, "confirm": 1, "message": "Rotation is broadening"})
    assert combo.kind == "combined" and combo.inputs == ("breadth_200d", "ew_vs_cw")
    assert combo.all[1] == Condition("ew_vs_cw", "above", 0.0, 0.0)  # clear = the threshold
    assert combo.resolve_confirm == 1 and plain.resolve_confirm == 1
    cleared = RuleSpec.from_dict(
        {
            **COMBO,
            "all": [{**COMBO["all"][0], "clear": 60}, COMBO["all"][1]],
            "resolve_confirm": 3,
        }
    )
    assert cleared.all[0] == Condition("breadth_200d", "above", 65.0, 60.0)
    assert cleared.resolve_confirm == 3
    dotted = RuleSpec.from_dict({**BASE, "signal": "smallcap_rs.iwm_qqq", "threshold": 0})
    assert dotted.signal == "smallcap_rs.iwm_qqq"
    changes = RuleSpec.from_dict(
        {"id": "regime", "signal": "rotation_regime.label", "op": "changes"}
    )
    assert changes.kind == "changes"


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        ({**BASE, "op": "crosses"}, "op"),
        ({k: v for k, v in BASE.items() if k != "op"}, "op"),
        ({k: v for k, v in BASE.items() if k != "threshold"}, "threshold"),
        ({**BASE, "threshold": "65"}, "threshold"),
        ({**BASE, "threshold": float("nan")}, "threshold"),
        ({**BASE, "threshold": True}, "threshold"),
        ({**BASE, "clear": 70}, "clear"),
        ({**BASE, "op": "crosses_below", "threshold": 50, "clear": 45}, "clear"),
        ({**BASE, "confirm": 0}, "confirm"),
        ({**BASE, "confirm": 1.5}, "confirm"),
        ({**BASE, "confirm": True}, "confirm"),
        ({**BASE, "cooldown_days": -1}, "cooldown_days"),
        ({**BASE, "severity": "critical"}, "severity"),
        ({**BASE, "notify_resolved": "yes"}, "notify_resolved"),
        ({**BASE, "message": 5}, "message"),
        ({**BASE, "message": "{value:.1f"}, "message"),
        ({**BASE, "treshold": 60}, "treshold"),
        ({**BASE, "signal": "smallcap rs"}, "signal"),
        ({**BASE, "signal": ""}, "signal"),
        ({**BASE, **COMBO, "id": "breadth_broadening"}, "signal"),
        ({"id": "x", "op": "crosses_above", "threshold": 1}, "signal"),
        ({**COMBO, "any": COMBO["all"]}, "any"),
        ({**COMBO, "op": "crosses_above"}, "op"),
        ({**COMBO, "threshold": 1}, "threshold"),
        ({**COMBO, "all": []}, "all"),
        ({**COMBO, "all": "breadth_200d above 65"}, "all"),
        (
            {
                **COMBO,
                "all": [
                    {"signal": "a", "op": "above", "threshold": 1},
                    {"signal": "b", "op": "gt", "threshold": 1},
                ],
            },
            "all[1].op",
        ),  # noqa: E501
        ({**COMBO, "all": [{"signal": "a", "op": "above"}]}, "all[0].threshold"),
        ({**COMBO, "all": [{"signal": "a", "op": "above", "threshold": 1, "x": 1}]}, "all[0].x"),
        ({**COMBO, "all": [{"signal": "a b", "op": "above", "threshold": 1}]}, "all[0].signal"),
        ({**COMBO, "all": [5]}, "all[0]"),
        ({"id": "c", "signal": "r.label", "op": "changes", "threshold": 1}, "threshold"),
        (
            {"id": "c", "signal": "r.label", "op": "changes", "notify_resolved": True},
            "notify_resolved",
        ),  # noqa: E501
        ({**BASE, "resolve_confirm": 0}, "resolve_confirm"),
        ({**BASE, "resolve_confirm": 1.5}, "resolve_confirm"),
        ({**COMBO, "resolve_confirm": "2"}, "resolve_confirm"),
        (
            {"id": "c", "signal": "r.label", "op": "changes", "resolve_confirm": 2},
            "resolve_confirm",
        ),
        ({**COMBO, "all": [{**COMBO["all"][0], "clear": 70}]}, "all[0].clear"),
        ({**COMBO, "all": [{**COMBO["all"][0], "clear": "60"}]}, "all[0].clear"),
        (
            {"id": "c", "any": [{"signal": "a", "op": "at_most", "threshold": 5, "clear": 4}]},
            "any[0].clear",
        ),
        ({**COMBO, "clear": 60}, "clear"),
    ],
)
def test_from_dict_errors_name_rule_and_field(entry: dict[str, Any], field: str) -> None:
    with pytest.raises(RuleConfigError) as info:
        RuleSpec.from_dict(entry)
    assert info.value.field == field
    assert info.value.rule_id == entry["id"]
    assert entry["id"] in str(info.value) and field in str(info.value)


@pytest.mark.parametrize("entry", [{"signal": "a"}, {"id": "", "signal": "a"}, {"id": 3}])
def test_from_dict_needs_an_id(entry: dict[str, Any]) -> None:
    with pytest.raises(RuleConfigError) as info:
        RuleSpec.from_dict(entry)
    assert info.value.field == "id" and info.value.rule_id is None


def test_from_dict_needs_a_mapping() -> None:
    with pytest.raises(RuleConfigError, match="mapping"):
        RuleSpec.from_dict(["id", "x"])  # type: ignore[arg-type]


def test_transitions_are_strings() -> None:
    assert Transition.FIRED == "fired" and Status.FIRING == "firing"


def test_twenty_rules_over_2700_sessions() -> None:
    """~20 rules over ~2,700 sessions, the backtest's shape, all exercised (how fast is
    measured by benchmarks/backtest.py, not asserted here)."""
    rng = np.random.default_rng(1)
    index = pd.bdate_range("2016-01-04", periods=2700)
    walk = pd.Series(np.cumsum(rng.normal(0, 1, 2700)), index=index)
    frame = pd.DataFrame({"breadth_200d": walk, "ew_vs_cw": -walk})
    rules = [above(threshold=t, clear=t - 2, confirm=2, cooldown_days=5) for t in range(-9, 9)]
    rules += [
        RuleSpec(
            id="c", all=(Condition("breadth_200d", "above", 0), Condition("ew_vs_cw", "at_most", 1))
        ),
        RuleSpec(id="l", signal="regime.label", op="changes", confirm=2),
    ]
    data = {**frame, "regime.label": (walk // 5).astype(str)}
    runs = [evaluate(r, rule_inputs(r, data.__getitem__)) for r in rules]
    assert sum(len(r.fired) for r in runs) > 20  # the data does exercise the rules
    assert all(len(r.fired) - len(r.resolved) in (0, 1) for r in runs if r.rule_id != "l")
