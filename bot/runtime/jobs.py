"""The scheduler's named jobs: module-level coroutines that find the running app here.

APScheduler's SQLAlchemy job store pickles each job as a textual reference to its function
(`bot.runtime.jobs:evaluate_job`), so a job cannot hold the app object itself. The app registers
itself with `set_runtime(runtime)` at start (and `set_runtime(None)` at stop); every job asks
the registry for it when it runs. The same functions are what the virtual clock (tests, the
demo) calls, with an explicit `now`.

Each job runs at most once at a time per event loop (a lock per job name), so the catch-up
evaluation at start and a scheduled one never overlap.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from bot.model import Clock, utcnow

#: the job names, which are also their APScheduler job ids
EVALUATE, DELIVER, DIGEST, HEARTBEAT = "evaluate", "deliver", "digest", "heartbeat"


@runtime_checkable
class JobRuntime(Protocol):
    """What the running app offers the jobs. `now` is tz-aware (the wall clock, or the
    virtual clock of a test or the demo)."""

    async def refresh_and_evaluate(self, now: datetime) -> Any:
        """Refresh prices and evaluate every session since the last stored evaluation."""

    async def deliver(self, now: datetime) -> Any:
        """One pass of the delivery worker over the outbox."""

    async def digest(self, now: datetime) -> Any:
        """Queue the weekly digest (snapshot and chart) for its subscribers."""

    async def heartbeat(self, now: datetime) -> Any:
        """Queue the daily heartbeat for its subscribers."""


class NoRuntimeError(RuntimeError):
    """A job ran while no app was registered (a stale scheduler, or a test forgot to set one)."""


_runtime: JobRuntime | None = None
_clock: Clock = utcnow
_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)
_running: weakref.WeakSet[asyncio.Task[Any]] = weakref.WeakSet()


def set_runtime(runtime: JobRuntime | None, clock: Clock | None = None) -> None:
    """Register the running app (None to unregister). `clock` gives `now` to jobs that
    APScheduler starts (it passes none); default: the wall clock in UTC."""
    global _runtime, _clock
    _runtime = runtime
    _clock = clock or utcnow


def get_runtime() -> JobRuntime:
    if _runtime is None:
        raise NoRuntimeError(
            "no app is registered with bot.runtime.jobs.set_runtime(); job not run"
        )
    return _runtime


def _lock(name: str) -> asyncio.Lock:
    per_loop = _locks.setdefault(asyncio.get_running_loop(), {})
    return per_loop.setdefault(name, asyncio.Lock())


def running_tasks() -> list[asyncio.Task[Any]]:
    """The tasks of this event loop that are running a job now (shutdown waits for them)."""
    loop = asyncio.get_running_loop()
    return [t for t in _running if not t.done() and t.get_loop() is loop]


async def _run(name: str, method: str, now: datetime | None) -> Any:
    runtime = get_runtime()
    task = asyncio.current_task()
    if task is not None:
        _running.add(task)
    try:
        async with _lock(name):
            when = now if now is not None else _clock()
            call: Callable[[datetime], Awaitable[Any]] = getattr(runtime, method)
            return await call(when)
    finally:
        if task is not None:
            _running.discard(task)


async def evaluate_job(now: datetime | None = None) -> Any:
    """Refresh and evaluate (after each NYSE close, and once at start)."""
    return await _run(EVALUATE, "refresh_and_evaluate", now)


async def deliver_job(now: datetime | None = None) -> Any:
    """Send what the outbox holds."""
    return await _run(DELIVER, "deliver", now)


async def digest_job(now: datetime | None = None) -> Any:
    """The weekly digest."""
    return await _run(DIGEST, "digest", now)


async def heartbeat_job(now: datetime | None = None) -> Any:
    """The daily heartbeat."""
    return await _run(HEARTBEAT, "heartbeat", now)


#: job name (also its APScheduler id) -> function
JOB_FUNCTIONS: dict[str, Callable[..., Awaitable[Any]]] = {
    EVALUATE: evaluate_job,
    DELIVER: deliver_job,
    DIGEST: digest_job,
    HEARTBEAT: heartbeat_job,
}
