"""A command's `Reply` as Slack Block Kit: header, table as a code block, text sections,
buttons as an actions block, and a plain fallback `text` for notifications.

Escaping follows the alert renderer (`bot.platforms.slack.render_alerts`): data in mrkdwn goes
through its
`escape` (& < > as entities, so `<!channel>` and `<@U1>` stay text; emphasis characters as
look-alikes), the header is plain_text with emoji codes off, and inside the table's code block
only & < > and the backtick need care (a backtick would end the block). The fallback `text` is
escaped the same way: Slack parses it too, and a `<!channel>` there would notify the channel.
The header's < and > become look-alikes (‹ ›), so not even a title can mention anyone.

Limits: 3,000 characters a section (long blocks cut by `split_lines`, never inside an entity;
long tables as several code blocks of whole rows), 150 a header, 50 blocks and 40,000
characters of `text` a message; a reply beyond one message continues in the next, and the
buttons go on the last. A chart is not part of the blocks: the adapter uploads it with
`files_upload_v2` next to the message.

Buttons: `action_id` "rotation:N" (unique in the message) or "rotation:refresh", `value` the
command line the click runs for the user who clicked.
"""

from __future__ import annotations

import re
from typing import Any

from bot.model import Button, Reply, clip
from bot.platforms.slack.render_alerts import (
    HEADER_LIMIT,
    MAX_BLOCKS,
    SECTION_LIMIT,
    TEXT_LIMIT,
    SlackMessage,
    escape,
)
from bot.render import (
    ICON_SIMULATED,
    PART_OF,
    SEP,
    SIMULATED,
    block_lines,
    heading,
    split_lines,
    table_lines,
    utf16_len,
)

#: every action_id this renderer makes starts with it (the adapter listens for the prefix)
ACTION_PREFIX = "rotation:"
REFRESH_ACTION = f"{ACTION_PREFIX}refresh"
MAX_ACTIONS = 25  # elements of one actions block
BUTTON_TEXT_LIMIT = 75
_ENTITY = re.compile(r"&(?:amp|lt|gt);")
_CODE = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "`": "\u02cb"})
#: plain text is not parsed, but headers and button labels never need < or > either:
#: look-alikes (‹ ›) make sure no title reads as a mention, whatever Slack does with it
_PLAIN = str.maketrans({"<": "\u2039", ">": "\u203a"})
_FENCE = "```"


def code_escape(text: str) -> str:
    """Data inside a code block: & < > as entities, the backtick as a look-alike (ˋ)."""
    return text.translate(_CODE)


def _header_text(reply: Reply, part: str = "") -> str:
    text = f"{part} {heading(reply)}".strip().translate(_PLAIN)
    mark = f"{SEP}{ICON_SIMULATED} {SIMULATED}" if reply.simulated else ""
    return clip(text, HEADER_LIMIT - len(mark)) + mark


def _section(mrkdwn: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn, "verbatim": True}}


def _table_sections(reply: Reply) -> list[str]:
    """The table as code blocks of whole rows, each within a section's limit."""
    if reply.table is None:
        return []
    room = SECTION_LIMIT - 2 * len(_FENCE) - 2
    out: list[list[str]] = [[]]
    size = 0
    for line in (code_escape(x) for x in table_lines(reply.table)):
        n = utf16_len(line) + 1
        if out[-1] and size + n > room:
            out.append([])
            size = 0
        out[-1].append(line)
        size += n
    return [_FENCE + "\n" + "\n".join(rows) + "\n" + _FENCE for rows in out if rows]


def _text_sections(reply: Reply) -> list[str]:
    sections: list[str] = []
    for block in reply.blocks:
        text = "\n".join(escape(line) for line in block_lines(block))
        sections += split_lines(text, SECTION_LIMIT, utf16_len, atoms=_ENTITY)
    return sections


def _buttons(buttons: tuple[Button, ...]) -> list[dict[str, Any]]:
    elements = []
    for i, b in enumerate(buttons):
        action = REFRESH_ACTION if b.kind == "refresh" else f"{ACTION_PREFIX}{i}"
        elements.append(
            {
                "type": "button",
                "text": {
                    "type": "plain_text",
                    "text": clip(b.label.translate(_PLAIN), BUTTON_TEXT_LIMIT),
                },
                "action_id": action,
                "value": b.command,
            }
        )
    return [
        {"type": "actions", "elements": elements[i : i + MAX_ACTIONS]}
        for i in range(0, len(elements), MAX_ACTIONS)
    ]


def render_reply(reply: Reply) -> list[SlackMessage]:
    """The reply as one Slack message, or several when over Slack's limits."""
    sections = [*_table_sections(reply), *_text_sections(reply)]
    actions = _buttons(reply.buttons)
    groups: list[list[str]] = [[]]
    size = 0
    budget = TEXT_LIMIT - HEADER_LIMIT - 1  # the fallback text opens with the header line
    for section in sections:
        n = utf16_len(section) + 1
        if groups[-1] and (len(groups[-1]) >= MAX_BLOCKS - 1 or size + n > budget):
            groups.append([])
            size = 0
        groups[-1].append(section)
        size += n
    if len(groups[-1]) + len(actions) > MAX_BLOCKS - 1:
        groups.append([])
    messages = []
    for index, group in enumerate(groups, start=1):
        part = PART_OF.format(index=index, total=len(groups)) if len(groups) > 1 else ""
        head = _header_text(reply, part)
        blocks: list[dict[str, Any]] = [
            {"type": "header", "text": {"type": "plain_text", "text": head, "emoji": False}},
            *(_section(s) for s in group),
        ]
        if index == len(groups):
            blocks += actions
        text = "\n".join([escape(head), *group])
        messages.append(SlackMessage(text=text, blocks=blocks))
    return messages
