"""TelegramSender: the real python-telegram-bot over HTTP to the fake Bot API (in a thread).

What the fake recorded is the evidence: parameters sent, messages delivered, and how every
Bot API failure comes back as a DeliveryError (retry_after / permanent / transient)."""

from __future__ import annotations

import dataclasses
import logging
import time

import pytest

from bot.config.delivery import DeliverySettings
from bot.model.address import Address
from bot.model.errors import DeliveryError
from bot.model.kinds import MessageKind
from bot.model.messages import AlertItem, TextMessage
from bot.model.redact import install
from bot.platforms.telegram.sender import TelegramSender
from tests.bot.outbox_helpers import SESSION, alert_group
from tests.fakes.common import hang
from tests.fakes.telegram_api import TEST_TOKEN, FakeTelegram

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def sender(fake: FakeTelegram, **delivery) -> TelegramSender:
    settings = DeliverySettings(**{"timeout": 1.0, "connect_timeout": 0.5, **delivery})
    return TelegramSender.create(TEST_TOKEN, settings, base_url=fake.base_url)


async def send(fake: FakeTelegram, address: Address, message=None, **kw):
    tg = sender(fake)
    await tg.start()
    try:
        return await tg.send(address, message or alert_group(), **kw)
    finally:
        await tg.stop()


async def test_sends_html_silently_to_a_topic_without_link_previews(telegram_fake) -> None:
    result = await send(telegram_fake, Address("telegram", "-1001", "7"), silent=True)
    assert result.parts == 1 and result.migrated_to is None
    (req,) = telegram_fake.delivered("-1001")
    p = req.params
    assert p["parse_mode"] == "HTML" and p["disable_notification"] is True
    assert p["message_thread_id"] == 7
    assert p["link_preview_options"] == {"is_disabled": True}
    assert "rule 0 crossed" in p["text"] and "<b>" in p["text"]  # the renderer's HTML


async def test_a_long_message_is_split_and_resumes_after_the_parts_sent(telegram_fake) -> None:
    long = AlertItem("wide", "fired", SESSION, "info", "<b>&" + "x" * 5000 + "\n" * 3 + "y" * 5000)
    group = dataclasses.replace(alert_group(), items=(long,))
    telegram_fake.set_caps(time_scale=5)  # 1 message per 0.2 s per chat, on both sides
    progress: list[tuple[int, int]] = []

    async def on_part(sent: int, total: int) -> None:
        progress.append((sent, total))

    address = Address("telegram", "42")
    tg = sender(telegram_fake, telegram={"per_chat": {"count": 1, "per": 0.2}})
    result = await tg.send(address, group, on_part=on_part)
    total = result.parts
    assert total >= 3 and progress == [(i, total) for i in range(1, total + 1)]
    texts = [r.text for r in telegram_fake.delivered("42")]
    assert len(texts) == total and all(len(t) <= 4096 for t in texts)
    # parts to one chat keep the per-chat cap (at 95 %): spaced out, no 429
    ats = [r.at for r in telegram_fake.delivered("42")]
    assert min(b - a for a, b in zip(ats, ats[1:], strict=False)) >= 0.19
    assert telegram_fake.count(outcome="rate_limited") == 0
    # resuming after 2 parts sends only the rest
    telegram_fake.clear_requests()
    await tg.send(address, group, skip_parts=2)
    await tg.stop()
    assert [r.text for r in telegram_fake.delivered("42")] == texts[2:]


async def test_notices_are_sent_too(telegram_fake) -> None:
    notice = TextMessage(MessageKind.STARTUP, "rotation-bot started", ("3 rules <loaded>",))
    await send(telegram_fake, Address("telegram", "42"), notice)
    (req,) = telegram_fake.delivered("42")
    assert "3 rules &lt;loaded&gt;" in req.params["text"]


@pytest.mark.parametrize(
    ("fault", "permanent"),
    [
        ("blocked", True),
        ("kicked", True),
        ("chat_not_found", True),
        ("server_error", False),
        ("unauthorized", False),  # the token, not the chat: never disable a destination
        ("bad_request", False),  # a bad message: retried, dead by age, chat kept
    ],
)
async def test_failures_map_to_delivery_errors(telegram_fake, fault, permanent) -> None:
    telegram_fake.inject(fault, chat_id="-5", times=1)
    with pytest.raises(DeliveryError) as err:
        await send(telegram_fake, Address("telegram", "-5"))
    assert err.value.permanent is permanent and err.value.retry_after is None
    assert telegram_fake.delivered() == []


async def test_flood_control_gives_retry_after(telegram_fake) -> None:
    telegram_fake.inject({"preset": "too_many_requests", "retry_after": 3}, times=1)
    with pytest.raises(DeliveryError) as err:
        await send(telegram_fake, Address("telegram", "5"))
    assert err.value.retry_after == 3.0 and not err.value.permanent


async def test_a_hang_past_the_timeout_is_transient(telegram_fake) -> None:
    telegram_fake.inject(hang(5.0), times=1)
    t0 = time.monotonic()
    with pytest.raises(DeliveryError) as err:
        await send(telegram_fake, Address("telegram", "5"))
    assert time.monotonic() - t0 < 3.0  # the 1 s read timeout, not the 5 s hang
    assert not err.value.permanent and err.value.retry_after is None
    assert "TimedOut" in str(err.value)


async def test_connection_refused_is_transient(telegram_fake) -> None:
    telegram_fake.refuse_connections()
    with pytest.raises(DeliveryError) as err:
        await send(telegram_fake, Address("telegram", "5"))
    assert not err.value.permanent and err.value.retry_after is None


async def test_chat_migrated_is_followed(telegram_fake) -> None:
    telegram_fake.inject({"preset": "migrated", "new_chat_id": -1009}, chat_id="-9", times=1)
    result = await send(telegram_fake, Address("telegram", "-9"))
    assert result.migrated_to == "-1009"
    assert len(telegram_fake.delivered("-1009")) == 1 and telegram_fake.delivered("-9") == []


async def test_chat_migrated_onto_a_destination_is_not_followed(telegram_fake) -> None:
    """The new chat is already a destination: it gets its own copy, so nothing is posted
    there and the old destination is refused for good (the worker disables it)."""
    telegram_fake.inject({"preset": "migrated", "new_chat_id": -1009}, chat_id="-9")
    asked: list[Address] = []

    async def is_destination(address: Address) -> bool:
        asked.append(address)
        return True

    tg = sender(telegram_fake)
    tg.check_destinations(is_destination)
    with pytest.raises(DeliveryError, match="-1009, which is already a destination") as err:
        await tg.send(Address("telegram", "-9", "7"), alert_group())
    await tg.stop()
    assert err.value.permanent
    assert asked == [Address("telegram", "-1009", "7")]
    assert telegram_fake.delivered() == []


async def test_the_token_never_appears_in_logs(telegram_fake, caplog) -> None:
    install()
    telegram_fake.inject("unauthorized", times=1)  # PTB puts the token in some messages
    with caplog.at_level(logging.DEBUG):
        tg = sender(telegram_fake)
        with pytest.raises(DeliveryError):
            await tg.send(Address("telegram", "5"), alert_group())
        await tg.send(Address("telegram", "5"), alert_group())
        await tg._bot.get_me()  # noqa: SLF001 - a plain Bot API call, logged by PTB and httpx
        logging.getLogger("probe").error("leak? %s", f"https://x/bot{TEST_TOKEN}/getMe")
        await tg.stop()
    assert caplog.records  # something was logged at DEBUG ...
    assert "probe" in caplog.text
    assert TEST_TOKEN not in caplog.text  # ... but never the token
    assert TEST_TOKEN.split(":")[1] not in caplog.text
