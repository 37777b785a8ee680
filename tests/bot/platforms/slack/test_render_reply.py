"""Replies as Slack Block Kit: within Slack's limits, data escaped in mrkdwn, the fallback
text and code blocks, buttons with unique action ids on the last message."""

from __future__ import annotations

import html
import json
import re

import pytest

from bot.alerts.market_state import MarketState, state_from_data
from bot.commands.table import dispatch_text
from bot.model.reply import Reply
from bot.platforms.slack.render_reply import ACTION_PREFIX, REFRESH_ACTION, render_reply
from tests.bot.commands_helpers import caller, context, pct
from tests.bot.render.hostile import assert_in_order
from tests.bot.render.replies import DAY, hostile_reply, huge_reply, slack_checked

LOOKALIKES = str.maketrans({"\u2217": "*", "\u02cd": "_", "\u223c": "~", "\u02cb": "`"})


@pytest.fixture(scope="module")
def state(demo_data) -> MarketState:
    return state_from_data(demo_data)


def test_a_snapshot_is_one_message_with_its_numbers(state):
    reply = dispatch_text("snapshot", context(state, who=caller(platform="slack")))
    (msg,) = render_reply(reply)
    text = slack_checked(msg)
    signals = state.snapshot.signals
    for value in (signals["breadth_200d"].value, signals["breadth_50d"].value):
        assert pct(value) in text and pct(value) in msg.text  # fallback says it too
    header, table = msg.blocks[0], msg.blocks[1]
    assert header["text"]["text"] == f"Market snapshot · {DAY.isoformat()} · 🧪 SIMULATED"
    code = table["text"]["text"]
    assert code.startswith("```\n") and code.endswith("\n```")
    lines = code.strip("`\n").splitlines()
    assert len(lines) == 1 + len(reply.table.rows) and len({len(x) for x in lines}) == 1
    (actions,) = [b for b in msg.blocks if b["type"] == "actions"]
    (refresh,) = actions["elements"]
    assert refresh["action_id"] == REFRESH_ACTION and refresh["value"] == "snapshot"


def test_hostile_data_cannot_mention_format_or_break_out():
    reply = hostile_reply()
    (msg,) = render_reply(reply)
    text = slack_checked(msg)  # no bare < or & anywhere: <!channel> is &lt;!channel&gt;
    shown = [{k: v for k, v in b.items() if k != "elements"} for b in msg.blocks]
    labels = [e["text"] for b in msg.blocks for e in b.get("elements", ())]  # not the values:
    raw = json.dumps([shown, labels], ensure_ascii=False) + msg.text  # those are never shown
    assert "<!channel>" not in raw and "<!here>" not in raw and "<@U123" not in raw
    assert "<" not in raw
    # sections and the fallback outside code blocks (plain text and code show * _ ~ as is)
    mrkdwn = re.sub(r"```.*?```", "", text + msg.text, flags=re.DOTALL)
    assert "*bold*" not in mrkdwn and "_it_" not in mrkdwn and "~strike~" not in mrkdwn
    # inside the table's code block a backtick cannot close the block
    table = msg.blocks[1]["text"]["text"]
    assert table.count("```") == 2 and "`code`" not in table
    # what a reader sees: the data as typed (entities decoded, look-alikes read as themselves)
    seen = html.unescape(text).translate(LOOKALIKES)
    assert_in_order(seen, list(reply.blocks))
    # the header is plain text, its angle brackets look-alikes: nothing there can mention
    assert msg.blocks[0]["text"]["text"].startswith("Title ‹b›&amp;‹/b› *x* ‹!here›")


def test_buttons_have_unique_action_ids_and_carry_their_command():
    (msg,) = render_reply(hostile_reply())
    (actions,) = [b for b in msg.blocks if b["type"] == "actions"]
    ids = [e["action_id"] for e in actions["elements"]]
    assert len(ids) == len(set(ids)) and all(i.startswith(ACTION_PREFIX) for i in ids)
    assert actions["elements"][-1]["value"] == "snapshot"
    assert actions["elements"][0]["value"].startswith("sector ")


def test_a_huge_reply_continues_in_numbered_messages():
    reply = huge_reply()
    messages = render_reply(reply)
    assert len(messages) >= 2
    texts = [slack_checked(m) for m in messages]
    for i, m in enumerate(messages, start=1):
        head = m.blocks[0]["text"]["text"]
        assert head.startswith(f"({i}/{len(messages)}) ") and head.endswith("SIMULATED")
        assert len(m.blocks) <= 50
        assert all(len(b["text"]["text"]) <= 3000 for b in m.blocks if b["type"] == "section")
        has_actions = any(b["type"] == "actions" for b in m.blocks)
        assert has_actions == (i == len(messages))  # buttons on the last message only
    seen = html.unescape("\n".join(texts))
    assert_in_order(seen, [*reply.table.header, *reply.blocks])


def test_an_error_is_a_header_and_its_words():
    (msg,) = render_reply(Reply("Sorry", blocks=("Unknown command “x”.",), is_error=True))
    assert [b["type"] for b in msg.blocks] == ["header", "section"]
    assert msg.text == "Sorry\nUnknown command “x”."
