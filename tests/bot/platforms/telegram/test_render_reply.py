"""Replies as Telegram HTML: accepted by the fake Bot API's parser, within 4,096 (text) and
1,024 (caption) visible characters, data escaped, nothing dropped, keyboards within 64 bytes."""

from __future__ import annotations

import pytest

from bot.alerts.market_state import MarketState, state_from_data
from bot.commands.table import dispatch_text
from bot.model.reply import Button, Reply
from bot.platforms.telegram.render_reply import (
    CALLBACK_LIMIT,
    CAPTION_LIMIT,
    LIMIT,
    Callback,
    callback_data,
    parse_callback,
    render_reply,
)
from tests.bot.commands_helpers import caller, context, pct
from tests.bot.render.hostile import assert_in_order
from tests.bot.render.replies import DAY, hostile_reply, huge_reply, telegram_visible


@pytest.fixture(scope="module")
def state(demo_data) -> MarketState:
    return state_from_data(demo_data)


def ask(state: MarketState, line: str, charts: bool = True) -> Reply:
    reply = dispatch_text(line, context(state, charts=charts, who=caller()))
    assert reply is not None
    return reply


def test_a_snapshot_fits_one_photo_caption_with_its_numbers(state):
    reply = ask(state, "snapshot")
    out = render_reply(reply)
    assert out.photo == reply.chart.png and out.texts == () and out.single
    shown = telegram_visible(out.caption, CAPTION_LIMIT)
    signals = state.snapshot.signals
    for value in (signals["breadth_200d"].value, signals["breadth_50d"].value):
        assert pct(value) in shown
    assert shown.startswith(f"Market snapshot · {DAY.isoformat()} · 🧪 SIMULATED")
    assert "<pre>" in out.caption and "<b>SIMULATED</b>" in out.caption
    # the table: one line per row, right-aligned numbers end in one column
    table = out.caption.split("<pre>")[1].split("</pre>")[0].splitlines()
    assert len(table) == 1 + len(reply.table.rows)
    assert len({len(line) for line in table}) == 1


def test_without_a_chart_the_reply_is_one_text_message(state):
    out = render_reply(ask(state, "sector XLF", charts=False))
    assert out.photo is None and out.caption is None and len(out.texts) == 1
    assert "XLF Financials" in telegram_visible(out.texts[0], LIMIT)


def test_hostile_data_is_shown_literally_never_as_markup():
    reply = hostile_reply(chart=False)
    out = render_reply(reply)
    (text,) = out.texts
    shown = telegram_visible(text, LIMIT)
    table, blocks = shown.split("`code`\n\n", 1)[0], shown.split("`code`\n\n")[-1]
    assert_in_order(table, [reply.title, *reply.table.header, *reply.table.rows[0]])
    assert_in_order(blocks, list(reply.blocks))  # the first 12: a Reply holds no more
    assert "&lt;b&gt;bold&lt;/b&gt;" in text and "<b>bold</b>" not in text


def test_a_huge_reply_is_a_photo_then_numbered_parts():
    reply = huge_reply()
    out = render_reply(reply)
    assert out.photo is not None and len(out.texts) >= 3 and not out.single
    caption = telegram_visible(out.caption, CAPTION_LIMIT)
    assert caption.startswith("T" * 50) and "SIMULATED" in caption
    shown = [telegram_visible(t, LIMIT) for t in out.texts]
    total = len(shown)
    for i, part in enumerate(shown, start=1):
        assert part.startswith(f"({i}/{total})")
        assert i == 1 or "SIMULATED" in part.splitlines()[0]
    everything = "\n".join(shown)
    assert_in_order(everything, [*reply.table.header, *reply.blocks])
    for row in reply.table.rows:
        assert " ".join(row) in " ".join(everything.split())
    # tables are split into whole <pre> blocks: every part is balanced (checked above)
    assert all(t.count("<pre>") == t.count("</pre>") for t in out.texts)


def test_keyboard_two_choices_a_row_refresh_alone_last():
    buttons = tuple(Button(f"S{i}", f"sector S{i}") for i in range(5))
    reply = Reply("t", buttons=(*buttons, Button("Refresh", "snapshot", kind="refresh")))
    rows = render_reply(reply).keyboard
    assert [len(r) for r in rows] == [2, 2, 1, 1]
    assert rows[-1][0].kind == "refresh"


def test_callback_data_round_trips_within_64_bytes():
    choice = Button("XLF", "sector XLF")
    refresh = Button("Refresh", "chart RSP vs SPY", kind="refresh")
    assert parse_callback(callback_data(choice)) == Callback("sector XLF")
    assert parse_callback(callback_data(refresh)) == Callback("chart RSP vs SPY", refresh=True)
    data = callback_data(refresh, photo_id=2_147_483_647)
    assert parse_callback(data) == Callback("chart RSP vs SPY", True, 2_147_483_647)
    assert len(data.encode()) <= CALLBACK_LIMIT
    for junk in (None, "", "x:snapshot", "r12", "sector XLF", "c:"):
        assert parse_callback(junk) is None


def test_a_button_whose_data_cannot_fit_is_left_out():
    long = Button("Long", "chart " + "A" * 57)  # 63 bytes: a Button's, but not with "c:"
    ok = Button("Ok", "sector XLF")
    rows = render_reply(Reply("t", buttons=(long, ok))).keyboard
    assert [b.label for row in rows for b in row] == ["Ok"]
    for row in render_reply(hostile_reply()).keyboard:
        for b in row:
            assert len(callback_data(b, 2**31 - 1).encode()) <= CALLBACK_LIMIT


def test_the_heading_shows_the_as_of_when_the_title_does_not():
    out = render_reply(Reply("Status", blocks=("x",), as_of=DAY))
    assert telegram_visible(out.texts[0], LIMIT).startswith(f"Status · as of {DAY.isoformat()}")
    dated = render_reply(Reply(f"Breadth · {DAY.isoformat()}", as_of=DAY))
    assert "as of" not in dated.texts[0]
