"""The startup message names the conditions that hold beside the rules that fire, so a
condition already true at the first start (which never fires until it clears) is seen."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pandas as pd
from sqlalchemy import select

from bot.config.settings import load_settings
from bot.runtime.app import BotApp
from bot.storage.store import Store, utcnow
from bot.storage.tables import DeliveryRow, RuleStateRow
from tests.bot.commands_helpers import ask

ROOT = Path(__file__).resolve().parents[3]
FIRST, LATER = pd.Timestamp("2026-06-01"), pd.Timestamp("2026-07-16")


def _settings(tmp_path: Path):
    config = (ROOT / "config" / "rotation.yaml").read_text(encoding="utf-8")
    path = tmp_path / "rotation.yaml"
    path.write_text(
        f"""\
data: {{source: demo, demo_end: "2026-10-30"}}
database_url: sqlite:///{tmp_path / "bot.db"}
admins: {{telegram: [77]}}
"""
        + config[config.index("\nrules:") :],
        encoding="utf-8",
    )
    return load_settings(path)


def _startup_lines(store: Store) -> list[list[str]]:
    """Each startup message's lines, in order (one message may go to several admins)."""
    with store.transaction() as s:
        rows = s.scalars(
            select(DeliveryRow).where(DeliveryRow.kind == "startup").order_by(DeliveryRow.id)
        ).all()
        by_message = {r.group_key: list(r.payload["lines"]) for r in rows}
    return list(by_message.values())


def _names(line: str, prefix: str) -> set[str]:
    assert line.startswith(prefix), line
    body = line.removeprefix(prefix)
    return set() if body == "nothing" else {i.split(" (")[0] for i in body.split("), ")}


def _breadth(closes: pd.DataFrame, tickers: list[str], n: int = 200) -> float:
    window = closes[[t for t in tickers if t in closes.columns]].iloc[-n:]
    used = window.loc[:, window.notna().all()]
    return 100.0 * float((used.iloc[-1] > used.mean()).sum()) / used.shape[1]


def test_startup_lists_conditions_that_hold_and_rules_that_fire(tmp_path) -> None:
    settings = _settings(tmp_path)
    store = Store(settings.database_url)
    app = BotApp(settings, store=store, as_of=FIRST, senders={})
    asyncio.run(app.open())
    first = asyncio.run(app.refresh_and_evaluate(utcnow()))
    assert first is not None and first.outcome == "initialized"
    assert app.startup_message(utcnow()) >= 1  # the admin's private chat (and the console)
    (lines,) = _startup_lines(store)
    assert lines[0] == f"rules: {len(app.rules)}, source: demo"
    holding = _names(lines[1], "holds now: ")
    assert lines[2] == "firing now: nothing"  # a first start fires nothing
    # what holds is what `signals` says holds, and breadth agrees with a computation here
    table = ask(app.context, "signals").table
    assert holding == {r[0] for r in table.rows if r[1].startswith("yes")}
    assert holding, "some default condition should hold on the demo"
    state = app.state
    assert state is not None
    closes = state.data.closes.loc[:FIRST]
    breadth = _breadth(closes, list(state.data.universe.tickers))
    assert ("breadth_broadening" in holding) == (breadth >= 65)
    if breadth >= 65:
        assert f"breadth_broadening ({breadth:.1f}% ≥ 65)" in lines[1]

    app.fixed_as_of = LATER
    asyncio.run(app.refresh_and_evaluate(utcnow()))
    assert app.startup_message(utcnow()) >= 1
    lines = _startup_lines(store)[-1]
    with store.transaction() as s:
        firing = {
            r.rule_id for r in s.scalars(select(RuleStateRow)) if r.state["status"] == "firing"
        }
    assert firing, "six weeks of the demo should fire some rule"
    assert _names(lines[2], "firing now: ") == firing
    asyncio.run(app.close())


def test_startup_before_market_data_says_so(tmp_path) -> None:
    settings = _settings(tmp_path)
    app = BotApp(settings, store=Store(settings.database_url), senders={}, chat_state=False)
    asyncio.run(app.open())
    app.startup_message(utcnow())
    (lines,) = _startup_lines(app.store)
    assert lines[1:] == ["holds now: no market data yet", "firing now: nothing"]
    asyncio.run(app.close())
