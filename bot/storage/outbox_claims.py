"""The delivery worker's database work: claim, load, and record each outcome.

Blocking SQLAlchemy calls, run by `bot.delivery.worker` one at a time on a worker thread (so a
worker never contends with itself for SQLite's write lock); `GroupCommit` gathers the outcomes of
many sends into one transaction. Every update of a claimed row is *fenced* by
its claim (status "sending" and the claimed_until the claim wrote): if the lease ran out and
another worker took the row over, the update changes nothing and says so, instead of
overwriting the other worker's outcome.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, assert_never, cast

from sqlalchemy import CursorResult, func, select, update

from bot.model import Address
from bot.storage.store import Store, as_utc
from bot.storage.tables import DeliveryRow, DestinationRow

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


@dataclass(frozen=True)
class Migration:
    """What `OutboxDb.migrate_destination` did: `note` for the log; `disabled` is the reason
    when the destination was disabled instead of moved."""

    note: str
    disabled: str | None = None


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

    def fenced(self, writes: Sequence[tuple[Job, DeliveryOutcome]]) -> list[bool]:
        """Update claimed rows, in one transaction, each only if its claim is still ours;
        False for a row another worker took over (its lease ran out)."""
        done: list[bool] = []
        columns = [(job, _columns(outcome)) for job, outcome in writes]
        with self.store.connection() as conn:
            for job, values in columns:
                stmt = (
                    update(DeliveryRow)
                    .where(
                        (DeliveryRow.id == job.row_id)
                        & (DeliveryRow.status == "sending")
                        & (DeliveryRow.claimed_until == job.token)
                    )
                    .values(**values)
                )
                done.append(bool(conn.execute(stmt).rowcount))
            self.store.check_fence(conn)
        for (job, values), ok in zip(columns, done, strict=True):
            if not ok:
                log.warning(
                    "delivery %d to %s %s: claim lost (lease ran out and another worker took "
                    "it); not recording %s",
                    job.row_id,
                    job.address.platform,
                    job.address.chat_id,
                    values.get("status", "progress"),
                )
        return done

    def renew(self, job: Job, lease: timedelta, now: datetime) -> bool:
        """Extend the claim of a row that waited long in the worker's queue."""
        token = now + lease
        ok = self.fenced([(job, ClaimRenewed(token))])[0]
        if ok:
            job.token = token
        return ok

    def disable_destination(self, destination_id: int, reason: str) -> bool:
        """Disable and cancel its pending rows; True only for the call that disabled it."""
        with self.store.transaction() as s:
            result = s.execute(
                update(DestinationRow)
                .where((DestinationRow.id == destination_id) & DestinationRow.enabled)
                .values(enabled=False, disabled_reason=reason)
            )
            n = cast(CursorResult[Any], result).rowcount
            s.execute(
                update(DeliveryRow)
                .where(
                    (DeliveryRow.destination_id == destination_id)
                    & (DeliveryRow.status == "pending")
                )
                .values(status="cancelled", last_error=f"destination disabled: {reason}")
            )
        return bool(n)

    def migrate_destination(self, destination_id: int, new_chat_id: str) -> Migration:
        """Move a Telegram destination to the chat id its group migrated to. When another
        destination already has that chat, this one is disabled instead and its pending
        rows cancelled: that chat gets its own copy of each, so following it there would
        repeat every message."""
        with self.store.transaction() as s:
            dest = s.get(DestinationRow, destination_id)
            if dest is None or dest.chat_id == new_chat_id:
                return Migration("unchanged")
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
                reason = f"migrated to {new_chat_id}, already a destination"
                dest.enabled, dest.disabled_reason = False, reason
                s.execute(
                    update(DeliveryRow)
                    .where(
                        (DeliveryRow.destination_id == destination_id)
                        & (DeliveryRow.status == "pending")
                    )
                    .values(status="cancelled", last_error=f"destination disabled: {reason}")
                )
                return Migration(f"disabled: {reason}", disabled=reason)
            dest.chat_id, dest.migrated_from = new_chat_id, old
            return Migration(f"moved from {old} to {new_chat_id}")

    def is_destination(self, address: Address) -> bool:
        """Whether a destination (enabled or not) already has this chat and thread."""
        with self.store.transaction() as s:
            found = s.scalar(
                select(DestinationRow.id).where(
                    (DestinationRow.platform == address.platform)
                    & (DestinationRow.chat_id == address.chat_id)
                    & (DestinationRow.thread_id == address.thread_id)
                )
            )
        return found is not None

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


# --- what a claimed row's outcome writes (applied by OutboxDb.fenced) -----------------------


@dataclass(frozen=True)
class ClaimRenewed:
    """The row stays claimed, until `claimed_until`."""

    claimed_until: datetime


@dataclass(frozen=True)
class PartsSent:
    """Some parts of a split message went out; the claim is renewed for the next one."""

    parts_sent: int
    claimed_until: datetime


@dataclass(frozen=True)
class Delivered:
    """Every part went out: done."""

    parts_sent: int
    attempts: int
    delivered_at: datetime


@dataclass(frozen=True)
class Rescheduled:
    """Back to pending until `next_attempt_at`: a retry, or a row released unsent."""

    next_attempt_at: datetime
    attempts: int
    last_error: str | None


@dataclass(frozen=True)
class Finished:
    """A final state other than delivered."""

    status: Literal["dead", "cancelled"]
    last_error: str
    attempts: int


DeliveryOutcome = ClaimRenewed | PartsSent | Delivered | Rescheduled | Finished


def _columns(outcome: DeliveryOutcome) -> dict[str, Any]:
    """The columns an outcome sets; every final or pending state also ends the claim."""
    match outcome:
        case ClaimRenewed(claimed_until=until):
            return {"claimed_until": until}
        case PartsSent(parts_sent=parts, claimed_until=until):
            return {"parts_sent": parts, "claimed_until": until}
        case Delivered(parts_sent=parts, attempts=attempts, delivered_at=at):
            return {
                "status": "delivered",
                "delivered_at": at,
                "parts_sent": parts,
                "attempts": attempts,
                "claimed_until": None,
                "last_error": None,
            }
        case Rescheduled(next_attempt_at=at, attempts=attempts, last_error=error):
            return {
                "status": "pending",
                "next_attempt_at": at,
                "attempts": attempts,
                "claimed_until": None,
                "last_error": error,
            }
        case Finished(status=status, last_error=error, attempts=attempts):
            return {
                "status": status,
                "claimed_until": None,
                "last_error": error,
                "attempts": attempts,
            }
    assert_never(outcome)


class GroupCommit:
    """Fenced writes from many destinations' tasks, committed together.

    Each caller awaits its own write, so a destination never sends its next message before
    the outcome of the last is durable. Writes that arrive while a commit runs go into the
    next one: no added delay when idle, one transaction for many rows under load (a commit
    costs far more than an UPDATE)."""

    def __init__(
        self, commit: Callable[[list[tuple[Job, DeliveryOutcome]]], Awaitable[list[bool]]]
    ) -> None:
        self._commit = commit
        self._queue: list[tuple[Job, DeliveryOutcome, asyncio.Future[bool]]] = []
        self._task: asyncio.Task[None] | None = None

    async def write(self, job: Job, outcome: DeliveryOutcome) -> bool:
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._queue.append((job, outcome, future))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="outbox group commit")
        return await future

    async def _run(self) -> None:
        while self._queue:
            batch, self._queue = self._queue, []
            try:
                results = await self._commit([(job, outcome) for job, outcome, _ in batch])
            # Broad on purpose: whatever the database raised belongs to every waiting caller.
            except Exception as exc:
                for *_, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (*_, future), ok in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(ok)
