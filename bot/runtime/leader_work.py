"""What only the leader runs, and what a follower does meanwhile.

The leader: the scheduler on the database's job store (APScheduler 3 supports one scheduler
per job store, so no other replica may start one), whose jobs are the evaluation after each
close, the delivery interval, the digest and the heartbeat; the catch-up evaluation at once
when it takes over (sessions the dead leader missed are evaluated in order, alerts the engine
already logged are not sent twice); the startup message, once per process. A deposed leader
stops its delivery worker (sends in flight finish, the rest go back to the outbox) and its
scheduler; the next election builds both anew.

A follower answers chat commands from the market state, so it refreshes that state whenever
the leader records an evaluation newer than the state it holds.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from bot.config import Settings
from bot.model import Clock
from bot.runtime import jobs
from bot.runtime.app import BotApp
from bot.runtime.off_loop import Interrupted
from bot.runtime.scheduler import Scheduler
from bot.storage import (
    DATABASE_ERRORS,
    DatabaseUnavailable,
    LeaseLost,
    read_health,
    release_claims,
)

log = logging.getLogger(__name__)

#: seconds between a follower's looks at the leader's last evaluation
FOLLOW_EVERY = 30.0
_UNREADABLE: tuple[type[Exception], ...] = (DatabaseUnavailable, *DATABASE_ERRORS)
_NOT_RELEASED: tuple[type[Exception], ...] = (LeaseLost, *_UNREADABLE)


class LeaderWork:
    """Starts and stops the leader's work for `app` (the `Leadership` callbacks)."""

    def __init__(
        self, app: BotApp, settings: Settings, clock: Clock, *, shutdown_budget: float
    ) -> None:
        self.app, self.settings, self.clock = app, settings, clock
        self.shutdown_budget = shutdown_budget
        self.scheduler: Scheduler | None = None
        #: the catch-up evaluation (and queueing the startup message) of the current term
        self.ready: asyncio.Task[None] | None = None
        self._startup: asyncio.Task[None] | None = None
        self._terms = 0
        self._follow: asyncio.Task[None] | None = None

    async def elected(self) -> None:
        """Start the scheduler (its catch-up evaluation runs in the background)."""
        self.stop_following()
        if self._terms:
            self.app.renew_worker()  # the last term's worker was stopped for good
        self._terms += 1
        if not self.app.store.is_sqlite:
            await self._release_claims()
        scheduler = Scheduler(
            self.settings.schedule, jobstore_url=self.settings.database_url, clock=self.clock
        )
        self.scheduler = scheduler
        self.app.next_run = lambda: scheduler.next_run_time(jobs.EVALUATE)
        scheduler.start(catch_up=True)
        self.ready = asyncio.create_task(self._after_catch_up(scheduler, self._terms == 1))

    async def _release_claims(self) -> None:
        """The last leader's claimed rows go out now, not when their claims run out (a
        few seconds: a 2,000-row fan-out cut by a kill -9 resumes at once)."""
        try:
            released = await asyncio.to_thread(release_claims, self.app.store)
        except _NOT_RELEASED as exc:  # claimable when their claims run out
            log.warning("could not release the last leader's claims: %s", exc)
            return
        if released:
            log.info("took over %d delivery(ies) the last leader had claimed", released)

    async def _after_catch_up(self, scheduler: Scheduler, first: bool) -> None:
        if scheduler.catch_up_task is not None:
            await scheduler.catch_up_task
        if first and self.settings.chat.startup_message and not self.app.stopping.is_set():
            await asyncio.to_thread(self.app.startup_message, self.clock())
            # in the background: behind a backlog it may wait for a long drain, and SIGTERM
            # must not wait for it
            self._startup = asyncio.create_task(self._deliver_startup(), name="startup delivery")

    async def _deliver_startup(self) -> None:
        """The startup message's delivery pass, as the delivery job (never beside it)."""
        try:
            await jobs.deliver_job(self.clock())
        except Exception:  # the daemon goes on; the interval job sends it later
            log.exception("delivering the startup message failed")

    async def deposed(self) -> None:
        """Stop sending and scheduling: sends in flight finish, held rows go back."""
        self.app.worker.stop()
        for task in (self.ready, self._startup):
            if task is not None and not task.done():
                task.cancel()
                await asyncio.wait([task], timeout=1.0)
        self.ready = self._startup = None
        scheduler, self.scheduler = self.scheduler, None
        if scheduler is not None and scheduler.running:
            await scheduler.shutdown(timeout=self.shutdown_budget)
        self.app.next_run = None
        self.follow()

    # --- a follower ---------------------------------------------------------------------

    def follow(self) -> None:
        """Keep the market state as fresh as the leader's evaluations (in the background)."""
        if self._follow is None or self._follow.done():
            self._follow = asyncio.create_task(self._following(), name="follow the leader")

    def stop_following(self) -> None:
        if self._follow is not None:
            self._follow.cancel()
            self._follow = None

    async def _following(self) -> None:
        seen: Any = object()
        while True:
            try:
                facts = await asyncio.to_thread(read_health, self.app.store, 2.0)
                as_of = facts.last_run.as_of if facts.last_run is not None else None
                if as_of != seen or self.app.state is None:
                    await self.app.refresh(self.clock())
                    seen = as_of
            except Interrupted:  # the process is stopping
                return
            except _UNREADABLE as exc:
                log.warning("follower: cannot read the leader's last evaluation: %s", exc)
            except Exception:  # a data failure: the state stays as it was, tried again later
                log.exception("follower: refreshing the market state failed")
            await asyncio.sleep(FOLLOW_EVERY)
