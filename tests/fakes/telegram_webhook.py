"""The fake Bot API's webhook side: POSTing updates to the bot as Telegram does.

Once the bot has called setWebhook and the test has said where the bot really listens
(`FakeTelegram.deliver_to`: the registered URL is a public https one, the replicas listen on
127.0.0.1; the list of URLs stands in for the reverse proxy and is used round-robin), each
update is POSTed with the `X-Telegram-Bot-Api-Secret-Token` header, at most `max_connections`
at once, and retried while the answer is not a 200 in time, possibly to another URL, as
Telegram does. To exercise the bot's deduplication, some updates can be delivered twice
(`duplicate_every`), or have their first answer count as too late, so that they are retried
after the bot has handled them (`late_every`).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any

import aiohttp

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


@dataclass(frozen=True)
class WebhookAttempt:
    """One POST of an update. `copy` is 1, or 2 for the duplicate of a doubled update;
    `attempt` counts the POSTs of that copy; `status` is the HTTP status (0: no answer, see
    `error`); `late` marks an answer counted as too late, so a retry followed."""

    update_id: int
    url: str
    copy: int
    attempt: int
    status: int
    late: bool
    error: str | None
    #: time.monotonic() when the POST was sent and when its answer (or failure) came
    started: float
    at: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class DeliveryPlan:
    """How updates are delivered; see the module docstring. An update whose id is a
    multiple of `duplicate_every` (0: none) is POSTed twice; of `late_every`, its first
    answer counts as too late. A copy is given up after `max_attempts` POSTs."""

    urls: tuple[str, ...] = ()
    duplicate_every: int = 0
    late_every: int = 0
    timeout: float = 5.0
    retry_delay: float = 0.2
    max_attempts: int = 5

    def copies(self, update_id: int) -> int:
        return 2 if self.duplicate_every and update_id % self.duplicate_every == 0 else 1

    def late(self, update_id: int, copy: int, attempt: int) -> bool:
        first = copy == 1 and attempt == 1
        return first and bool(self.late_every) and update_id % self.late_every == 0


class WebhookDelivery:
    """Delivers updates for one fake; runs on the fake's event loop."""

    def __init__(self, lock: threading.RLock) -> None:
        self._lock = lock
        self.plan = DeliveryPlan()
        self._attempts: list[WebhookAttempt] = []
        self._next_url = itertools.count()
        self._in_flight = 0
        self._session: aiohttp.ClientSession | None = None
        self._slots: asyncio.Semaphore | None = None

    def reset(self) -> None:
        with self._lock:
            self.plan = DeliveryPlan()
            self._attempts = []

    def set_connections(self, max_connections: int) -> None:
        """At setWebhook (on the loop): at most this many POSTs in flight."""
        self._slots = asyncio.Semaphore(max(1, max_connections))

    def attempts(self, update_id: int | None = None) -> list[WebhookAttempt]:
        with self._lock:
            return [a for a in self._attempts if update_id is None or a.update_id == update_id]

    @property
    def in_flight(self) -> int:
        """Updates still being delivered (POSTing, or waiting to retry)."""
        with self._lock:
            return self._in_flight

    def begin(self) -> None:
        """Called (under the fake's lock) for each update handed to `deliver`."""
        self._in_flight += 1

    async def deliver(self, update: dict[str, Any], secret: str | None) -> None:
        """Every copy of `update`, each until a timely 200 or `max_attempts`."""
        plan = self.plan
        update_id = int(update["update_id"])
        try:
            for copy in range(1, plan.copies(update_id) + 1):
                for attempt in range(1, plan.max_attempts + 1):
                    if await self._post(plan, update, secret, copy, attempt):
                        break
                    await asyncio.sleep(plan.retry_delay)
        finally:
            with self._lock:
                self._in_flight -= 1

    async def _post(
        self,
        plan: DeliveryPlan,
        update: dict[str, Any],
        secret: str | None,
        copy: int,
        attempt: int,
    ) -> bool:
        """One POST; True when it counts as delivered."""
        if self._session is None:
            self._session = aiohttp.ClientSession()
        with self._lock:
            url = plan.urls[next(self._next_url) % len(plan.urls)]
        headers = {"Content-Type": "application/json"}
        if secret:
            headers[SECRET_HEADER] = secret
        status, error = 0, None
        slots = self._slots or asyncio.Semaphore(40)
        async with slots:
            started = time.monotonic()
            try:
                async with self._session.post(
                    url,
                    data=json.dumps(update),
                    headers=headers,
                    timeout=aiohttp.ClientTimeout(total=plan.timeout),
                ) as resp:
                    await resp.read()
                    status = resp.status
            except TimeoutError:
                error = "timeout"
            except aiohttp.ClientError as exc:
                error = type(exc).__name__
        late = status == 200 and plan.late(int(update["update_id"]), copy, attempt)
        record = WebhookAttempt(
            int(update["update_id"]),
            url,
            copy,
            attempt,
            status,
            late,
            error,
            started,
            time.monotonic(),
        )
        with self._lock:
            self._attempts.append(record)
        return status == 200 and not late

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
