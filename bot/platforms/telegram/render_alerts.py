"""Telegram HTML (parse_mode="HTML") for alert groups and notices.

Every string that is not our own markup is escaped with `html.escape(..., quote=False)`, which
yields only the entities Telegram knows (&amp; &lt; &gt;). Tags wrap only short, known strings
(headings, "SIMULATED", a short footer); a long data line therefore carries no tags and can be
cut anywhere except inside an entity. A part's limit is 4,096 characters as Telegram counts
them (UTF-16 code units after entity parsing); we measure the raw HTML in UTF-16 units, an
upper bound, so a part can never be refused as too long.
"""

from __future__ import annotations

import html
import re

from bot.model import AlertGroup, TextMessage, one_line
from bot.render import (
    ICON_APP,
    ICON_LATE,
    ICON_SIMULATED,
    PART_OF,
    SEP,
    SIMULATED,
    SIMULATED_NOTE,
    alert_view,
    split_lines,
    utf16_len,
)

LIMIT = 4096
#: room kept free in each part for the "(2/3)" line added when a message is split
_RESERVE = 64
#: longest escaped text we wrap in a tag, so every tagged span is far below the limit
_MAX_SPAN = 200
#: what a hard cut must not go through: an entity, or one of our tagged spans
_ATOMS = re.compile(r"&(?:[A-Za-z]+|#[0-9]+|#[xX][0-9A-Fa-f]+);|<(b|i)>[^<]*</\1>")


def escape(text: str) -> str:
    """Data as Telegram HTML text: & < > escaped, quotes left alone (not inside attributes)."""
    return html.escape(text, quote=False)


def _wrap(tag: str, text: str) -> str:
    """`text` escaped and wrapped in `tag` when short; long text goes untagged so a hard cut
    can never leave a tag open."""
    escaped = escape(text)
    if escaped.strip() and len(escaped) <= _MAX_SPAN:
        return f"<{tag}>{escaped}</{tag}>"
    return escaped


def _simulated_line() -> str:
    return f"{ICON_SIMULATED} {_wrap('b', SIMULATED)} — {escape(SIMULATED_NOTE)}"


def _parts(text: str, simulated: bool) -> list[str]:
    """Split into parts within the limit; when there are several, each starts with "(i/n)"
    and, after the first, repeats the SIMULATED mark so no part can be mistaken for real."""
    return numbered(split_lines(text, LIMIT - _RESERVE, utf16_len, atoms=_ATOMS), simulated)


def numbered(parts: list[str], simulated: bool) -> list[str]:
    """Parts as they are when there is one; else each starts with "(i/n)" and, after the
    first, repeats the SIMULATED mark (alerts and replies alike)."""
    if len(parts) < 2:
        return parts
    out = []
    for index, part in enumerate(parts, start=1):
        prefix = PART_OF.format(index=index, total=len(parts))
        if simulated and index > 1:
            prefix += f" {ICON_SIMULATED} {_wrap('b', SIMULATED)}"
        out.append(f"{prefix}\n{part}")
    return out


def render_alerts(group: AlertGroup) -> list[str]:
    """An alert group as one Telegram HTML message, or several when over 4,096 characters."""
    view = alert_view(group)
    lines = [_simulated_line()] if view.simulated else []
    lines.append(f"{ICON_APP} {_wrap('b', view.title)}{escape(SEP + view.summary)}")
    for item in view.items:
        lines += ["", f"{item.icon} {_wrap('b', item.heading)} {escape(item.message)}"]
        lines.append(escape(item.details))
        if item.late:
            lines.append(f"{ICON_LATE} {escape(item.late)}")
    lines += ["", escape(view.source)]
    if view.footer:
        lines.append(_wrap("i", view.footer))
    return _parts("\n".join(lines), view.simulated)


def render_text_message(msg: TextMessage) -> list[str]:
    """A notice (startup, heartbeat): bold title, then its lines, escaped and split alike."""
    lines = [_simulated_line()] if msg.simulated else []
    lines.append(_wrap("b", one_line(msg.title)))
    lines += [escape(one_line(line)) for line in msg.lines]
    return _parts("\n".join(lines), msg.simulated)
