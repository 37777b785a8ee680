"""Telegram HTML: escaped data, well-formed parts within 4,096 UTF-16 units, nothing dropped."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from hypothesis import given, settings

from bot.model.kinds import MessageKind
from bot.model.messages import AlertGroup, TextMessage
from bot.platforms.telegram.render_alerts import escape, render_alerts, render_text_message
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

ALLOWED_TAGS = {"b", "i", "u", "s", "code", "pre", "a", "blockquote", "tg-spoiler"}
#: every string we ever put in bold: our headings, never data
OUR_BOLD = {"SIMULATED", "rotation-bot", "Warning:", "Alert:", "Resolved:", "Data problem:"}
PART_LINE = re.compile(r"\(\d+/\d+\)( 🧪 SIMULATED)?")
BAD_ENTITY = re.compile(r"&(?!(?:amp|lt|gt|quot|#[0-9]+|#x[0-9a-fA-F]+);)")


class _TelegramHTML(HTMLParser):
    """Parses one part the way Telegram would accept it: only allowed tags, balanced, and
    collects the text after entity decoding plus the text inside each tag."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.text: list[str] = []
        self.tagged: list[tuple[str, str]] = []
        self._inside: list[list[str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        assert tag in ALLOWED_TAGS, f"tag <{tag}> not allowed by Telegram"
        assert not attrs, "we never emit attributes"
        self.stack.append(tag)
        self._inside.append([])

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, f"unbalanced </{tag}>"
        self.stack.pop()
        self.tagged.append((tag, "".join(self._inside.pop())))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        raise AssertionError(f"self-closing <{tag}/>")

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        for buf in self._inside:
            buf.append(data)

    def handle_comment(self, data: str) -> None:
        raise AssertionError("comment in output")

    def handle_decl(self, decl: str) -> None:
        raise AssertionError("declaration in output")


def check_parts(parts: list[str], footer: str = "") -> str:
    """Assert every Telegram rule on each part; return the text the chat shows, joined."""
    assert parts, "at least one part"
    shown = []
    for part in parts:
        assert utf16(part) <= 4096, f"part of {utf16(part)} UTF-16 units"
        assert part.strip(), "Telegram refuses blank messages"
        part.encode("utf-8")  # no lone surrogate: the request body must be valid UTF-8
        assert not BAD_ENTITY.search(part), "a bare & or an entity Telegram does not know"
        parser = _TelegramHTML()
        parser.feed(part)
        parser.close()
        assert not parser.stack, f"tags left open: {parser.stack}"
        for tag, inner in parser.tagged:
            if tag == "b":
                assert inner in OUR_BOLD, f"data in bold: {inner[:60]!r}"
            else:
                assert tag == "i" and visible(inner) == visible(footer), f"<{tag}>{inner[:60]!r}"
        text = "".join(parser.text)
        if len(parts) > 1:  # drop our "(i/n)" line so a split data line reads continuously
            first, text = text.split("\n", 1)
            assert PART_LINE.fullmatch(first), first
        shown.append(text)
    return "\n".join(shown)


def test_plain_group_reads_well() -> None:
    g = group(
        [
            item("Breadth 200d rose above 65%"),
            item("Small caps back below SPY", "resolved", severity="info"),
            item("Coverage 80% < 90%", "data_health", value=None, threshold=None),
            item("Regime is now broadening", severity="info", label="broadening", late=True),
        ]
    )
    (part,) = render_alerts(g)
    shown = check_parts([part], g.footer)
    assert "⚠️ <b>Warning:</b> Breadth 200d rose above 65%" in part
    assert "value 67.3 · threshold 65 · session 2024-05-03" in part
    assert "✅ <b>Resolved:</b> Small caps back below SPY" in part
    assert "🩺 <b>Data problem:</b> Coverage 80% &lt; 90%" in part
    assert "🔔 <b>Alert:</b> Regime is now broadening" in part
    assert "now broadening" in part
    assert "late: from 2024-05-03, delivered after downtime" in part
    assert part.endswith("<i>Not investment advice.</i>")
    assert "Source: demo" in shown
    assert "SIMULATED" not in part


def test_simulated_is_the_first_thing_said() -> None:
    (part,) = render_alerts(group([item("x")], simulated=True))
    assert part.startswith("🧪 <b>SIMULATED</b>")


def test_hostile_text_is_escaped_and_kept() -> None:
    g = hostile_group()
    parts = render_alerts(g)
    shown = check_parts(parts, g.footer)
    html_out = "\n".join(parts)
    assert "<b>bold</b>" not in html_out
    assert html_out.count("</i>") == 1 and html_out.endswith("*_*</i>")  # the footer only
    assert "&lt;b&gt;bold&lt;/b&gt;" in html_out
    assert "&amp;amp; stays &amp;amp;" in html_out  # an entity in data shows as typed
    for text in HOSTILE:
        assert " ".join(text.split()) in shown  # line breaks in data become spaces
    assert_in_order(shown, [i.message for i in g.items])
    assert "<!channel> *src* & <b>x</b>" in shown


def test_long_footer_is_not_italic_but_kept() -> None:
    footer = "Not advice. " * 40
    parts = render_alerts(group([item("x")], footer=footer))
    assert "<i>" not in "".join(parts)
    assert_in_order(check_parts(parts), [footer])


def test_ten_kilobyte_lines_are_split_at_the_limit_and_kept() -> None:
    for line in (LONG_LINE, LONG_WORD):
        g = group([item("before"), item(line), item("after")], simulated=True)
        parts = render_alerts(g)
        assert len(parts) >= 3 if line is LONG_WORD else len(parts) >= 2
        shown = check_parts(parts, g.footer)
        assert_in_order(shown, ["before", line, "after"])
        assert all(p.startswith(f"({i}/{len(parts)})") for i, p in enumerate(parts, 1))
        assert all("<b>SIMULATED</b>" in "\n".join(p.split("\n")[:2]) for p in parts)
        assert max(utf16(p) for p in parts) > 3900, "parts are filled, not tiny"


def test_non_bmp_text_is_counted_in_utf16_units() -> None:
    g = group([item("😀" * 3000)])  # 3,000 characters but 6,000 UTF-16 units
    parts = render_alerts(g)
    assert len(parts) == 2
    assert parts[0].startswith("(1/2)\n📈 <b>rotation-bot</b>")  # the line starts in part 1
    assert_in_order(check_parts(parts, g.footer), ["😀" * 3000])


def test_three_hundred_items_in_order_no_part_over_the_limit() -> None:
    g = many_group()
    parts = render_alerts(g)
    assert len(parts) > 1
    assert all(utf16(p) > 3800 for p in parts[:-1]), "split only when a part is full"
    shown = check_parts(parts, g.footer)
    assert_in_order(shown, [i.message for i in g.items])
    # split on line boundaries: every part but the first starts with its "(i/n)" line and
    # then a whole line of the message
    for p in parts[1:]:
        assert re.match(r"\(\d+/\d+\) 🧪 <b>SIMULATED</b>\n", p)


def test_text_message() -> None:
    msg = TextMessage(MessageKind.STARTUP, "Started <b>", ("a & b", "*x*"), simulated=True)
    (part,) = render_text_message(msg)
    assert part == (
        "🧪 <b>SIMULATED</b> — simulated market (demo data, not real prices)\n"
        "<b>Started &lt;b&gt;</b>\na &amp; b\n*x*"
    )


@settings(max_examples=80, deadline=None)
@given(g=groups_st)
def test_property_any_text_renders_valid_html_within_limits(g: AlertGroup) -> None:
    parts = render_alerts(g)
    # a footer goes in <i> only when its escaped text is short (at most 200 characters)
    short = g.footer.strip() and len(escape(g.footer)) <= 200
    shown = check_parts(parts, g.footer if short else "")
    assert_in_order(shown, [i.message for i in g.items])
