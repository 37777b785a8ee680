"""Property tests: arbitrary text through dispatch and every reply renderer, and arbitrary
replies through every renderer. Nothing raises; every message fits its platform's limits;
Telegram HTML passes the fake Bot API's parser; no data reaches Slack as markup; console text
carries no control characters and errors stay on one line."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.alerts.market_state import state_from_data
from bot.commands.context import CommandContext
from bot.commands.table import COMMANDS, dispatch_text
from bot.model.reply import Reply
from bot.platforms.slack import render_reply as reply_slack
from bot.platforms.telegram import render_reply as reply_telegram
from bot.render import reply_text
from tests.bot.commands_helpers import caller, context
from tests.bot.render.replies import replies_st, slack_checked, telegram_visible

NAMES = [n for c in COMMANDS for n in (c.name, *c.aliases)]
#: command-shaped text: a real command (maybe with a slash or a bot name) and any arguments
lines = st.one_of(
    st.text(max_size=300),
    st.tuples(
        st.sampled_from(["", "/", "@rotation_test_bot ", "<@U0BOT> ", "rotation "]),
        st.sampled_from(NAMES),
        st.sampled_from(["", "@rotation_test_bot", "@other_bot"]),
        st.lists(st.text(max_size=40) | st.sampled_from(["XLF", "banks", "vs", "SPY"]), max_size=6),
    ).map(lambda t: f"{t[0]}{t[1]}{t[2]} {' '.join(t[3])}"),
    st.text(alphabet="x<>&*_~`!@ \n", min_size=4000, max_size=6000),  # 5 kB of markup
)


@pytest.fixture(scope="module")
def ctx(demo_data) -> CommandContext:
    return context(state_from_data(demo_data), who=caller("group"), charts=False)


def check_everywhere(reply: Reply) -> None:
    tg = reply_telegram.render_reply(reply)
    if tg.caption is not None:
        telegram_visible(tg.caption, reply_telegram.CAPTION_LIMIT)
    for part in tg.texts:
        telegram_visible(part, reply_telegram.LIMIT)
    assert tg.texts or tg.photo is not None
    for row in tg.keyboard:
        for button in row:
            data = reply_telegram.callback_data(button, 2**31 - 1)
            assert len(data.encode()) <= reply_telegram.CALLBACK_LIMIT
    messages = reply_slack.render_reply(reply)
    assert messages
    for message in messages:
        slack_checked(message)
    text = reply_text.render_reply(reply, "/tmp/chart.png")
    assert not any((ord(c) < 32 and c != "\n") or 0x7F <= ord(c) <= 0x9F for c in text)
    if reply.is_error:
        assert "\n" not in text


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(line=lines)
def test_any_text_through_dispatch_and_every_renderer(ctx, line):
    reply = dispatch_text(line, ctx, bot_names=("rotation_test_bot",))
    if reply is not None:
        check_everywhere(reply)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(reply=replies_st)
def test_any_reply_through_every_renderer(reply):
    check_everywhere(reply)
