"""One folder per chat platform (sender, chat front-end, renderers) and the registry of them."""

from bot.platforms.chat_common import ContextFactory, Wiring
from bot.platforms.console.chat import CONSOLE_CALLER, ChartFolder, answer_line
from bot.platforms.registry import PLATFORMS, Platform, build_chat_adapters, build_senders

__all__ = [
    "CONSOLE_CALLER",
    "PLATFORMS",
    "ChartFolder",
    "ContextFactory",
    "Platform",
    "Wiring",
    "answer_line",
    "build_chat_adapters",
    "build_senders",
]
