"""subscribe, unsubscribe, mute, settings: what they write to the caller's destination row."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.commands.subscriptions import parse_duration
from bot.storage.store import Store, as_utc
from bot.storage.tables import DestinationRow
from signals.rules import RuleSpec
from tests.bot.commands_helpers import NOW, all_text, ask, caller, context


@pytest.fixture()
def store() -> Store:
    s = Store()
    yield s
    s.close()


@pytest.fixture()
def rules(default_rules: list[RuleSpec]) -> tuple[RuleSpec, ...]:
    return tuple(default_rules)


def rows(store: Store) -> list[DestinationRow]:
    with store.transaction() as s:
        return list(s.scalars(select(DestinationRow).order_by(DestinationRow.id)))


def add_row(store: Store, **kw) -> None:
    values = {
        "platform": "telegram",
        "chat_id": "42",
        "thread_id": "",
        "origin": "config",
        "created_at": NOW,
        "kinds": {},
        **kw,
    }
    with store.transaction() as s:
        s.add(DestinationRow(**values))


def test_subscribe_all_writes_the_callers_address(store: Store, rules) -> None:
    who = caller("group", admin=True, chat_id="-100200", thread_id="5")
    reply = ask(context(None, store=store, rules=rules, who=who), "subscribe")
    assert not reply.is_error and reply.title == "Subscribed"
    assert "all rules" in reply.blocks[0]
    (row,) = rows(store)
    assert (row.platform, row.chat_id, row.thread_id) == ("telegram", "-100200", "5")
    assert (row.origin, row.rules, row.enabled, row.admin_only) == ("chat", "all", True, False)
    assert as_utc(row.created_at) == NOW


def test_subscribe_to_named_rules_and_severities(store: Store, rules) -> None:
    ctx = context(None, store=store, rules=rules)
    reply = ask(ctx, "subscribe breadth_broadening WARNING Breadth_Broadening regime_change")
    assert not reply.is_error, reply
    (row,) = rows(store)
    assert row.rules == ["breadth_broadening", "warning", "regime_change"]
    assert "breadth_broadening, warning, regime_change" in reply.blocks[0]
    ask(ctx, "subscribe all")
    assert rows(store)[0].rules == "all"


def test_subscribe_to_an_unknown_rule_suggests(store: Store, rules) -> None:
    reply = ask(context(None, store=store, rules=rules), "subscribe breadth_broadning")
    assert reply.is_error and "Unknown rule “breadth_broadning”" in reply.blocks[0]
    assert "breadth_broadening" in reply.blocks[0]
    assert rows(store) == []


def test_unsubscribe_disables_and_subscribe_enables_again(store: Store, rules) -> None:
    ctx = context(None, store=store, rules=rules)
    ask(ctx, "subscribe")
    reply = ask(ctx, "unsubscribe")
    assert reply.title == "Unsubscribed" and "no more alerts" in reply.blocks[0]
    (row,) = rows(store)
    assert not row.enabled and "unsubscribed in chat" in row.disabled_reason
    assert "not subscribed" in ask(ctx, "unsubscribe").blocks[0]
    ask(ctx, "subscribe")
    (row,) = rows(store)
    assert row.enabled and row.disabled_reason is None


def test_config_destinations_are_changed_in_the_config(store: Store, rules) -> None:
    add_row(store, rules=["breadth_broadening"])
    ctx = context(None, store=store, rules=rules, who=caller(admin=True))
    for text in ("subscribe", "unsubscribe", "mute 2h", "settings alert off"):
        reply = ask(ctx, text)
        assert reply.is_error and "config file" in reply.blocks[0], text
    (row,) = rows(store)
    assert row.rules == ["breadth_broadening"] and row.enabled and row.muted_until is None
    assert row.kinds == {}
    assert not ask(ctx, "settings").is_error  # reading is fine


def test_an_admins_private_chat_row_becomes_a_subscription(store: Store, rules) -> None:
    add_row(store, rules="all", admin_only=True)
    ctx = context(None, store=store, rules=rules, who=caller(admin=True))
    assert "not subscribed" in ask(ctx, "settings").blocks[0]
    assert not ask(ctx, "subscribe").is_error
    (row,) = rows(store)
    assert (row.origin, row.admin_only, row.enabled) == ("chat", False, True)


def test_mute_and_unmute(store: Store, rules) -> None:
    ctx = context(None, store=store, rules=rules)
    assert "not subscribed" in ask(ctx, "mute 2h").blocks[0]
    ask(ctx, "subscribe")
    reply = ask(ctx, "mute 2h")
    assert reply.title == "Muted" and "2026-11-02 17:00 UTC" in reply.blocks[0]
    assert as_utc(rows(store)[0].muted_until) == NOW + timedelta(hours=2)
    assert "Muted until 2026-11-02 17:00 UTC." in ask(ctx, "settings").blocks
    assert ask(ctx, "mute off").title == "Unmuted"
    assert rows(store)[0].muted_until is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", timedelta(minutes=30)),
        ("2h", timedelta(hours=2)),
        ("2 hours", timedelta(hours=2)),
        ("3d", timedelta(days=3)),
        ("1w", timedelta(weeks=1)),
        ("2W", timedelta(weeks=2)),
        ("off", timedelta(0)),
        ("0", timedelta(0)),
        ("banana", None),
        ("-2h", None),
        ("2y", None),
        ("99999d", None),
        ("", None),
    ],
)
def test_parse_duration(text: str, expected: timedelta | None) -> None:
    assert parse_duration(text) == expected


def test_mute_refuses_bad_and_long_durations(store: Store, rules) -> None:
    ctx = context(None, store=store, rules=rules)
    ask(ctx, "subscribe")
    bad = ask(ctx, "mute banana")
    assert bad.is_error and "“banana” is not a duration" in bad.blocks[0]
    assert "Usage: mute 2h | 3d | 1w | off" in bad.blocks
    long = ask(ctx, "mute 1000d")
    assert long.is_error and "At most 90 days" in long.blocks[0]
    assert rows(store)[0].muted_until is None


def test_settings_show_and_set_levels(store: Store, rules) -> None:
    ctx = context(None, store=store, rules=rules)
    assert "not subscribed" in ask(ctx, "settings").blocks[0]
    ask(ctx, "subscribe breadth_broadening")
    shown = ask(ctx, "settings")
    assert shown.table is not None
    assert dict(shown.table.rows) == {
        "alert": "on",
        "resolved": "on",
        "data_health": "on",
        "digest": "off",
        "heartbeat": "off",
        "startup": "off",
    }
    assert "Rules: breadth_broadening." in shown.blocks
    changed = ask(ctx, "settings Resolved SILENT")
    assert changed.blocks[0] == "resolved messages are now silent."
    assert dict(changed.table.rows)["resolved"] == "silent"
    ask(ctx, "settings data-health off")
    assert rows(store)[0].kinds == {"resolved": "silent", "data_health": "off"}


def test_settings_refuse_unknown_kinds_and_levels(store: Store, rules) -> None:
    ctx = context(None, store=store, rules=rules)
    ask(ctx, "subscribe")
    kind = ask(ctx, "settings alerts loud")
    assert kind.is_error and "Unknown message kind “alerts”" in kind.blocks[0]
    level = ask(ctx, "settings alert loud")
    assert level.is_error and "Unknown level “loud”" in level.blocks[0]
    assert rows(store)[0].kinds == {}


def test_without_a_database(rules) -> None:
    ctx = context(None, store=None, rules=rules)
    for text in ("subscribe", "unsubscribe", "mute 2h", "settings"):
        reply = ask(ctx, text)
        assert reply.is_error and "without a database" in all_text(reply), text


def test_each_chat_and_thread_has_its_own_row(store: Store, rules) -> None:
    for who in (
        caller(chat_id="1"),
        caller(chat_id="2"),
        caller("group", admin=True, chat_id="-3", thread_id="7"),
        caller("group", admin=True, chat_id="-3", thread_id=""),
        caller(platform="slack", chat_id="1"),
    ):
        ask(context(None, store=store, rules=rules, who=who), "subscribe")
    keys = {(r.platform, r.chat_id, r.thread_id) for r in rows(store)}
    assert len(keys) == 5
