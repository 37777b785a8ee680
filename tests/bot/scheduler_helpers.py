"""Shared by the scheduler and jobs tests: a runtime that records every job call."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class RecordingRuntime:
    """A `bot.runtime.jobs.JobRuntime` that records (job, now) and can be made slow or failing."""

    calls: list[tuple[str, datetime]] = field(default_factory=list)
    delay: float = 0.0
    fail: set[str] = field(default_factory=set)
    called: asyncio.Event | None = None

    async def _record(self, name: str, now: datetime) -> str:
        self.calls.append((name, now))
        if self.called is not None:
            self.called.set()
        if self.delay:
            await asyncio.sleep(self.delay)
        if name in self.fail:
            raise RuntimeError(f"{name} failed on purpose")
        return f"{name} done"

    async def refresh_and_evaluate(self, now: datetime) -> str:
        return await self._record("evaluate", now)

    async def deliver(self, now: datetime) -> str:
        return await self._record("deliver", now)

    async def digest(self, now: datetime) -> str:
        return await self._record("digest", now)

    async def heartbeat(self, now: datetime) -> str:
        return await self._record("heartbeat", now)

    def times(self, name: str) -> list[datetime]:
        return [now for job, now in self.calls if job == name]
