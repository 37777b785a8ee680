"""The outbox worker, its retry policy, send-rate limits, destinations and the Sender contract."""

from bot.delivery.destinations import console_wanted, sync_destinations
from bot.delivery.ratelimit import Rate, SendLimiter, telegram_is_group
from bot.delivery.sender import Adapter, DestinationCheck
from bot.delivery.shared_caps import share_overall_caps
from bot.delivery.worker import DeliveryReport, DeliveryWorker

__all__ = [
    "Adapter",
    "DeliveryReport",
    "DeliveryWorker",
    "DestinationCheck",
    "Rate",
    "SendLimiter",
    "console_wanted",
    "share_overall_caps",
    "sync_destinations",
    "telegram_is_group",
]
