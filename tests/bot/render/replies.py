"""Replies for the reply-renderer tests: hostile, huge and arbitrary ones, and independent
checks of what each platform accepts (the Telegram check is the fake Bot API's own parser,
the Slack check the fake's Block Kit limits; neither is renderer code)."""

from __future__ import annotations

import re
from datetime import date

from hypothesis import strategies as st

from bot.model.reply import (
    MAX_BLOCK,
    MAX_BLOCKS,
    MAX_BUTTONS,
    MAX_CELL,
    MAX_COLUMNS,
    MAX_ROWS,
    Button,
    Chart,
    Reply,
    Table,
)
from tests.bot.render.hostile import HOSTILE, utf16
from tests.fakes.slack_api import blocks_problem
from tests.fakes.telegram_api import visible_text

DAY = date(2026, 10, 30)
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


def hostile_reply(*, chart: bool = True, simulated: bool = True) -> Reply:
    """Every hostile string as title, block, table cell and button."""
    header = ("", "Now <b>", "1 w *x*", "😀 wide")
    rows = tuple((h[:MAX_CELL], "+1.0 pp", "<!channel>", "`code`") for h in HOSTILE)
    buttons = [Button(h, f"sector {h}") for h in HOSTILE[:6]]
    buttons.append(Button("Refresh <b>", "snapshot", kind="refresh"))
    return Reply(
        title="Title <b>&amp;</b> *x* <!here>",
        blocks=HOSTILE,
        table=Table(header, rows),
        chart=Chart(PNG, "alt <b>", "x.png") if chart else None,
        buttons=tuple(buttons),
        simulated=simulated,
        as_of=DAY,
        command="snapshot",
    )


def huge_reply(*, chart: bool = True) -> Reply:
    """Every field at its bound, entity-heavy once escaped (& < > grow fivefold)."""
    block = ("&<> " * (MAX_BLOCK // 4))[:MAX_BLOCK]
    cell = "&" * MAX_CELL
    rows = tuple(
        tuple(f"{r}{cell}"[:MAX_CELL] for _ in range(MAX_COLUMNS)) for r in range(MAX_ROWS)
    )
    return Reply(
        title="T" * 200,
        blocks=tuple(f"{i} {block}" for i in range(MAX_BLOCKS)),
        table=Table(tuple(cell for _ in range(MAX_COLUMNS)), rows),
        chart=Chart(PNG, "alt", "x.png") if chart else None,
        buttons=tuple(Button(f"b{i}", f"sector X{i}") for i in range(MAX_BUTTONS)),
        simulated=True,
        as_of=DAY,
        command="snapshot",
    )


texts = st.text(max_size=300)
replies_st = st.builds(
    Reply,
    title=texts,
    blocks=st.lists(st.text(max_size=2000) | texts, max_size=14).map(tuple),
    table=st.none()
    | st.builds(
        Table,
        header=st.lists(texts, min_size=1, max_size=7).map(tuple),
        rows=st.lists(st.lists(texts, max_size=7).map(tuple), max_size=45).map(tuple),
    ),
    chart=st.none() | st.builds(Chart, png=st.just(PNG), alt=texts, filename=texts),
    buttons=st.lists(
        st.builds(Button, label=texts, command=texts, kind=st.sampled_from(["choice", "refresh"])),
        max_size=20,
    ).map(tuple),
    simulated=st.booleans(),
    as_of=st.none() | st.just(DAY),
    is_error=st.booleans(),
    command=texts,
)


# --- independent checks ------------------------------------------------------------------


def telegram_visible(html: str, limit: int) -> str:
    """The text Telegram shows for `html`; fails on markup Telegram refuses or over `limit`
    UTF-16 units."""
    shown, error = visible_text(html, "HTML")
    assert error is None, f"{error}: {html[:200]!r}"
    assert utf16(shown) <= limit, f"{utf16(shown)} > {limit}"
    assert shown.strip(), "Telegram refuses an empty message"
    return shown


RAW_SLACK = re.compile(r"<|&(?!(?:amp|lt|gt);)")


def slack_checked(message) -> str:
    """The message's section texts, in order; fails when Slack would refuse the blocks or
    when data could act as markup in a section, the fallback text or the header (a bare <
    or &, or < > in plain text)."""
    assert blocks_problem(message.blocks) is None, blocks_problem(message.blocks)
    assert message.text and len(message.text) <= 40_000
    texts = [message.text]
    for block in message.blocks:
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= 150
            assert block["text"]["type"] == "plain_text"
            assert not re.search("[<>]", block["text"]["text"])
        elif block["type"] == "section":
            texts.append(block["text"]["text"])
        elif block["type"] == "actions":
            assert len(block["elements"]) <= 25
            for e in block["elements"]:
                assert len(e["text"]["text"]) <= 75 and len(e["action_id"]) <= 255
    for text in texts:
        assert not RAW_SLACK.search(text), text[:200]
    return "\n".join(texts[1:])
