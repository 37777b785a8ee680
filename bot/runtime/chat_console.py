"""`rotation-bot chat`: the chat commands on stdin and stdout.

One command per line, from a terminal (with a prompt) or a pipe (without); `snapshot` and
`/snapshot` both work; blank lines are skipped; `exit` or `quit` (or the end of input) ends
the session with exit code 0. The user is the operator: an admin. Every answer is text, an
error is one line, charts are saved as PNG files and their path printed. Nothing here raises
to the caller: `dispatch` turns a failing command into an apology, a chart that cannot be
written is a one-line note, and a closed stdout (`| head`) ends the session quietly.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from bot.commands import ChatOptions, CommandContext, Dispatcher, standard_middleware
from bot.platforms import CONSOLE_CALLER, ChartFolder, ContextFactory, answer_line

if TYPE_CHECKING:
    from bot.alerts import MarketState
    from bot.config import Settings
    from bot.storage import Store
    from signals.rules import RuleSpec

PROMPT = "rotation> "
QUIT = frozenset({"exit", "quit", "/exit", "/quit"})
EXIT_OK = 0
EXIT_INTERRUPTED = 130


def chat_context(
    settings: Settings,
    state: MarketState,
    store: Store | None,
    rules: Sequence[RuleSpec],
    *,
    charts: bool = True,
) -> CommandContext:
    """The console's command context: one fixed state, the store, the rules."""
    return CommandContext(
        caller=CONSOLE_CALLER,
        state=lambda: state,
        store=store,
        rules=tuple(rules),
        options=ChatOptions(charts=charts and settings.chat.charts),
        own_alerts=settings.own_alerts,
    )


def chat_dispatcher(settings: Settings) -> Dispatcher:
    """The console's dispatcher: the usual middleware (audit log; the console user is an
    admin, so never rate limited)."""
    return Dispatcher(standard_middleware(per_minute=settings.chat.rate_per_minute))


def _interactive(stdin: TextIO, stdout: TextIO) -> bool:
    try:
        return stdin.isatty() and stdout.isatty()
    except (AttributeError, ValueError):  # closed or not a real file
        return False


def run_chat(
    ctx_factory: ContextFactory,
    stdin: TextIO,
    stdout: TextIO,
    *,
    charts_dir: Path | None = None,
    dispatcher: Dispatcher | None = None,
) -> int:
    """Answer each line of `stdin` on `stdout` until the end of input; the exit code.
    `ctx_factory` gives the context for the console caller; `charts_dir` is where charts
    go (default: a new temporary folder, made at the first chart); `dispatcher` runs the
    commands (`chat_dispatcher`; default: no middleware)."""
    ctx = ctx_factory(CONSOLE_CALLER)
    dispatcher = dispatcher or Dispatcher()
    charts = ChartFolder(charts_dir)
    if hasattr(stdin, "reconfigure"):  # a stray byte must not end the session
        with contextlib.suppress(ValueError, OSError):
            stdin.reconfigure(errors="replace")
    prompt = PROMPT if _interactive(stdin, stdout) else ""
    try:
        while True:
            if prompt:
                stdout.write(prompt)
                stdout.flush()
            line = stdin.readline()
            if not line:
                if prompt:
                    stdout.write("\n")
                return EXIT_OK
            if line.strip().lower() in QUIT:
                return EXIT_OK
            text = answer_line(line, ctx, charts, dispatcher)
            if text is not None:
                stdout.write(text + "\n\n")
                stdout.flush()
    except KeyboardInterrupt:
        stdout.write("\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader went away (`| head`): nothing left to say
        _silence(stdout)
        return EXIT_OK


def _silence(stdout: TextIO) -> None:
    """Point a broken stdout at /dev/null, so the interpreter's final flush is quiet."""
    with contextlib.suppress(AttributeError, ValueError, OSError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stdout.fileno())
