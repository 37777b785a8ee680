"""Every SQL statement of the bot: engine and sessions, tables, one repository per aggregate.

The ORM tables (bot.storage.tables) stay inside this package: callers get and give frozen
values, so nothing else needs SQLAlchemy.
"""

from bot.storage.alerts import Alerts, LoggedAlert, alert_log
from bot.storage.dead_letters import DeadLetters
from bot.storage.destinations import (
    ChatKey,
    Destination,
    Destinations,
    DestinationTransaction,
    RuleFilter,
)
from bot.storage.errors import DATABASE_ERRORS, daemon_lock, storage_error
from bot.storage.evaluation import (
    EvaluationAbandoned,
    EvaluationUnit,
    Progress,
    WriteConflict,
    evaluation_unit,
)
from bot.storage.health import DatabaseUnavailable, HealthFacts, ping, read_health
from bot.storage.leader import Fence, LeaderLease, LeaseHolder, LeaseLost, release_claims
from bot.storage.outbox import enqueue_message, message_from_payload, queue_message
from bot.storage.outbox_claims import (
    ClaimRenewed,
    Delivered,
    DeliveryOutcome,
    Finished,
    GroupCommit,
    Job,
    OutboxDb,
    PartsSent,
    Rescheduled,
)
from bot.storage.own_alerts import (
    OWN_RULE_PREFIX,
    OwnAlert,
    OwnAlertLimit,
    OwnAlerts,
    OwnRuleStates,
)
from bot.storage.rule_state import RuleStates, firing_rules
from bot.storage.runs import RunEnd, Runs, RunStart, RunSummary, record_failed_run
from bot.storage.send_pace import SharedPace
from bot.storage.status import (
    AdminStatus,
    DeadLetter,
    DisabledDestination,
    LastAlert,
    RuleRecord,
    StatusQueries,
)
from bot.storage.store import MEMORY_URL, QueueCounts, Store, as_utc
from bot.storage.update_claims import UpdateClaims
from bot.storage.url import check_database_url, display_database_url, normalize_database_url

__all__ = [
    "AdminStatus",
    "ChatKey",
    "DeadLetter",
    "DeadLetters",
    "Destination",
    "DestinationTransaction",
    "Destinations",
    "DisabledDestination",
    "LastAlert",
    "RuleFilter",
    "RuleRecord",
    "StatusQueries",
    "UpdateClaims",
    "Alerts",
    "DATABASE_ERRORS",
    "DatabaseUnavailable",
    "EvaluationAbandoned",
    "EvaluationUnit",
    "Fence",
    "LeaderLease",
    "LeaseHolder",
    "LeaseLost",
    "SharedPace",
    "ClaimRenewed",
    "Delivered",
    "DeliveryOutcome",
    "Finished",
    "GroupCommit",
    "PartsSent",
    "Rescheduled",
    "HealthFacts",
    "Job",
    "LoggedAlert",
    "MEMORY_URL",
    "OutboxDb",
    "OWN_RULE_PREFIX",
    "OwnAlert",
    "OwnAlertLimit",
    "OwnAlerts",
    "OwnRuleStates",
    "Progress",
    "QueueCounts",
    "RuleStates",
    "RunEnd",
    "Runs",
    "RunStart",
    "RunSummary",
    "Store",
    "WriteConflict",
    "alert_log",
    "as_utc",
    "check_database_url",
    "daemon_lock",
    "display_database_url",
    "enqueue_message",
    "evaluation_unit",
    "firing_rules",
    "message_from_payload",
    "normalize_database_url",
    "queue_message",
    "ping",
    "read_health",
    "release_claims",
    "record_failed_run",
    "storage_error",
]
