"""Plain text for the console adapter: one line per alert item, tagged for grep and checks.

The console prints each alert as a line starting `[alert]` or `[resolved]`
(data-health notices start `[data]`). Data is flattened to one line with control characters
made visible (`one_line`), so a rule message can neither forge an `[alert]` line nor send
escape sequences to the terminal.
"""

from __future__ import annotations

from bot.model import AlertGroup, TextMessage, one_line
from bot.render import SEP, SIMULATED, SIMULATED_NOTE, alert_view

#: transition -> the exact tag each console line starts with
TAGS: dict[str, str] = {"fired": "[alert]", "resolved": "[resolved]", "data_health": "[data]"}


def render_alerts(group: AlertGroup) -> str:
    """A header line, one line per item (fired, resolved and data items in group order),
    then the source and footer lines."""
    view = alert_view(group)
    head = f"{view.title}{SEP}{view.summary}"
    if view.simulated:
        head += f"{SEP}{SIMULATED} — {SIMULATED_NOTE}"
    mark = f"[{SIMULATED}] " if view.simulated else ""
    lines = [head]
    for item in view.items:
        line = f"{TAGS.get(item.transition, '[data]')} {mark}{item.icon} {item.heading} "
        line += f"{item.message}{SEP}{item.details}"
        if item.late:
            line += f"{SEP}{item.late}"
        lines.append(line)
    lines.append(view.source)
    if view.footer:
        lines.append(view.footer)
    return "\n".join(lines)


def render_text_message(msg: TextMessage) -> str:
    """A notice: its title (marked when simulated), then its lines, each kept on one line."""
    title = one_line(msg.title)
    if msg.simulated:
        title += f" [{SIMULATED}]"
    return "\n".join([title, *(one_line(line) for line in msg.lines)])
