"""The fake Bot API in webhook mode: setWebhook as PTB calls it is recorded (and a secret
Telegram would refuse is refused), and updates are POSTed to a receiver as Telegram does:
with the secret header, retried until a 200, round-robin, doubled or answered late on
request, and never more than max_connections at once."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
import telegram
from aiohttp import web
from telegram.error import BadRequest, Conflict

from tests.fakes.telegram_api import TEST_TOKEN, FakeTelegram
from tests.fakes.telegram_webhook import SECRET_HEADER

pytestmark = pytest.mark.anyio
PUBLIC = "https://bot.example.com/telegram/webhook"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass
class Receiver:
    """A stand-in for the bot's webhook route: records each POST, answers `statuses` in
    turn (then 200), optionally slowly."""

    statuses: list[int] = field(default_factory=list)
    delay: float = 0.0
    got: list[tuple[int, str | None]] = field(default_factory=list)
    open_now: int = 0
    most_open: int = 0
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.got.append((body["update_id"], request.headers.get(SECRET_HEADER)))
        self.open_now += 1
        self.most_open = max(self.most_open, self.open_now)
        try:
            await asyncio.sleep(self.delay)
        finally:
            self.open_now -= 1
        return web.Response(status=self.statuses.pop(0) if self.statuses else 200)


@contextlib.asynccontextmanager
async def receivers(n: int = 1, **options) -> AsyncIterator[list[Receiver]]:
    made, runners = [], []
    for _ in range(n):
        rec = Receiver(**options)
        app = web.Application()
        app.router.add_post("/telegram/webhook", rec.handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        rec.url = f"http://127.0.0.1:{runner.addresses[0][1]}/telegram/webhook"
        made.append(rec)
        runners.append(runner)
    try:
        yield made
    finally:
        for runner in runners:
            await runner.cleanup()


@contextlib.asynccontextmanager
async def webhook_fake(**webhook) -> AsyncIterator[tuple[FakeTelegram, telegram.Bot]]:
    async with FakeTelegram() as fake, telegram.Bot(TEST_TOKEN, base_url=fake.base_url) as bot:
        options = {"secret_token": "s3cret", "max_connections": 40, **webhook}
        await bot.set_webhook(PUBLIC, allowed_updates=["message", "callback_query"], **options)
        yield fake, bot


async def test_set_webhook_is_recorded_with_its_parameters() -> None:
    async with webhook_fake(max_connections=7) as (fake, bot):
        assert fake.webhook_info() == {
            "url": PUBLIC,
            "secret_token": "s3cret",
            "allowed_updates": ["message", "callback_query"],
            "max_connections": 7,
        }
        (rec,) = fake.requests("setWebhook")
        assert rec.params["max_connections"] in (7, "7")
        with pytest.raises(Conflict):  # polling is refused while a webhook is set
            await bot.get_updates()
        with pytest.raises(BadRequest, match="unallowed characters"):
            await bot.set_webhook(PUBLIC, secret_token="not allowed!")
        await bot.delete_webhook()
        assert fake.webhook_info() is None


async def test_updates_are_posted_with_the_secret_header() -> None:
    async with webhook_fake() as (fake, _), receivers() as (rec,):
        first = fake.push_command(42, 42, "/snapshot")  # queued until told where to post
        fake.deliver_to(rec.url)
        second = fake.push_command(43, 43, "/status")
        await fake.await_until(lambda: len(rec.got) == 2 and not fake.webhook_in_flight())
    assert sorted(rec.got) == [(first["update_id"], "s3cret"), (second["update_id"], "s3cret")]
    assert fake.updates == []  # nothing left for getUpdates


async def test_an_update_not_answered_200_is_retried_until_it_is() -> None:
    async with webhook_fake() as (fake, _), receivers(statuses=[503, 403]) as (rec,):
        fake.deliver_to(rec.url, retry_delay=0.01)
        update = fake.push_command(42, 42, "/snapshot")
        await fake.await_until(lambda: not fake.webhook_in_flight() and rec.got)
    assert [a.status for a in fake.webhook_attempts(update["update_id"])] == [503, 403, 200]
    assert len(rec.got) == 3


async def test_a_copy_is_given_up_after_max_attempts() -> None:
    async with webhook_fake() as (fake, _), receivers(statuses=[500] * 10) as (rec,):
        fake.deliver_to(rec.url, retry_delay=0.01, max_attempts=3)
        fake.push_command(42, 42, "/snapshot")
        await fake.await_until(lambda: not fake.webhook_in_flight() and rec.got)
    assert len(rec.got) == 3


async def test_doubled_and_late_updates_reach_the_receiver_twice_round_robin() -> None:
    async with webhook_fake() as (fake, _), receivers(2) as (a, b):
        fake.deliver_to([a.url, b.url], duplicate_every=2, late_every=3, retry_delay=0.01)
        ids = [fake.push_command(100 + i, 7, "/status")["update_id"] for i in range(6)]
        await fake.await_until(
            lambda: fake.webhook_in_flight() == 0 and len(a.got) + len(b.got) >= 6
        )
    posts = sorted(u for u, _ in a.got + b.got)
    # a doubled update comes twice; a late one once more (6 is both: three times)
    assert posts == sorted(u for u in ids for _ in range(1 + (u % 2 == 0) + (u % 3 == 0)))
    assert abs(len(a.got) - len(b.got)) <= 1  # round-robin over the two URLs
    late = [x for x in fake.webhook_attempts() if x.late]
    assert sorted(x.update_id for x in late) == [u for u in ids if u % 3 == 0]
    assert all(x.status == 200 and x.attempt == 1 for x in late)


async def test_no_more_than_max_connections_posts_at_once() -> None:
    async with webhook_fake(max_connections=3) as (fake, _), receivers(delay=0.05) as (rec,):
        fake.deliver_to(rec.url)
        for i in range(12):
            fake.push_command(200 + i, 7, "/status")
        await fake.await_until(lambda: len(rec.got) == 12 and not fake.webhook_in_flight(), 5)
    assert rec.most_open == 3


async def test_a_post_that_times_out_is_retried() -> None:
    async with webhook_fake() as (fake, _), receivers(delay=0.3) as (rec,):
        fake.deliver_to(rec.url, timeout=0.1, retry_delay=0.01, max_attempts=2)
        update = fake.push_command(42, 42, "/snapshot")
        await fake.await_until(lambda: not fake.webhook_in_flight() and rec.got, 5)
    attempts = fake.webhook_attempts(update["update_id"])
    assert [(x.status, x.error) for x in attempts] == [(0, "timeout"), (0, "timeout")]
    assert len(rec.got) == 2  # both reached the receiver, neither answered in time
