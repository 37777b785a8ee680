"""One folder per chat platform (sender, chat front-end, renderers) and the registry of them."""

from bot.platforms.chat_common import ContextFactory, WebRoute, Wiring
from bot.platforms.console.chat import CONSOLE_CALLER, ChartFolder, answer_line
from bot.platforms.registry import (
    PLATFORMS,
    Platform,
    build_chat_adapters,
    build_senders,
    web_routes,
)

__all__ = [
    "CONSOLE_CALLER",
    "PLATFORMS",
    "ChartFolder",
    "ContextFactory",
    "Platform",
    "WebRoute",
    "Wiring",
    "answer_line",
    "build_chat_adapters",
    "build_senders",
    "web_routes",
]
