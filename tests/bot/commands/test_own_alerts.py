"""`alert ...` and `alerts`: the grammar, what is stored, the reply's numbers, permissions."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select

from bot.alerts import MarketState
from bot.alerts.own_rules import own_rule
from bot.commands.own_grammar import parse_rule
from bot.config import OwnAlertSettings
from bot.storage import OwnAlerts, Store
from bot.storage.tables import DestinationRow, OwnAlertRow
from signals.market import MarketData
from tests.bot.commands_helpers import ask, caller, context, load_state
from tests.bot.own_helpers import crossing_events


@pytest.fixture(scope="module")
def state(demo_data: MarketData) -> MarketState:
    return load_state(demo_data)  # type: ignore[return-value]


@pytest.fixture()
def store() -> Store:
    s = Store()
    yield s
    s.close()


def stored(store: Store) -> int:
    with store.transaction() as s:
        return s.scalar(select(func.count()).select_from(OwnAlertRow)) or 0


def one_rule(store: Store) -> OwnAlertRow:
    with store.transaction() as s:
        (row,) = s.scalars(select(OwnAlertRow)).all()
        s.expunge(row)
        return row


# --- the grammar: omitted keys take the configured rules' defaults, notify_resolved on -------


def test_a_crossing_takes_the_defaults_except_notify_resolved(state, store) -> None:
    reply = ask(context(state, store=store), "alert breadth crosses above 70")
    assert not reply.is_error, reply.blocks
    row = one_rule(store)
    assert row.text == "breadth_200d crosses above 70"
    rule = own_rule("own:1", row.spec).rule
    assert (rule.op, rule.threshold, rule.clear) == ("crosses_above", 70.0, 70.0)
    assert (rule.confirm, rule.cooldown_days, rule.severity) == (1, 0, "info")
    assert rule.notify_resolved is True
    assert getattr(rule, "resolve_confirm", 1) == 1


def test_a_level_test_is_one_all_condition_with_every_option(state, store) -> None:
    ask(context(state, store=store), "alert top10 below 35 clear 36 confirm 3 cooldown 5")
    row = one_rule(store)
    assert row.text == "top10_share below 35 confirm 3 clear 36 cooldown 5"
    rule = own_rule("own:1", row.spec).rule
    (cond,) = rule.all
    assert (cond.op, cond.threshold, cond.clear) == ("below", 35.0, 36.0)
    assert (rule.confirm, rule.cooldown_days, rule.notify_resolved) == (3, 5, True)


@pytest.mark.parametrize(
    ("line", "subject"),
    [
        ("alert XLE vs XLK above 5", {"kind": "relative", "name": "XLE", "other": "XLK",
                                      "window": "3m"}),
        ("alert RSP vs SPY 1y crosses below -2", {"kind": "relative", "name": "RSP",
                                                  "other": "SPY", "window": "1y"}),
        ("alert SPY above 500", {"kind": "close", "name": "SPY", "other": None, "window": None}),
        ("alert smallcaps crosses above 0", {"kind": "signal", "name": "smallcap_rs",
                                             "other": None, "window": None}),
        ("alert smallcap_rs.iwm_qqq below -3", {"kind": "signal", "name": "smallcap_rs.iwm_qqq",
                                                "other": None, "window": None}),
    ],
)  # fmt: skip
def test_subjects(state, store, line: str, subject: dict) -> None:
    reply = ask(context(state, store=store), line)
    assert not reply.is_error, reply.blocks
    assert one_rule(store).spec["subject"] == subject


# --- malformed rules: one line naming the wrong part and an example that runs; nothing stored -


@pytest.mark.parametrize(
    ("line", "named"),
    [
        ("alert breadth abovee 70", "abovee"),
        ("alert XYZQ above 5", "XYZQ"),
        ("alert breadth above seventy", "seventy"),
        ("alert breadth crosses over 70", "crosses over"),
        ("alert breadth above", "above"),
        ("alert breadth above 70 confirm zero", "zero"),
        ("alert breadth above 70 confirm 0", "confirm “0”"),
        ("alert breadth above 70 often", "often"),
        ("alert breadth crosses above 70 clear 75", "clear 75"),
        ("alert XLE vs XLK 2q above 5", "2q"),
        ("alert XLE vs above 5", "XLE vs"),
        ("alert above 5", "nothing"),
    ],
)
def test_a_malformed_rule_is_one_line_and_stores_nothing(state, store, line, named) -> None:
    reply = ask(context(state, store=store), line)
    assert reply.is_error
    assert len(reply.blocks) == 1 and "\n" not in reply.blocks[0], reply.blocks
    assert named in reply.blocks[0]
    assert stored(store) == 0
    # the table may add what a sentence could mean ("... Did you mean: breadth?")
    example = reply.blocks[0].rsplit("e.g. ", 1)[1].split(" Did you mean")[0]
    assert not ask(context(state, store=store), example).is_error, example
    assert stored(store) == 1  # the example is a rule that is stored


def test_the_21st_rule_is_refused_in_one_line(state, store) -> None:
    ctx = context(state, store=store)
    for n in range(20):
        assert not ask(ctx, f"alert breadth crosses above {50 + n}").is_error
    reply = ask(ctx, "alert breadth crosses above 90")
    assert reply.is_error and len(reply.blocks) == 1 and "20" in reply.blocks[0]
    assert stored(store) == 20
    other = context(state, store=store, who=caller(chat_id="43"))
    assert not ask(other, "alert breadth crosses above 90").is_error  # per chat
    small = replace(ctx, own_alerts=OwnAlertSettings(max_per_chat=3))
    ask(ctx, "alert delete 1")
    assert ask(small, "alert breadth crosses above 91").is_error  # 19 left, limit 3


# --- the reply: holds now, and a backtest checked by a separate computation ------------------


def test_the_reply_says_if_it_holds_and_how_it_would_have_done(state, store) -> None:
    reply = ask(context(state, store=store), "alert breadth crosses above 60 confirm 2")
    text = "\n".join(reply.blocks)
    breadth = state.history.series("breadth_200d")
    end = pd.Timestamp(state.snapshot.as_of)
    now = breadth.loc[end]
    assert f"breadth_200d is {now:.2f}" in text
    assert ("the condition holds" in text) == bool(now >= 60)
    events = crossing_events(breadth.loc[:end].items(), 60.0, 2)
    fired = [pd.Timestamp(d) for kind, d in events if kind == "fired"]
    assert len(fired) > 2  # the test means something on this history
    assert f"fired {len(fired)} times" in text
    assert f"last on {fired[-1].date()}" in text
    spy = state.data.closes["SPY"].loc[:end]
    for name, k in (("1m", 21), ("3m", 63)):
        fwd = (spy.shift(-k) / spy - 1) * 100
        first = breadth.first_valid_index()
        after = float(np.nanmedian(fwd.reindex(fired)))
        base = float(np.nanmedian(fwd.loc[first:end]))
        assert f"SPY {name} after a firing: median {after:+.1f}% (all sessions: {base:+.1f}%)" in (
            text
        )


# --- permissions ------------------------------------------------------------------------------


def test_in_a_group_only_admins_by_default(state, store) -> None:
    member = context(state, store=store, who=caller("group", chat_id="-100"))
    reply = ask(member, "alert breadth above 70")
    assert reply.is_error and len(reply.blocks) == 1 and stored(store) == 0
    admin = context(state, store=store, who=caller("group", admin=True, chat_id="-100"))
    assert not ask(admin, "alert breadth above 70").is_error
    assert ask(member, "alert delete 1").is_error
    assert not ask(member, "alerts").is_error  # anyone may list
    assert not ask(context(state, store=store), "alert breadth above 70").is_error  # private


def test_who_everyone_admins_and_allowlist(state, store) -> None:
    member = context(state, store=store, who=caller("group", chat_id="-100", user_id="9"))
    everyone = replace(member, own_alerts=OwnAlertSettings(who="everyone"))
    assert not ask(everyone, "alert breadth above 70").is_error
    admins = replace(context(state, store=store), own_alerts=OwnAlertSettings(who="admins"))
    assert ask(admins, "alert breadth above 70").is_error  # a private chat, not an admin
    listed = OwnAlertSettings(who="allowlist", allowlist={"telegram": ["9"]})
    assert not ask(replace(member, own_alerts=listed), "alert breadth above 71").is_error
    assert ask(replace(admins, own_alerts=listed), "alert breadth above 72").is_error
    assert stored(store) == 2


# --- list, delete, pause, resume ----------------------------------------------------------------


def test_alerts_lists_this_chats_rules_only(state, store) -> None:
    ctx = context(state, store=store)
    ask(ctx, "alert breadth crosses above 70 confirm 2")
    ask(ctx, "alert XLE vs XLK above 5")
    ask(context(state, store=store, who=caller(chat_id="43")), "alert SPY above 1")
    reply = ask(ctx, "alerts")
    assert reply.table is not None
    assert [r[:2] for r in reply.table.rows] == [
        ("#1", "breadth_200d crosses above 70 confirm 2"),
        ("#2", "XLE vs XLK 3m above 5"),
    ]
    assert all(r[3] == "starts at the next evaluation" for r in reply.table.rows)
    assert ask(ctx, "alert pause 2").title == "Alert #2"
    assert ask(ctx, "alerts").table.rows[1][3] == "paused"
    assert "starts afresh" in ask(ctx, "alert resume #2").blocks[0]
    assert ask(ctx, "alert delete 1").title == "Alert #1"
    assert [r[0] for r in ask(ctx, "alerts").table.rows] == ["#2"]
    assert not ask(ctx, "alert breadth above 1").is_error
    assert [r[0] for r in ask(ctx, "alerts").table.rows] == ["#2", "#3"]  # 1 is never reused
    for line in ("alert delete 1", "alert pause x", "alert resume"):
        reply = ask(ctx, line)
        assert reply.is_error and len(reply.blocks) == 1


def test_alerts_is_no_longer_signals(state, store) -> None:
    reply = ask(context(state, store=store), "alerts")
    assert reply.title == "This chat's alerts" and "alert breadth" in reply.blocks[0]


def test_without_a_database(state) -> None:
    reply = ask(context(state), "alert breadth above 70")
    assert reply.is_error and "database" in reply.blocks[0]


def test_a_new_rule_reuses_the_chats_destination_or_makes_one_for_itself(state, store) -> None:
    ask(context(state, store=store), "alert breadth above 70")
    with store.transaction() as s:
        (row,) = s.scalars(select(DestinationRow)).all()
        assert (row.platform, row.chat_id, row.origin, row.admin_only) == (
            "telegram", "42", "own", True
        )  # fmt: skip
    ask(context(state, store=store), "alert breadth above 71")
    with store.transaction() as s:
        assert s.scalar(select(func.count()).select_from(DestinationRow)) == 1
    assert len(OwnAlerts(store).of_chat(("telegram", "42", ""))) == 2


def test_parse_rule_is_the_grammar_the_command_uses(state) -> None:
    new = parse_rule(state, ("breadth", "crosses", "below", "40", "clear", "45"))
    assert new.text == "breadth_200d crosses below 40 clear 45"
    assert (new.own.rule.threshold, new.own.rule.clear) == (40.0, 45.0)
