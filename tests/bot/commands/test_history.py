"""history RULE: past firings from the backtest, checked against the pure rule state machine
and forward returns computed straight from the closes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
import pytest

from bot.alerts.backtest import default_start
from bot.render import format_value
from signals.market import MarketData
from signals.rules import RuleSpec, evaluate, rule_inputs
from tests.bot.commands_helpers import all_text, ask, context, load_state, signed_pct

if TYPE_CHECKING:
    from bot.alerts.market_state import MarketState


@pytest.fixture(scope="module")
def state(demo_data: MarketData) -> MarketState:
    return load_state(demo_data)  # type: ignore[return-value]


@pytest.fixture(scope="module")
def rules(default_rules: list[RuleSpec]) -> tuple[RuleSpec, ...]:
    return tuple(default_rules)


def _fired(state: MarketState, rule: RuleSpec) -> list[pd.Timestamp]:
    """Firing sessions from `signals.rules.step.evaluate` over the same span as the backtest."""
    data = rule_inputs(rule, state.history.series)
    run = evaluate(rule, data, start=default_start(state.data))
    return [pd.Timestamp(e.session) for e in run.fired]


def _forward(closes: pd.DataFrame, ticker: str, day: pd.Timestamp, k: int) -> str:
    col = closes[ticker]
    pos = col.index.get_loc(day)
    if pos + k >= len(col):
        return "—"
    return signed_pct(100.0 * (col.iloc[pos + k] / col.iloc[pos] - 1.0))


@pytest.mark.parametrize("rule_id", ["breadth_broadening", "broad_rotation", "regime_change"])
def test_history_lists_the_firings_with_what_followed(
    state: MarketState, rules: tuple[RuleSpec, ...], rule_id: str
) -> None:
    rule = next(r for r in rules if r.id == rule_id)
    reply = ask(context(state, rules=rules), f"history {rule_id}")
    assert not reply.is_error, reply
    fired = _fired(state, rule)
    assert fired, f"{rule_id} never fired on the demo market"
    assert reply.blocks[0].startswith(f"Fired {len(fired)} time(s) from ")
    assert reply.table is not None
    newest = list(reversed(fired))[:10]
    assert [r[0] for r in reply.table.rows] == [d.date().isoformat() for d in newest]
    closes = state.data.closes
    for r, day in zip(reply.table.rows, newest, strict=True):
        assert r[2:] == (
            _forward(closes, "SPY", day, 21),
            _forward(closes, "SPY", day, 63),
            _forward(closes, "RSP", day, 63),
            _forward(closes, "IWM", day, 63),
        )
    if rule_id == "breadth_broadening":
        series = state.history.series("breadth_200d")
        assert [r[1] for r in reply.table.rows] == [
            format_value(series.loc[d], "%") for d in newest
        ]
    if rule_id == "regime_change":
        labels = state.history.series("rotation_regime.label")
        assert [r[1] for r in reply.table.rows] == [labels.loc[d] for d in newest]
    text = all_text(reply)
    assert "not a forecast" in text and "SIMULATED" in text
    assert "SPY over the next 3 months: median" in text


def test_history_is_computed_once_per_state(state: MarketState, rules) -> None:
    ctx = context(state, rules=rules)
    first = ask(ctx, "history breadth_broadening")
    assert len(ctx.cache) == 1
    assert ask(ctx, "history Breadth_Broadening") == first
    assert len(ctx.cache) == 1


def test_a_rule_that_never_fired(state: MarketState) -> None:
    never = RuleSpec(id="never", signal="breadth_200d", op="crosses_above", threshold=101)
    reply = ask(context(state, rules=(never,)), "history never")
    assert not reply.is_error and reply.table is None
    assert reply.blocks[0].startswith("It never fired from ")
    assert "Fires when: breadth_200d ≥ 101." in reply.blocks


def test_history_needs_a_known_rule_and_data(state: MarketState, rules) -> None:
    unknown = ask(context(state, rules=rules), "history breadth_broadning")
    assert unknown.is_error and unknown.buttons[0].command == "history breadth_broadening"
    assert ask(context(None, rules=rules), "history breadth_broadening").is_error
    assert ask(context(state, rules=()), "history anything").is_error
