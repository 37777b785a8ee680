"""The neutral answer to a chat command: words, an optional table, chart and buttons.

Commands return a `Reply`; each platform's renderer turns it into Telegram HTML, Slack blocks
or console text. Text here is plain: no markup, nothing escaped (escaping is
the renderers' job). Every text field is bounded on construction, so no command, and no user
input echoed by one, can produce an unbounded message.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Literal

from bot.model.text import one_line

#: Bounds (characters) applied by `Reply` itself; renderers still split to platform limits.
MAX_TITLE = 120
MAX_BLOCK = 1200
MAX_BLOCKS = 12
MAX_CELL = 40
MAX_COLUMNS = 6
MAX_ROWS = 40
MAX_BUTTONS = 16
MAX_BUTTON_LABEL = 40
#: Telegram's callback_data holds at most 64 bytes; a button's command must fit.
MAX_BUTTON_COMMAND_BYTES = 64
#: How much of a user's input a reply may echo back.
MAX_ECHO = 50
ELLIPSIS = "…"
#: An upper bound of the characters in all text fields of any reply (`Reply.text_fields`).
MAX_REPLY_CHARS = (
    MAX_TITLE
    + MAX_BLOCKS * MAX_BLOCK
    + (MAX_ROWS + 1) * MAX_COLUMNS * MAX_CELL
    + MAX_BLOCK
    + MAX_BUTTONS * MAX_BUTTON_LABEL
)


def clip(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, an ellipsis marking a cut."""
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + ELLIPSIS


def clip_bytes(text: str, limit: int) -> str:
    """`text` as one line cut to at most `limit` UTF-8 bytes, never inside a character."""
    return one_line(text).encode("utf-8")[:limit].decode("utf-8", "ignore")


def echo(text: str, limit: int = MAX_ECHO) -> str:
    """User input as a reply may quote it: one line, at most `limit` characters.

    Markup and emoji are kept as typed (renderers escape); only line breaks and control
    characters are flattened, so an echo can never start a line of its own.
    """
    return clip(one_line(text), limit)


@dataclass(frozen=True)
class Table:
    """A small grid of strings; `align` is "l" or "r" per column (numbers right)."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    align: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        width = min(len(self.header), MAX_COLUMNS)
        put = object.__setattr__  # frozen: normalise once, here
        put(self, "header", tuple(clip(one_line(h), MAX_CELL) for h in self.header[:width]))
        rows = tuple(
            tuple(clip(one_line(c), MAX_CELL) for c in (*r[:width], *[""] * (width - len(r))))
            for r in self.rows[:MAX_ROWS]
        )
        put(self, "rows", rows)
        align = tuple(self.align[:width]) or ("l", *("r" for _ in range(width - 1)))
        put(self, "align", (*align, *("l" for _ in range(width - len(align)))))


@dataclass(frozen=True)
class Chart:
    """A PNG image and the words that stand in for it (alt text, captions, the console)."""

    png: bytes
    alt: str
    filename: str = "chart.png"

    def __post_init__(self) -> None:
        object.__setattr__(self, "alt", clip(one_line(self.alt), MAX_BLOCK))


@dataclass(frozen=True)
class Button:
    """A neutral action: pressing it runs `command` (a command line such as "sector XLF") for
    the presser, in the same chat. kind "refresh" re-runs the reply's own command and may edit
    the message in place (Telegram); "choice" picks from options (e.g. the sector picker)."""

    label: str
    command: str
    kind: Literal["choice", "refresh"] = "choice"

    def __post_init__(self) -> None:
        object.__setattr__(self, "label", clip(one_line(self.label), MAX_BUTTON_LABEL))
        object.__setattr__(self, "command", clip_bytes(self.command, MAX_BUTTON_COMMAND_BYTES))


@dataclass(frozen=True)
class Reply:
    """What a command answers.

    Renderers show, in this order: the title, the table, the blocks, the chart (as a photo or
    file; its alt text where images are not shown), then the buttons.

    title: one short line ("Market snapshot").
    blocks: paragraphs of plain text, in order; a block may hold several lines ("\\n").
    table: optional grid (header + rows of strings, `align` per column).
    chart: optional PNG.
    buttons: optional actions (a sector picker, "refresh").
    simulated: the numbers come from the simulated demo market; renderers must say so.
    as_of: the market session the numbers describe (None for non-market replies).
    is_error: a refusal or a failure (unknown command, bad argument, crash apology).
    command: the canonical command line that produced this reply ("sector XLF"), for
        refresh buttons and logs; "" when none.
    """

    title: str
    blocks: tuple[str, ...] = ()
    table: Table | None = None
    chart: Chart | None = None
    buttons: tuple[Button, ...] = ()
    simulated: bool = False
    as_of: date | None = None
    is_error: bool = False
    command: str = ""

    def __post_init__(self) -> None:
        put = object.__setattr__
        put(self, "title", clip(one_line(self.title), MAX_TITLE))
        blocks = tuple(clip(b, MAX_BLOCK) for b in self.blocks if b)[:MAX_BLOCKS]
        put(self, "blocks", blocks)
        put(self, "buttons", tuple(self.buttons)[:MAX_BUTTONS])
        put(self, "command", clip_bytes(self.command, MAX_BUTTON_COMMAND_BYTES))

    def text_fields(self) -> Iterator[str]:
        """Every string of the reply (title, blocks, table cells, alt text, button labels)."""
        yield self.title
        yield from self.blocks
        if self.table is not None:
            yield from self.table.header
            for row in self.table.rows:
                yield from row
        if self.chart is not None:
            yield self.chart.alt
        for b in self.buttons:
            yield b.label
