"""TelegramChat in webhook mode: the real python-telegram-bot (no updater) behind our own
aiohttp route, against the fake Bot API acting as Telegram (setWebhook recorded, updates
POSTed with the secret header, some twice, some retried after a "late" answer).

Replicas are several adapters on one database (SQLite file or PostgreSQL), each serving its
route on its own port; the fake spreads the updates over them round-robin. The evidence is
what reached the chats on the fake, when the route answered (the fake's clock), and the
claims table read with plain SQL. A replica's death between claim and answer is a claim
taken through another `UpdateClaims` and never marked done.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import text

from bot.config.delivery import DeliverySettings
from bot.platforms.telegram.chat import TelegramChat
from bot.platforms.telegram.ingress import ALLOWED_UPDATES, SECRET_HEADER, WebhookOptions
from bot.storage.store import Store
from bot.storage.update_claims import LEASE, Claim, UpdateClaims
from tests.bot.platforms import chat_helpers
from tests.bot.platforms.chat_helpers import Holder, expected
from tests.fakes.common import Fault
from tests.fakes.telegram_api import TEST_TOKEN, FakeTelegram, visible_text

pytestmark = [pytest.mark.anyio]
chat_state = chat_helpers.chat_state
holder = chat_helpers.holder
PUBLIC = "https://bot.example.com/telegram/webhook"
SECRET = "webhook_secret-0123456789"
BOT_ID = TEST_TOKEN.split(":")[0]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@contextlib.asynccontextmanager
async def replica(
    fake: FakeTelegram,
    holder: Holder,
    db_url: str | None,
    max_connections: int = 40,
    lease: timedelta = LEASE,
) -> AsyncIterator[tuple[TelegramChat, str]]:
    """One replica: a webhook-mode adapter with its own store, its route on a local port."""
    store = None if db_url is None else Store(db_url)
    chat = TelegramChat.create(
        TEST_TOKEN,
        holder.context_for,
        DeliverySettings(timeout=3.0, connect_timeout=1.0),
        base_url=fake.base_url,
        webhook=WebhookOptions(PUBLIC, SECRET, max_connections),
        claims=None if store is None else UpdateClaims(store, lease=lease),
    )
    app = web.Application()
    for path, route in chat.web_routes().items():
        app.router.add_post(path, route)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/telegram/webhook"
    await chat.start()
    try:
        yield chat, url
    finally:
        await chat.stop()
        await runner.cleanup()
        if store is not None:
            store.close()


def shown(rec) -> str:
    text_, error = visible_text(rec.text or "", rec.params.get("parse_mode"))
    assert error is None, error
    return text_


def claimed(db_url: str, *, done: bool = True) -> list[str]:
    """The telegram claims' keys; `done`: every one of them must be marked done."""
    store = Store(db_url)
    try:
        with store.engine.connect() as conn:
            rows = conn.execute(
                text("SELECT key, done_at FROM update_claims WHERE platform = 'telegram'")
            ).all()
    finally:
        store.close()
    if done:
        assert [k for k, at in rows if at is None] == [], "claims not marked done"
    return sorted(k for k, _ in rows)


def delivered_all(fake: FakeTelegram, update_id: int) -> bool:
    """Every POST of the update done: it was POSTed, and nothing is being delivered."""
    return bool(fake.webhook_attempts(update_id)) and fake.webhook_in_flight() == 0


async def post(url: str, body: dict, headers: dict[str, str]) -> int:
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=json.dumps(body), headers=headers) as resp,
    ):
        return resp.status


async def test_set_webhook_and_a_command_answered_through_the_route(
    telegram_fake, holder, chat_state, tmp_path
) -> None:
    db = f"sqlite:///{tmp_path / 'claims.db'}"
    async with replica(telegram_fake, holder, db, max_connections=17) as (chat, url):
        assert telegram_fake.webhook_info() == {
            "url": PUBLIC,
            "secret_token": SECRET,
            "allowed_updates": ALLOWED_UPDATES,
            "max_connections": 17,
        }
        assert chat.app.updater is None  # nothing polls: getUpdates would be refused anyway
        telegram_fake.deliver_to(url)
        update = telegram_fake.push_command(4242, 4242, "/sector XLF")
        await telegram_fake.await_until(lambda: telegram_fake.delivered(4242), 15, "the answer")
    (answer,) = telegram_fake.delivered(4242)
    for piece in expected(chat_state)["sector XLF"]:
        assert piece in shown(answer)
    assert telegram_fake.requests("getUpdates") == []
    assert claimed(db) == [f"{BOT_ID}:{update['update_id']}"]


@pytest.mark.parametrize(
    "headers",
    [{}, {SECRET_HEADER: "wrong"}, {SECRET_HEADER: SECRET[:-1]}, {SECRET_HEADER: SECRET + "x"}],
    ids=["missing", "wrong", "prefix", "longer"],
)
async def test_without_the_right_secret_403_and_nothing_is_handled(
    telegram_fake, holder, tmp_path, headers
) -> None:
    db = f"sqlite:///{tmp_path / 'claims.db'}"
    body = {
        "update_id": 99,
        "message": {
            "message_id": 1,
            "date": 0,
            "chat": {"id": 31, "type": "private"},
            "from": {"id": 31, "is_bot": False, "first_name": "Mallory"},
            "text": "/subscribe",
            "entities": [{"type": "bot_command", "offset": 0, "length": 10}],
        },
    }
    async with replica(telegram_fake, holder, db) as (_, url):
        assert await post(url, body, headers) == 403
        # the same update with the secret is handled: the 403 took nothing away
        assert await post(url, body, {SECRET_HEADER: SECRET}) == 200
        await telegram_fake.await_until(lambda: telegram_fake.delivered(31), 10, "the answer")
    assert len(holder.contexts) == 1  # the one request with the secret, nothing else
    assert claimed(db) == [f"{BOT_ID}:99"]


async def test_a_body_that_is_no_update_is_400_and_claims_nothing(
    telegram_fake, holder, tmp_path
) -> None:
    db = f"sqlite:///{tmp_path / 'claims.db'}"
    async with replica(telegram_fake, holder, db) as (_, url):
        for body in ({"message": {}}, {"update_id": "12"}, {"update_id": True}, []):
            assert await post(url, body, {SECRET_HEADER: SECRET}) == 400, body
    assert holder.contexts == [] and claimed(db) == []


async def test_duplicates_and_late_retries_across_replicas_are_answered_once(
    telegram_fake, holder, db_url
) -> None:
    chats = [7000 + i for i in range(24)]
    async with (
        replica(telegram_fake, holder, db_url) as (_, url_a),
        replica(telegram_fake, holder, db_url) as (_, url_b),
        replica(telegram_fake, holder, db_url) as (_, url_c),
    ):
        telegram_fake.deliver_to(
            [url_a, url_b, url_c], duplicate_every=2, late_every=3, retry_delay=0.05
        )
        ids = [telegram_fake.push_command(c, c, "/help")["update_id"] for c in chats]
        await telegram_fake.await_until(
            lambda: (
                telegram_fake.webhook_in_flight() == 0
                and all(telegram_fake.delivered(c) for c in chats)
            ),
            30,
            "every answer and every delivery",
        )
    attempts = telegram_fake.webhook_attempts()
    doubled = [u for u in ids if u % 2 == 0 or u % 3 == 0]
    assert len(attempts) == len(ids) + len(doubled) + sum(u % 6 == 0 for u in ids)
    assert all(a.status == 200 for a in attempts)  # every copy was acknowledged
    assert {a.url for a in attempts} == {url_a, url_b, url_c}
    for chat in chats:  # but each command was answered once
        (answer,) = telegram_fake.delivered(chat)
        assert shown(answer).startswith("Commands")
    assert len(holder.contexts) == len(chats)
    assert claimed(db_url) == sorted(f"{BOT_ID}:{u}" for u in ids)


async def test_a_database_that_cannot_claim_gets_503_and_telegram_delivers_again(
    telegram_fake, holder, tmp_path
) -> None:
    db = f"sqlite:///{tmp_path / 'claims.db'}"
    async with replica(telegram_fake, holder, db) as (_, url):
        store = Store(db)
        with store.engine.begin() as conn:
            conn.execute(text("ALTER TABLE update_claims RENAME TO update_claims_away"))
        telegram_fake.deliver_to(url, retry_delay=0.3, max_attempts=20)
        update = telegram_fake.push_command(4343, 4343, "/help")
        await telegram_fake.await_until(
            lambda: len(telegram_fake.webhook_attempts(update["update_id"])) >= 2, 10
        )
        assert telegram_fake.delivered(4343) == []
        with store.engine.begin() as conn:  # the database is back
            conn.execute(text("ALTER TABLE update_claims_away RENAME TO update_claims"))
        store.close()
        await telegram_fake.await_until(lambda: telegram_fake.delivered(4343), 10, "the answer")
    statuses = [a.status for a in telegram_fake.webhook_attempts(update["update_id"])]
    assert statuses[0] == 503 and statuses[-1] == 200 and set(statuses) == {503, 200}
    assert len(telegram_fake.delivered(4343)) == 1


async def test_polling_skips_an_update_another_process_handled(
    telegram_fake, holder, tmp_path
) -> None:
    """Polling mode claims too: an update already claimed (a restart polling it again) is
    not answered twice; the next one is."""
    db = f"sqlite:///{tmp_path / 'claims.db'}"
    store = Store(db)
    claims = UpdateClaims(store)
    assert claims.take("telegram", f"{BOT_ID}:1") is Claim.TAKEN  # the fake's first update id
    claims.done("telegram", f"{BOT_ID}:1")
    chat = TelegramChat.create(
        TEST_TOKEN,
        holder.context_for,
        DeliverySettings(timeout=3.0, connect_timeout=1.0),
        base_url=telegram_fake.base_url,
        poll_timeout=1.0,
        claims=claims,
    )
    await chat.start()
    try:
        first = telegram_fake.push_command(51, 51, "/help")
        second = telegram_fake.push_command(52, 52, "/help")
        await telegram_fake.await_until(lambda: telegram_fake.delivered(52), 10, "the answer")
        await telegram_fake.await_until(lambda: telegram_fake.updates == [], 5, "the offset")
    finally:
        await chat.stop()
        store.close()
    assert (first["update_id"], second["update_id"]) == (1, 2)
    assert telegram_fake.delivered(51) == []
    assert [c.caller.chat_id for c in holder.contexts] == ["52"]
    assert claimed(db) == [f"{BOT_ID}:1", f"{BOT_ID}:2"]  # the second marked done too


async def test_until_set_webhook_succeeds_updates_get_503_and_come_again(
    telegram_fake, holder, tmp_path
) -> None:
    """Telegram down at start: the adapter keeps trying in the background; meanwhile the
    route asks for the update again rather than take it into an application not running."""
    telegram_fake.inject("server_error", method="setWebhook", times=1)
    db = f"sqlite:///{tmp_path / 'claims.db'}"
    async with replica(telegram_fake, holder, db) as (chat, url):
        assert not chat.connected.is_set()
        body = {
            "update_id": 5,
            "message": {
                "message_id": 1,
                "date": 0,
                "chat": {"id": 61, "type": "private"},
                "text": "/help",
            },
        }
        assert await post(url, body, {SECRET_HEADER: SECRET}) == 503
        await telegram_fake.await_until(chat.connected.is_set, 10, "the retry of setWebhook")
        assert await post(url, body, {SECRET_HEADER: SECRET}) == 200
        await telegram_fake.await_until(lambda: telegram_fake.delivered(61), 10, "the answer")
    assert [r.http_status for r in telegram_fake.requests("setWebhook")] == [500, 200]
    assert claimed(db) == [f"{BOT_ID}:5"]


async def test_the_route_answers_200_only_after_the_reply_was_sent(
    telegram_fake, holder, db_url
) -> None:
    """The update is handled inside the request: a replica killed before its 200 leaves
    Telegram to deliver the update again. The fake holds each sendMessage for half a second
    before answering it; the route's 200 comes after that answer."""
    telegram_fake.inject(Fault("slow", delay=0.5), method="sendMessage")
    async with replica(telegram_fake, holder, db_url) as (_, url):
        telegram_fake.deliver_to(url)
        uid = telegram_fake.push_command(4545, 4545, "/help")["update_id"]
        await telegram_fake.await_until(lambda: delivered_all(telegram_fake, uid), 15, "the 200")
    (attempt,) = telegram_fake.webhook_attempts(uid)
    (answer,) = telegram_fake.delivered(4545)
    assert attempt.status == 200
    assert attempt.started < answer.at  # the reply was sent during the request
    assert attempt.at >= answer.at + 0.45  # and the 200 waited for Telegram's answer to it
    assert claimed(db_url) == [f"{BOT_ID}:{uid}"]


class _Failing:
    """A `context_for` that fails: the handler raises, PTB hands it to the error handler."""

    def __init__(self) -> None:
        self.calls = 0

    def context_for(self, _caller):  # noqa: ANN001, ANN202 - the adapters' factory
        self.calls += 1
        raise RuntimeError("boom")


async def test_a_handler_that_fails_still_gets_200_and_is_not_handled_again(
    telegram_fake, tmp_path
) -> None:
    db = f"sqlite:///{tmp_path / 'claims.db'}"
    failing = _Failing()
    async with replica(telegram_fake, failing, db) as (_, url):  # type: ignore[arg-type]
        telegram_fake.deliver_to(url, duplicate_every=1)  # every update twice
        uid = telegram_fake.push_command(4646, 4646, "/help")["update_id"]
        await telegram_fake.await_until(lambda: delivered_all(telegram_fake, uid), 15, "200s")
    statuses = [a.status for a in telegram_fake.webhook_attempts(uid)]
    assert statuses == [200, 200]
    assert failing.calls == 1  # the copy found the claim done
    assert claimed(db) == [f"{BOT_ID}:{uid}"]


async def test_a_replica_dead_between_claim_and_answer_loses_nothing(
    telegram_fake, holder, db_url
) -> None:
    """A replica took the update and died (kill -9: no answer, no done). Telegram retries,
    here to a live replica: while the dead one's lease runs the retries get 503 (not an
    acknowledgement, which would lose the update), after it the update is taken again and
    answered, once."""
    dead_store = Store(db_url)
    try:
        dead = UpdateClaims(dead_store, lease=timedelta(seconds=1.5))
        assert dead.take("telegram", f"{BOT_ID}:1") is Claim.TAKEN  # the fake's first id
    finally:
        dead_store.close()
    async with replica(telegram_fake, holder, db_url) as (_, url):
        telegram_fake.deliver_to(url, retry_delay=0.25, max_attempts=30)
        update = telegram_fake.push_command(4747, 4747, "/help")
        await telegram_fake.await_until(lambda: delivered_all(telegram_fake, 1), 15, "the 200")
    assert update["update_id"] == 1
    statuses = [a.status for a in telegram_fake.webhook_attempts(1)]
    assert len(statuses) >= 3 and set(statuses[:-1]) == {503} and statuses[-1] == 200
    (answer,) = telegram_fake.delivered(4747)
    assert shown(answer).startswith("Commands")
    assert len(holder.contexts) == 1
    assert claimed(db_url) == [f"{BOT_ID}:1"]
