"""What a failed send leads to, decided apart from the worker that carries it out.

- a permanent refusal (blocked, kicked, channel not found, ...): disable the destination;
- 429 / RetryAfter: try again after the server's retry_after, not counted as an attempt;
- anything else (5xx, timeouts, connection errors): try again after base * 2^(n-1) seconds,
  capped at backoff_max, times a random factor in [0.5, 1] so retries spread out;
- a retry that would fall after `max_age` (counted from when the outbox row was written)
  makes the row dead instead: a dead letter.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from bot.config import DeliverySettings
from bot.model import DeliveryError, redact
from bot.storage import QueueCounts


@dataclass
class DeliveryReport:
    """What a run did, plus the outbox counts after it (for /status, exit codes)."""

    delivered: int = 0
    retried: int = 0  # transient failures rescheduled with backoff
    deferred: int = 0  # 429s rescheduled after retry_after
    dead: int = 0
    cancelled: int = 0
    disabled: int = 0  # destinations this run disabled
    migrated: int = 0
    lost: int = 0  # claims another worker took over after our lease ran out
    counts: QueueCounts = field(default_factory=QueueCounts)


@dataclass(frozen=True)
class Plan:
    """The fate of one failed send: `at` is the next attempt (retry / defer only)."""

    action: Literal["disable", "retry", "defer", "dead"]
    error: str  # the error as stored and logged (tokens masked)
    attempts: int
    delay: float = 0.0
    at: datetime | None = None


class RetryPolicy:
    def __init__(
        self, cfg: DeliverySettings, max_age: timedelta, rng: random.Random | None = None
    ) -> None:
        self._cfg, self._max_age = cfg, max_age
        self._rng = rng or random.Random()

    def backoff(self, attempts: int) -> float:
        cap = min(self._cfg.backoff_max, self._cfg.backoff_base * 2 ** min(attempts - 1, 30))
        return cap * self._rng.uniform(0.5, 1.0)

    def plan(
        self, exc: DeliveryError, *, attempts: int, created_at: datetime, now: datetime
    ) -> Plan:
        """`attempts`: failed attempts before this one."""
        error = redact(str(exc))
        if exc.permanent:
            return Plan("disable", error, attempts + 1)
        if exc.retry_after is not None:
            action, delay = "defer", exc.retry_after
        else:
            attempts, action = attempts + 1, "retry"
            delay = self.backoff(attempts)
        at = now + timedelta(seconds=delay)
        if at > created_at + self._max_age:
            return Plan("dead", error, attempts, delay, at)
        return Plan(action, error, attempts, delay, at)  # type: ignore[arg-type]
