"""The fake Bot API as the real python-telegram-bot sees it (fake in a thread, PTB in the test's
loop): sends, caps as RetryAfter, faults as PTB's exceptions, timeouts, getUpdates + handlers."""

from __future__ import annotations

import asyncio
import struct
import time
import zlib
from datetime import timedelta

import httpx
import pytest
import telegram
from telegram import BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes
from telegram.request import HTTPXRequest

from tests.fakes.common import Outcome, hang
from tests.fakes.telegram_api import TEST_TOKEN, FakeTelegram, migrated, too_many_requests

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def _timedelta_retry_after(monkeypatch: pytest.MonkeyPatch) -> None:
    """PTB warns when retry_after is read as int; opt in to timedelta (PTB_TIMEDELTA=1)."""
    monkeypatch.setenv("PTB_TIMEDELTA", "1")


def make_bot(fake: FakeTelegram, *, read_timeout: float = 5.0, token: str = TEST_TOKEN):
    request = HTTPXRequest(read_timeout=read_timeout, connect_timeout=1.0)
    return telegram.Bot(
        token, base_url=fake.base_url, base_file_url=fake.base_file_url, request=request
    )


def make_app(fake: FakeTelegram) -> Application:
    return (
        Application.builder()
        .token(TEST_TOKEN)
        .base_url(fake.base_url)
        .base_file_url(fake.base_file_url)
        .build()
    )


def png(width: int, height: int) -> bytes:
    """A minimal valid PNG header with the given size (enough for the fake and PTB)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return (
        b"\x89PNG\r\n\x1a\n"
        + struct.pack(">I", len(ihdr))
        + chunk
        + struct.pack(">I", zlib.crc32(chunk))
    )


# -- sending and recording ---------------------------------------------------------------------


async def test_send_message_is_recorded_and_ids_count_per_chat(telegram_fake: FakeTelegram):
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Refresh", callback_data="r")]])
    async with make_bot(telegram_fake) as bot:
        first = await bot.send_message(42, "<b>XLF</b> &amp; XLK", parse_mode="HTML")
        other = await bot.send_message(-100777, "group", reply_markup=markup)
    assert (first.message_id, first.text, first.chat.type) == (1, "XLF & XLK", "private")
    assert (other.message_id, other.chat.type) == (1, "supergroup")
    assert other.reply_markup == markup

    [rec] = telegram_fake.delivered(42)
    assert rec.method == "sendMessage" and rec.chat_id == "42" and rec.token == TEST_TOKEN
    assert rec.params == {"chat_id": 42, "text": "<b>XLF</b> &amp; XLK", "parse_mode": "HTML"}
    assert (rec.outcome, rec.http_status, rec.response["result"]["message_id"]) == ("ok", 200, 1)
    group = telegram_fake.requests("sendMessage", chat_id=-100777)[0]
    assert group.params["reply_markup"] == markup.to_dict()  # decoded from PTB's JSON string
    assert [r.method for r in telegram_fake.requests()] == ["getMe", "sendMessage", "sendMessage"]
    assert rec.to_json()["params"]["text"] == "<b>XLF</b> &amp; XLK"


async def test_same_loop_mode_also_serves_ptb():
    async with FakeTelegram() as fake, make_bot(fake) as bot:
        me = await bot.get_me()
        assert me.username == fake.bot_username and me.id == 123456789


async def test_send_photo_multipart_and_file_download(telegram_fake: FakeTelegram):
    image = png(640, 480)
    async with make_bot(telegram_fake) as bot:
        sent = await bot.send_photo(42, photo=image, caption="<i>chart</i>", parse_mode="HTML")
        file = await bot.get_file(sent.photo[-1].file_id)
        downloaded = await file.download_as_bytearray()
    assert (sent.photo[-1].width, sent.photo[-1].height, sent.caption) == (640, 480, "chart")
    [rec] = telegram_fake.delivered(42)
    assert rec.files["photo"].data == image and rec.params["caption"] == "<i>chart</i>"
    assert bytes(downloaded) == image


async def test_commands_menu_round_trip(telegram_fake: FakeTelegram):
    commands = [BotCommand("snapshot", "Market breadth now"), BotCommand("sector", "One sector")]
    async with make_bot(telegram_fake) as bot:
        assert await bot.set_my_commands(commands)
        assert await bot.get_my_commands() == tuple(commands)
        with pytest.raises(BadRequest, match="(?i)bot_command_invalid"):
            await bot.set_my_commands([BotCommand("Snap-Shot", "bad name")])
    assert telegram_fake.commands()[0] == {
        "command": "snapshot",
        "description": "Market breadth now",
    }


@pytest.mark.parametrize(
    "text",
    ["<b>unclosed", "<script>x</script>", "1 < 2", "fish & chips", "<!channel>", "a</b>", "<br/>"],
)
async def test_bad_html_is_refused_like_the_bot_api(telegram_fake: FakeTelegram, text: str):
    async with make_bot(telegram_fake) as bot:
        with pytest.raises(BadRequest, match="(?i)can't parse entities"):
            await bot.send_message(42, text, parse_mode="HTML")
    assert telegram_fake.delivered() == []


async def test_length_limit_counts_visible_text(telegram_fake: FakeTelegram):
    async with make_bot(telegram_fake) as bot:
        await bot.send_message(1, "<b>" + "x" * 4096 + "</b>", parse_mode="HTML")
        with pytest.raises(BadRequest, match="(?i)message is too long"):
            await bot.send_message(2, "y" * 4097)
    assert [r.chat_id for r in telegram_fake.delivered()] == ["1"]


# -- caps ------------------------------------------------------------------------------------


async def test_second_message_to_a_chat_within_a_second_gets_retry_after(
    telegram_fake: FakeTelegram,
):
    async with make_bot(telegram_fake) as bot:
        await bot.send_message(42, "one")
        with pytest.raises(RetryAfter) as refused:
            await bot.send_message(42, "two")
        await bot.send_message(43, "another chat is not held back")
    assert refused.value.retry_after == timedelta(seconds=1)
    first, second = telegram_fake.requests("sendMessage", 42)
    assert (first.outcome, second.outcome, second.cap) == ("ok", "rate_limited", "chat")
    assert second.response == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 1",
        "parameters": {"retry_after": 1},
    }
    assert [r.text for r in telegram_fake.delivered()] == ["one", "another chat is not held back"]


async def test_31st_message_in_the_window_hits_the_global_cap(telegram_fake: FakeTelegram):
    telegram_fake.set_caps(time_scale=0.2)  # a 5 s window: slow machines cannot slip through
    async with make_bot(telegram_fake) as bot:
        for chat in range(1, 31):
            await bot.send_message(chat, "alert")
        with pytest.raises(RetryAfter) as refused:
            await bot.send_message(31, "alert")
    assert telegram_fake.count("sendMessage", delivered=True) == 30
    [rejected] = telegram_fake.requests(outcome=Outcome.RATE_LIMITED)
    assert (rejected.chat_id, rejected.cap) == ("31", "global")
    assert timedelta(seconds=4) <= refused.value.retry_after <= timedelta(seconds=5)


async def test_group_chats_get_20_messages_a_minute(telegram_fake: FakeTelegram):
    telegram_fake.set_cap("chat", enabled=False)
    async with make_bot(telegram_fake) as bot:
        for i in range(20):
            await bot.send_message(-5, f"alert {i}")
        with pytest.raises(RetryAfter) as refused:
            await bot.send_message(-5, "one too many")
        await bot.send_message(5, "private chats are not groups")
    assert len(telegram_fake.delivered(-5)) == 20
    assert telegram_fake.requests(outcome="rate_limited")[0].cap == "group"
    assert timedelta(seconds=59) <= refused.value.retry_after <= timedelta(seconds=60)


async def test_time_scale_shortens_the_windows(telegram_fake: FakeTelegram):
    telegram_fake.set_caps(time_scale=10)  # the 1 s per-chat window lasts 0.1 s
    async with make_bot(telegram_fake) as bot:
        await bot.send_message(42, "one")
        with pytest.raises(RetryAfter):
            await bot.send_message(42, "too soon")
        await asyncio.sleep(0.12)
        await bot.send_message(42, "later")
    assert [r.text for r in telegram_fake.delivered(42)] == ["one", "later"]


async def test_caps_can_be_switched_off(telegram_fake: FakeTelegram):
    telegram_fake.set_caps(enabled=False)
    async with make_bot(telegram_fake) as bot:
        for _ in range(3):
            await bot.send_message(42, "burst")
    assert len(telegram_fake.delivered(42)) == 3


# -- faults ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "error", "message"),
    [
        ("blocked", Forbidden, "bot was blocked by the user"),
        ("kicked", Forbidden, "bot was kicked from the group chat"),
        ("chat_not_found", BadRequest, "(?i)chat not found"),
        ("server_error", NetworkError, "Internal Server Error"),
        ("unauthorized", InvalidToken, None),
    ],
)
async def test_faults_surface_as_ptb_errors(
    telegram_fake: FakeTelegram, fault: str, error: type[Exception], message: str | None
):
    telegram_fake.inject(fault, chat_id=-5, times=1)
    async with make_bot(telegram_fake) as bot:
        with pytest.raises(error, match=message) as raised:
            await bot.send_message(-5, "alert")
        await bot.send_message(-6, "other chats are unaffected")
        telegram_fake.set_caps(enabled=False)
        await bot.send_message(-5, "times=1: the next one passes")
    assert type(raised.value) is error  # BadRequest is a NetworkError subclass in PTB
    [failed] = telegram_fake.requests(outcome="fault")
    assert (failed.chat_id, failed.fault, failed.delivered) == ("-5", fault, False)
    assert [r.chat_id for r in telegram_fake.delivered()] == ["-6", "-5"]


async def test_chat_migrated_and_custom_429(telegram_fake: FakeTelegram):
    telegram_fake.inject(migrated(-1009876), chat_id=-5)  # every time, like a real migration
    telegram_fake.inject(too_many_requests(7), chat_id=8, times=1)
    async with make_bot(telegram_fake) as bot:
        for _ in range(2):
            with pytest.raises(ChatMigrated) as moved:
                await bot.send_message(-5, "alert")
            assert moved.value.new_chat_id == -1009876
        with pytest.raises(RetryAfter) as slow:
            await bot.send_message(8, "alert")
    assert slow.value.retry_after == timedelta(seconds=7)


async def test_hang_past_the_client_timeout(telegram_fake: FakeTelegram):
    telegram_fake.inject(hang(), chat_id=42, times=1)  # never answers
    async with make_bot(telegram_fake, read_timeout=0.2) as bot:
        with pytest.raises(TimedOut):
            await bot.send_message(42, "alert")
    [pending] = telegram_fake.requests("sendMessage")
    assert (pending.outcome, pending.fault) == ("pending", "hang")  # visible while in flight


async def test_hang_then_answer_delivers_after_the_client_gave_up(telegram_fake: FakeTelegram):
    telegram_fake.inject(hang(0.4, then="answer"), chat_id=42, times=1)
    async with make_bot(telegram_fake, read_timeout=0.1) as bot:
        with pytest.raises(TimedOut):
            await bot.send_message(42, "alert")
    await telegram_fake.await_until(lambda: telegram_fake.delivered(42) != [], timeout=2)
    [late] = telegram_fake.delivered(42)
    assert late.client_gone and late.outcome == "ok"


async def test_reset_and_refused_connections_are_network_errors(telegram_fake: FakeTelegram):
    telegram_fake.inject("reset", chat_id=42, times=1)
    async with make_bot(telegram_fake) as bot:
        with pytest.raises(NetworkError):
            await bot.send_message(42, "alert")
        port = telegram_fake.port
        telegram_fake.refuse_connections()
        with pytest.raises(NetworkError):
            await bot.send_message(43, "alert")
        telegram_fake.accept_connections()
        await bot.send_message(44, "back")
    assert telegram_fake.port == port
    assert telegram_fake.requests("sendMessage", 42)[0].outcome == Outcome.DROPPED
    assert telegram_fake.requests("sendMessage", 43) == []  # never reached the fake
    assert [r.chat_id for r in telegram_fake.delivered()] == ["44"]


async def test_unknown_method_and_wrong_token():
    async with FakeTelegram(token=TEST_TOKEN) as fake:
        async with httpx.AsyncClient() as client:
            answer = await client.post(f"{fake.base_url}{TEST_TOKEN}/sendCarrierPigeon")
        assert answer.status_code == 404
        assert answer.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
        with pytest.raises(InvalidToken):
            async with make_bot(fake, token="999:WRONG"):
                pass
        assert [r.http_status for r in fake.requests()] == [404, 401]


# -- updates ---------------------------------------------------------------------------------


async def test_pushed_command_reaches_a_command_handler_by_polling(telegram_fake: FakeTelegram):
    app = make_app(telegram_fake)

    async def snapshot(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.effective_message.reply_text(f"snapshot {context.args}")

    app.add_handler(CommandHandler("snapshot", snapshot))
    async with app:
        await app.start()
        await app.updater.start_polling(poll_interval=0.0, timeout=1)
        telegram_fake.push_command(42, 42, "/snapshot XLF")
        await telegram_fake.await_until(lambda: telegram_fake.delivered(42) != [], timeout=3)
        await app.updater.stop()
        await app.stop()
    [reply] = telegram_fake.delivered(42)
    assert reply.text == "snapshot ['XLF']"
    assert telegram_fake.updates == []  # confirmed by the next getUpdates offset


async def test_group_command_addressed_to_the_bot(telegram_fake: FakeTelegram):
    app = make_app(telegram_fake)
    seen: list[tuple[str, int]] = []

    async def status(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        seen.append((update.effective_chat.type, update.effective_user.id))

    app.add_handler(CommandHandler("status", status))
    pushed = telegram_fake.push_command(-1001, 7, "/status@rotation_test_bot", chat_type="group")
    assert pushed["message"]["entities"] == [{"type": "bot_command", "offset": 0, "length": 25}]
    async with app:
        [update] = await app.bot.get_updates()
        await app.process_update(update)
    assert seen == [("group", 7)]


async def test_callback_button_answers_and_edits_in_place(telegram_fake: FakeTelegram):
    app = make_app(telegram_fake)
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Refresh", callback_data="refresh")]])

    async def on_press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.callback_query.answer()
        await update.callback_query.edit_message_text("refreshed", reply_markup=keyboard)

    app.add_handler(CallbackQueryHandler(on_press))
    async with app:
        sent = await app.bot.send_message(42, "snapshot", reply_markup=keyboard)
        telegram_fake.push_callback(42, 42, "refresh", message_id=sent.message_id)
        [update] = await app.bot.get_updates()
        await app.process_update(update)
        with pytest.raises(BadRequest, match="(?i)message is not modified"):
            await app.bot.edit_message_text("refreshed", 42, sent.message_id, reply_markup=keyboard)
        with pytest.raises(BadRequest, match="(?i)query is too old"):
            await app.bot.answer_callback_query(update.callback_query.id)
    assert telegram_fake.message(42, sent.message_id)["text"] == "refreshed"
    assert [r.outcome for r in telegram_fake.requests("editMessageText")] == ["ok", "error"]


async def test_get_updates_offset_semantics(telegram_fake: FakeTelegram):
    ids = [telegram_fake.push_command(42, 42, f"/c{i}")["update_id"] for i in range(3)]
    async with make_bot(telegram_fake) as bot:
        assert [u.update_id for u in await bot.get_updates()] == ids
        assert [u.update_id for u in await bot.get_updates(offset=ids[1])] == ids[1:]
        assert [u.update_id for u in await bot.get_updates(offset=-1)] == ids[2:]
        assert await bot.get_updates(offset=ids[2] + 1) == ()
    assert telegram_fake.updates == []


async def test_long_poll_wakes_on_push_and_times_out_when_idle(telegram_fake: FakeTelegram):
    url = f"{telegram_fake.base_url}{TEST_TOKEN}/getUpdates"
    async with httpx.AsyncClient() as client:
        started = time.monotonic()
        idle = await client.get(url, params={"timeout": "0.2"})
        idle_took = time.monotonic() - started
        poll = asyncio.ensure_future(client.post(url, json={"timeout": 5}))
        await telegram_fake.await_until(lambda: telegram_fake.count(outcome="pending") == 1)
        started = time.monotonic()
        telegram_fake.push_command(42, 42, "/snapshot")
        woken = await poll
        woken_took = time.monotonic() - started
    assert idle.json() == {"ok": True, "result": []} and 0.2 <= idle_took < 1.0
    assert woken.json()["result"][0]["message"]["text"] == "/snapshot" and woken_took < 1.0


async def test_second_poller_ends_the_first_with_conflict_and_webhook_blocks_polling(
    telegram_fake: FakeTelegram,
):
    async with make_bot(telegram_fake) as old, make_bot(telegram_fake) as new:
        first = asyncio.ensure_future(old.get_updates(timeout=5))
        await telegram_fake.await_until(lambda: telegram_fake.count(outcome="pending") == 1)
        assert await new.get_updates() == ()
        with pytest.raises(Conflict, match="terminated by other getUpdates"):
            await first
        await new.set_webhook("https://example.invalid/hook")
        with pytest.raises(Conflict, match="webhook is active"):
            await new.get_updates()
        telegram_fake.push_command(42, 42, "/lost")
        await new.delete_webhook(drop_pending_updates=True)
        assert await new.get_updates() == ()


async def test_edit_reply_markup(telegram_fake: FakeTelegram):
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("XLF", callback_data="XLF")]])
    async with make_bot(telegram_fake) as bot:
        sent = await bot.send_message(42, "pick a sector", reply_markup=keyboard)
        await bot.edit_message_reply_markup(42, sent.message_id, reply_markup=None)
        with pytest.raises(BadRequest, match="(?i)message is not modified"):
            await bot.edit_message_reply_markup(42, sent.message_id, reply_markup=None)
        with pytest.raises(BadRequest, match="(?i)message to edit not found"):
            await bot.edit_message_reply_markup(42, 999, reply_markup=keyboard)
    assert "reply_markup" not in telegram_fake.message(42, sent.message_id)
