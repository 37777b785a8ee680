"""Sending to Telegram with python-telegram-bot.

Sending only: receiving commands lives in a sibling module (`chat`) and can hand its
`Application.bot` to `TelegramSender(bot, ...)`, so both share one HTTP connection pool.
Every python-telegram-bot exception becomes a `DeliveryError` in `delivery_error` below, the
one place that decides what is worth a retry. The rate limiter waits before every part, so a
split message keeps to the per-chat cap too.
"""

from __future__ import annotations

import datetime as dtm
import logging
import os
import warnings

from telegram import Bot, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    RetryAfter,
    TelegramError,
)
from telegram.request import HTTPXRequest
from telegram.warnings import PTBDeprecationWarning

from bot.config import DeliverySettings
from bot.delivery import Adapter, DestinationCheck, Rate, SendLimiter, telegram_is_group
from bot.model import (
    Address,
    AlertGroup,
    DeliveryError,
    PartCallback,
    SendResult,
    TextMessage,
    register_secret,
)
from bot.platforms.telegram import render_alerts as render

log = logging.getLogger(__name__)

#: 400 answers that mean the chat itself is gone or closed to the bot (not a bad message)
_REFUSED_400 = (
    "chat not found",
    "peer_id_invalid",
    "group chat was deactivated",
    "user is deactivated",
    "have no rights to send",
    "not enough rights to send",
    "need administrator rights",
    "bot was kicked",
    "bot is not a member",
    "message thread not found",
    "topic_closed",
    "topic_deleted",
)


def delivery_error(exc: TelegramError) -> DeliveryError:
    """What a python-telegram-bot error means for the outbox."""
    text = str(exc)
    if isinstance(exc, RetryAfter):
        return DeliveryError(f"flood control: {text}", retry_after=retry_after_seconds(exc))
    if isinstance(exc, Forbidden):  # 403: blocked, kicked, not a member, deactivated
        return DeliveryError(f"refused (403): {text}", permanent=True)
    if isinstance(exc, BadRequest):
        refused = any(phrase in text.lower() for phrase in _REFUSED_400)
        return DeliveryError(f"bad request (400): {text}", permanent=refused)
    if isinstance(exc, InvalidToken):
        # the bot's token, not this chat: never disable destinations for it
        return DeliveryError(f"TELEGRAM_BOT_TOKEN rejected: {text}")
    return DeliveryError(f"{type(exc).__name__}: {text}")  # 5xx, timeouts, network errors


def retry_after_seconds(exc: RetryAfter) -> float:
    """`RetryAfter.retry_after` is an int or a timedelta depending on PTB_TIMEDELTA, and
    reading it warns in the first case; accept both, quietly."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


class TelegramSender(Adapter):
    """Sends alert groups and notices as Telegram HTML, one part at a time, within caps."""

    name = "telegram"

    def __init__(self, bot: Bot, limiter: SendLimiter, *, owns_bot: bool = False) -> None:
        self._bot = bot
        self._limiter = limiter
        self._owns_bot = owns_bot
        self._requests: list[HTTPXRequest] = []
        self._is_destination: DestinationCheck | None = None

    @property
    def limiter(self) -> SendLimiter:
        """The caps this sender keeps; a chat adapter shares it so replies and alerts
        together stay under Telegram's per-chat and overall limits."""
        return self._limiter

    @classmethod
    def create(
        cls, token: str, settings: DeliverySettings, base_url: str | None = None
    ) -> TelegramSender:
        """A sender with its own `Bot`; `base_url` (TELEGRAM_BASE_URL) is passed as is.

        Opts in to PTB_TIMEDELTA (RetryAfter.retry_after as a timedelta, as in PTB 23) so
        every 429 does not also print a deprecation warning; `retry_after_seconds` reads
        both forms."""
        os.environ.setdefault("PTB_TIMEDELTA", "1")
        register_secret(token)
        tg = settings.telegram
        request = HTTPXRequest(
            connection_pool_size=16,  # ~2 in use at 30/s; more only while some hang
            connect_timeout=settings.connect_timeout,
            read_timeout=settings.timeout,
            write_timeout=settings.timeout,
            pool_timeout=settings.timeout,
        )
        updates = HTTPXRequest(connection_pool_size=1)
        bot = Bot(
            token, base_url=base_url or tg.base_url, request=request, get_updates_request=updates
        )
        self = cls(bot, telegram_limiter(settings), owns_bot=True)
        self._requests = [request, updates]
        return self

    def check_destinations(self, check: DestinationCheck) -> None:
        self._is_destination = check

    async def start(self) -> None:
        """Nothing to connect: the first send opens the connection (no getMe at start, so a
        Telegram outage never stops the bot from starting)."""

    async def stop(self) -> None:
        if self._owns_bot:
            for request in self._requests:
                await request.shutdown()

    async def send(
        self,
        address: Address,
        message: AlertGroup | TextMessage,
        *,
        silent: bool = False,
        skip_parts: int = 0,
        on_part: PartCallback | None = None,
    ) -> SendResult:
        if isinstance(message, AlertGroup):
            parts = render.render_alerts(message)
        else:
            parts = render.render_text_message(message)
        chart = message.chart_png if isinstance(message, TextMessage) else None
        total = len(parts) + (chart is not None)
        chat_id = address.chat_id
        for index in range(skip_parts, total):
            part: str | bytes = parts[index] if index < len(parts) else chart  # type: ignore[assignment]
            try:
                chat_id = await self._send_part(chat_id, address.thread_id, part, silent)
            except TelegramError as exc:
                raise delivery_error(exc) from exc
            if on_part is not None:
                await on_part(index + 1, total)
        migrated = chat_id if chat_id != address.chat_id else None
        return SendResult(parts=total, migrated_to=migrated)

    async def _send_part(
        self, chat_id: str, thread_id: str, text: str | bytes, silent: bool
    ) -> str:
        """Send one part; follows a group's move to a supergroup, unless the new chat is
        already a destination (it gets its own copy: following would repeat each message
        there). Returns the chat id used."""
        try:
            async with self._limiter.slot(chat_id):
                await self._post(chat_id, thread_id, text, silent)
        except ChatMigrated as moved:
            new_id = str(moved.new_chat_id)
            check = self._is_destination
            if check is not None and await check(Address(self.name, new_id, thread_id)):
                raise DeliveryError(
                    f"group moved to {new_id}, which is already a destination", permanent=True
                ) from moved
            log.info("telegram chat %s moved to %s; sending there", chat_id, new_id)
            async with self._limiter.slot(new_id):
                await self._post(new_id, thread_id, text, silent)
            return new_id
        return chat_id

    async def _post(self, chat_id: str, thread_id: str, text: str | bytes, silent: bool) -> None:
        if isinstance(text, bytes):  # a chart
            await self._bot.send_photo(
                chat_id=chat_id,
                photo=text,
                disable_notification=silent,
                message_thread_id=int(thread_id) if thread_id else None,
            )
            return
        await self._bot.send_message(
            chat_id=chat_id,
            text=text,
            parse_mode=ParseMode.HTML,
            disable_notification=silent,
            message_thread_id=int(thread_id) if thread_id else None,
            link_preview_options=LinkPreviewOptions(is_disabled=True),
        )


def telegram_limiter(settings: DeliverySettings) -> SendLimiter:
    """Telegram's caps from the settings: overall, per chat, per group."""
    tg = settings.telegram
    return SendLimiter(
        overall=Rate(tg.overall.count, tg.overall.per),
        per_chat=Rate(tg.per_chat.count, tg.per_chat.per),
        per_group=Rate(tg.per_group.count, tg.per_group.per),
        is_group=telegram_is_group,
        headroom=settings.headroom,
    )
