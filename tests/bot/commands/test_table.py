"""dispatch: help and the menu from one table, unknown commands, argument counts, access,
hostile input, the error path and the middleware in place."""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.commands.context import Caller
from bot.commands.middleware import standard_middleware
from bot.commands.parse import ParseError
from bot.commands.table import (
    COMMANDS,
    WARM_COMMANDS,
    Dispatcher,
    closest_commands,
    dispatch,
    dispatch_text,
    find_command,
    menu,
    warm_cache,
)
from bot.model.reply import (
    MAX_BLOCK,
    MAX_BLOCKS,
    MAX_BUTTON_COMMAND_BYTES,
    MAX_CELL,
    MAX_ECHO,
    MAX_REPLY_CHARS,
    MAX_TITLE,
    Reply,
)
from bot.storage.store import Store
from signals.market import MarketData
from signals.rules import RuleSpec
from tests.bot.commands_helpers import all_text, ask, caller, context, load_state

TELEGRAM_NAME = re.compile(r"[a-z0-9_]{1,32}")

if TYPE_CHECKING:
    from bot.alerts.market_state import MarketState


@pytest.fixture(scope="module")
def state(demo_data: MarketData) -> MarketState:
    return load_state(demo_data)  # type: ignore[return-value]


@pytest.fixture()
def store() -> Store:
    s = Store()
    yield s
    s.close()


# --- one table: help and the menu -------------------------------------------------------------


def test_help_lists_every_command_with_its_usage(state: MarketState) -> None:
    reply = ask(context(state), "help")
    listing = "\n".join(reply.blocks[:-1]).splitlines()  # the list may take several blocks
    assert [line.split(" — ")[0] for line in listing] == [c.usage for c in COMMANDS]
    for c in COMMANDS:
        assert f"{c.usage} — {c.summary}" in listing


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.name)
def test_help_for_each_command(state: MarketState, command) -> None:
    reply = ask(context(state), f"help {command.name}")
    assert not reply.is_error
    assert reply.blocks[0] == f"Usage: {command.usage}"
    assert command.summary in reply.blocks
    alias = command.aliases[0] if command.aliases else command.name
    assert ask(context(state), f"help /{alias}") == reply


def test_help_for_an_unknown_command_suggests(state: MarketState) -> None:
    reply = ask(context(state), "help sectr")
    assert reply.is_error and "sector" in reply.blocks[0]


def test_telegram_menu_comes_from_the_table() -> None:
    entries = menu()
    assert [name for name, _ in entries] == [c.name for c in COMMANDS if not c.admin_only]
    for name, description in entries:
        assert TELEGRAM_NAME.fullmatch(name)
        assert 3 <= len(description) <= 256
    keys = [k for c in COMMANDS for k in (c.name, *c.aliases)]
    assert len(keys) == len(set(keys)), "a name or alias is used twice"
    assert all(find_command(k) is not None for k in keys)


def test_start_is_help() -> None:
    assert find_command("start") is find_command("help")


# --- unknown commands, arguments --------------------------------------------------------------


def test_unknown_command_suggests_the_closest(state: MarketState) -> None:
    reply = ask(context(state), "snapshto")
    assert reply.is_error
    assert reply.blocks[0].startswith("Unknown command “snapshto”. Did you mean: snapshot")
    assert reply.buttons[0].command == "snapshot"
    assert closest_commands("sectr")[0] == "sector"
    nothing = ask(context(state), "zzzzzz")
    assert "Send help" in nothing.blocks[0] and not nothing.buttons


def test_suggestion_buttons_keep_the_arguments(state: MarketState) -> None:
    reply = ask(context(state), "sectr XLF")
    assert reply.buttons[0].command == "sector XLF"
    long = ask(context(state), "sectr " + "x" * 80)
    assert long.buttons[0].command == "sector"  # never a cut argument


def test_not_a_command(state: MarketState) -> None:
    reply = ask(context(state), "🚀🚀")
    assert reply.is_error and reply.blocks[0] == "“🚀🚀” is not a command. Send help for the list."
    assert dispatch(ParseError("bad_name", "<b>", "<b>"), context(state)).is_error


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("chart", "chart needs more: chart SUBJECT [vs SUBJECT] [WINDOW] [log]"),
        ("history", "history needs more"),
        ("mute", "mute needs more"),
        ("snapshot now please", "snapshot takes at most 1 argument(s): snapshot [DATE]"),
        ("breadth a b c", "breadth takes at most 2"),
        ("breadth a", "“a” is not a date: use YYYY-MM-DD, e.g. breadth "),
        ("help a b", "help takes at most 1"),
        ("sector a b c d e f", "sector takes at most 5"),
        ("chart A vs B vs C", "chart takes at most 2 subjects"),
        ("settings alert", "Usage: settings [KIND LEVEL]"),
    ],
)
def test_argument_counts(state: MarketState, store: Store, text: str, fragment: str) -> None:
    reply = ask(context(state, store=store, who=caller(admin=True)), text)
    assert reply.is_error
    assert fragment in all_text(reply)


def test_silence_for_empty_text_and_other_bots(state: MarketState) -> None:
    assert dispatch_text("   ", context(state)) is None
    assert dispatch_text("/snapshot@OtherBot", context(state), bot_names=["RotationBot"]) is None
    assert dispatch_text("/snapshot@RotationBot", context(state), bot_names=["RotationBot"])


# --- access -----------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["subscribe", "unsubscribe", "mute 2h", "settings alert off"])
@pytest.mark.parametrize("chat_type", ["group", "channel"])
def test_changing_a_group_needs_an_admin(
    state: MarketState, store: Store, text: str, chat_type: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, "rotation_bot.commands"):
        reply = ask(context(state, store=store, who=caller(chat_type)), text)
    assert reply.is_error and "only the bot's admins" in reply.blocks[0]
    assert any("is not an admin" in r.getMessage() for r in caplog.records)


def test_reading_a_groups_settings_is_for_everyone(state: MarketState, store: Store) -> None:
    admin = caller("group", admin=True)
    assert not ask(context(state, store=store, who=admin), "subscribe").is_error
    member = ask(context(state, store=store, who=caller("group")), "settings")
    assert not member.is_error and member.title == "Settings for this chat"


def test_private_chats_may_subscribe_themselves(state: MarketState, store: Store) -> None:
    assert not ask(context(state, store=store, who=caller("private")), "subscribe").is_error


def test_admin_only_commands_are_refused_and_hidden(state: MarketState) -> None:
    secret = replace(COMMANDS[-1], name="secret", aliases=(), admin_only=True)
    import bot.commands.table as commands

    original = commands._BY_NAME.copy()
    commands._BY_NAME["secret"] = secret
    try:
        assert ask(context(state), "secret").is_error
        assert "Only the bot's admins" in ask(context(state), "secret").blocks[0]
        assert not ask(context(state, who=caller(admin=True)), "secret").is_error
    finally:
        commands._BY_NAME.clear()
        commands._BY_NAME.update(original)


# --- hostile input ----------------------------------------------------------------------------


def _bounded(reply: Reply) -> None:
    assert len(reply.title) <= MAX_TITLE
    assert len(reply.blocks) <= MAX_BLOCKS and all(len(b) <= MAX_BLOCK for b in reply.blocks)
    if reply.table is not None:
        cells = [*reply.table.header, *(c for r in reply.table.rows for c in r)]
        assert all(len(c) <= MAX_CELL for c in cells)
    assert all(len(b.command.encode()) <= MAX_BUTTON_COMMAND_BYTES for b in reply.buttons)
    assert sum(len(t) for t in reply.text_fields()) <= MAX_REPLY_CHARS


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.name)
def test_five_kilobyte_arguments_are_bounded(
    state: MarketState, store: Store, command, default_rules: list[RuleSpec]
) -> None:
    ctx = context(state, store=store, rules=tuple(default_rules), who=caller(admin=True))
    for arg in ("x" * 5000, "<b>" * 1700, "🚀" * 2500):
        reply = ask(ctx, f"{command.name} {arg}")
        _bounded(reply)
        text = all_text(reply)
        assert arg[: MAX_ECHO + 1] not in text


def test_markup_and_emoji_are_carried_unmodified(state: MarketState, store: Store) -> None:
    ctx = context(state, store=store, who=caller(admin=True))
    for arg in ("<b>bold</b>", "<!channel>", "*bold*", "👨‍👩‍👧", "&amp;"):
        reply = ask(ctx, f"sector {arg}")
        assert f"“{arg}”" in reply.blocks[0], arg


# hypothesis: any text at all, through the whole dispatch path
_words = st.sampled_from(
    [c.name for c in COMMANDS]
    + ["<b>", "<!channel>", "*x*", "🚀", "vs", "XLF", "banks", "2h", "off", "alert", "silent",
       "breadth_broadening", "/", "@RotationBot", "\x00", "\u202e", "\n"]
)  # fmt: skip
_texts = st.one_of(
    st.text(max_size=200),
    st.lists(st.one_of(_words, st.text(max_size=8)), max_size=8).map(" ".join),
    st.builds(lambda w, n: f"{w} " + "y" * n, _words, st.integers(0, 5200)),
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=_texts, chat_type=st.sampled_from(["private", "group", "channel"]), admin=st.booleans())
def test_no_exception_escapes_and_every_reply_is_bounded(
    state: MarketState, default_rules: list[RuleSpec], text: str, chat_type: str, admin: bool
) -> None:
    store = Store()
    try:
        ctx = context(
            state, store=store, rules=tuple(default_rules), who=caller(chat_type, admin=admin)
        )
        reply = dispatch_text(text, ctx, bot_names=["RotationBot"])
    finally:
        store.close()
    if reply is None:
        return
    assert isinstance(reply, Reply)
    assert "Sorry, something went wrong" not in reply.title, (text, reply)
    _bounded(reply)


# --- the error path and the middleware in place -----------------------------------------------


def test_a_crashing_command_is_one_apology(caplog: pytest.LogCaptureFixture) -> None:
    def broken() -> MarketState:
        raise RuntimeError("disk on fire")

    with caplog.at_level(logging.ERROR, "rotation_bot.commands"):
        reply = ask(replace(context(None), state=broken), "snapshot")
    assert reply.is_error and reply.title == "Sorry, something went wrong"
    assert "disk on fire" not in all_text(reply)
    assert caplog.records[-1].exc_info is not None


def test_a_malformed_state_is_an_apology_not_a_crash() -> None:
    reply = ask(context(object()), "snapshot")
    assert reply.is_error and reply.title == "Sorry, something went wrong"


def test_middleware_runs_inside_dispatch(
    state: MarketState, caplog: pytest.LogCaptureFixture
) -> None:
    ctx = context(state)
    limited = Dispatcher(standard_middleware(per_minute=2, clock=lambda: 0.0))
    with caplog.at_level(logging.INFO, "rotation_bot.audit"):
        assert not ask(ctx, "help", limited).is_error
        assert not ask(ctx, "help", limited).is_error
        refused = ask(ctx, "help", limited)
    assert refused.is_error and refused.title == "Slow down"
    lines = [r.getMessage() for r in caplog.records if r.name == "rotation_bot.audit"]
    assert len(lines) == 3 and "outcome=refused_or_error" in lines[-1]
    allow = Dispatcher(standard_middleware(allowlist={"telegram": ["-1"]}))
    assert ask(ctx, "help", allow).title == "Not available here"


def test_for_caller_keeps_everything_else(state: MarketState) -> None:
    ctx = context(state)
    other = ctx.for_caller(Caller("slack", "U1", "C1", "group"))
    assert other.caller.platform == "slack" and other.state is ctx.state
    assert other.cache is ctx.cache


def test_warm_cache_renders_the_common_charts_once(state: MarketState) -> None:
    ctx = context(state, charts=True)
    assert warm_cache(ctx) == len(WARM_COMMANDS)
    assert len(ctx.cache) == len(WARM_COMMANDS)
    cached = {ask(ctx, "sector XLE").chart.png is ask(ctx, "sector XLE").chart.png}
    assert cached == {True} and len(ctx.cache) == len(WARM_COMMANDS)


def test_warm_cache_skips_what_fails(state: MarketState, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, "rotation_bot.commands"):
        assert warm_cache(context(object()), ["snapshot", "nonsense", "🚀"]) == 0
    assert "warming 'snapshot' failed" in caplog.records[0].getMessage()
