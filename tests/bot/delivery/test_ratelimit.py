"""Rate limits: whatever the latency of each request, the arrivals in every trailing window
stay within the cap, and the pace stays close to it.

Checked by counting arrival times directly (an independent sliding-window count), not
through the limiter's own bookkeeping. Arrivals are simulated: each request "arrives" at a
random moment between its start and its end, as on a real network.
"""

from __future__ import annotations

import asyncio
import bisect
import random
import time

from bot.delivery.ratelimit import Pacer, Rate, SendLimiter, Window, telegram_is_group


def max_in_window(times: list[float], period: float) -> int:
    """Most events in any window [t, t + period] starting at an event."""
    times = sorted(times)
    return max((bisect.bisect_right(times, t + period) - i for i, t in enumerate(times)), default=0)


def test_pacer_spaces_sends_evenly_and_never_bursts_after_a_stall() -> None:
    now = [100.0]

    async def sleep(d: float) -> None:
        now[0] += d

    pacer = Pacer(Rate(4, 1.0), headroom=1.0, clock=lambda: now[0], sleep=sleep)

    async def main() -> list[float]:
        times = []
        for _ in range(5):
            (await pacer.acquire()).end = now[0]
            times.append(now[0])
        now[0] += 10.0  # a long stall: the missed slots are not made up in a burst
        for _ in range(3):
            (await pacer.acquire()).end = now[0]
            times.append(now[0])
        return times

    times = asyncio.run(main())
    assert times[:5] == [100.0, 100.25, 100.5, 100.75, 101.0]
    assert times[5:] == [111.0, 111.25, 111.5]


def test_window_counts_each_request_until_it_ends() -> None:
    w = Window(Rate(2, 10.0))
    a, b = w.open(), w.open()
    assert w.earliest(0.0) == float("inf")  # two in flight: wait for one to end
    a.end = 1.0
    assert w.earliest(1.0) == 11.0  # a is in the window until 1 + 10; b still in flight
    b.end = 5.0
    assert w.earliest(5.0) == 11.0
    assert w.earliest(11.5) == float("-inf")  # a left: room for one more
    assert not w.idle(11.5) and w.idle(15.1)


def test_is_group() -> None:
    assert telegram_is_group("-1001234") and not telegram_is_group("12345")


def _fan_out(limiter: SendLimiter, sends: list[str], latency: float, seed: int = 1):
    """Send to `sends` (chat ids, repeats = several messages) concurrently, each request
    taking a random latency up to `latency`; returns arrivals by chat and elapsed time."""
    rng = random.Random(seed)
    arrivals: dict[str, list[float]] = {}

    async def send(chat: str, n: int) -> None:
        for _ in range(n):
            async with limiter.slot(chat):
                start = time.monotonic()
                took = rng.uniform(0.0, latency)
                arrive = start + rng.uniform(0.0, took)  # somewhere on the way
                await asyncio.sleep(took)
                arrivals.setdefault(chat, []).append(arrive)

    async def main() -> float:
        counts: dict[str, int] = {}
        for chat in sends:
            counts[chat] = counts.get(chat, 0) + 1
        t0 = time.monotonic()
        await asyncio.gather(*(send(c, n) for c, n in counts.items()))
        return time.monotonic() - t0

    elapsed = asyncio.run(main())
    return arrivals, elapsed


def test_fan_out_keeps_every_cap_whatever_the_latency() -> None:
    """60 chats (half of them groups) x 3 messages at once, caps scaled down: overall 40 per
    0.2 s, per chat 1 per 0.1 s, per group 2 per 0.5 s; latency up to 30 ms."""
    overall, per_chat, per_group = Rate(40, 0.2), Rate(1, 0.1), Rate(2, 0.5)
    limiter = SendLimiter(
        overall=overall, per_chat=per_chat, per_group=per_group, is_group=telegram_is_group
    )
    chats = [str(i) for i in range(30)] + [str(-i) for i in range(1, 31)]
    arrivals, elapsed = _fan_out(limiter, chats * 3, latency=0.03)
    everything = [t for ts in arrivals.values() for t in ts]
    assert len(everything) == 180
    assert max_in_window(everything, overall.per) <= overall.count
    for chat, ts in arrivals.items():
        assert max_in_window(ts, per_chat.per) <= 1, chat
        if chat.startswith("-"):
            assert max_in_window(ts, per_group.per) <= 2, chat
    # the groups' third message waits for their window (0.5 s after the first ended); the
    # bound only catches a limiter that stalls, it is not a speed target
    assert elapsed < 10.0


def test_overall_pace_is_close_to_the_cap() -> None:
    """450 sends to distinct chats with a 300/s cap and up to 5 ms latency: never more than
    the cap in any window of arrivals. How close the pace gets to the cap is a speed figure,
    measured by benchmarks/fanout.py through real HTTP, not asserted here."""
    limiter = SendLimiter(overall=Rate(30, 0.1), per_chat=Rate(1, 1.0), headroom=0.95)
    arrivals, _ = _fan_out(limiter, [str(i) for i in range(450)], latency=0.005)
    starts = sorted(t for ts in arrivals.values() for t in ts)
    rate = (len(starts) - 1) / (starts[-1] - starts[0])
    assert rate <= 300
    assert max_in_window(starts, 0.1) <= 30
