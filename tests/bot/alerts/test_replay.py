"""`rotation-bot chat` on a throwaway store: the store holds what `history` replays, so
`signals` shows each rule's state (it showed "—" for every rule while `history` listed
firings) and the two commands agree."""

from __future__ import annotations

import io
import re

import pytest

from bot.alerts.backtest import run_backtest
from bot.alerts.market_state import MarketState
from bot.alerts.replay import replay_history
from bot.model import AlertTransition
from bot.storage import alert_log
from bot.storage.store import Store
from signals.market import MarketData
from signals.rules import RuleSpec
from tests.bot.commands_helpers import load_state


@pytest.fixture(scope="module")
def state(demo_data: MarketData) -> MarketState:
    return load_state(demo_data)  # type: ignore[return-value]


def test_the_replayed_store_holds_the_backtests_firings(
    state: MarketState, default_rules: list[RuleSpec]
) -> None:
    store = Store()
    replay_history(store, state, default_rules)
    logged = alert_log(store)
    backtest = run_backtest(state.data, state.history, default_rules, end=state.snapshot.as_of)
    for rule in default_rules:
        mine = [a.session for a in logged if a.rule_id == rule.id and a.transition == "fired"]
        theirs = [
            e.session for e in backtest.rules[rule.id].events if e.kind == AlertTransition.FIRED
        ]
        assert mine == theirs, rule.id
    assert sum(len(r.fired) for r in backtest.rules.values()) > 10
    replay_history(store, state, default_rules)  # again: already up to date, nothing new
    assert len(alert_log(store)) == len(logged)
    store.close()


def test_the_cli_chat_shows_states_that_agree_with_history(monkeypatch, capsys) -> None:
    from bot.cli import main

    lines = "signals\nhistory breadth_broadening\nhistory small_caps_leading\n"
    monkeypatch.setattr("sys.stdin", io.StringIO(lines))
    assert main(["chat", "--source", "demo", "--no-charts"]) == 0
    out = capsys.readouterr().out
    answers = out.strip().split("\n\n")
    table = next(a for a in answers if a.startswith("Rule "))
    rows = {line.split()[0]: line for line in table.splitlines()[1:]}
    assert len(rows) == 14
    assert not [r for r in rows.values() if re.search(r"  —  ", r)], table  # every state known
    assert "No rule states stored yet" not in out
    for rule_id in ("breadth_broadening", "small_caps_leading"):
        title = next(i for i, a in enumerate(answers) if a.startswith(f"History: {rule_id}"))
        newest = answers[title + 1].splitlines()[1].split()[0]  # first row: the last firing
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", newest)
        assert f"fired {newest}" in rows[rule_id] or "resolved" in rows[rule_id]
        if "firing since" in rows[rule_id]:
            assert f"firing since {newest}" in rows[rule_id]
