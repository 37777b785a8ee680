"""Slack in HTTP mode on several replicas: each event (by event_id), slash command and button
click (by trigger_id) is claimed in the database before a listener runs, so Slack's retry
(`X-Slack-Retry-Num`), wherever it lands, is acknowledged and not answered twice. SQLite and
PostgreSQL; the real bolt app and slack-sdk client against the fake Slack API."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from urllib.parse import urlencode

import aiohttp
import pytest
from sqlalchemy import text

from bot.config.delivery import DeliverySettings
from bot.platforms.slack.chat import SlackChat
from bot.platforms.slack.ingress import claim_key
from bot.storage.store import Store
from bot.storage.update_claims import Claim, UpdateClaims
from tests.bot.platforms import chat_helpers
from tests.bot.platforms.chat_helpers import Holder
from tests.fakes.slack_api import (
    APP_ID,
    BOT_USER_ID,
    TEAM_ID,
    TEST_BOT_TOKEN,
    TEST_SIGNING_SECRET,
    FakeSlack,
    app_mention_event,
    sign_slack_request,
)

pytestmark = [pytest.mark.anyio]
chat_state = chat_helpers.chat_state
holder = chat_helpers.holder
RETRY = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@contextlib.asynccontextmanager
async def replica(fake: FakeSlack, holder: Holder, db_url: str) -> AsyncIterator[str]:
    """One replica in HTTP mode with its own store; yields its events URL."""
    store = Store(db_url)
    chat = SlackChat.create(
        TEST_BOT_TOKEN,
        holder.context_for,
        DeliverySettings(timeout=3.0, connect_timeout=1.0),
        signing_secret=TEST_SIGNING_SECRET,
        base_url=fake.base_url,
        http_port=0,
        claims=UpdateClaims(store),
    )
    await chat.start()
    try:
        yield f"http://127.0.0.1:{chat.port}/slack/events"
    finally:
        await chat.stop()
        store.close()


async def post(url: str, body: str, *, form: bool, extra: dict[str, str] | None = None) -> int:
    headers = {
        **sign_slack_request(TEST_SIGNING_SECRET, body),
        "Content-Type": "application/x-www-form-urlencoded" if form else "application/json",
        **(extra or {}),
    }
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=body, headers=headers) as resp,
    ):
        return resp.status


def answers(fake: FakeSlack, channel: str) -> list:
    return [r for r in fake.delivered(channel) if r.method in ("response_url", "chat.postMessage")]


def claimed(db_url: str) -> list[str]:
    store = Store(db_url)
    try:
        with store.engine.connect() as conn:
            rows = conn.execute(text("SELECT key FROM update_claims WHERE platform = 'slack'"))
            return sorted(k for (k,) in rows)
    finally:
        store.close()


def test_claim_keys() -> None:
    assert claim_key({"event_id": "Ev1", "trigger_id": "t"}) == "event:Ev1"
    assert claim_key({"trigger_id": "123.456"}) == "trigger:123.456"
    assert claim_key({"type": "url_verification", "challenge": "x"}) is None
    assert claim_key({"event_id": 5}) is None


async def test_an_event_retried_on_another_replica_is_answered_once(slack_fake, holder, db_url):
    event = app_mention_event(f"<@{BOT_USER_ID}> help", channel_id="C900")
    body = json.dumps(event)
    async with replica(slack_fake, holder, db_url) as a, replica(slack_fake, holder, db_url) as b:
        assert await post(a, body, form=False) == 200
        assert await post(b, body, form=False, extra=RETRY) == 200  # the retry, elsewhere
        assert await post(a, body, form=False, extra={**RETRY, "X-Slack-Retry-Num": "2"}) == 200
        await slack_fake.await_until(lambda: answers(slack_fake, "C900"), 10, "the answer")
        other = json.dumps(app_mention_event(f"<@{BOT_USER_ID}> help", channel_id="C901"))
        assert await post(b, other, form=False) == 200  # a new event is answered
        await slack_fake.await_until(lambda: answers(slack_fake, "C901"), 10, "the answer")
    assert len(answers(slack_fake, "C900")) == 1
    assert len(holder.contexts) == 2
    assert f"event:{event['event_id']}" in claimed(db_url)


async def test_a_slash_command_and_a_click_twice_are_answered_once(slack_fake, holder, db_url):
    slash = urlencode(slack_fake.slash_command_payload("help", channel_id="C910"))
    click = urlencode(
        {
            "payload": json.dumps(
                {
                    "type": "block_actions",
                    "user": {"id": "U0USER", "team_id": TEAM_ID},
                    "api_app_id": APP_ID,
                    "team": {"id": TEAM_ID},
                    "channel": {"id": "C911"},
                    "container": {"type": "message", "message_ts": "1.1", "channel_id": "C911"},
                    "response_url": slack_fake.slash_command_payload("x", channel_id="C911")[
                        "response_url"
                    ],
                    "trigger_id": "4242.777.abc",
                    "actions": [{"type": "button", "action_id": "rotation:0", "value": "help"}],
                }
            )
        }
    )
    async with replica(slack_fake, holder, db_url) as a, replica(slack_fake, holder, db_url) as b:
        for url in (a, b, a):
            assert await post(url, slash, form=True) == 200
            assert await post(url, click, form=True) == 200
        await slack_fake.await_until(
            lambda: answers(slack_fake, "C910") and answers(slack_fake, "C911"), 10, "answers"
        )
    assert len(answers(slack_fake, "C910")) == 1
    assert len(answers(slack_fake, "C911")) == 1
    assert len(holder.contexts) == 2
    assert "trigger:4242.777.abc" in claimed(db_url)


async def test_without_a_database_an_event_gets_503_and_its_retry_is_answered(
    slack_fake, holder, tmp_path
):
    db = f"sqlite:///{tmp_path / 'claims.db'}"
    body = json.dumps(app_mention_event(f"<@{BOT_USER_ID}> help", channel_id="C920"))
    async with replica(slack_fake, holder, db) as url:
        store = Store(db)
        with store.engine.begin() as conn:
            conn.execute(text("ALTER TABLE update_claims RENAME TO away"))
        assert await post(url, body, form=False) == 503  # Slack will retry
        assert holder.contexts == []
        with store.engine.begin() as conn:
            conn.execute(text("ALTER TABLE away RENAME TO update_claims"))
        store.close()
        assert await post(url, body, form=False, extra=RETRY) == 200
        await slack_fake.await_until(lambda: answers(slack_fake, "C920"), 10, "the answer")
    assert len(answers(slack_fake, "C920")) == 1


async def test_an_event_whose_replica_died_before_acknowledging_is_answered_by_a_retry(
    slack_fake, holder, db_url
):
    """A replica took the event and died (no ack, no done): Slack's retry gets 503 while its
    lease runs, and is taken and answered, once, after it."""
    event = app_mention_event(f"<@{BOT_USER_ID}> help", channel_id="C930")
    dead_store = Store(db_url)
    dead = UpdateClaims(dead_store, lease=timedelta(seconds=1))
    assert dead.take("slack", f"event:{event['event_id']}") is Claim.TAKEN
    dead_store.close()
    body = json.dumps(event)
    async with replica(slack_fake, holder, db_url) as url:
        assert await post(url, body, form=False, extra=RETRY) == 503
        await asyncio.sleep(1.2)
        second = {**RETRY, "X-Slack-Retry-Num": "2"}
        assert await post(url, body, form=False, extra=second) == 200
        await slack_fake.await_until(lambda: answers(slack_fake, "C930"), 10, "the answer")
        assert await post(url, body, form=False, extra=second) == 200  # done: acknowledged
    assert len(answers(slack_fake, "C930")) == 1
    assert len(holder.contexts) == 1
