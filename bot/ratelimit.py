"""Send-rate limits that keep fan-out under the platforms' caps instead of provoking 429s.

Telegram counts messages in trailing windows: about 30 a second overall, 1 a second per chat,
20 a minute per group (DESIGN §6). A 429 costs the retry_after it carries, so staying under
the caps is faster than bouncing off them.

Why not aiolimiter (installed with PTB's rate-limiter extra) or PTB's `AIORateLimiter`:
aiolimiter is a leaky bucket whose capacity equals its rate, so `AsyncLimiter(20, 60)` lets 20
messages through at once and then one every 3 s, i.e. 40 in the first minute, which breaks a
"20 in any 60 s" cap; `AsyncLimiter(30, 1)` likewise allows about 60 in the first second.
`AIORateLimiter` is built on those buckets, has no per-chat limit, and with `max_retries > 0`
sleeps out a 429 inside the request, pausing every chat and hiding the retry from the outbox
(a crash during that sleep forgets it). Here instead:
- the overall cap is a FIFO *pacer*: one send every period/count seconds in call order, so
  10,000 waiters sleep once each (no thundering herd) and the rate is smooth;
- per-chat and per-group caps are exact sliding windows over the times sends really started.
Every cap is used at `headroom` (default 95 %), so request jitter never crosses it.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class Rate:
    """At most `count` events in any `per` seconds."""

    count: int
    per: float

    def scaled(self, headroom: float) -> Rate:
        """The same count over a longer period: `headroom` of the cap."""
        return Rate(self.count, self.per / headroom)


class Pacer:
    """Evenly spaced sends, first come first served, for a cap shared by every chat.

    Waiters queue on a FIFO lock and each sleeps only for its own slot, so 10,000 waiters
    cost 10,000 wake-ups, not a thundering herd. A waiter that wakes a little late may go at
    once (the pace is kept on average), but never more than half an interval early: after an
    event-loop stall the queue does not burst to catch up. An exact sliding window over the
    real start times backs this up, so the cap holds whatever the scheduling."""

    def __init__(self, rate: Rate, clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep):
        self.interval = rate.per / rate.count
        self._window = Window(rate)
        self._clock, self._sleep = clock, sleep
        self._next = float("-inf")
        self._lock: asyncio.Lock | None = None

    async def wait(self) -> None:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            now = self._clock()
            slot = max(self._next, self._window.earliest())
            if slot < now - self.interval / 2:  # idle, or woken late: no burst to catch up
                slot = now if now - self._next >= self.interval else now - self.interval / 2
            if slot > now:
                await self._sleep(slot - now)
            self._next = slot + self.interval
            self._window.record(self._clock())


class Window:
    """At most `count` event starts in any `period` seconds (a sliding log)."""

    def __init__(self, rate: Rate) -> None:
        self.rate = rate
        self._times: deque[float] = deque(maxlen=rate.count)

    def earliest(self) -> float:
        """When the next event may start (-inf when the window has room)."""
        if len(self._times) < self.rate.count:
            return float("-inf")
        return self._times[0] + self.rate.per

    def next_free(self, now: float) -> float:
        return max(now, self.earliest())

    def record(self, t: float) -> None:
        self._times.append(t)

    def idle_since(self, now: float) -> bool:
        return not self._times or self._times[-1] + self.rate.per <= now


class SendLimiter:
    """The caps of one platform: an optional overall pacer, a window per chat, and an
    optional window per group (for chats where `is_group(chat)` is true).

    `await limiter.wait(chat)` returns when a message to `chat` may start. Waits for one
    chat are serialised, so two destinations sharing a chat (Telegram topics) share its cap.
    """

    #: drop idle per-chat state once this many chats are tracked
    _PRUNE_AT = 4096

    def __init__(
        self,
        *,
        per_chat: Rate,
        overall: Rate | None = None,
        per_group: Rate | None = None,
        is_group: Callable[[str], bool] = lambda chat: False,
        headroom: float = 0.95,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._clock, self._sleep = clock, sleep
        self._per_chat = per_chat.scaled(headroom)
        self._per_group = per_group.scaled(headroom) if per_group else None
        self._overall = Pacer(overall.scaled(headroom), clock, sleep) if overall else None
        self._is_group = is_group
        self._chats: dict[str, tuple[asyncio.Lock, Window, Window | None]] = {}

    async def wait(self, chat: str) -> None:
        lock, chat_window, group_window = self._state(chat)
        async with lock:
            now = self._clock()
            due = chat_window.next_free(now)
            if group_window is not None:
                due = max(due, group_window.next_free(now))
            await self._sleep_until(due)
            if self._overall is not None:
                await self._overall.wait()
            start = self._clock()
            chat_window.record(start)
            if group_window is not None:
                group_window.record(start)

    async def _sleep_until(self, t: float) -> None:
        delay = t - self._clock()
        if delay > 0:
            await self._sleep(delay)

    def _state(self, chat: str) -> tuple[asyncio.Lock, Window, Window | None]:
        state = self._chats.get(chat)
        if state is None:
            if len(self._chats) >= self._PRUNE_AT:
                self._prune()
            group = Window(self._per_group) if self._per_group and self._is_group(chat) else None
            state = (asyncio.Lock(), Window(self._per_chat), group)
            self._chats[chat] = state
        return state

    def _prune(self) -> None:
        now = self._clock()
        for chat, (lock, w, g) in list(self._chats.items()):
            if not lock.locked() and w.idle_since(now) and (g is None or g.idle_since(now)):
                del self._chats[chat]


def telegram_is_group(chat_id: str) -> bool:
    """Groups, supergroups and channels have negative ids; users positive ones."""
    return chat_id.startswith("-")
