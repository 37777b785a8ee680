"""The console: alerts and notices printed on stdout.

The default destination when no chat is configured. Each alert item is a line starting
`[alert]` or `[resolved]` (`bot.platforms.console.render_alerts`), which outside checks grep for.
Sending only; the local prompt lives in `bot.platforms.console.chat`.
"""

from __future__ import annotations

import os
import sys
import tempfile
from typing import TextIO

from bot.delivery import Adapter
from bot.model import Address, AlertGroup, PartCallback, SendResult, TextMessage
from bot.platforms.console import render_alerts as render


class ConsoleSender(Adapter):
    """Writes each message as one block of lines, followed by a blank line, and flushes."""

    name = "console"

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    async def start(self) -> None:
        """Nothing to open."""

    async def stop(self) -> None:
        """Nothing to close (stdout belongs to the process)."""

    async def send(
        self,
        address: Address,
        message: AlertGroup | TextMessage,
        *,
        silent: bool = False,
        skip_parts: int = 0,
        on_part: PartCallback | None = None,
    ) -> SendResult:
        if isinstance(message, AlertGroup):
            body = render.render_alerts(message)
        else:
            body = render.render_text_message(message)
        stream = self._stream or sys.stdout  # looked up late: tests and the CLI swap stdout
        if skip_parts == 0:
            chart = message.chart_png if isinstance(message, TextMessage) else None
            if chart is not None:  # never binary on a terminal: a file, and its path
                fd, path = tempfile.mkstemp(prefix="rotation-bot-", suffix=".png")
                with os.fdopen(fd, "wb") as f:
                    f.write(chart)
                body += f"\nChart: {path}"
            stream.write(body + "\n\n")
            stream.flush()
        if on_part is not None:
            await on_part(1, 1)
        return SendResult(parts=1)
