"""Config destinations and admins into the database, at every start (docs/delivery.md).

`sync_destinations` makes the `destinations` table agree with the config file:
- a config entry that is new becomes a row (origin "config");
- an existing config row takes the entry's rule filter, kind levels and mute;
- a config row whose entry is gone is disabled ("removed from config", pending deliveries
  cancelled) rather than deleted, so the delivery history keeps its destination; listing it
  again re-enables it;
- a row disabled by the platform (bot blocked, channel archived, …) stays disabled across
  restarts, with a warning, so a blocked bot does not hammer a refusing chat at every start;
- rows added from a chat (origin "chat") keep their settings; a config entry for the same chat
  is ignored with a warning (only their `admin` flag follows the config's `admins`);
- a Telegram group that migrated (ChatMigrated) is matched by its old id too, with a warning
  to update the config.
Admins' private chats are rows flagged `admin`; unless also listed as destinations they are
`admin_only` (no alerts). The console destination (chat id "stdout") is added when
`delivery.console` is "on", or "auto" and no destination is configured.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import datetime

from bot.config import DestinationSettings, Settings
from bot.model import utcnow
from bot.storage import (
    ChatKey,
    Destination,
    Destinations,
    DestinationTransaction,
    RuleFilter,
    Store,
)

log = logging.getLogger(__name__)

REMOVED_FROM_CONFIG = "removed from config"
Key = ChatKey


@dataclass(frozen=True)
class _Wanted:
    rules: RuleFilter
    kinds: dict[str, str]
    muted_until: datetime | None
    admin: bool
    admin_only: bool


@dataclass
class SyncReport:
    """What a sync changed, by (platform, chat id, thread id)."""

    added: list[Key] = field(default_factory=list)
    updated: list[Key] = field(default_factory=list)
    disabled: list[Key] = field(default_factory=list)
    reenabled: list[Key] = field(default_factory=list)


def console_wanted(settings: Settings) -> bool:
    mode = settings.delivery.console
    return mode == "on" or (mode == "auto" and not settings.destinations)


def wanted_destinations(settings: Settings) -> dict[Key, _Wanted]:
    """Every destination the config asks for, admins and the console included."""
    wanted: dict[Key, _Wanted] = {}
    entries: list[DestinationSettings] = list(settings.destinations)
    if console_wanted(settings) and not any(d.platform == "console" for d in entries):
        entries.append(DestinationSettings(platform="console"))
    admins = {("telegram", a, "") for a in settings.admins.telegram} | {
        ("slack", a, "") for a in settings.admins.slack
    }
    for d in entries:
        rules = d.rules if isinstance(d.rules, str) else tuple(d.rules)
        kinds = {k.value: v.value for k, v in d.kinds.items()}
        wanted[d.key] = _Wanted(rules, kinds, d.muted_until, d.key in admins, False)
    for key in admins - wanted.keys():
        wanted[key] = _Wanted("all", {}, None, True, True)
    return wanted


def sync_destinations(store: Store, settings: Settings, now: datetime | None = None) -> SyncReport:
    """Upsert the config's destinations; see the module docstring for the rules."""
    now = now or utcnow()
    wanted = wanted_destinations(settings)
    report = SyncReport()
    with Destinations(store).transaction(exclusive=True) as tx:
        rows = tx.all()
        current = _Rows(tx, rows)
        by_key = {r.key: r.id for r in rows}
        by_old = {(r.platform, r.migrated_from, r.thread_id): r.id for r in rows if r.migrated_from}
        matched: set[int] = set()
        for key, w in wanted.items():
            found = by_key.get(key)
            if found is None:
                found = by_old.get(key)
            if found is None:
                new = Destination(key[0], key[1], key[2], "config", now, enabled=True)
                tx.add(_applied(new, w))
                report.added.append(key)
                continue
            matched.add(found)
            row = current[found]
            if row.origin != "config":
                # who is an operator is config's to say, for every row
                row = current.save(replace(row, admin=w.admin))
                if w.admin_only:  # an admin's private chat that subscribed itself: fine
                    continue
                log.warning(
                    "config destination %s %s is already subscribed from the chat; "
                    "the chat's settings stay, the config entry is ignored",
                    key[0],
                    key[1],
                )
                continue
            if row.chat_id != key[1]:
                log.warning(
                    "telegram chat %s moved to %s (group upgraded); update the config",
                    key[1],
                    row.chat_id,
                )
            applied = _applied(row, w)
            if applied != row:
                row = current.save(applied)
                report.updated.append(key)
            if not row.enabled and row.disabled_reason == REMOVED_FROM_CONFIG:
                current.save(replace(row, enabled=True, disabled_reason=None))
                report.reenabled.append(key)
            elif not row.enabled:
                log.warning(
                    "destination %s %s stays disabled: %s", key[0], row.chat_id, row.disabled_reason
                )
        for listed in rows:
            assert listed.id is not None  # read from the table
            row = current[listed.id]
            if row.origin != "config" and row.admin and row.id not in matched:
                current.save(replace(row, admin=False))  # no longer listed in admins
            if row.origin == "config" and row.enabled and row.id not in matched:
                current.save(replace(row, enabled=False, disabled_reason=REMOVED_FROM_CONFIG))
                tx.cancel_pending(listed.id, REMOVED_FROM_CONFIG)
                report.disabled.append(row.key)
                log.info(
                    "destination %s %s disabled: %s", row.platform, row.chat_id, REMOVED_FROM_CONFIG
                )
    if report.added or report.disabled or report.reenabled:
        log.info(
            "destinations synced: %d added, %d disabled, %d re-enabled",
            len(report.added),
            len(report.disabled),
            len(report.reenabled),
        )
    return report


class _Rows:
    """The rows read at the start of a sync, kept current as the sync writes them."""

    def __init__(self, tx: DestinationTransaction, rows: list[Destination]) -> None:
        self._tx = tx
        self._by_id = {r.id: r for r in rows if r.id is not None}

    def __getitem__(self, row_id: int) -> Destination:
        return self._by_id[row_id]

    def save(self, row: Destination) -> Destination:
        assert row.id is not None
        self._tx.save(row)
        self._by_id[row.id] = row
        return row


def _applied(row: Destination, w: _Wanted) -> Destination:
    """The row with the config's settings."""
    return replace(
        row,
        rules=w.rules,
        kinds=w.kinds,
        muted_until=w.muted_until,
        admin=w.admin,
        admin_only=w.admin_only,
    )
