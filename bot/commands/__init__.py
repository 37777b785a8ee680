"""Platform-neutral chat commands: the table, parsing, context, middleware and handlers."""

from bot.commands.conditions import startup_lines
from bot.commands.context import Caller, ChatOptions, ChatType, CommandContext
from bot.commands.middleware import (
    Handler,
    Middleware,
    Request,
    request_name,
    standard_middleware,
)
from bot.commands.table import COMMANDS, Dispatcher, menu, warm_cache

__all__ = [
    "COMMANDS",
    "Caller",
    "ChatOptions",
    "ChatType",
    "CommandContext",
    "Dispatcher",
    "Handler",
    "Middleware",
    "Request",
    "menu",
    "request_name",
    "standard_middleware",
    "startup_lines",
    "warm_cache",
]
