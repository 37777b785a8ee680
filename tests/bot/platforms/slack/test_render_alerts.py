"""Slack Block Kit: data escaped and inert, every limit respected, nothing dropped."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings

from bot.model.kinds import MessageKind
from bot.model.messages import AlertGroup, TextMessage
from bot.platforms.slack import render_alerts as slack
from bot.platforms.slack.render_alerts import (
    SlackMessage,
    escape,
    render_alerts,
    render_text_message,
)
from tests.bot.render.hostile import (
    HOSTILE,
    LONG_LINE,
    LONG_WORD,
    assert_in_order,
    group,
    groups_st,
    hostile_group,
    item,
    many_group,
    utf16,
    visible,
)

OUR_BOLD = {"SIMULATED", "Warning:", "Alert:", "Resolved:", "Data problem:"}
HEADER = re.compile(
    r"(\(\d+/\d+\) )?📈 rotation-bot( · \d+ (alerts?|resolved|data problems?))*"
    r"( · as of \d{4}-\d{2}-\d{2})?( · 🧪 SIMULATED)?"
)
BAD_ENTITY = re.compile(r"&(?!(?:amp|lt|gt);)")
#: look-alikes back to what was typed (an independent table, not the renderer's)
FOLD = str.maketrans({"∗": "*", "ˍ": "_", "∼": "~", "ˋ": "`", "﹡": "＊", "⸏": "＿", "｀": "`"})


def unescape(mrkdwn: str) -> str:
    return mrkdwn.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def fold(text: str) -> str:
    return text.translate(FOLD)


def check_messages(messages: list[SlackMessage], footer: str = "") -> tuple[str, str]:
    """Assert Slack's limits and our escaping on every message; return what the blocks and
    the fallback texts show (markers removed, entities decoded), each joined."""
    assert messages
    shown_blocks, shown_text = [], []
    for msg in messages:
        json.dumps(msg.blocks, ensure_ascii=False).encode("utf-8")  # valid, no lone surrogate
        msg.text.encode("utf-8")
        assert len(msg.blocks) <= 50
        assert utf16(msg.text) <= 40_000
        header, *sections = msg.blocks
        assert header["type"] == "header" and header["text"]["type"] == "plain_text"
        assert utf16(header["text"]["text"]) <= 150
        assert HEADER.fullmatch(header["text"]["text"]), header["text"]["text"]
        body = []
        for block in sections:
            assert block["type"] == "section"
            text = block["text"]
            assert text["type"] == "mrkdwn" and text["verbatim"] is True
            mrkdwn = text["text"]
            assert mrkdwn.strip() and utf16(mrkdwn) <= 3000
            assert "<" not in mrkdwn and ">" not in mrkdwn, "no mention, link or raw tag"
            assert not BAD_ENTITY.search(mrkdwn)
            assert "`" not in mrkdwn and "~" not in mrkdwn
            # our emphasis spans come out; any * or _ left must sit between two ASCII
            # letters/digits, where Slack does not read it as emphasis
            rest = re.sub(r"\*([^*\n]+)\*", lambda m: _bold(m.group(1)), mrkdwn)
            rest = re.sub(r"(?m)^_([^_\n]+)_$", lambda m: _italic(m.group(1), footer), rest)
            assert not re.search(r"(?<![A-Za-z0-9])[*_]|[*_](?![A-Za-z0-9])", rest), rest
            body.append(unescape(rest))
        assert msg.text.startswith(header["text"]["text"])
        assert "<" not in msg.text and not BAD_ENTITY.search(msg.text)
        shown_blocks.append("\n".join(body))
        shown_text.append(unescape(msg.text.split("\n", 1)[1] if "\n" in msg.text else ""))
    return fold("\n".join(shown_blocks)), fold("\n".join(shown_text))


def _italic(inner: str, footer: str) -> str:
    assert visible(fold(unescape(inner))) == visible(fold(footer)), f"italic: {inner[:60]!r}"
    return inner


def _bold(inner: str) -> str:
    if inner in OUR_BOLD:
        return inner
    raise AssertionError(f"data in bold: {inner[:60]!r}")


def test_plain_group_reads_well() -> None:
    g = group(
        [
            item("Breadth 200d rose above 65%"),
            item("Small caps back below SPY", "resolved", severity="info"),
            item("Coverage 80% < 90%", "data_health", value=None, threshold=None),
            item("Regime is now broadening", severity="info", label="broadening", late=True),
        ]
    )
    (msg,) = render_alerts(g)
    check_messages([msg], g.footer)
    header, section = msg.blocks
    assert header["text"]["text"] == (
        "📈 rotation-bot · 2 alerts · 1 resolved · 1 data problem · as of 2024-05-03"
    )
    mrkdwn = section["text"]["text"]
    assert "⚠️ *Warning:* Breadth 200d rose above 65%" in mrkdwn
    assert "value 67.3 · threshold 65 · session 2024-05-03 · rule breadth_broadening" in mrkdwn
    assert "✅ *Resolved:* Small caps back below SPY" in mrkdwn
    assert "🩺 *Data problem:* Coverage 80% &lt; 90%" in mrkdwn
    assert "late: from 2024-05-03, delivered after downtime" in mrkdwn
    assert mrkdwn.endswith("Source: demo\n_Not investment advice._")
    assert msg.text.endswith("Source: demo\nNot investment advice.")
    assert "⚠️ Warning: Breadth 200d rose above 65%" in msg.text


def test_escape_neutralises_mentions_links_and_emphasis() -> None:
    assert escape("<!channel> <@U123|x> <https://evil|click>") == (
        "&lt;!channel&gt; &lt;@U123|x&gt; &lt;https://evil|click&gt;"
    )
    assert escape("a & b &amp;") == "a &amp; b &amp;amp;"
    assert escape("*bold* _it_ ~s~ `c`") == "∗bold∗ ˍitˍ ∼s∼ ˋcˋ"
    # between two ASCII letters or digits Slack never starts emphasis: kept as typed
    assert escape("breadth_200d a*b 2024_05_03") == "breadth_200d a*b 2024_05_03"
    # one that could open or close emphasis is replaced; "b*c" cannot do either
    assert escape("_x a_ *b*c") == "ˍx aˍ ∗b*c"
    assert escape("\ud800\ud801") == "\ufffd\ufffd"  # our sentinels cannot come from data
    assert escape("\ue000") == "\ue000"  # private-use characters are data like any other


def test_no_marker_inside_our_own_emphasis() -> None:
    (msg,) = render_alerts(group([item("x")], footer="0_0 a*b"))
    assert msg.blocks[-1]["text"]["text"].endswith("\n_0ˍ0 a∗b_")
    (out,) = render_text_message(TextMessage(MessageKind.STARTUP, "snake_case*x"))
    assert out.blocks[1]["text"]["text"] == "*snakeˍcase∗x*"
    (msg,) = render_alerts(group([item("\ud800bold\ud800")]))  # a forged sentinel
    assert "\ufffdbold\ufffd" in msg.blocks[1]["text"]["text"]


def test_simulated_is_in_every_header_and_first_in_the_body() -> None:
    (msg,) = render_alerts(group([item("x")], simulated=True))
    assert msg.blocks[0]["text"]["text"].endswith("· 🧪 SIMULATED")
    assert msg.blocks[1]["text"]["text"].startswith("🧪 *SIMULATED* — simulated market")


def test_hostile_text_is_escaped_and_kept_in_blocks_and_text() -> None:
    g = hostile_group()
    messages = render_alerts(g)
    shown_blocks, shown_text = check_messages(messages, g.footer)
    payload = json.dumps([m.blocks for m in messages], ensure_ascii=False)
    for needle in ("<!channel>", "<@U123", "<https://", "<b>", "*bold*", "_it_", "`code`"):
        assert needle not in payload and all(needle not in m.text for m in messages)
    for text in HOSTILE:
        typed = fold(" ".join(text.split()))
        assert typed in shown_blocks and typed in shown_text
    assert_in_order(shown_blocks, [fold(i.message) for i in g.items])
    assert_in_order(shown_text, [fold(i.message) for i in g.items])


def test_ten_kilobyte_lines_go_to_several_sections_and_are_kept() -> None:
    for line in (LONG_LINE, LONG_WORD):
        g = group([item("before"), item(line), item("after")])
        messages = render_alerts(g)
        # at least 4 sections of <= 3,000; the entity-heavy line is > 40,000 once escaped
        assert sum(len(m.blocks) - 1 for m in messages) >= 4
        assert len(messages) == (2 if line is LONG_WORD else 1)
        shown_blocks, shown_text = check_messages(messages, g.footer)
        for shown in (shown_blocks, shown_text):
            assert_in_order(shown, ["before", fold(line), "after"])


def test_over_forty_thousand_characters_become_several_messages() -> None:
    g = group([item(f"big {i} " + "w" * 9000) for i in range(6)], simulated=True)
    messages = render_alerts(g)
    assert len(messages) == 2
    shown_blocks, shown_text = check_messages(messages, g.footer)
    for i, msg in enumerate(messages, 1):
        assert msg.blocks[0]["text"]["text"].startswith(f"({i}/2) 📈 rotation-bot")
        assert msg.blocks[0]["text"]["text"].endswith("🧪 SIMULATED")
    for shown in (shown_blocks, shown_text):
        assert_in_order(shown, [i.message for i in g.items])


def test_three_hundred_items() -> None:
    g = many_group()
    messages = render_alerts(g)
    assert sum(len(m.blocks) - 1 for m in messages) > 10  # sections filled up to 3,000
    shown_blocks, shown_text = check_messages(messages, g.footer)
    for shown in (shown_blocks, shown_text):
        assert_in_order(shown, [fold(i.message) for i in g.items])


def test_fifty_block_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    # With today's limits the 40,000-character text fills first (about 13 full sections);
    # lift it to see the block cap split a message on its own.
    monkeypatch.setattr(slack, "TEXT_LIMIT", 10_000_000)
    g = group([item(f"n{i} " + "v" * 2900) for i in range(60)])
    messages = render_alerts(g)
    assert len(messages) == 2 and len(messages[0].blocks) == 50  # header + 49 sections
    assert len(messages[1].blocks) <= 50
    assert all(utf16(b["text"]["text"]) <= 3000 for m in messages for b in m.blocks)
    assert_in_order("".join(m.text for m in messages), [i.message for i in g.items])


def test_text_message() -> None:
    msg = TextMessage(MessageKind.STARTUP, "Started <!here>", ("a & b", "*x*"), simulated=True)
    (out,) = render_text_message(msg)
    assert out.blocks[0]["text"]["text"] == "📈 rotation-bot · 🧪 SIMULATED"
    assert out.blocks[1]["text"]["text"] == "*Started &lt;!here&gt;*\na &amp; b\n∗x∗"
    assert out.text == "📈 rotation-bot · 🧪 SIMULATED\nStarted &lt;!here&gt;\na &amp; b\n∗x∗"


@settings(max_examples=80, deadline=None)
@given(g=groups_st)
def test_property_any_text_is_inert_and_within_limits(g: AlertGroup) -> None:
    messages = render_alerts(g)
    shown_blocks, shown_text = check_messages(messages, g.footer)
    for shown in (shown_blocks, shown_text):
        assert_in_order(shown, [fold(i.message) for i in g.items])
