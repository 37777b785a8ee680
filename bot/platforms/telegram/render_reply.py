"""A command's `Reply` as Telegram HTML: a photo with a caption and/or text parts, a keyboard.

Markup is ours only: `<b>` around the heading and SIMULATED, `<pre>` around the table; every
other character is data and goes through `escape` (& < >). The message is built from whole
sections (heading, table, one per text block), so a tag is never cut: a part holds whole
sections, a table too long for one part becomes several `<pre>` blocks of whole rows, and a
text block too long is cut by `split_lines` on lines and never inside an entity.

Limits are counted as Telegram counts them: the visible text (tags dropped, entities decoded)
in UTF-16 units. Text parts stay within 4,096 (less room for the "(2/3)" line), a caption
within 1,024. With a chart, the whole reply goes in the caption when it fits; otherwise the
photo carries the heading only and the reply follows as text, after the
photo.

Buttons become inline keyboard `callback_data` (at most 64 bytes): "c:COMMAND" for a choice,
"r:COMMAND" for a refresh of the message that carries the button, and "r<ID>:COMMAND" for a
refresh of a text part whose chart went out as photo message ID just before it.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from bot.model import Button, Reply
from bot.platforms.telegram.render_alerts import escape, numbered
from bot.render import (
    ICON_SIMULATED,
    SEP,
    SIMULATED,
    block_lines,
    heading,
    split_lines,
    table_lines,
    utf16_len,
)

LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_LIMIT = 64  # bytes of callback_data
#: Telegram message ids are 32-bit: a refresh button's data leaves room for any of them
_MAX_MESSAGE_ID = 2**31 - 1
#: room kept in each text part for the "(2/3) 🧪 SIMULATED" line of a split reply
_RESERVE = 64
_ENTITY = re.compile(r"&(?:amp|lt|gt);")
_TAG = re.compile(r"</?(?:b|pre)>")
_CALLBACK = re.compile(r"([cr])(\d*):(.+)", re.DOTALL)
#: choice buttons per keyboard row (labels such as "XLV Health care" fit two abreast)
ROW = 2


def visible_len(text: str) -> int:
    """Telegram's length of our HTML: tags dropped, entities decoded, UTF-16 units.
    Additive over pieces that cut no tag or entity (the only cuts this module makes)."""
    return utf16_len(html.unescape(_TAG.sub("", text)))


def visible_text(text: str) -> str:
    """What Telegram shows for our HTML (tags dropped, entities decoded, edges trimmed)."""
    return html.unescape(_TAG.sub("", text)).strip()


@dataclass(frozen=True)
class TelegramReply:
    """What to send, in order: the photo (with its caption), then each text part; the
    keyboard goes on the last message sent.

    texts: HTML parts, each within 4,096 visible characters.
    photo / filename / caption: the chart and its HTML caption (within 1,024), or None.
    keyboard: rows of neutral buttons; `callback_data` turns each into its data.
    """

    texts: tuple[str, ...]
    photo: bytes | None = None
    filename: str = "chart.png"
    caption: str | None = None
    keyboard: tuple[tuple[Button, ...], ...] = ()

    @property
    def single(self) -> bool:
        """One message: a text, or a photo whose caption holds the whole reply."""
        return len(self.texts) == 1 if self.photo is None else not self.texts


def _head(reply: Reply) -> str:
    head = f"<b>{escape(heading(reply))}</b>"
    if reply.simulated:
        head += f"{escape(SEP)}{ICON_SIMULATED} <b>{SIMULATED}</b>"
    return head


def _table_sections(reply: Reply, limit: int) -> list[str]:
    """The table as `<pre>` sections of whole rows, each within `limit`."""
    if reply.table is None:
        return []
    out: list[str] = []
    rows: list[str] = []
    for line in (escape(x) for x in table_lines(reply.table)):
        if rows and visible_len("\n".join([*rows, line])) > limit:
            out.append("<pre>" + "\n".join(rows) + "</pre>")
            rows = []
        rows.append(line)
    if rows:
        out.append("<pre>" + "\n".join(rows) + "</pre>")
    return out


def _sections(reply: Reply, limit: int) -> list[str]:
    """Heading, table, text blocks: whole HTML sections, each within `limit`."""
    sections = [_head(reply), *_table_sections(reply, limit)]
    for block in reply.blocks:
        text = "\n".join(escape(line) for line in block_lines(block))
        sections += split_lines(text, limit, visible_len, atoms=_ENTITY)
    return [s for s in sections if s.strip()]


def _pack(sections: list[str], limit: int) -> list[str]:
    """Whole sections packed greedily into parts within `limit` (a blank line between)."""
    parts: list[str] = []
    for section in sections:
        joined = f"{parts[-1]}\n\n{section}" if parts else section
        if parts and visible_len(joined) <= limit:
            parts[-1] = joined
        else:
            parts.append(section)
    return parts


def _keyboard(buttons: tuple[Button, ...]) -> tuple[tuple[Button, ...], ...]:
    """Choices two to a row, refresh alone on the last row; buttons whose data cannot fit
    Telegram's 64 bytes are left out rather than cut (a cut command would run another)."""
    usable = [b for b in buttons if fits(b)]
    picks = [b for b in usable if b.kind == "choice"]
    rows = [tuple(picks[i : i + ROW]) for i in range(0, len(picks), ROW)]
    refresh = tuple(b for b in usable if b.kind == "refresh")
    return tuple([*rows, refresh] if refresh else rows)


def render_reply(reply: Reply) -> TelegramReply:
    """The reply as Telegram messages (see the module docstring)."""
    keyboard = _keyboard(reply.buttons)
    if reply.chart is not None:
        whole = _pack(_sections(reply, CAPTION_LIMIT), CAPTION_LIMIT)
        if len(whole) == 1:
            return TelegramReply((), reply.chart.png, reply.chart.filename, whole[0], keyboard)
    parts = numbered(_pack(_sections(reply, LIMIT - _RESERVE), LIMIT - _RESERVE), reply.simulated)
    if reply.chart is None:
        return TelegramReply(tuple(parts), keyboard=keyboard)
    caption = _head(reply)  # short by construction: a title of at most 120 characters
    return TelegramReply(tuple(parts), reply.chart.png, reply.chart.filename, caption, keyboard)


# --- callback data ------------------------------------------------------------------------


@dataclass(frozen=True)
class Callback:
    """A pressed button: run `command`; `refresh` edits the pressed message in place, and
    `photo_id` (when set) is the chart message sent just before it, edited along."""

    command: str
    refresh: bool = False
    photo_id: int | None = None


def callback_data(button: Button, photo_id: int | None = None) -> str:
    """The button's callback_data; `photo_id` only matters for refresh buttons."""
    if button.kind == "refresh":
        return f"r{photo_id if photo_id is not None else ''}:{button.command}"
    return f"c:{button.command}"


def fits(button: Button) -> bool:
    """Whether the button's data fits 64 bytes, even with a message id in it."""
    return len(callback_data(button, _MAX_MESSAGE_ID).encode()) <= CALLBACK_LIMIT


def parse_callback(data: str | None) -> Callback | None:
    """Callback data back to a `Callback`; None for data we did not make (old or forged
    presses are then ignored; the command itself is checked like typed text anyway)."""
    m = _CALLBACK.fullmatch(data or "")
    if m is None:
        return None
    kind, photo, command = m.groups()
    return Callback(command, kind == "r", int(photo) if kind == "r" and photo else None)
