"""Send-rate limits that keep fan-out under the platforms' caps instead of provoking 429s.

Telegram counts the messages that *arrive* in trailing windows: about 30 a second overall, 1 a
second per chat, 20 a minute per group; Slack about 1 a second per channel. A 429
costs the retry_after it carries, so staying under the caps is faster than bouncing off them.

Arrival times are not ours to see: a request arrives somewhere between the moment we start it
and the moment its answer comes back, and network jitter (a new connection, a slow first
request) can bunch arrivals that started evenly spaced. So every window here counts a request
from its start until its *end*: a new request may start at `t` only if fewer than `count`
earlier requests are still in flight or ended after `t - per`. Whatever the latencies, no
`count + 1` arrivals can then fall in one window. On top of that the overall cap is paced:
one send every `per / count / headroom` seconds, handed out first come first served, so
10,000 waiters sleep once each (no thundering herd) and the stream is smooth.

Why not aiolimiter (installed with PTB's rate-limiter extra) or PTB's `AIORateLimiter`:
aiolimiter is a leaky bucket whose capacity equals its rate, so `AsyncLimiter(20, 60)` lets 20
messages through at once and then one every 3 s (40 in the first minute, double a "20 in any
60 s" cap) and it counts request starts, not arrivals. `AIORateLimiter` is built on those
buckets, has no per-chat limit, and with `max_retries > 0` sleeps out a 429 inside the request,
pausing every chat and hiding the retry from the outbox (a crash during that sleep forgets it).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]
_INF = float("inf")


@dataclass(frozen=True)
class Rate:
    """At most `count` events in any `per` seconds."""

    count: int
    per: float


class _Entry:
    """One request in a window: in flight until `end` is set."""

    __slots__ = ("end",)

    def __init__(self) -> None:
        self.end: float | None = None


class Window:
    """At most `count` requests in any `per` seconds, each counted from start to end."""

    def __init__(self, rate: Rate) -> None:
        self.rate = rate
        self._entries: list[_Entry] = []

    def earliest(self, now: float) -> float:
        """When a new request may start: -inf when now is fine, inf while too many are in
        flight (wait for one to end)."""
        per, count = self.rate.per, self.rate.count
        self._entries = [e for e in self._entries if e.end is None or e.end > now - per]
        in_flight = sum(1 for e in self._entries if e.end is None)
        room = count - in_flight  # finished requests that may still be in the window
        if room <= 0:
            return _INF
        ends = sorted((e.end for e in self._entries if e.end is not None), reverse=True)
        return ends[room - 1] + per if len(ends) >= room else -_INF

    def open(self) -> _Entry:
        entry = _Entry()
        self._entries.append(entry)
        return entry

    def idle(self, now: float) -> bool:
        self.earliest(now)  # prunes
        return not self._entries


class Pacer:
    """Evenly spaced starts for a cap shared by every chat, first come first served.

    Waiters queue on a FIFO lock and each sleeps only for its own slot. While a queue is
    waiting, the slots follow the nominal schedule, so a waiter that wakes late (a busy event
    loop) goes at once and the average pace holds; at most `catch_up` slots are made up after
    a stall. After an idle moment (nobody queued) the schedule restarts at now: no burst. The
    window (start-to-end, see module docstring) keeps the cap whatever the pacing does."""

    def __init__(
        self,
        rate: Rate,
        headroom: float,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        poll: float = 0.005,
        catch_up: int = 10,
    ) -> None:
        self.interval = rate.per / rate.count / headroom
        self.window = Window(rate)
        self._clock, self._sleep, self._poll = clock, sleep, poll
        self._slack = catch_up * self.interval
        self._next = -_INF
        self._queued = 0  # waiters not yet holding the lock
        self._busy = False  # someone was queued when the last slot was taken
        self._lock: asyncio.Lock | None = None

    async def acquire(self) -> _Entry:
        """Wait for the next slot; returns the window entry to close when the send ends."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        self._queued += 1
        try:
            await self._lock.acquire()
        finally:
            self._queued -= 1
        try:
            while True:
                now = self._clock()
                behind = now - self._slack if self._busy else now
                slot = max(self._next, behind, self.window.earliest(now))
                if slot <= now:
                    break
                await self._sleep(min(slot - now, self._poll) if slot == _INF else slot - now)
            self._next = slot + self.interval
            self._busy = self._queued > 0
            return self.window.open()
        finally:
            self._lock.release()


#: shared slots taken for one send when it keeps waking up too late for them
_SHARED_TRIES = 4
#: takes the next send slot to a chat shared with other processes (blocking; run in a thread)
#: and returns when it comes, on the `time.monotonic()` clock
SharedSlots = Callable[[str], float]


class SendLimiter:
    """The caps of one platform: an optional overall pacer, a window per chat, and an
    optional window per group (chats where `is_group(chat)` is true).

    `async with limiter.slot(chat): <send>` starts the send when every cap allows it and
    counts it until it ends. Sends to one chat are serialised, so two destinations sharing a
    chat (Telegram forum topics) share its cap."""

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
        poll: float = 0.005,
    ) -> None:
        self._clock, self._sleep, self._poll = clock, sleep, poll
        self._per_chat, self._per_group, self._is_group = per_chat, per_group, is_group
        self._overall = Pacer(overall, headroom, clock, sleep, poll) if overall else None
        self._chats: dict[str, tuple[asyncio.Lock, Window, Window | None]] = {}
        self._shared: SharedSlots | None = None

    @property
    def overall_rate(self) -> Rate | None:
        """The overall cap (None: none)."""
        return self._overall.window.rate if self._overall is not None else None

    @property
    def chat_rate(self) -> Rate:
        """The cap of each chat."""
        return self._per_chat

    def share(self, slots: SharedSlots) -> None:
        """Keep the overall and per-chat caps together with other processes: before each
        send, after this process's own windows and pace, a slot shared with them is taken
        and waited for."""
        self._shared = slots

    async def _shared_slot(self, chat: str) -> None:
        """Wait for a shared slot. A start much later than its slot (the event loop was
        busy) would bunch up with the next process's: take a new slot instead, the missed one
        is lost; after a few misses in a row, go."""
        assert self._shared is not None
        rate = self._overall.window.rate if self._overall is not None else self._per_chat
        late = 2 * rate.per / rate.count if self._overall is not None else 0.1 * rate.per
        for _ in range(_SHARED_TRIES):
            at = await asyncio.to_thread(self._shared, chat)
            while (wait := at - time.monotonic()) > 0:
                await self._sleep(wait)
            if time.monotonic() - at <= late:
                return

    @contextlib.asynccontextmanager
    async def slot(self, chat: str) -> AsyncIterator[None]:
        entries = await self._acquire(chat)
        try:
            yield
        finally:
            end = self._clock()
            for entry in entries:
                entry.end = end

    async def _acquire(self, chat: str) -> list[_Entry]:
        lock, chat_window, group_window = self._state(chat)
        windows = [w for w in (chat_window, group_window) if w is not None]
        async with lock:
            while True:
                now = self._clock()
                due = max(w.earliest(now) for w in windows)
                if due <= now:
                    break
                await self._sleep(self._poll if due == _INF else due - now)
            # nothing is opened before the overall slot: a cancelled wait leaves no trace
            overall = await self._overall.acquire() if self._overall is not None else None
            if self._shared is not None:  # the slot among every process's sends
                await self._shared_slot(chat)
            entries = [w.open() for w in windows]
            return entries if overall is None else [*entries, overall]

    def _state(self, chat: str) -> tuple[asyncio.Lock, Window, Window | None]:
        state = self._chats.get(chat)
        if state is None:
            if len(self._chats) >= self._PRUNE_AT:
                self._prune()
            group = self._per_group if self._per_group and self._is_group(chat) else None
            state = (asyncio.Lock(), Window(self._per_chat), Window(group) if group else None)
            self._chats[chat] = state
        return state

    def _prune(self) -> None:
        now = self._clock()
        for chat, (lock, w, g) in list(self._chats.items()):
            if not lock.locked() and w.idle(now) and (g is None or g.idle(now)):
                del self._chats[chat]


def telegram_is_group(chat_id: str) -> bool:
    """Groups, supergroups and channels have negative ids; users positive ones."""
    return chat_id.startswith("-")
