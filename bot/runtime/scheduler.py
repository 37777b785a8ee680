"""A thin wrapper over one APScheduler 3 `AsyncIOScheduler`: named jobs on the trading calendar,
kept in the database, plus a virtual clock for tests and the demo.

Jobs (`bot.runtime.jobs`): `evaluate` a delay after each NYSE close (refresh + evaluate), `deliver`
on an interval, and optionally a weekly `digest` and a daily `heartbeat`. They live in the bot's
database (SQLAlchemyJobStore; a MemoryJobStore for throwaway runs) and are added only when
missing: re-adding a stored job at every boot recomputes its next run from now and drops the
run missed during downtime. A stored job whose schedule changed in the config
gets the new trigger but keeps a pending missed run. Missed runs are coalesced and still run
within `misfire_grace_time`; beyond it, the catch-up evaluation at start covers them (the engine
evaluates every session since the last stored one, in order).

The delivery interval is the exception: it lives in memory. The outbox is what makes delivery
durable, a missed pass means nothing, and persisting it would write its next run time to the
database every 15 s from the event loop (on SQLite that write can wait behind an evaluation's
write lock and stall the chat adapters).

APScheduler has no injectable clock, so the virtual clock (`start_virtual`, `due_jobs`,
`run_due`, `advance`) walks the same triggers with `get_next_fire_time` and calls the same job
functions directly, with the same coalesce and misfire rules.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from apscheduler.jobstores.base import BaseJobStore, ConflictingIdError
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from apscheduler.util import obj_to_ref

from bot.config import ScheduleSettings
from bot.model import Clock, utcnow
from bot.runtime import jobs
from bot.runtime.jobs import DELIVER, DIGEST, EVALUATE, HEARTBEAT, JOB_FUNCTIONS
from bot.runtime.trading_trigger import NEW_YORK, SessionCloseTrigger
from bot.storage import normalize_database_url

#: Before the package layout the job functions lived in `bot.jobs`, and a database written then
#: still names them so. That name resolves to the same module, so such a job loads, and
#: `_reconcile` rewrites its reference: an upgrade keeps each job's pending run.
sys.modules.setdefault("bot.jobs", jobs)

log = logging.getLogger(__name__)

TIMEZONE = NEW_YORK
DATABASE_STORE, MEMORY_STORE = "default", "memory"
_MEMORY_URLS = ("sqlite://", "sqlite:///:memory:")


@dataclass(frozen=True)
class JobSpec:
    """One configured job. `description` is stored as the APScheduler job's name: when it
    differs from the stored one, the schedule changed in the config."""

    name: str
    trigger: BaseTrigger
    description: str
    #: kept in the database (missed runs survive downtime), else in memory
    persist: bool = True

    @property
    def jobstore(self) -> str:
        return DATABASE_STORE if self.persist else MEMORY_STORE

    @property
    def func(self) -> Callable[..., Awaitable[Any]]:
        return JOB_FUNCTIONS[self.name]


@dataclass(frozen=True)
class DueJob:
    """A job whose fire times up to a virtual `now` have come (oldest first)."""

    name: str
    run_times: tuple[datetime, ...]


@dataclass(frozen=True)
class JobRun:
    """What the virtual clock did with one due run."""

    name: str
    scheduled: datetime
    now: datetime
    status: Literal["ran", "missed", "error"]
    result: Any = None
    error: BaseException | None = None


def build_jobs(settings: ScheduleSettings, start: datetime) -> dict[str, JobSpec]:
    """The jobs the settings ask for, in the order they run when due together. `start`
    anchors the delivery interval (the virtual clock's start, or now)."""
    zone = ZoneInfo(settings.timezone)
    delay = settings.evaluate_delay_minutes
    every = settings.delivery_interval_seconds
    specs = [
        JobSpec(EVALUATE, SessionCloseTrigger(delay), f"evaluate: NYSE close + {delay} min"),
        JobSpec(
            DELIVER,
            IntervalTrigger(seconds=every, start_date=start, timezone=TIMEZONE),
            f"deliver: every {every:g} s",
            persist=False,
        ),
    ]
    digest = settings.digest
    if digest.enabled:
        at = digest.time
        trigger = CronTrigger(
            day_of_week=digest.day_of_week, hour=at.hour, minute=at.minute, timezone=zone
        )
        when = f"{digest.day_of_week} {at:%H:%M} {settings.timezone}"
        specs.append(JobSpec(DIGEST, trigger, f"digest: {when}"))
    beat = settings.heartbeat
    if beat.enabled:
        trigger = CronTrigger(hour=beat.time.hour, minute=beat.time.minute, timezone=zone)
        specs.append(JobSpec(HEARTBEAT, trigger, f"heartbeat: daily {beat.time:%H:%M}"))
    return {spec.name: spec for spec in specs}


def make_jobstore(url: str | None) -> BaseJobStore:
    """The database's job store, or an in-memory one for a throwaway run (no url, or an
    in-memory SQLite url that a second engine could not see anyway)."""
    if not url or url in _MEMORY_URLS:
        return MemoryJobStore()
    url = normalize_database_url(url)
    options: dict[str, Any] = {"pool_pre_ping": True}
    if url.startswith("sqlite"):
        options["connect_args"] = {"timeout": 30}  # wait for the bot's own writers
    return SQLAlchemyJobStore(url=url, engine_options=options)


class Scheduler:
    """The bot's scheduler (see the module docstring).

    Real mode: `start()` inside the running event loop, `await shutdown()`.
    Virtual mode: `await start_virtual(now)`, then `await run_due(now)` / `await advance(t)`.
    """

    def __init__(
        self,
        settings: ScheduleSettings | None = None,
        *,
        jobstore_url: str | None = None,
        clock: Clock = utcnow,
    ) -> None:
        self.settings = settings or ScheduleSettings()
        self._jobstore_url = jobstore_url
        self._clock = clock
        self._aps: AsyncIOScheduler | None = None
        self._specs: dict[str, JobSpec] = {}
        self._virtual: dict[str, datetime | None] | None = None
        self.catch_up_task: asyncio.Task[Any] | None = None

    # --- real mode ---------------------------------------------------------------------

    @property
    def aps(self) -> AsyncIOScheduler:
        """The underlying APScheduler (after `start`)."""
        if self._aps is None:
            raise RuntimeError("the scheduler has not been started")
        return self._aps

    @property
    def running(self) -> bool:
        return self._aps is not None and self._aps.running

    def start(self, *, catch_up: bool | None = None) -> asyncio.Task[Any] | None:
        """Start in the running event loop (the one python-telegram-bot and bolt use): load
        the stored jobs, add the missing ones, then run due and missed runs. With `catch_up`
        (default: the setting) the evaluate job also runs once now, as `catch_up_task`."""
        asyncio.get_running_loop()  # fails clearly outside a loop
        if self.running:
            raise RuntimeError("the scheduler is already running")
        s = self.settings
        aps = AsyncIOScheduler(
            jobstores={
                DATABASE_STORE: make_jobstore(self._jobstore_url),
                MEMORY_STORE: MemoryJobStore(),
            },
            timezone=TIMEZONE,
            job_defaults={
                "coalesce": s.coalesce,
                "misfire_grace_time": s.misfire_grace_time,
                "max_instances": 1,
            },
        )
        aps.start(paused=True)  # job store open, nothing runs until the jobs are reconciled
        self._aps = aps
        now = self._clock()
        self._specs = build_jobs(s, now)
        self._reconcile(now)
        aps.resume()
        if catch_up if catch_up is not None else s.catch_up:
            self.catch_up_task = asyncio.create_task(self._catch_up(), name="catch-up evaluate")
        return self.catch_up_task

    def _reconcile(self, now: datetime) -> None:
        """Add missing jobs; update stored ones whose config changed; drop disabled ones."""
        aps, s = self.aps, self.settings
        for spec in self._specs.values():
            for alias in (DATABASE_STORE, MEMORY_STORE):
                if alias != spec.jobstore and aps.get_job(spec.name, alias) is not None:
                    aps.remove_job(spec.name, alias)  # it moved between stores
            job = aps.get_job(spec.name, spec.jobstore)
            if job is None:
                try:
                    aps.add_job(
                        spec.func,
                        spec.trigger,
                        id=spec.name,
                        name=spec.description,
                        jobstore=spec.jobstore,
                        replace_existing=False,
                    )
                except ConflictingIdError:  # another process added it since get_job: keep it
                    log.info("%s was scheduled by another process meanwhile", spec.name)
                    continue
                log.info("scheduled %s", spec.description)
                continue
            changes: dict[str, Any] = {}
            pending = job.next_run_time
            if job.name != spec.description or pending is None:
                missed = pending is not None and pending <= now
                nxt = pending if missed else spec.trigger.get_next_fire_time(None, now)
                changes.update(trigger=spec.trigger, name=spec.description, next_run_time=nxt)
                log.info("schedule changed: %s (was %s)", spec.description, job.name)
            if job.func_ref != obj_to_ref(spec.func):
                changes["func"] = spec.func
            if job.coalesce != s.coalesce:
                changes["coalesce"] = s.coalesce
            if job.misfire_grace_time != s.misfire_grace_time:
                changes["misfire_grace_time"] = s.misfire_grace_time
            if changes:
                aps.modify_job(spec.name, spec.jobstore, **changes)
        for name in JOB_FUNCTIONS:
            if name not in self._specs and aps.get_job(name) is not None:
                aps.remove_job(name)
                log.info("unscheduled %s (disabled in the config)", name)

    async def _catch_up(self) -> Any:
        try:
            return await self.run_job(EVALUATE)
        except Exception:  # the daemon goes on; the next scheduled evaluation retries
            log.exception("catch-up evaluation at start failed")
            return None

    async def run_job(self, name: str, now: datetime | None = None) -> Any:
        """Run a named job now (through `bot.runtime.jobs`, so it never overlaps its scheduled
        run)."""
        return await JOB_FUNCTIONS[name](now if now is not None else self._clock())

    def next_run_time(self, name: str) -> datetime | None:
        """When a job runs next (None: not scheduled). Virtual mode: by the virtual clock."""
        if self._virtual is not None:
            return self._virtual.get(name)
        if self._aps is None:
            return None
        job = self._aps.get_job(name)
        return job.next_run_time if job is not None else None

    async def shutdown(self, timeout: float = 5.0) -> None:
        """Stop starting jobs, let running ones finish for up to `timeout` seconds (then
        cancel them), and close the job store. Safe to call twice."""
        aps = self._aps
        if aps is None or not aps.running:
            return
        aps.pause()
        busy = set(jobs.running_tasks())
        if self.catch_up_task is not None and not self.catch_up_task.done():
            busy.add(self.catch_up_task)
        if busy:
            _, late = await asyncio.wait(busy, timeout=timeout)
            for task in late:
                log.warning("job %s still running at shutdown: cancelled", task.get_name())
                task.cancel()
            if late:
                await asyncio.wait(late, timeout=1.0)
        aps.shutdown(wait=False)
        while aps.running:  # AsyncIOScheduler shuts down in a loop callback
            await asyncio.sleep(0)
        self._aps = None

    # --- virtual clock -----------------------------------------------------------------

    async def start_virtual(self, now: datetime, *, catch_up: bool | None = None) -> list[JobRun]:
        """Begin a virtual clock at `now` (as if the bot started then): each job's first fire
        time is computed from `now`, and the catch-up evaluation runs (default: the setting)."""
        self._specs = build_jobs(self.settings, now)
        self._virtual = {
            name: spec.trigger.get_next_fire_time(None, now) for name, spec in self._specs.items()
        }
        if not (catch_up if catch_up is not None else self.settings.catch_up):
            return []
        return [await self._call(EVALUATE, now, now)]

    def _require_virtual(self) -> dict[str, datetime | None]:
        if self._virtual is None:
            raise RuntimeError("call start_virtual(now) before driving the virtual clock")
        return self._virtual

    def due_jobs(self, now: datetime, names: Iterable[str] | None = None) -> list[DueJob]:
        """Jobs with fire times at or before `now`, each with every such time (oldest first),
        ordered by their first due time. `names` limits the jobs considered (the demo leaves
        out the delivery interval, whose 15 s fires would number millions over years)."""
        nexts = self._require_virtual()
        wanted = set(names) if names is not None else set(nexts)
        due = []
        for name, nxt in nexts.items():
            if name not in wanted:
                continue
            times = []
            while nxt is not None and nxt <= now:
                times.append(nxt)
                nxt = self._specs[name].trigger.get_next_fire_time(nxt, now)
            if times:
                due.append(DueJob(name, tuple(times)))
        order = list(self._specs)
        due.sort(key=lambda d: (d.run_times[0], order.index(d.name)))
        return due

    async def run_due(self, now: datetime, names: Iterable[str] | None = None) -> list[JobRun]:
        """Run what is due at the virtual `now` as APScheduler would: several missed runs of
        a job coalesce into its latest one; a run older than `misfire_grace_time` is missed;
        the job's next fire time then follows its last due time."""
        nexts = self._require_virtual()
        grace = self.settings.misfire_grace_time
        runs: list[JobRun] = []
        for due in self.due_jobs(now, names):
            times = due.run_times[-1:] if self.settings.coalesce else due.run_times
            for scheduled in times:
                if grace is not None and now - scheduled > timedelta(seconds=grace):
                    log.warning("virtual clock: %s at %s missed by %s", due.name, scheduled, now)
                    runs.append(JobRun(due.name, scheduled, now, "missed"))
                    continue
                runs.append(await self._call(due.name, scheduled, now))
            trigger = self._specs[due.name].trigger
            nexts[due.name] = trigger.get_next_fire_time(due.run_times[-1], now)
        return runs

    async def advance(self, until: datetime, names: Iterable[str] | None = None) -> list[JobRun]:
        """Step the virtual clock to each fire time up to `until` in turn, running the jobs
        due at each (nothing is coalesced or missed): how the demo replays years of sessions.
        Jobs left out of `names` are paused meanwhile: they resume from `until` without the
        runs they skipped (a 15 s delivery interval would otherwise owe millions)."""
        nexts = self._require_virtual()
        wanted = set(names) if names is not None else set(nexts)
        runs: list[JobRun] = []
        while True:
            times = [t for n, t in nexts.items() if n in wanted and t is not None]
            if not times or min(times) > until:
                break
            runs += await self.run_due(min(times), wanted)
        for name in set(nexts) - wanted:
            nexts[name] = self._specs[name].trigger.get_next_fire_time(None, until)
        return runs

    async def _call(self, name: str, scheduled: datetime, now: datetime) -> JobRun:
        try:
            result = await JOB_FUNCTIONS[name](now)
        except Exception as exc:  # as APScheduler does: log it, the clock goes on
            log.exception("job %s (virtual %s) failed", name, now.isoformat())
            return JobRun(name, scheduled, now, "error", error=exc)
        return JobRun(name, scheduled, now, "ran", result=result)
