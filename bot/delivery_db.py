"""The delivery worker's database work: claim, load, and record each outcome.

Blocking SQLAlchemy calls, run by `bot.delivery` on one worker thread (so a worker never
contends with itself for SQLite's write lock). Every update of a claimed row is *fenced* by
its claim (status "sending" and the claimed_until the claim wrote): if the lease ran out and
another worker took the row over, the update changes nothing and says so, instead of
overwriting the other worker's outcome.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update

from bot.adapters.base import Address
from bot.db_models import DeliveryRow, DestinationRow
from bot.store import Store, as_utc

log = logging.getLogger(__name__)


@dataclass
class Job:
    """One claimed outbox row and where it goes."""

    row_id: int
    destination_id: int
    address: Address
    payload: dict[str, Any]
    silent: bool
    attempts: int
    parts_sent: int
    created_at: datetime
    #: claimed_until as the claim wrote it: the fence of every later update
    token: datetime
    destination_enabled: bool
    disabled_reason: str | None = None
    last_error: str | None = None


class OutboxDb:
    """Outbox queries of the delivery worker (synchronous; see module docstring)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def claim(self, worker: str, limit: int, lease: timedelta, now: datetime) -> list[Job]:
        ids = self.store.claim_deliveries(worker, limit=limit, lease=lease, now=now)
        if not ids:
            return []
        with self.store.transaction() as s:
            rows = s.execute(
                select(DeliveryRow, DestinationRow)
                .join(DestinationRow, DestinationRow.id == DeliveryRow.destination_id)
                .where(DeliveryRow.id.in_(ids))
                .order_by(DeliveryRow.next_attempt_at, DeliveryRow.id)
            ).all()
            return [
                Job(
                    row_id=d.id,
                    destination_id=dest.id,
                    address=Address(dest.platform, dest.chat_id, dest.thread_id or ""),
                    payload=d.payload,
                    silent=d.silent,
                    attempts=d.attempts,
                    parts_sent=d.parts_sent,
                    created_at=as_utc(d.created_at),  # type: ignore[arg-type]
                    token=as_utc(d.claimed_until),  # type: ignore[arg-type]
                    destination_enabled=dest.enabled,
                    disabled_reason=dest.disabled_reason,
                    last_error=d.last_error,
                )
                for d, dest in rows
            ]

    def _fenced(self, job: Job, **values: Any) -> bool:
        """Update the claimed row if the claim is still ours; False when it was taken over."""
        with self.store.transaction() as s:
            n = s.execute(
                update(DeliveryRow)
                .where(
                    (DeliveryRow.id == job.row_id)
                    & (DeliveryRow.status == "sending")
                    & (DeliveryRow.claimed_until == job.token)
                )
                .values(**values)
            ).rowcount
        if not n:
            log.warning(
                "delivery %d to %s %s: claim lost (lease ran out and another worker took it); "
                "not recording %s",
                job.row_id,
                job.address.platform,
                job.address.chat_id,
                values.get("status", "progress"),
            )
        return bool(n)

    def renew(self, job: Job, lease: timedelta, now: datetime) -> bool:
        """Extend the claim of a row that waited long in the worker's queue."""
        token = now + lease
        ok = self._fenced(job, claimed_until=token)
        if ok:
            job.token = token
        return ok

    def progress(self, job: Job, parts_sent: int) -> bool:
        return self._fenced(job, parts_sent=parts_sent)

    def delivered(self, job: Job, parts: int, now: datetime) -> bool:
        return self._fenced(
            job,
            status="delivered",
            delivered_at=now,
            parts_sent=parts,
            attempts=job.attempts + 1,
            claimed_until=None,
            last_error=None,
        )

    def reschedule(self, job: Job, at: datetime, error: str | None, attempts: int) -> bool:
        """Back to pending until `at` (a retry, or a row released unsent)."""
        return self._fenced(
            job,
            status="pending",
            next_attempt_at=at,
            attempts=attempts,
            claimed_until=None,
            last_error=error,
        )

    def finish(self, job: Job, status: str, error: str, attempts: int) -> bool:
        """A final state other than delivered: dead or cancelled."""
        return self._fenced(
            job, status=status, claimed_until=None, last_error=error, attempts=attempts
        )

    def disable_destination(self, destination_id: int, reason: str) -> bool:
        """Disable and cancel its pending rows; True only for the call that disabled it."""
        with self.store.transaction() as s:
            n = s.execute(
                update(DestinationRow)
                .where((DestinationRow.id == destination_id) & DestinationRow.enabled)
                .values(enabled=False, disabled_reason=reason)
            ).rowcount
            s.execute(
                update(DeliveryRow)
                .where(
                    (DeliveryRow.destination_id == destination_id)
                    & (DeliveryRow.status == "pending")
                )
                .values(status="cancelled", last_error=f"destination disabled: {reason}")
            )
        return bool(n)

    def migrate_destination(self, destination_id: int, new_chat_id: str) -> str:
        """Move a Telegram destination to the chat id its group migrated to. When another
        destination already has that chat, this one is disabled instead (it would repeat
        every message there). Returns what was done, for the log."""
        with self.store.transaction() as s:
            dest = s.get(DestinationRow, destination_id)
            if dest is None or dest.chat_id == new_chat_id:
                return "unchanged"
            clash = s.scalar(
                select(func.count())
                .select_from(DestinationRow)
                .where(
                    (DestinationRow.platform == dest.platform)
                    & (DestinationRow.chat_id == new_chat_id)
                    & (DestinationRow.thread_id == dest.thread_id)
                )
            )
            old = dest.chat_id
            if clash:
                dest.enabled = False
                dest.disabled_reason = f"migrated to {new_chat_id}, already a destination"
                return f"disabled: {dest.disabled_reason}"
            dest.chat_id, dest.migrated_from = new_chat_id, old
            return f"moved from {old} to {new_chat_id}"

    def next_due(self) -> datetime | None:
        """When something next becomes claimable: a pending row's next attempt, or the end of
        a lease held by a worker that may have died."""
        with self.store.transaction() as s:
            pending = s.scalar(
                select(func.min(DeliveryRow.next_attempt_at)).where(DeliveryRow.status == "pending")
            )
            leased = s.scalar(
                select(func.min(DeliveryRow.claimed_until)).where(DeliveryRow.status == "sending")
            )
        times = [as_utc(t) for t in (pending, leased) if t is not None]
        return min(times) if times else None  # type: ignore[type-var]
