"""Three replicas' limiters sending as fast as they may, with one token: together they keep
the platform's overall cap when it is shared through PostgreSQL, and triple it when it is not
(which shows the check can fail). Telegram's own cap, 30 a second, unscaled: a faster clock
would leave the shared slots less room for the event loop's jitter than production has. About
two seconds. Skipped without TEST_DATABASE_URL."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from bot.delivery import Rate, SendLimiter, share_overall_caps
from bot.delivery.sender import Adapter
from bot.storage import SharedPace, Store
from tests.bot.db_helpers import fresh_pg_schema, pg_base_url

CAP = Rate(30, 1.0)
REPLICAS, SENDS = 3, 20


@pytest.fixture
def stores() -> Iterator[list[Store]]:
    with fresh_pg_schema(pg_base_url()) as url:
        made = [Store(url) for _ in range(REPLICAS)]
        yield made
        for s in made:
            s.close()


def _limiter() -> SendLimiter:
    return SendLimiter(per_chat=Rate(1000, 1.0), overall=CAP, headroom=0.95)


async def _send_all(limiters: list[SendLimiter]) -> list[float]:
    """Every replica sends SENDS messages to distinct chats at once; the start times."""
    starts: list[float] = []

    async def one(limiter: SendLimiter, n: int) -> None:
        async with limiter.slot(f"chat-{n}"):
            starts.append(time.monotonic())
            await asyncio.sleep(0.002)  # the request itself

    await asyncio.gather(*(one(lim, n) for lim in limiters for n in range(SENDS)))
    return sorted(starts)


def _most_in_any_window(starts: list[float], per: float) -> int:
    """The largest number of starts in any window of `per` seconds (each start opens one)."""
    best, j = 0, 0
    for i, t in enumerate(starts):
        while starts[j] <= t - per:
            j += 1
        best = max(best, i - j + 1)
    return best


class _WithLimiter(Adapter):
    """A sender as the platforms build them: it exposes its limiter."""

    name = "telegram"

    def __init__(self) -> None:
        self.limiter = _limiter()

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def send(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def, override]
        raise NotImplementedError("not sent in this test")


def test_replicas_sharing_the_cap_stay_under_it_together(stores: list[Store]) -> None:
    senders = [{"telegram": _WithLimiter()} for _ in stores]
    for store, sender in zip(stores, senders, strict=True):
        assert share_overall_caps(store, sender) == ["telegram"]
    starts = asyncio.run(_send_all([s["telegram"].limiter for s in senders]))
    assert len(starts) == REPLICAS * SENDS
    assert _most_in_any_window(starts, CAP.per) <= CAP.count
    # and the cap is used, not starved: 60 sends at 95 % of 30 a second take about 2.1 s
    took = starts[-1] - starts[0]
    assert took < 3.0, took


def test_without_sharing_three_replicas_exceed_the_cap() -> None:
    starts = asyncio.run(_send_all([_limiter() for _ in range(REPLICAS)]))
    assert _most_in_any_window(starts, CAP.per) > CAP.count


def test_a_lone_replica_keeps_the_whole_cap(stores: list[Store]) -> None:
    """Back to back, each slot comes one interval after the last, however long the calls
    take; after an idle moment the schedule restarts at now (no burst owed)."""
    interval = 0.05
    pace = SharedPace(stores[0], "telegram", interval, chat_interval=1.0)
    slots = [pace.reserve(f"chat-{n}") for n in range(5)]  # when each may start, our clock
    gaps = [b - a for a, b in zip(slots, slots[1:], strict=False)]
    # one interval apart, give or take the statements' own time (a few ms) when the calls
    # are quick; never closer than that
    assert all(g >= interval - 0.01 for g in gaps), gaps
    time.sleep(max(0.0, slots[-1] - time.monotonic()) + 2 * interval)  # past the last slot
    before = time.monotonic()
    assert pace.reserve("chat-9") <= time.monotonic()  # now, not after the last slot
    assert pace.reserve("chat-10") >= before + interval - 0.01
    # the same chat again: a chat interval after its last slot
    assert pace.reserve("chat-9") >= before + 1.0 - 0.01


PER_CHAT = Rate(1, 0.2)


def _chat_limiter() -> SendLimiter:
    return SendLimiter(per_chat=PER_CHAT, overall=CAP, headroom=0.95)


async def _one_user(limiters: list[SendLimiter], rounds: int) -> dict[str, list[float]]:
    """Every replica answers one user `rounds` times (as when the proxy spreads one user's
    commands over them) while also sending to chats of its own; start times per chat."""
    starts: dict[str, list[float]] = {}

    async def one(limiter: SendLimiter, chat: str) -> None:
        async with limiter.slot(chat):
            starts.setdefault(chat, []).append(time.monotonic())
            await asyncio.sleep(0.002)

    async def user(limiter: SendLimiter) -> None:
        for _ in range(rounds):
            await one(limiter, "the-user")

    others = [one(lim, f"own-{i}-{n}") for i, lim in enumerate(limiters) for n in range(10)]
    await asyncio.gather(*(user(lim) for lim in limiters), *others)
    return starts


def test_replicas_answering_one_chat_take_turns_and_others_do_not_wait(
    stores: list[Store],
) -> None:
    limiters = [_chat_limiter() for _ in stores]
    for store, limiter in zip(stores, limiters, strict=True):
        sender = _WithLimiter()
        sender.limiter = limiter
        assert share_overall_caps(store, {"telegram": sender}) == ["telegram"]
    starts = asyncio.run(_one_user(limiters, rounds=3))
    user = sorted(starts.pop("the-user"))
    assert len(user) == 9
    gaps = [b - a for a, b in zip(user, user[1:], strict=False)]
    assert min(gaps) >= PER_CHAT.per - 0.01, gaps  # one chat: one send per 0.2 s, all told
    # the user's turns take 9 x 0.21 s; the 30 other chats' sends (39 overall slots, 1.4 s)
    # are not held up behind them
    own = sorted(t for times in starts.values() for t in times)
    assert own[-1] < user[-1] - 0.3, (own[-1] - user[0], user[-1] - user[0])


def test_without_sharing_replicas_answer_one_chat_too_fast() -> None:
    starts = asyncio.run(_one_user([_chat_limiter() for _ in range(REPLICAS)], rounds=3))
    user = sorted(starts["the-user"])
    assert min(b - a for a, b in zip(user, user[1:], strict=False)) < PER_CHAT.per / 2
