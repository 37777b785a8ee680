"""Replies as console text: aligned tables, the heading with as-of and SIMULATED, one-line
errors, no control characters, charts named by path."""

from __future__ import annotations

from bot.model.reply import Button, Chart, Reply, Table
from bot.render.reply_text import display_width, error_line, heading, render_reply, table_lines
from tests.bot.render.replies import DAY, hostile_reply


def test_table_columns_line_up_even_with_wide_characters():
    table = Table(
        ("", "Now", "1 w"), (("Breadth", "87.7%", "-2.0 pp"), ("株価 😀", "5%", "+10.1 pp"))
    )
    lines = table_lines(table)
    assert lines[0] == "                    Now       1 w"[-len(lines[0]) :]
    assert len({display_width(x) for x in lines}) == 1  # right-aligned last column
    assert lines[2].startswith("株価 😀")
    assert display_width("株価 😀") == 7 and display_width("e\u0301") == 1


def test_left_aligned_columns_and_trailing_spaces():
    table = Table(
        ("#", "ETF", "Sector"), (("1", "XLU", "Utilities"), ("10", "XLK", "Tech")), ("r", "l", "l")
    )
    assert table_lines(table) == [" #  ETF  Sector", " 1  XLU  Utilities", "10  XLK  Tech"]


def test_a_market_reply_reads_top_to_bottom():
    reply = Reply(
        title="Breadth · 2026-10-30",
        blocks=("Note one.\nSecond line.", "Data: demo"),
        table=Table(("", "Now"), (("200-day", "87.7%"),)),
        chart=Chart(b"png", "breadth over a year", "breadth.png"),
        buttons=(Button("XLF", "sector XLF"), Button("Refresh", "breadth", kind="refresh")),
        simulated=True,
        as_of=DAY,
    )
    text = render_reply(reply, "/tmp/charts/001-breadth.png")
    assert text.splitlines() == [
        "Breadth · 2026-10-30 [SIMULATED]",
        "",
        "           Now",
        "200-day  87.7%",
        "",
        "Note one.",
        "Second line.",
        "",
        "Data: demo",
        "",
        "Chart: /tmp/charts/001-breadth.png",
        "",
        "Try: sector XLF",
    ]
    assert "Chart: breadth over a year" in render_reply(reply)  # not saved: the alt text


def test_the_heading_adds_the_as_of_when_the_title_lacks_it():
    assert heading(Reply("Status", as_of=DAY)) == "Status · as of 2026-10-30"
    assert heading(Reply("Breadth · 2026-10-30", as_of=DAY)) == "Breadth · 2026-10-30"
    assert heading(Reply("Help")) == "Help"


def test_errors_are_one_line_with_what_to_try():
    reply = Reply(
        "Sorry",
        blocks=("Unknown sector “x”.\nClosest: XLF.", "Usage: sector [NAME]"),
        buttons=(Button("XLF Financials", "sector XLF"), Button("XLE", "sector XLE")),
        is_error=True,
    )
    line = render_reply(reply)
    assert line == error_line(reply)
    assert line == (
        "Sorry: Unknown sector “x”. Closest: XLF. Usage: sector [NAME] Try: sector XLF · sector XLE"
    )


def test_no_control_character_reaches_the_terminal():
    reply = Reply("t\x1b[2J", blocks=("a\x1b]0;pwned\x07b\rc", "\x00\x7f\x9b"), is_error=False)
    text = render_reply(reply) + render_reply(hostile_reply())
    assert not any(ord(c) < 32 and c != "\n" or 0x7F <= ord(c) <= 0x9F for c in text)
