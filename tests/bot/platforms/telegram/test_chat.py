"""TelegramChat: the real python-telegram-bot polling the fake Bot API over HTTP.

Updates arrive through `getUpdates` (the fake's push_command / push_message /
push_callback); what the fake recorded is the evidence: the visible text of each answer (the
fake parses our HTML as Telegram would and refuses bad markup), photos, keyboards, edits.
Each command goes to its own chat, so the per-chat cap (1 message/s, on in the fake and in the
adapter's limiter) never slows the suite down.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from bot.commands.table import COMMANDS, menu
from bot.config.delivery import DeliverySettings
from bot.model.errors import ConfigError
from bot.platforms import chat_common
from bot.platforms.telegram import render_reply as reply_telegram
from bot.platforms.telegram.chat import TelegramChat
from tests.bot.platforms import chat_helpers
from tests.bot.platforms.chat_helpers import (
    BAD_INPUT,
    NEEDS_SUBSCRIPTION,
    Holder,
    expected,
    presubscribe,
)
from tests.fakes.telegram_api import TEST_TOKEN, FakeTelegram, visible_text

pytestmark = [
    pytest.mark.anyio,
]
# the shared fixtures: the demo market state (and one a session earlier), a context factory
chat_state = chat_helpers.chat_state
earlier_state = chat_helpers.earlier_state
holder = chat_helpers.holder
ADMIN = 1001
USER = 7
BOT = "rotation_test_bot"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@asynccontextmanager
async def running(fake: FakeTelegram, holder: Holder) -> AsyncIterator[TelegramChat]:
    settings = DeliverySettings(timeout=3.0, connect_timeout=1.0)
    chat = TelegramChat.create(
        TEST_TOKEN,
        holder.context_for,
        settings,
        admins=[str(ADMIN)],
        base_url=fake.base_url,
        poll_timeout=1.0,
    )
    await chat.start()
    try:
        yield chat
    finally:
        await chat.stop()


def shown(rec) -> str:
    """What the user sees of a recorded send (text or caption), checked as Telegram would."""
    text, error = visible_text(rec.text or "", rec.params.get("parse_mode"))
    assert error is None, error
    return text


def answers(fake: FakeTelegram, chat: int | str) -> list[str]:
    return [shown(r) for r in fake.delivered(chat)]


async def until_answered(fake: FakeTelegram, chats, n: int = 1, timeout: float = 10.0) -> None:
    await fake.await_until(
        lambda: all(len(fake.delivered(c)) >= n for c in chats), timeout, "answers"
    )


def keyboard(rec) -> list[list[dict]]:
    return (rec.params.get("reply_markup") or {}).get("inline_keyboard", [])


# --- every command, by polling ----------------------------------------------------------


async def test_every_command_answers_with_the_snapshots_numbers(telegram_fake, holder, chat_state):
    want = expected(chat_state)
    chats = {}
    async with running(telegram_fake, holder):
        for i, line in enumerate(want):
            chats[line] = 5000 + i
            if line in NEEDS_SUBSCRIPTION:
                presubscribe(holder, "telegram", str(chats[line]))
            telegram_fake.push_command(chats[line], 5000 + i, "/" + line)
        await until_answered(telegram_fake, chats.values())
    for line, chat in chats.items():
        (rec,) = telegram_fake.delivered(chat)
        text = shown(rec)
        for piece in want[line]:
            assert piece in text, f"/{line}: {piece!r} not in {text[:300]!r}"
        assert rec.outcome == "ok"
    # market answers with a chart are photos whose caption holds the whole reply
    for line in ("snapshot", "sector XLF", "sectors", "breadth", "chart RSP vs SPY"):
        (rec,) = telegram_fake.delivered(chats[line])
        assert rec.method == "sendPhoto" and rec.files["photo"].data[:4] == b"\x89PNG"
        assert rec.params["parse_mode"] == "HTML"
        assert ("<pre>" in rec.text) == (line != "chart RSP vs SPY")  # tables in <pre>
    # the getUpdates offset confirmed every update: nothing is left to poll again
    assert telegram_fake.updates == []


async def test_menu_and_handlers_come_from_the_one_command_table(telegram_fake, holder):
    async with running(telegram_fake, holder) as chat:
        handled = set()
        for handler in chat.app.handlers[0]:
            handled |= set(getattr(handler, "commands", ()))
    table = {name for c in COMMANDS for name in (c.name, *c.aliases)}
    assert handled == table
    menu_items = [{"command": n, "description": s} for n, s in menu()]
    assert telegram_fake.commands() == menu_items
    assert [c["command"] for c in menu_items] == [c.name for c in COMMANDS if c.in_menu]


# --- private chats and groups ------------------------------------------------------------


async def test_private_chat_takes_plain_words_and_hints_at_help(telegram_fake, holder):
    async with running(telegram_fake, holder):
        telegram_fake.push_message(11, 11, "snapshot")  # no slash
        telegram_fake.push_message(12, 12, "good morning")
        telegram_fake.push_command(13, 13, "/frobnicate")
        await until_answered(telegram_fake, [11, 12, 13])
    assert "Market snapshot" in answers(telegram_fake, 11)[0]
    assert "Unknown command “good”" in answers(telegram_fake, 12)[0]
    assert "Unknown command “frobnicate”" in answers(telegram_fake, 13)[0]
    assert "help" in answers(telegram_fake, 13)[0]


async def test_groups_answer_commands_and_mentions_only(telegram_fake, holder):
    group = -1001234  # a supergroup
    async with running(telegram_fake, holder):
        telegram_fake.push_message(group, USER, "good morning all")  # not for the bot
        telegram_fake.push_command(group, USER, "/frobnicate")  # maybe for another bot
        telegram_fake.push_command(group, USER, "/snapshot@some_other_bot")
        telegram_fake.push_command(group, USER, f"/breadth@{BOT}")
        telegram_fake.push_message(group, USER, f"@{BOT} sector XLF")
        telegram_fake.push_command(group, USER, f"/frobnicate@{BOT}")
        await telegram_fake.await_until(lambda: len(telegram_fake.delivered(group)) >= 3, 10)
    texts = answers(telegram_fake, group)
    assert len(texts) == 3
    assert any(t.startswith("Breadth") for t in texts)
    assert any(t.startswith("XLF Financials") for t in texts)
    assert any("Unknown command “frobnicate”" in t for t in texts)
    assert not any("Market snapshot" in t for t in texts)
    # a supergroup is a "group" caller, the sender the user
    callers = {(c.chat_id, c.chat_type, c.user_id) for c in holder.callers()}
    assert callers == {(str(group), "group", str(USER))}


async def test_only_admins_change_a_groups_subscription(telegram_fake, holder):
    async with running(telegram_fake, holder):
        telegram_fake.push_command(-100201, USER, "/subscribe")
        telegram_fake.push_command(-100202, ADMIN, "/subscribe")
        telegram_fake.push_command(-100203, USER, "/snapshot")  # reading is for everyone
        await until_answered(telegram_fake, [-100201, -100202, -100203])
    assert "only the bot's admins" in answers(telegram_fake, -100201)[0]
    assert answers(telegram_fake, -100202)[0].startswith("Subscribed")
    assert "Market snapshot" in answers(telegram_fake, -100203)[0]
    admins = {c.chat_id: c.is_admin for c in holder.callers()}
    assert admins == {"-100201": False, "-100202": True, "-100203": False}


async def test_forum_topic_answers_stay_in_the_topic(telegram_fake, holder):
    async with running(telegram_fake, holder):
        telegram_fake.push_command(-100300, USER, "/help", message_thread_id=77)
        await until_answered(telegram_fake, [-100300])
    (rec,) = telegram_fake.delivered(-100300)
    assert rec.params["message_thread_id"] == 77
    assert holder.callers()[0].thread_id == "77"


# --- bad input ------------------------------------------------------------------------------


async def test_bad_input_gets_a_short_escaped_answer(telegram_fake, holder):
    chats = {line: 6000 + i for i, line in enumerate(BAD_INPUT)}
    async with running(telegram_fake, holder):
        for line, chat in chats.items():
            telegram_fake.push_command(chat, chat, "/" + line)
        await until_answered(telegram_fake, chats.values())
    for line, chat in chats.items():
        (rec,) = telegram_fake.delivered(chat)
        text = shown(rec)  # the fake accepted the HTML: markup in the input was escaped
        for piece in BAD_INPUT[line]:
            assert piece in text, f"{line[:40]!r}: {piece!r} not in {text!r}"
        assert len(text) < 500
        assert "<b>" not in text or "“<b>bold</b>”" in text  # shown literally, never as markup


async def test_a_failed_reply_is_logged_and_the_bot_goes_on(telegram_fake, holder, caplog):
    telegram_fake.inject("blocked", chat_id=21, times=1)
    with caplog.at_level(logging.WARNING, "bot.platforms.telegram.chat"):
        async with running(telegram_fake, holder):
            telegram_fake.push_command(21, 21, "/help")
            telegram_fake.push_command(22, 22, "/help")
            await until_answered(telegram_fake, [22])
            await telegram_fake.await_until(lambda: "reply to 21 failed" in caplog.text, 5)
    assert telegram_fake.delivered(21) == []


# --- buttons --------------------------------------------------------------------------------


async def test_sector_picker_buttons_run_the_command(telegram_fake, holder, chat_state):
    async with running(telegram_fake, holder):
        telegram_fake.push_command(31, 31, "/sector")
        await until_answered(telegram_fake, [31])
        (picker,) = telegram_fake.delivered(31)
        buttons = [b for row in keyboard(picker) for b in row]
        assert len(buttons) == 13 and all(len(row) <= 2 for row in keyboard(picker))
        xlf = next(b for b in buttons if b["text"].startswith("XLF"))
        message_id = picker.response["result"]["message_id"]
        telegram_fake.push_callback(31, 31, xlf["callback_data"], message_id=message_id)
        await until_answered(telegram_fake, [31], n=2)
    answer = telegram_fake.delivered(31)[1]
    assert answer.method == "sendPhoto"
    for piece in expected(chat_state)["sector XLF"]:
        assert piece in shown(answer)
    assert telegram_fake.count("answerCallbackQuery", outcome="ok") == 1


async def test_refresh_edits_the_chart_in_place(telegram_fake, holder, chat_state, earlier_state):
    holder.state = earlier_state
    async with running(telegram_fake, holder):
        telegram_fake.push_command(41, 41, "/snapshot")
        await until_answered(telegram_fake, [41])
        (first,) = telegram_fake.delivered(41)
        message_id = first.response["result"]["message_id"]
        assert "2026-10-29" in shown(first)
        (refresh,) = [b for row in keyboard(first) for b in row]
        holder.state = chat_state  # the bot refreshed its data
        telegram_fake.push_callback(41, 41, refresh["callback_data"], message_id=message_id)
        await telegram_fake.await_until(lambda: telegram_fake.count("editMessageMedia") == 1, 5)
        # pressed again with nothing new: no edit, just "Up to date"
        telegram_fake.push_callback(41, 41, refresh["callback_data"], message_id=message_id)
        await telegram_fake.await_until(
            lambda: telegram_fake.count("answerCallbackQuery", outcome="ok") == 2, 5
        )
    edited = telegram_fake.message(41, message_id)
    assert "Market snapshot · 2026-10-30" in edited["caption"]
    assert edited["photo"][0]["file_size"] > 1000
    assert telegram_fake.count("editMessageMedia") == 1
    toasts = [r.params.get("text") for r in telegram_fake.requests("answerCallbackQuery")]
    assert toasts == ["Updated", "Up to date"]
    assert len(telegram_fake.delivered(41)) == 1  # nothing sent anew


async def test_refresh_of_a_long_reply_edits_its_text_and_its_chart(
    telegram_fake, holder, chat_state, earlier_state, monkeypatch
):
    monkeypatch.setattr(reply_telegram, "CAPTION_LIMIT", 120)  # force photo + text
    telegram_fake.set_caps(enabled=False)  # photo and text to one chat within a second
    holder.state = earlier_state
    async with running(telegram_fake, holder):
        telegram_fake.push_command(51, 51, "/sector XLF")
        await until_answered(telegram_fake, [51], n=2)
        photo, text = telegram_fake.delivered(51)
        assert photo.method == "sendPhoto" and keyboard(photo) == []
        assert shown(photo).startswith("XLF Financials · 2026-10-29")
        (refresh,) = [b for row in keyboard(text) for b in row]
        photo_id = photo.response["result"]["message_id"]
        assert refresh["callback_data"] == f"r{photo_id}:sector XLF"
        holder.state = chat_state
        text_id = text.response["result"]["message_id"]
        telegram_fake.push_callback(51, 51, refresh["callback_data"], message_id=text_id)
        await telegram_fake.await_until(lambda: telegram_fake.count("editMessageText") == 1, 5)
    assert telegram_fake.count("editMessageMedia") == 1
    assert "2026-10-30" in telegram_fake.message(51, photo_id)["caption"]
    assert "2026-10-30" in telegram_fake.message(51, text_id)["text"]


async def test_forged_or_stale_button_data_is_ignored(telegram_fake, holder):
    async with running(telegram_fake, holder):
        telegram_fake.push_callback(61, 61, "not ours")
        telegram_fake.push_callback(62, 62, "c:subscribe", chat_type="supergroup")
        await telegram_fake.await_until(
            lambda: telegram_fake.count("answerCallbackQuery", outcome="ok") == 2, 5
        )
    assert telegram_fake.delivered(61) == []
    # a pressed command is checked like a typed one: no subscribing a group without admin
    assert telegram_fake.delivered(62) == []
    assert telegram_fake.requests("answerCallbackQuery")[-1].params["text"].startswith("Sorry")


# --- start-up ------------------------------------------------------------------------------


async def test_telegram_down_at_start_is_retried_in_the_background(
    telegram_fake, holder, monkeypatch
):
    monkeypatch.setattr(chat_common, "FIRST_DELAY", 0.05)
    telegram_fake.refuse_connections()
    async with running(telegram_fake, holder) as chat:  # start() returns: alerts go on
        assert not chat.connected.is_set()
        telegram_fake.push_command(71, 71, "/help")
        telegram_fake.accept_connections()
        await asyncio.wait_for(chat.connected.wait(), 5)
        await until_answered(telegram_fake, [71])
    assert answers(telegram_fake, 71)[0].startswith("Commands")


async def test_a_rejected_token_fails_the_start_in_one_line_without_the_token(holder):
    async with FakeTelegram(token="999:the-real-one") as fake:
        with pytest.raises(ConfigError) as caught:
            async with running(fake, holder):
                pass
    message = str(caught.value)
    assert message.startswith("Telegram refused TELEGRAM_BOT_TOKEN")
    assert TEST_TOKEN not in message and TEST_TOKEN.split(":")[1] not in message
    # nothing in the chain holds it either (PTB's InvalidToken names the token)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


async def test_message_is_not_modified_is_harmless(telegram_fake, holder, monkeypatch):
    holder.charts = False
    async with running(telegram_fake, holder):
        telegram_fake.push_command(81, 81, "/status")
        await until_answered(telegram_fake, [81])
        (sent,) = telegram_fake.delivered(81)
        (refresh,) = [b for row in keyboard(sent) for b in row]
        # make the adapter think the text changed: Telegram then says "not modified"
        monkeypatch.setattr(reply_telegram, "visible_text", lambda html: "something else")
        message_id = sent.response["result"]["message_id"]
        telegram_fake.push_callback(81, 81, refresh["callback_data"], message_id=message_id)
        await telegram_fake.await_until(
            lambda: telegram_fake.count("answerCallbackQuery", outcome="ok") == 1, 5
        )
    (edit,) = telegram_fake.requests("editMessageText")
    assert "not modified" in edit.response["description"]
    assert telegram_fake.requests("answerCallbackQuery")[0].params["text"] == "Up to date"
    assert len(telegram_fake.delivered(81)) == 1  # not sent again
