"""What holds now, beside what fires: `signals` and `subscribe` through the real dispatcher,
on the demo and on the real panel, with a store the real engine filled.

The case the feature exists for: on the real data the top-10 share is about 40 % on
2026-07-31, above `concentration_high`'s 35; a bot started that day sets the rule's state
silently (already past, so not armed) and the rule does not fire. `signals` and `subscribe`
must say that the condition holds and that the rule waits to clear.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
import pytest
from sqlalchemy import select

from bot.alerts.engine import Engine
from bot.alerts.market_state import MarketState
from bot.storage.store import Store
from bot.storage.tables import RuleStateRow
from signals.indicators import SignalHistory
from signals.market import MarketData
from signals.rules import RuleSpec, RuleState
from signals.snapshot import build_snapshot
from tests.bot.commands_helpers import ask, context, load_state, row

if TYPE_CHECKING:
    from collections.abc import Iterator

REAL_DAY = pd.Timestamp("2026-07-31")


def _breadth(closes: pd.DataFrame, tickers: list[str], n: int = 200) -> float:
    """100 x above / used on the last row of `closes`: members with all n closes present,
    above when the last close is strictly above their mean."""
    window = closes[[t for t in tickers if t in closes.columns]].iloc[-n:]
    used = window.loc[:, window.notna().all()]
    return 100.0 * float((used.iloc[-1] > used.mean()).sum()) / used.shape[1]


def _stored(store: Store) -> dict[str, RuleState]:
    with store.transaction() as s:
        return {r.rule_id: RuleState.from_dict(r.state) for r in s.scalars(select(RuleStateRow))}


# --- the demo -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_state(demo_data: MarketData) -> MarketState:
    return load_state(demo_data)  # type: ignore[return-value]


@pytest.fixture(scope="module")
def demo_store(
    demo_data: MarketData, demo_history: SignalHistory, default_rules: list[RuleSpec]
) -> Iterator[Store]:
    """A first start three years back, then a catch-up to the demo's last session."""
    store = Store()
    engine = Engine(store, default_rules, enqueue=False)
    engine.evaluate(demo_history, demo_data, demo_data.closes.index[-756])
    engine.evaluate(demo_history, demo_data)
    yield store
    store.close()


def _listed(line: str, prefix: str) -> set[str]:
    """Rule ids named in "Prefix: a (..), b (..)."."""
    assert line.startswith(prefix), line
    body = line.removeprefix(prefix).rstrip(".")
    return {item.split(" (")[0].strip() for item in body.split("), ") if item}


def test_subscribe_says_what_holds_and_what_fires_on_the_demo(
    demo_state: MarketState, demo_store: Store, default_rules: list[RuleSpec]
) -> None:
    rules = tuple(default_rules)
    table = ask(context(demo_state, store=demo_store, rules=rules), "signals")
    holding = {r[0] for r in table.table.rows if r[1].startswith("yes")}
    reply = ask(context(demo_state, store=Store(), rules=rules), "subscribe")
    assert not reply.is_error
    # a fresh store: conditions are read from the market, nothing has fired yet
    day = demo_state.as_of.date().isoformat()
    assert _listed(reply.blocks[1], f"Conditions that hold now ({day}): ") == holding
    assert reply.blocks[2] == "No rule is firing now."
    # the demo's breadth, computed here: breadth_broadening holds iff it is >= 65
    breadth = _breadth(demo_state.data.closes, list(demo_state.data.universe.tickers))
    assert ("breadth_broadening" in holding) == (breadth >= 65)
    assert f"breadth_broadening ({breadth:.1f}% ≥ 65)" in reply.blocks[1] or breadth < 65

    evaluated = ask(context(demo_state, store=demo_store, rules=rules), "subscribe")
    firing = {k for k, v in _stored(demo_store).items() if v.status.value == "firing"}
    assert firing, "three years of the demo should leave some rule firing"
    assert _listed(evaluated.blocks[2], "Firing now: ") == firing
    for rule_id in firing:
        since = _stored(demo_store)[rule_id].last_fired
        assert f"{rule_id} (since {since.isoformat()})" in evaluated.blocks[2]
    assert evaluated.blocks[-1].startswith("settings shows the message levels")


def test_subscribe_to_some_rules_names_only_those(
    demo_state: MarketState, demo_store: Store, default_rules: list[RuleSpec]
) -> None:
    reply = ask(
        context(demo_state, store=demo_store, rules=tuple(default_rules)),
        "subscribe breadth_narrowing concentration_high",
    )
    text = " ".join(reply.blocks[1:3])
    others = {r.id for r in default_rules} - {"breadth_narrowing", "concentration_high"}
    assert not any(f"{o} (" in text for o in others)


def test_subscribe_before_market_data(default_rules: list[RuleSpec]) -> None:
    reply = ask(context(None, store=Store(), rules=tuple(default_rules)), "subscribe")
    assert not reply.is_error
    assert reply.blocks[1] == "Market data is still loading: what holds now shows once it is in."


# --- the real panel -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_state(real_data: MarketData, real_history: SignalHistory) -> MarketState:
    data = real_data.up_to(REAL_DAY)
    return MarketState(data, real_history, build_snapshot(real_history, data, REAL_DAY))


@pytest.fixture(scope="module")
def first_start(
    real_data: MarketData, real_history: SignalHistory, default_rules: list[RuleSpec]
) -> Iterator[Store]:
    """A bot started on 2026-07-31 with an empty database: every state set silently."""
    store = Store()
    result = Engine(store, default_rules, enqueue=False).evaluate(real_history, real_data, REAL_DAY)
    assert result.outcome == "initialized"
    yield store
    store.close()


@pytest.mark.realdata
def test_signals_shows_a_condition_that_holds_without_firing(
    real_state: MarketState, first_start: Store, default_rules: list[RuleSpec]
) -> None:
    reply = ask(context(real_state, store=first_start, rules=tuple(default_rules)), "signals")
    top10 = float(real_state.history.series("top10_share").loc[REAL_DAY])
    assert 38 < top10 < 42  # checked against the cap snapshots in tests/signals/rules
    assert row(reply, "concentration_high")[1:3] == (
        f"yes · {top10:.1f}%",
        "waiting to clear (< 33)",
    )
    closes = real_state.data.closes
    breadth = _breadth(closes, list(real_state.data.universe.tickers))
    assert row(reply, "breadth_broadening")[1] == (
        f"{'yes' if breadth >= 65 else 'no'} · {breadth:.1f}%"
    )
    assert reply.blocks[0] == "0 firing · 0 pending · 14 ok"
    assert f"concentration_high ({top10:.1f}% ≥ 35)" in reply.blocks[2]
    assert reply.blocks[2].startswith("Holds but does not fire: ")
    waiting = _listed(reply.blocks[2].split(". ")[0] + ".", "Holds but does not fire: ")
    assert waiting == {r[0] for r in reply.table.rows if r[1].startswith("yes")}


@pytest.mark.realdata
def test_subscribe_on_real_data_names_the_condition_in_force(
    real_state: MarketState, first_start: Store, default_rules: list[RuleSpec]
) -> None:
    reply = ask(context(real_state, store=first_start, rules=tuple(default_rules)), "subscribe")
    top10 = float(real_state.history.series("top10_share").loc[REAL_DAY])
    assert f"concentration_high ({top10:.1f}% ≥ 35)" in reply.blocks[1]
    assert reply.blocks[1].startswith("Conditions that hold now (2026-07-31): ")
    assert reply.blocks[2] == "No rule is firing now."
    assert reply.blocks[3].startswith("Holds but does not fire: ")
