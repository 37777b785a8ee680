"""Wiring: the app, run modes, scheduler and jobs, health, metrics, config check."""

from bot.runtime.app import BotApp
from bot.runtime.chat_console import chat_context, chat_dispatcher, run_chat
from bot.runtime.config_check import check_config
from bot.runtime.run_modes import run_daemon, run_demo, run_once

__all__ = [
    "BotApp",
    "chat_context",
    "chat_dispatcher",
    "check_config",
    "run_chat",
    "run_daemon",
    "run_demo",
    "run_once",
]
