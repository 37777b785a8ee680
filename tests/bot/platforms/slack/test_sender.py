"""SlackSender: the real slack-sdk AsyncWebClient over HTTP to the fake Slack Web API."""

from __future__ import annotations

import time

import pytest

from bot.config.delivery import DeliverySettings
from bot.model.address import Address
from bot.model.errors import DeliveryError
from bot.model.kinds import MessageKind
from bot.model.messages import TextMessage
from bot.platforms.slack.sender import SlackSender
from tests.bot.outbox_helpers import alert_group
from tests.fakes.common import hang
from tests.fakes.slack_api import TEST_BOT_TOKEN, FakeSlack

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def sender(fake: FakeSlack, **delivery) -> SlackSender:
    settings = DeliverySettings(**{"timeout": 1.0, "connect_timeout": 0.5, **delivery})
    return SlackSender.create(TEST_BOT_TOKEN, settings, base_url=fake.base_url)


async def send(fake: FakeSlack, channel: str = "C1", message=None, **kw):
    sl = sender(fake)
    await sl.start()
    try:
        return await sl.send(Address("slack", channel), message or alert_group(), **kw)
    finally:
        await sl.stop()


async def test_posts_blocks_with_a_plain_text_fallback(slack_fake) -> None:
    result = await send(slack_fake, "C1")
    assert result.parts == 1
    (req,) = slack_fake.delivered("C1")
    assert req.method == "chat.postMessage" and req.token == TEST_BOT_TOKEN
    assert "rule 0 crossed" in req.params["text"]  # the fallback for notifications
    assert req.params["blocks"] and isinstance(req.params["blocks"], list)
    assert req.params["unfurl_links"] in (False, "false", "0", 0)


async def test_notices_and_direct_messages(slack_fake) -> None:
    notice = TextMessage(MessageKind.STARTUP, "rotation-bot started", ("3 rules",))
    await send(slack_fake, "U0123ABC", notice)
    (req,) = slack_fake.delivered("U0123ABC")
    assert "rotation-bot started" in req.params["text"]


async def test_sends_to_one_channel_keep_one_per_second(slack_fake) -> None:
    slack_fake.set_caps(time_scale=5)  # 1 message per 0.2 s per channel, on both sides
    sl = sender(slack_fake, slack={"per_channel": {"count": 1, "per": 0.2}})
    for _ in range(4):
        await sl.send(Address("slack", "C1"), alert_group())
    await sl.stop()
    ats = [r.at for r in slack_fake.delivered("C1")]
    assert len(ats) == 4 and min(b - a for a, b in zip(ats, ats[1:], strict=False)) >= 0.19
    assert slack_fake.count(outcome="rate_limited") == 0


@pytest.mark.parametrize(
    ("fault", "permanent"),
    [
        ("channel_not_found", True),
        ("not_in_channel", True),
        ("is_archived", True),
        ("account_inactive", True),
        ("invalid_auth", False),  # the token: loud, retried, no channel dropped
        ("server_error", False),
        ({"preset": "error", "code": "invalid_blocks"}, False),
    ],
)
async def test_failures_map_to_delivery_errors(slack_fake, fault, permanent) -> None:
    slack_fake.inject(fault, chat_id="C9", times=1)
    with pytest.raises(DeliveryError) as err:
        await send(slack_fake, "C9")
    assert err.value.permanent is permanent and err.value.retry_after is None
    assert slack_fake.delivered() == []


async def test_429_gives_retry_after_from_the_header(slack_fake) -> None:
    slack_fake.inject({"preset": "ratelimited", "retry_after": 7}, times=1)
    with pytest.raises(DeliveryError) as err:
        await send(slack_fake)
    assert err.value.retry_after == 7.0


async def test_a_hang_past_the_timeout_is_transient(slack_fake) -> None:
    slack_fake.inject(hang(5.0), times=1)
    t0 = time.monotonic()
    with pytest.raises(DeliveryError) as err:
        await send(slack_fake)
    assert time.monotonic() - t0 < 3.0
    assert not err.value.permanent and err.value.retry_after is None


async def test_connection_refused_is_transient(slack_fake) -> None:
    slack_fake.refuse_connections()
    with pytest.raises(DeliveryError) as err:
        await send(slack_fake)
    assert not err.value.permanent and err.value.retry_after is None
