"""Slack Block Kit messages for alert groups and notices.

Each message is a header block (our own words only: never data, so its plain_text needs no
escaping) and mrkdwn section blocks (`verbatim: true`, so Slack does not auto-link URLs or
channel names in data), plus a `text` fallback with the same content for notifications.

Escaping data for mrkdwn: `&`, `<`, `>` become entities, as Slack documents; that alone
neutralises `<!channel>`, `<@U123>` and `<url|label>`. Slack has no escape for the emphasis
characters, so in data they are replaced by look-alikes (the set jsx-slack uses): `~` -> ∼ and
the backtick -> ˋ always; `*` -> ∗ and `_` -> ˍ unless they stand between two ASCII letters or
digits, where Slack never reads them as emphasis (`breadth_200d`, `a*b` stay exactly as
written and can be copied). We chose look-alikes over inserting zero-width characters because
Slack treats a zero-width space as a word boundary, which can *enable* emphasis (jsx-slack's
"exact mode" relies on it) and would hide in copied text; and over inline code because
monospace does not read naturally. A look-alike shows as the same glyph and costs one
character, so the limits stay predictable.

Our own emphasis is written as sentinels (lone surrogates) while the text is built and split, then
turned into `*`/`_` for the blocks and dropped for the fallback text; data can never produce a
sentinel (`escape` maps them to U+FFFD), so markup and data cannot be confused. Inside one of
our spans every `*` and `_` of the text is a look-alike, so none can end the span early.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bot.model import AlertGroup, TextMessage, one_line
from bot.render import (
    APP_NAME,
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

SECTION_LIMIT = 3000  # characters of a section's text
MAX_BLOCKS = 50  # blocks per message
HEADER_LIMIT = 150  # characters of a header's plain_text
TEXT_LIMIT = 40_000  # characters of a message's `text`
#: longest text we wrap in emphasis, so every marked span is far below the limits
_MAX_SPAN = 200
#: sentinels for our * and _ (see the module docstring): lone surrogates, which are not text
#: and which `one_line` already turns into U+FFFD in every data string
_BOLD, _ITALIC = "\ud800", "\ud801"
_MARKERS = {_BOLD: "*", _ITALIC: "_"}
#: what a hard cut must not go through: an entity, or one of our emphasised spans
_ATOMS = re.compile(r"&(?:amp|lt|gt);|\ud800[^\ud800\n]*\ud800|\ud801[^\ud801\n]*\ud801")

_ALWAYS = str.maketrans(
    {
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        "~": "\u223c",  # ∼ tilde operator
        "`": "\u02cb",  # ˋ modifier letter grave accent
        "\uff40": "\u02cb",  # fullwidth grave accent
        "\uff0a": "\ufe61",  # fullwidth asterisk -> ﹡ small asterisk
        "\uff3f": "\u2e0f",  # fullwidth low line -> ⸏ paragraphos
        _BOLD: "\ufffd",
        _ITALIC: "\ufffd",
    }
)
#: `*` or `_` not standing between two ASCII letters/digits: could open or close emphasis
_EDGE_MARK = re.compile(r"(?<![A-Za-z0-9])[*_]|[*_](?![A-Za-z0-9])")
_LOOKALIKE = {"*": "\u2217", "_": "\u02cd"}  # ∗ asterisk operator, ˍ low macron
_LOOKALIKE_ALL = str.maketrans(_LOOKALIKE)


@dataclass(frozen=True)
class SlackMessage:
    """One chat.postMessage payload: `text` (plain fallback) and `blocks` (Block Kit)."""

    text: str
    blocks: list[dict[str, Any]]


def escape(text: str) -> str:
    """Data as mrkdwn that shows as written and triggers nothing (see the module docstring)."""
    text = _EDGE_MARK.sub(lambda m: _LOOKALIKE[m.group()], text)
    return text.translate(_ALWAYS)


def _mark(sentinel: str, text: str) -> str:
    """`text` escaped and marked bold or italic when short and not padded with spaces (Slack
    ignores `* x*`); otherwise escaped only. Inside a marked span every `*` and `_` becomes a
    look-alike, so none can close our emphasis early (`_0_0_`)."""
    if not text or text.strip() != text or len(text) > _MAX_SPAN:
        return escape(text)
    inner = text.translate(_ALWAYS).translate(_LOOKALIKE_ALL)
    return f"{sentinel}{inner}{sentinel}"


def _mrkdwn(built: str) -> str:
    return built.replace(_BOLD, "*").replace(_ITALIC, "_")


def _plain(built: str) -> str:
    return built.replace(_BOLD, "").replace(_ITALIC, "")


def _section(mrkdwn: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn, "verbatim": True}}


def _header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": {"type": "plain_text", "text": text, "emoji": False}}


def _messages(head: str, built: str, simulated: bool) -> list[SlackMessage]:
    """Sections within 3,000 characters, packed into messages of at most 50 blocks and a
    fallback text within 40,000; each message gets the header, numbered when there are
    several, marked SIMULATED when simulated."""
    sections = split_lines(built, SECTION_LIMIT, utf16_len, atoms=_ATOMS)
    groups: list[list[str]] = []
    size = 0
    budget = TEXT_LIMIT - HEADER_LIMIT - 1  # the header line opens the fallback text
    for section in sections:
        n = utf16_len(_plain(section)) + 1
        if not groups or len(groups[-1]) >= MAX_BLOCKS - 1 or size + n > budget:
            groups.append([])
            size = 0
        groups[-1].append(section)
        size += n
    if not groups:
        groups = [[]]
    out = []
    for index, group in enumerate(groups, start=1):
        title = head
        if len(groups) > 1:
            title = f"{PART_OF.format(index=index, total=len(groups))} {title}"
        if simulated:
            title += f"{SEP}{ICON_SIMULATED} {SIMULATED}"
        text = "\n".join([title, *map(_plain, group)])
        blocks = [_header(title), *(_section(_mrkdwn(s)) for s in group)]
        out.append(SlackMessage(text=text, blocks=blocks))
    return out


def render_alerts(group: AlertGroup) -> list[SlackMessage]:
    """An alert group as one Slack message, or several when over Slack's limits."""
    view = alert_view(group)
    lines = []
    if view.simulated:
        lines += [f"{ICON_SIMULATED} {_mark(_BOLD, SIMULATED)} — {escape(SIMULATED_NOTE)}", ""]
    for item in view.items:
        lines.append(f"{item.icon} {_mark(_BOLD, item.heading)} {escape(item.message)}")
        lines.append(escape(item.details))
        if item.late:
            lines.append(f"{ICON_LATE} {escape(item.late)}")
        lines.append("")
    lines.append(escape(view.source))
    if view.footer:
        lines.append(_mark(_ITALIC, view.footer))
    head = f"{ICON_APP} {view.title}{SEP}{view.summary}"
    return _messages(head, "\n".join(lines), view.simulated)


def render_text_message(msg: TextMessage) -> list[SlackMessage]:
    """A notice (startup, heartbeat): bold title and lines in sections, under our header."""
    lines = [_mark(_BOLD, one_line(msg.title)), *(escape(one_line(x)) for x in msg.lines)]
    return _messages(f"{ICON_APP} {APP_NAME}", "\n".join(lines), msg.simulated)
