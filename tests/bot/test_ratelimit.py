"""Rate limits: every trailing window holds at most the cap, and the pace stays close to it.

Checked by counting the recorded start times directly (an independent sliding-window count),
not through the limiter's own bookkeeping.
"""

from __future__ import annotations

import asyncio
import bisect
import time

from bot.ratelimit import Pacer, Rate, SendLimiter, Window, telegram_is_group


def max_in_window(times: list[float], period: float) -> int:
    """Most events in any half-open window [t, t + period) starting at an event."""
    times = sorted(times)
    return max((bisect.bisect_left(times, t + period) - i for i, t in enumerate(times)), default=0)


def test_pacer_spaces_sends_evenly_and_never_bursts_after_a_stall() -> None:
    now = [100.0]

    async def sleep(d: float) -> None:
        now[0] += d

    pacer = Pacer(Rate(4, 1.0), clock=lambda: now[0], sleep=sleep)

    async def main() -> list[float]:
        times = []
        for _ in range(5):
            await pacer.wait()
            times.append(now[0])
        now[0] += 10.0  # a long stall: the missed slots are not made up in a burst
        for _ in range(3):
            await pacer.wait()
            times.append(now[0])
        return times

    times = asyncio.run(main())
    assert times[:5] == [100.0, 100.25, 100.5, 100.75, 101.0]
    assert times[5:] == [111.0, 111.25, 111.5]


def test_window_allows_count_then_waits_for_the_oldest_to_leave() -> None:
    w = Window(Rate(3, 10.0))
    for t in (0.0, 1.0, 2.0):
        assert w.next_free(t) == t
        w.record(t)
    assert w.next_free(2.5) == 10.0  # the 4th must wait until 0.0 leaves the window
    w.record(10.0)
    assert w.next_free(10.0) == 11.0


def test_is_group() -> None:
    assert telegram_is_group("-1001234") and not telegram_is_group("12345")


def test_fan_out_keeps_every_cap_and_the_pace() -> None:
    """60 chats (half of them groups) x 3 messages, all at once, with the caps scaled down:
    overall 40 per 0.2 s, per chat 1 per 0.1 s, per group 2 per 0.5 s."""
    overall, per_chat, per_group = Rate(40, 0.2), Rate(1, 0.1), Rate(2, 0.5)
    limiter = SendLimiter(
        overall=overall,
        per_chat=per_chat,
        per_group=per_group,
        is_group=telegram_is_group,
        headroom=0.95,
    )
    starts: dict[str, list[float]] = {}
    chats = [str(i) for i in range(30)] + [str(-i) for i in range(1, 31)]

    async def send(chat: str) -> None:
        for _ in range(3):
            await limiter.wait(chat)
            starts.setdefault(chat, []).append(time.monotonic())

    async def main() -> float:
        t0 = time.monotonic()
        await asyncio.gather(*(send(c) for c in chats))
        return time.monotonic() - t0

    elapsed = asyncio.run(main())
    everything = [t for ts in starts.values() for t in ts]
    assert len(everything) == 180
    assert max_in_window(everything, overall.per) <= overall.count
    for chat, ts in starts.items():
        assert max_in_window(ts, per_chat.per) <= 1, chat
        if chat.startswith("-"):
            assert max_in_window(ts, per_group.per) <= 2, chat
    # the groups' third message waits for the group window (0.5 s / 0.95): that bounds the
    # run; the overall pace alone would take 180 / 190 per s = 0.95 s
    assert elapsed < 1.5


def test_overall_pace_is_close_to_the_cap() -> None:
    """1,000 sends to distinct chats at 500/s: the achieved rate is the headroom (95 %)."""
    limiter = SendLimiter(overall=Rate(50, 0.1), per_chat=Rate(1, 1.0), headroom=0.95)
    starts: list[float] = []

    async def send(chat: str) -> None:
        await limiter.wait(chat)
        starts.append(time.monotonic())

    async def main() -> None:
        await asyncio.gather(*(send(str(i)) for i in range(1000)))

    asyncio.run(main())
    rate = (len(starts) - 1) / (max(starts) - min(starts))
    assert 0.90 * 500 <= rate <= 500
    assert max_in_window(starts, 0.1) <= 50
