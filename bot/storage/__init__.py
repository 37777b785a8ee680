"""Every SQL statement of the bot: engine and sessions, tables, one repository per aggregate."""

from bot.storage import outbox, outbox_claims
from bot.storage.errors import daemon_lock, storage_error
from bot.storage.outbox import enqueue_message, message_from_payload
from bot.storage.outbox_claims import GroupCommit, Job, OutboxDb
from bot.storage.store import MEMORY_URL, QueueCounts, Store, as_utc, utcnow
from bot.storage.tables import (
    AlertRow,
    DeliveryRow,
    DestinationRow,
    EngineState,
    RuleStateRow,
    Run,
)
from bot.storage.url import check_database_url, normalize_database_url

__all__ = [
    "AlertRow",
    "DeliveryRow",
    "DestinationRow",
    "EngineState",
    "GroupCommit",
    "Job",
    "MEMORY_URL",
    "OutboxDb",
    "QueueCounts",
    "RuleStateRow",
    "Run",
    "Store",
    "as_utc",
    "check_database_url",
    "daemon_lock",
    "enqueue_message",
    "message_from_payload",
    "normalize_database_url",
    "outbox",
    "outbox_claims",
    "storage_error",
    "utcnow",
]
