"""Console commands: one command per line in, the plain-text answer out.

The console's user is the operator, so an admin (the person at the local
prompt). `answer_line` is the whole exchange for one line and is shared by `rotation-bot chat`
(`bot.runtime.chat_console.run_chat`, synchronous) and `ConsoleChat`, the adapter the daemon starts
when no chat token is set and stdin is a terminal. Charts are written as PNG files to a folder
and the answer names the file; binary never goes to the terminal. Errors are one line.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import re
import sys
import tempfile
import threading
from pathlib import Path
from typing import TextIO

from bot.commands import Caller, CommandContext, Dispatcher
from bot.model import Chart
from bot.platforms.chat_common import ChatAdapter, ContextFactory
from bot.platforms.console.sender import ConsoleSender
from bot.render import error_line, render_reply

log = logging.getLogger(__name__)

#: who types at the console: the operator, an admin
CONSOLE_CALLER = Caller("console", "console", "console", "private", is_admin=True)
CHART_NOT_SAVED = "chart not saved: {error}"
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


class ChartFolder:
    """Where console charts go: numbered files ("003-sector_XLF.png") in `folder`, or in a
    new temporary folder made at the first chart (so a text-only session leaves nothing)."""

    def __init__(self, folder: Path | None = None) -> None:
        self._folder = folder
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()

    @property
    def folder(self) -> Path:
        with self._lock:
            if self._folder is None:
                self._folder = Path(tempfile.mkdtemp(prefix="rotation-bot-charts-"))
            self._folder.mkdir(parents=True, exist_ok=True)
            return self._folder

    def save(self, chart: Chart) -> Path:
        name = _SAFE_NAME.sub("_", chart.filename).strip("._") or "chart.png"
        path = self.folder / f"{next(self._numbers):03d}-{name}"
        path.write_bytes(chart.png)
        return path


def answer_line(
    line: str, ctx: CommandContext, charts: ChartFolder, dispatcher: Dispatcher | None = None
) -> str | None:
    """The console's answer to one typed line (None: nothing to say, e.g. a blank line).
    `snapshot` and `/snapshot` both work; the chart, if any, is saved and named.
    `dispatcher` runs the command (default: no middleware)."""
    reply = (dispatcher or Dispatcher()).dispatch_text(line, ctx)
    if reply is None:
        return None
    if reply.is_error:
        return error_line(reply)
    path = None
    if reply.chart is not None:
        try:
            path = charts.save(reply.chart)
        except OSError as exc:  # a full disk or a read-only folder costs the chart only
            return render_reply(reply) + "\n" + CHART_NOT_SAVED.format(error=exc.strerror or exc)
    return render_reply(reply, str(path) if path else None)


class ConsoleChat(ChatAdapter):
    """The local prompt inside the daemon: lines from `stdin` answered on `stdout`.

    stdin is read by a daemon thread (a blocking readline cannot be cancelled, and a
    non-blocking terminal would also make writes to the same terminal fail); lines reach
    the event loop through a queue and are answered in worker threads. End of input ends
    the prompt, not the bot. Alerts (`send`) go through `ConsoleSender` on the same stdout.
    """

    name = "console"

    def __init__(
        self,
        context_for: ContextFactory,
        *,
        dispatcher: Dispatcher | None = None,
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
        charts_dir: Path | None = None,
    ) -> None:
        self._ctx = context_for(CONSOLE_CALLER)
        self._dispatcher = dispatcher or Dispatcher()
        self._stdin = stdin
        self._stdout = stdout
        self._charts = ChartFolder(charts_dir)
        self._sender = ConsoleSender(stdout)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[str | None] = asyncio.Queue()
        stdin = self._stdin or sys.stdin

        def read() -> None:
            try:
                for line in stdin:
                    loop.call_soon_threadsafe(queue.put_nowait, line)
            except (OSError, ValueError, UnicodeDecodeError) as exc:  # closed or unreadable
                log.warning("console: stopped reading commands: %s", exc)
            with contextlib.suppress(RuntimeError):  # the loop may be gone at exit
                loop.call_soon_threadsafe(queue.put_nowait, None)

        threading.Thread(target=read, name="console-stdin", daemon=True).start()
        self._task = asyncio.create_task(self._serve(queue), name="console-chat")

    async def _serve(self, queue: asyncio.Queue[str | None]) -> None:
        while (line := await queue.get()) is not None:
            text = await asyncio.to_thread(
                answer_line, line, self._ctx, self._charts, self._dispatcher
            )
            if text is not None:
                out = self._stdout or sys.stdout
                out.write(text + "\n\n")
                out.flush()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
