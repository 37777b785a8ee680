"""The console: alerts printed on stdout and commands typed at a terminal prompt.

Always there as a sender; it takes commands only when no chat platform does and stdin is a
terminal.
"""

from __future__ import annotations

from bot.delivery import Adapter, SendLimiter
from bot.platforms.chat_common import Wiring
from bot.platforms.console.chat import CONSOLE_CALLER, ChartFolder, ConsoleChat
from bot.platforms.console.sender import ConsoleSender


def build_sender(w: Wiring) -> Adapter | None:
    """The console sender: always present."""
    return ConsoleSender(w.stdout)


def build_chat(w: Wiring, limiter: SendLimiter | None) -> Adapter | None:
    """The prompt, when the config allows it and stdin is a terminal."""
    stdin = w.stdin
    if not w.settings.chat.console or w.context_for is None or stdin is None or not stdin.isatty():
        return None
    return ConsoleChat(w.context_for, dispatcher=w.dispatcher, stdin=stdin)


__all__ = [
    "CONSOLE_CALLER",
    "ChartFolder",
    "ConsoleChat",
    "ConsoleSender",
    "build_chat",
    "build_sender",
]
