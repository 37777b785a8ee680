"""Platform-neutral chat commands: the table, parsing, context, middleware and handlers."""

from bot.commands.context import Caller, ChatOptions, ChatType, CommandContext
from bot.commands.middleware import Handler, Request, request_name, standard_middleware
from bot.commands.table import COMMANDS, dispatch_text, menu, warm_cache

__all__ = [
    "COMMANDS",
    "Caller",
    "ChatOptions",
    "ChatType",
    "CommandContext",
    "Handler",
    "Request",
    "dispatch_text",
    "menu",
    "request_name",
    "standard_middleware",
    "warm_cache",
]
