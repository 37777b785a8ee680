"""The outbox worker: sends what the engine queued, once, within the caps (DESIGN §5, §6).

A worker claims due rows (leases; SKIP LOCKED on PostgreSQL), hands each to its destination's
queue and sends: concurrently across destinations, one at a time per destination (so a chat
sees its messages in order and a failing chat only ever waits for itself). Each outcome is
written before the destination's next send:
- delivered: done (a split message records each part, so a retry resumes after them);
- 429 / RetryAfter: retried after the server's retry_after; not counted as a failed attempt;
- 5xx, timeouts, connection errors: retried with exponential backoff and jitter;
- a retry that would fall after `max_age` (counted from when the row was written) makes the
  row dead (a dead letter, logged) instead;
- a permanent refusal (blocked, kicked, channel not found, …) disables the destination once,
  with a log line, and cancels its pending rows;
- Telegram's ChatMigrated: the sender re-sends to the new chat; the destination moves there.
After a failure the destination's other queued rows wait with it, keeping their order.
A crash loses nothing: claimed rows become claimable when their lease ends; at most the sends
in flight at the crash are repeated.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot import delivery_db as outcome
from bot.adapters.base import Adapter, Address
from bot.delivery_db import GroupCommit, Job, OutboxDb
from bot.delivery_policy import DeliveryReport, RetryPolicy
from bot.errors import DeliveryError
from bot.outbox import message_from_payload
from bot.settings import Settings
from bot.settings_delivery import DeliverySettings
from bot.store import Store, utcnow

log = logging.getLogger(__name__)


@dataclass
class _Dest:
    """A destination's queue within one drain."""

    destination_id: int
    address: Address
    queue: deque[Job] = field(default_factory=deque)
    task: asyncio.Task[None] | None = None
    #: after a failure the rest of the queue waits until then, in order
    halted_until: datetime | None = None
    halt_error: str | None = None
    disabled: str | None = None


class DeliveryWorker:
    """Sends the outbox through `adapters` (keyed by platform name)."""

    def __init__(
        self,
        store: Store,
        adapters: Mapping[str, Adapter],
        settings: Settings | DeliverySettings,
        *,
        clock: Callable[[], datetime] = utcnow,
        max_age: timedelta | None = None,
        worker_id: str | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._cfg = settings.delivery if isinstance(settings, Settings) else settings
        self._db = OutboxDb(store)
        self._store = store
        self._adapters = dict(adapters)
        self._clock = clock
        age = max_age if max_age is not None else self._cfg.max_age
        self._policy = RetryPolicy(self._cfg, age, rng)
        self._id = worker_id or f"worker-{uuid.uuid4().hex[:8]}"
        self._missing_warned: set[str] = set()
        self._wake = asyncio.Event()
        self._fresh_run()

    def _fresh_run(self) -> None:
        """Per-run asyncio primitives (each `asyncio.run` has its own loop)."""
        self._db_lock = asyncio.Lock()
        self._commits = GroupCommit(lambda writes: self._db_call(self._db.fenced, writes))
        self._room = asyncio.Event()
        self._wake = asyncio.Event()
        self._stopping = False
        self._outstanding = 0  # rows claimed and not finished
        self._running = 0  # destination queues being served
        self._low_water = 1
        self._held: dict[int, Job] = {}

    # --- public ------------------------------------------------------------------------

    async def run_once(self, deadline: datetime | None = None) -> DeliveryReport:
        """Send everything due now. With a `deadline`, keep going (sleeping until retries are
        due) until nothing is pending or the deadline passes; no new row is claimed after it."""
        report = DeliveryReport()
        self._fresh_run()
        while True:
            await self._drain(report, deadline=deadline)
            if deadline is None:
                break
            wake = await self._db_call(self._db.next_due)
            now = self._clock()
            if wake is None or wake >= deadline or now >= deadline:
                break
            # at most a poll interval: a lease may belong to a live worker that finishes early
            pause = min((wake - now).total_seconds(), self._cfg.poll_interval)
            await asyncio.sleep(max(pause, 0.01))
        report.counts = await self._db_call(self._store.queue_counts)
        return report

    async def run_forever(self, stop_event: asyncio.Event) -> DeliveryReport:
        """Deliver until `stop_event` is set; then finish the sends in flight, put the rows
        not yet sent back in the outbox, and return."""
        report = DeliveryReport()
        self._fresh_run()
        while not stop_event.is_set():
            await self._drain(report, stop=stop_event)
            self._wake.clear()
            waits = [
                asyncio.ensure_future(stop_event.wait()),
                asyncio.ensure_future(self._wake.wait()),
            ]
            await asyncio.wait(
                waits, timeout=self._cfg.poll_interval, return_when="FIRST_COMPLETED"
            )
            for w in waits:
                w.cancel()
        report.counts = await self._db_call(self._store.queue_counts)
        return report

    def notify(self) -> None:
        """New rows were queued: end the idle wait of `run_forever` now."""
        self._wake.set()

    # --- the drain loop ----------------------------------------------------------------

    async def _drain(
        self,
        report: DeliveryReport,
        *,
        stop: asyncio.Event | None = None,
        deadline: datetime | None = None,
    ) -> None:
        """Claim and send until nothing is due (or stop / deadline), keeping at most `batch`
        rows claimed and refilling when half of them are done."""
        dests: dict[int, _Dest] = {}
        low_water = self._low_water = max(1, self._cfg.batch // 2)
        idle_until = 0.0  # after an empty claim, wait a poll interval before the next one
        while True:
            if stop is not None and stop.is_set():
                self._stopping = True
            ended = self._stopping or (deadline is not None and self._clock() >= deadline)
            if not ended and self._outstanding <= low_water and time.monotonic() >= idle_until:
                limit = self._cfg.batch - self._outstanding
                lease, now = self._cfg.lease, self._clock()
                jobs = await self._db_call(self._db.claim, self._id, limit, lease, now)
                if jobs:
                    self._dispatch(jobs, dests, report)
                else:
                    idle_until = time.monotonic() + self._cfg.poll_interval
            if not self._running:
                if ended or time.monotonic() < idle_until:
                    break
                continue
            # wake when there is room to claim, every queue is done, stop, or a poll interval
            # passed (waiting on the room event alone keeps this O(1) per wake-up)
            self._room.clear()
            waits = [asyncio.ensure_future(self._room.wait())]
            if stop is not None:
                waits.append(asyncio.ensure_future(stop.wait()))
            await asyncio.wait(
                waits, timeout=self._cfg.poll_interval, return_when="FIRST_COMPLETED"
            )
            for w in waits:
                w.cancel()
        # queues that ended cleanly left `dests` as they finished (keeps a 10,000-chat
        # fan-out from holding 10,000 finished tasks); the rest are gathered here
        kept = [d for d in dests.values() if d.task is not None]
        results = await asyncio.gather(*(d.task for d in kept), return_exceptions=True)
        for d, result in zip(kept, results, strict=True):
            if isinstance(result, BaseException):
                log.error(
                    "delivery to %s %s stopped: %r", d.address.platform, d.address.chat_id, result
                )

    def _dispatch(self, jobs: list[Job], dests: dict[int, _Dest], report: DeliveryReport) -> None:
        for job in jobs:
            held = self._held.get(job.row_id)
            if held is not None:  # our own row, re-claimed after its lease ran out: keep
                held.token = job.token  # the new claim, so its outcome is still recorded
                continue
            self._held[job.row_id] = job
            d = dests.get(job.destination_id)
            if d is None:
                d = dests[job.destination_id] = _Dest(job.destination_id, job.address)
            d.queue.append(job)
            self._outstanding += 1
            if d.task is None or d.task.done():
                name = f"deliver {d.address.platform} {d.address.chat_id}"
                self._running += 1
                d.task = asyncio.create_task(self._serve(d, dests, report), name=name)

    async def _serve(self, d: _Dest, dests: dict[int, _Dest], report: DeliveryReport) -> None:
        """One destination's queue, in order."""
        try:
            await self._serve_queue(d, report)
            if not d.queue and d.halted_until is None and d.disabled is None:
                dests.pop(d.destination_id, None)  # nothing to remember about it
        finally:
            self._running -= 1
            if not self._running:
                self._room.set()

    async def _serve_queue(self, d: _Dest, report: DeliveryReport) -> None:
        while d.queue:
            job = d.queue.popleft()
            try:
                await self._handle(job, d, report)
            # Broad on purpose: a bug in a renderer or adapter must fail this one row (logged
            # with its destination, retried, dead by age), never the other rows or chats.
            except Exception as exc:
                log.exception(
                    "delivery %d to %s %s failed unexpectedly",
                    job.row_id,
                    d.address.platform,
                    d.address.chat_id,
                )
                await self._failed(job, d, DeliveryError(f"internal error: {exc!r}"), report)
            finally:
                del self._held[job.row_id]
                self._outstanding -= 1
                if self._outstanding <= self._low_water:
                    self._room.set()

    # --- one row -----------------------------------------------------------------------

    async def _handle(self, job: Job, d: _Dest, report: DeliveryReport) -> None:
        now = self._clock()
        if self._stopping:  # shutting down: back to the outbox for whoever runs next
            await self._write(job, outcome.reschedule(now, job.last_error, job.attempts))
            return
        if d.disabled or not job.destination_enabled:
            reason = d.disabled or job.disabled_reason or "disabled"
            cancelled = f"destination disabled: {reason}"
            await self._write(job, outcome.finish("cancelled", cancelled, job.attempts))
            report.cancelled += 1
            return
        if d.halted_until is not None and d.halted_until > now:
            at, error = d.halted_until, d.halt_error
            await self._write(job, outcome.reschedule(at, error, job.attempts))
            return
        adapter = self._adapters.get(d.address.platform)
        if adapter is None:
            await self._failed(job, d, self._no_adapter(d.address.platform), report)
            return
        half_gone = now >= job.token - self._cfg.lease / 2  # waited long in our queue
        if half_gone and not await self._db_call(self._db.renew, job, self._cfg.lease, now):
            report.lost += 1
            return

        async def on_part(sent: int, total: int) -> None:
            if sent < total:  # the last part is recorded with the delivery itself
                await self._write(job, outcome.progress(sent))
                job.parts_sent = sent

        try:
            result = await adapter.send(
                d.address,
                message_from_payload(job.payload),
                silent=job.silent,
                skip_parts=job.parts_sent,
                on_part=on_part,
            )
        except DeliveryError as exc:
            await self._failed(job, d, exc, report)
            return
        if result.migrated_to:
            what = await self._db_call(
                self._db.migrate_destination, job.destination_id, result.migrated_to
            )
            log.warning("telegram destination %s: %s", d.address.chat_id, what)
            d.address = dataclasses.replace(d.address, chat_id=result.migrated_to)
            report.migrated += 1
        if await self._write(job, outcome.delivered(job, result.parts, self._clock())):
            report.delivered += 1
        else:
            report.lost += 1

    async def _failed(self, job: Job, d: _Dest, exc: DeliveryError, report: DeliveryReport) -> None:
        now = self._clock()
        plan = self._policy.plan(exc, attempts=job.attempts, created_at=job.created_at, now=now)
        where = f"{d.address.platform} {d.address.chat_id}"
        if plan.action == "disable":
            d.disabled = plan.error
            if await self._db_call(self._db.disable_destination, job.destination_id, plan.error):
                log.warning("destination %s disabled: %s", where, plan.error)
                report.disabled += 1
            cancelled = f"destination disabled: {plan.error}"
            await self._write(job, outcome.finish("cancelled", cancelled, plan.attempts))
            report.cancelled += 1
            return
        d.halted_until, d.halt_error = plan.at, plan.error  # the rest of its queue waits too
        if plan.action == "dead":
            await self._write(job, outcome.finish("dead", plan.error, plan.attempts))
            log.error("delivery %d to %s is a dead letter: %s", job.row_id, where, plan.error)
            report.dead += 1
            return
        await self._write(job, outcome.reschedule(plan.at, plan.error, plan.attempts))
        log.warning(
            "delivery %d to %s failed (%s); retry in %.1f s",
            job.row_id,
            where,
            plan.error,
            plan.delay,
        )
        if plan.action == "defer":
            report.deferred += 1
        else:
            report.retried += 1

    def _no_adapter(self, platform: str) -> DeliveryError:
        if platform not in self._missing_warned:
            self._missing_warned.add(platform)
            log.error("no %s sender (is its token set?); its deliveries wait and age out", platform)
        return DeliveryError(f"no {platform} sender configured")

    async def _write(self, job: Job, values: dict[str, Any]) -> bool:
        """Record an outcome of a claimed row (fenced by its claim; see bot.delivery_db)."""
        return await self._commits.write(job, values)

    async def _db_call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Blocking database work off the event loop, one call at a time per worker."""
        async with self._db_lock:
            return await asyncio.to_thread(fn, *args)
