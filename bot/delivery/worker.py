"""The outbox worker: sends what the engine queued, once, within the caps.

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
- Telegram's ChatMigrated: the sender re-sends to the new chat; the destination moves there
  (when that chat is already a destination it gets its own copies: this one is disabled).
After a failure the destination's other queued rows wait with it, keeping their order.
A crash loses nothing: claimed rows become claimable when their lease ends; at most the sends
in flight at the crash are repeated. A claim is renewed before a send when less of it is left
than the longest part of a send may take, and again as each part is recorded.
One drain at a time per worker, whoever asks (the delivery job, an evaluation, the startup
message): a second drain would reset the first one's held rows and counters under it. A
call while a drain runs asks it to take another look at the outbox before it ends.
"""

from __future__ import annotations

import asyncio
import contextlib
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

from bot.config import DeliverySettings, Settings
from bot.delivery.policy import DeliveryReport, RetryPolicy
from bot.delivery.sender import Adapter
from bot.model import Address, Clock, DeliveryError, utcnow
from bot.storage import (
    Delivered,
    DeliveryOutcome,
    Finished,
    GroupCommit,
    Job,
    OutboxDb,
    PartsSent,
    Rescheduled,
    Store,
    message_from_payload,
)

log = logging.getLogger(__name__)


class _ClaimLost(Exception):
    """The claim of a row being sent ran out and another worker took the row over."""


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
        clock: Clock = utcnow,
        max_age: timedelta | None = None,
        worker_id: str | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._cfg = settings.delivery if isinstance(settings, Settings) else settings
        self._db = OutboxDb(store)
        self._store = store
        self._adapters = dict(adapters)
        for adapter in self._adapters.values():  # before following a group to a new chat
            adapter.check_destinations(lambda a: self._db_call(self._db.is_destination, a))
        self._clock = clock
        age = max_age if max_age is not None else self._cfg.max_age
        self._policy = RetryPolicy(self._cfg, age, rng)
        #: renew a claim before a send when less than this is left of it: the longest one
        #: part may take, or half the lease when that is longer
        self._renew_below = max(self._cfg.lease / 2, timedelta(seconds=self._cfg.longest_part))
        self._id = worker_id or f"worker-{uuid.uuid4().hex[:8]}"
        self._missing_warned: set[str] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake = asyncio.Event()
        self._closed = False  # stop() was called: no drain starts any more
        self._forever = False  # run_forever is draining this worker
        self._bind_loop_primitives()
        self._fresh_run()

    def _bind_loop_primitives(self) -> None:
        """Locks and events for the running event loop: asyncio's belong to one loop, and a
        worker may be run by several in turn (each `asyncio.run` has its own)."""
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:  # built outside a loop; bound again by the first run
            loop = None
        if loop is not None and loop is self._loop:
            return
        self._loop = loop
        #: one drain at a time: its counters, held rows and room are the drain's own
        self._drain_lock = asyncio.Lock()
        self._db_lock = asyncio.Lock()
        self._commits = GroupCommit(lambda writes: self._db_call(self._db.fenced, writes))
        self._room = asyncio.Event()
        woken = self._wake.is_set()  # a notify() before the first run still counts
        self._wake = asyncio.Event()
        if woken:
            self._wake.set()

    def _fresh_run(self) -> None:
        """The counters of a new drain (only under the drain lock, or before any run)."""
        self._stopping = self._closed
        self._outstanding = 0  # rows claimed and not finished
        self._running = 0  # destination queues being served
        self._low_water = 1
        self._held: dict[int, Job] = {}

    # --- public ------------------------------------------------------------------------

    async def run_once(self, deadline: datetime | None = None) -> DeliveryReport:
        """Send everything due now. With a `deadline`, keep going (sleeping until retries are
        due) until nothing is pending or the deadline passes; no new row is claimed after it.

        One drain at a time per worker: while another runs (or `run_forever` does), a call
        without a deadline only asks it to take another look at the outbox before it ends,
        and reports the counts; a call with one waits for it to end, then drains."""
        self._bind_loop_primitives()
        report = DeliveryReport()
        if self._forever or (deadline is None and self._drain_lock.locked()):
            self.notify()
        else:
            async with self._drain_lock:
                self._fresh_run()
                await self._drain_until(report, deadline)
        report.counts = await self._db_call(self._store.queue_counts)
        return report

    async def _drain_until(self, report: DeliveryReport, deadline: datetime | None) -> None:
        """Drain, again while rows were queued meanwhile, and with a `deadline` until it."""
        while True:
            self._wake.clear()
            await self._drain(report, deadline=deadline)
            if self._stopping or (deadline is not None and self._clock() >= deadline):
                return
            if self._wake.is_set():
                continue  # rows were queued during the drain (its last claim may predate them)
            if deadline is None:
                return
            wake = await self._db_call(self._db.next_due)
            now = self._clock()
            if wake is None or wake >= deadline:
                return
            # at most a poll interval: a lease may belong to a live worker that finishes
            # early. Due already yet not claimed: another worker holds that destination, so
            # ask again a poll interval later. stop() and notify() end the pause at once.
            poll, due_in = self._cfg.poll_interval, (wake - now).total_seconds()
            pause = due_in if 0 < due_in < poll else poll
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=pause)

    async def run_forever(self, stop_event: asyncio.Event) -> DeliveryReport:
        """Deliver until `stop_event` is set (or `stop()`); then finish the sends in flight,
        put the rows not yet sent back in the outbox, and return."""
        self._bind_loop_primitives()
        report = DeliveryReport()
        async with self._drain_lock:
            self._fresh_run()
            self._forever = True
            try:
                while not stop_event.is_set() and not self._closed:
                    self._wake.clear()
                    await self._drain(report, stop=stop_event)
                    if self._wake.is_set():
                        continue  # rows were queued during the drain
                    waits = [
                        asyncio.ensure_future(stop_event.wait()),
                        asyncio.ensure_future(self._wake.wait()),
                    ]
                    await asyncio.wait(
                        waits, timeout=self._cfg.poll_interval, return_when="FIRST_COMPLETED"
                    )
                    for w in waits:
                        w.cancel()
            finally:
                self._forever = False
        report.counts = await self._db_call(self._store.queue_counts)
        return report

    def notify(self) -> None:
        """New rows were queued: the drain running now takes another look before it ends,
        and `run_forever` ends its idle wait."""
        self._wake.set()

    def stop(self) -> None:
        """Shutting down: the drain running now finishes its sends in flight, puts the rows
        it holds back in the outbox and ends; later drains send nothing."""
        self._closed = self._stopping = True
        self._room.set()  # wakes the drain loop
        self._wake.set()  # ends a pause between drains

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
        try:
            while True:
                if stop is not None and stop.is_set():
                    self._stopping = True
                ended = self._stopping or (deadline is not None and self._clock() >= deadline)
                room = self._outstanding <= low_water
                if not ended and room and time.monotonic() >= idle_until:
                    limit = self._cfg.batch - self._outstanding
                    lease, now = self._cfg.lease, self._clock()
                    jobs = await self._db_call(self._db.claim, self._id, limit, lease, now)
                    if jobs:
                        self._dispatch(jobs, dests, report)
                    else:
                        idle_until = time.monotonic() + self._cfg.poll_interval
                if not self._running:
                    # nothing in flight: a claim just came back empty, or is not due yet, or
                    # the drain ended; looping here again would spin without yielding
                    break
                # wake when there is room to claim, every queue is done, stop, or a poll
                # interval passed (waiting on the room event alone keeps this O(1) per wake-up)
                self._room.clear()
                waits = [asyncio.ensure_future(self._room.wait())]
                if stop is not None:
                    waits.append(asyncio.ensure_future(stop.wait()))
                await asyncio.wait(
                    waits, timeout=self._cfg.poll_interval, return_when="FIRST_COMPLETED"
                )
                for w in waits:
                    w.cancel()
        except asyncio.CancelledError:
            # cancelled (a shutdown out of time): the sends go with it, as in a crash; their
            # rows stay claimed until the lease ends
            tasks = [d.task for d in dests.values() if d.task is not None]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        # queues that ended cleanly left `dests` as they finished (keeps a 10,000-chat
        # fan-out from holding 10,000 finished tasks); the rest are gathered here
        kept = [(d, d.task) for d in dests.values() if d.task is not None]
        results = await asyncio.gather(*(task for _, task in kept), return_exceptions=True)
        for (d, _), result in zip(kept, results, strict=True):
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
            # rows left when the queue died (a database error while recording an outcome):
            # no longer ours to send; their claims run out and a later pass retries them
            while d.queue:
                self._held.pop(d.queue.popleft().row_id, None)
                self._outstanding -= 1
            self._running -= 1
            if not self._running or self._outstanding <= self._low_water:
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
            await self._write(job, Rescheduled(now, job.attempts, job.last_error))
            return
        if d.disabled or not job.destination_enabled:
            reason = d.disabled or job.disabled_reason or "disabled"
            cancelled = f"destination disabled: {reason}"
            await self._write(job, Finished("cancelled", cancelled, job.attempts))
            report.cancelled += 1
            return
        if d.halted_until is not None and d.halted_until > now:
            at, error = d.halted_until, d.halt_error
            await self._write(job, Rescheduled(at, job.attempts, error))
            return
        adapter = self._adapters.get(d.address.platform)
        if adapter is None:
            await self._failed(job, d, self._no_adapter(d.address.platform), report)
            return
        # the claim must outlast the part about to go (it waited in our queue meanwhile)
        short = job.token - now < self._renew_below
        if short and not await self._db_call(self._db.renew, job, self._cfg.lease, now):
            report.lost += 1
            return

        async def on_part(sent: int, total: int) -> None:
            """Record the part, renewing the claim for the next one."""
            if sent < total:  # the last part is recorded with the delivery itself
                token = self._clock() + self._cfg.lease
                if not await self._write(job, PartsSent(sent, token)):
                    raise _ClaimLost  # another worker sends the rest: stop here
                job.parts_sent, job.token = sent, token

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
        except _ClaimLost:
            report.lost += 1
            return
        if result.migrated_to:
            moved = await self._db_call(
                self._db.migrate_destination, job.destination_id, result.migrated_to
            )
            log.warning("telegram destination %s: %s", d.address.chat_id, moved.note)
            if moved.disabled:  # the new chat is another destination's: the rest is its
                d.disabled = moved.disabled
            else:
                d.address = dataclasses.replace(d.address, chat_id=result.migrated_to)
            report.migrated += 1
        done = Delivered(result.parts, job.attempts + 1, self._clock())
        if await self._write(job, done):
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
            await self._write(job, Finished("cancelled", cancelled, plan.attempts))
            report.cancelled += 1
            return
        d.halted_until, d.halt_error = plan.at, plan.error  # the rest of its queue waits too
        if plan.action == "dead":
            await self._write(job, Finished("dead", plan.error, plan.attempts))
            log.error("delivery %d to %s is a dead letter: %s", job.row_id, where, plan.error)
            report.dead += 1
            return
        assert plan.at is not None  # a retry or a deferral always says when
        await self._write(job, Rescheduled(plan.at, plan.attempts, plan.error))
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

    async def _write(self, job: Job, outcome: DeliveryOutcome) -> bool:
        """Record an outcome of a claimed row (fenced by its claim; see
        bot.storage.outbox_claims)."""
        return await self._commits.write(job, outcome)

    async def _db_call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Blocking database work off the event loop, one call at a time per worker."""
        async with self._db_lock:
            return await asyncio.to_thread(fn, *args)
