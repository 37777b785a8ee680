"""A command's `Reply` as plain text (the console), and the pieces all reply renderers share.

The Telegram and Slack reply renderers take their words from here (`heading`, `block_lines`,
`table_lines`) and only add markup and escaping, so the three platforms say the same thing in
the same order: heading (title, as-of, SIMULATED), table, text blocks, chart, choices.

Every string goes through `one_line` line by line, whatever the command put in it: a block's
own line breaks stay, but no control character, escape sequence or stray carriage return can
reach a terminal or start a line the layout did not make.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from bot.model import Button, Reply, Table, one_line
from bot.render.texts import APP_NAME, SEP, SIMULATED

#: between table columns: two spaces keep right-aligned numbers apart on a narrow screen
GAP = "  "
AS_OF = "as of {date}"
CHART_SAVED = "Chart: {path}"
CHART_ALT = "Chart: {alt}"
CHOICES = "Try: {commands}"


def display_width(text: str) -> int:
    """Columns `text` takes in a monospace font: wide East Asian characters and most emoji
    take two, combining marks and format characters (ZWJ, variation selectors) none."""
    width = 0
    for c in text:
        if unicodedata.combining(c) or unicodedata.category(c) in ("Mn", "Me", "Cf"):
            continue
        width += 2 if unicodedata.east_asian_width(c) in ("W", "F") else 1
    return width


def _pad(text: str, width: int, align: str) -> str:
    fill = " " * max(width - display_width(text), 0)
    return fill + text if align == "r" else text + fill


def table_lines(table: Table) -> list[str]:
    """The table as aligned monospace lines: the header, then one line per row; numbers
    (columns aligned "r") line up on the right. Trailing spaces are dropped."""
    rows = [table.header, *table.rows]
    if not table.header:
        return []
    widths = [max(display_width(r[i]) for r in rows) for i in range(len(table.header))]
    return [
        GAP.join(_pad(c, w, a) for c, w, a in zip(r, widths, table.align, strict=True)).rstrip()
        for r in rows
    ]


def heading(reply: Reply) -> str:
    """The title (the app's name when blank: every message needs a first line), with the
    as-of session appended when the title does not already show it (the SIMULATED mark is
    added by each renderer in its own style)."""
    title = one_line(reply.title).strip() or APP_NAME
    if reply.as_of is not None and reply.as_of.isoformat() not in title:
        title += SEP + AS_OF.format(date=reply.as_of.isoformat())
    return title


def block_lines(block: str) -> list[str]:
    """A text block's lines, each flattened by `one_line` (no control characters)."""
    return [one_line(line).rstrip() for line in block.split("\n")]


def choices(buttons: Sequence[Button]) -> list[Button]:
    """The buttons worth offering where nothing can be pressed: choices, not "refresh"
    (re-typing the command does that)."""
    return [b for b in buttons if b.kind == "choice"]


def render_reply(reply: Reply, chart_path: str | None = None) -> str:
    """The reply as console text. `chart_path`: where the chart was saved (the line names
    the file; without it the chart's alt text stands in). Errors are one line."""
    if reply.is_error:
        return error_line(reply)
    head = heading(reply)
    if reply.simulated:
        head += f" [{SIMULATED}]"
    lines = [head]
    if reply.table is not None:
        lines += ["", *table_lines(reply.table)]
    for block in reply.blocks:
        lines += ["", *block_lines(block)]
    if reply.chart is not None:
        text = CHART_SAVED.format(path=chart_path) if chart_path else None
        lines += ["", text or CHART_ALT.format(alt=one_line(reply.chart.alt))]
    offered = choices(reply.buttons)
    if offered:
        lines += ["", CHOICES.format(commands=SEP.join(one_line(b.command) for b in offered))]
    return "\n".join(lines)


def error_line(reply: Reply) -> str:
    """A refusal or failure as one line: "Sorry: Unknown command “x”. … Try: a · b"."""
    words = [line.strip() for block in reply.blocks for line in block_lines(block)]
    text = f"{one_line(reply.title).strip() or APP_NAME}: " + " ".join(w for w in words if w)
    offered = choices(reply.buttons)
    if offered:
        text += " " + CHOICES.format(commands=SEP.join(one_line(b.command) for b in offered))
    return text.rstrip(": ")
