"""What an alert message says, before any markup: one view shared by every renderer.

The Telegram, Slack and console renderers differ only in markup and escaping; the words, the
order and the numbers come from here (and the wording from `bot.render.texts`), so the three
platforms cannot drift apart. Every data string is flattened to one line (`one_line`) so the
layout's lines stay lines: no rule message can start a fake item, a Slack quote or a console
`[alert]` line of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from bot.model import AlertGroup, AlertItem, one_line
from bot.render import texts
from bot.render.numbers import format_number
from bot.render.texts import SEP


@dataclass(frozen=True)
class ItemView:
    """One alert item as words: `heading` and `icon` are ours, the rest may carry data."""

    transition: str  # fired | resolved | data_health
    warning: bool
    icon: str
    heading: str
    message: str
    details: str
    late: str | None


@dataclass(frozen=True)
class AlertView:
    """A whole alert group as words, in display order."""

    title: str  # "rotation-bot"
    summary: str  # "2 alerts · 1 resolved · as of 2024-05-03"
    simulated: bool
    items: tuple[ItemView, ...]
    source: str  # "Source: demo"
    footer: str  # "" when the deployment has none


def _day(d: date) -> str:
    return d.isoformat()


def _item(item: AlertItem) -> ItemView:
    warning = item.severity == "warning"
    if item.transition == "fired":
        icon = texts.ICON_WARNING if warning else texts.ICON_INFO
        heading = texts.ALERT_HEADING_WARNING if warning else texts.ALERT_HEADING_INFO
    elif item.transition == "resolved":
        icon, heading = texts.ICON_RESOLVED, texts.ALERT_HEADING_RESOLVED
    else:
        icon, heading = texts.ICON_DATA, texts.ALERT_HEADING_DATA
    details: list[str] = []
    if item.value is not None or item.threshold is not None:
        details.append(texts.ALERT_VALUE.format(value=format_number(item.value)))
        details.append(texts.ALERT_THRESHOLD.format(threshold=format_number(item.threshold)))
    if item.label:
        details.append(texts.ALERT_LABEL.format(label=one_line(item.label)))
    details.append(texts.ALERT_SESSION.format(date=_day(item.session)))
    details.append(texts.ALERT_RULE.format(rule_id=one_line(item.rule_id)))
    return ItemView(
        transition=item.transition,
        warning=warning,
        icon=icon,
        heading=heading,
        message=one_line(item.message),
        details=SEP.join(details),
        late=texts.ALERT_LATE.format(date=_day(item.session)) if item.late else None,
    )


def _summary(group: AlertGroup) -> str:
    counts: dict[str, int] = {}
    for item in group.items:
        key = item.transition if item.transition in texts.ALERT_COUNT_WORDS else "data_health"
        counts[key] = counts.get(key, 0) + 1
    words = [
        f"{n} {texts.ALERT_COUNT_WORDS[k][n != 1]}"
        for k in texts.ALERT_COUNT_WORDS
        if (n := counts.get(k, 0))
    ]
    return SEP.join([*words, texts.ALERT_AS_OF.format(date=_day(group.as_of))])


def alert_view(group: AlertGroup) -> AlertView:
    """The words of an alert group, data flattened to single lines, nothing yet escaped."""
    return AlertView(
        title=texts.APP_NAME,
        summary=_summary(group),
        simulated=group.simulated,
        items=tuple(_item(i) for i in group.items),
        source=texts.ALERT_SOURCE.format(source=one_line(group.source)),
        footer=one_line(group.footer.strip()).strip(),
    )
