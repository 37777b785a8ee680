"""Frozen values with no I/O: replies, alerts and messages, kinds, errors, the clock."""

from bot.model.address import Address, PartCallback, SendResult
from bot.model.backtest import (
    BacktestEvent,
    BacktestResult,
    BacktestSummary,
    ForwardStats,
    ReturnStats,
    RuleBacktest,
)
from bot.model.clock import Clock, utcnow
from bot.model.errors import ConfigError, DeliveryError, StorageError
from bot.model.kinds import Level, MessageKind, levels_with
from bot.model.messages import AlertGroup, AlertItem, AlertTransition, TextMessage
from bot.model.redact import install, install_hooks, redact, register_secret
from bot.model.reply import (
    MAX_BLOCK,
    MAX_BUTTON_COMMAND_BYTES,
    Button,
    Chart,
    Reply,
    Table,
    clip,
    echo,
)
from bot.model.text import one_line

__all__ = [
    "Address",
    "AlertGroup",
    "AlertItem",
    "AlertTransition",
    "BacktestEvent",
    "BacktestResult",
    "BacktestSummary",
    "Button",
    "Chart",
    "Clock",
    "ConfigError",
    "DeliveryError",
    "ForwardStats",
    "Level",
    "MAX_BLOCK",
    "MAX_BUTTON_COMMAND_BYTES",
    "MessageKind",
    "PartCallback",
    "Reply",
    "ReturnStats",
    "RuleBacktest",
    "SendResult",
    "StorageError",
    "Table",
    "TextMessage",
    "clip",
    "echo",
    "install",
    "install_hooks",
    "levels_with",
    "one_line",
    "redact",
    "register_secret",
    "utcnow",
]
