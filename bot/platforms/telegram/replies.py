"""Sending and editing command replies on Telegram: the answering half of `TelegramChat`.

A rendered reply (`bot.platforms.telegram.render_reply.TelegramReply`) goes out as the photo, then
the text parts, the keyboard on the last message; each send waits for its slot in the shared
`SendLimiter` (the caps alerts keep too), and a short flood-control wait is sat out once.
A refresh edits in place: the caption and photo of a single photo message (editMessageMedia),
or a text message and the chart sent just before it. Telegram's "message is not modified"
means the message already shows the answer; it is not an error. Nothing here raises a
Telegram error: a reply that cannot be sent is logged (the user asked; we could not answer).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    InputMediaPhoto,
    LinkPreviewOptions,
    Message,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, RetryAfter, TelegramError

from bot.commands import Caller
from bot.delivery import SendLimiter
from bot.platforms.telegram import render_reply as render
from bot.platforms.telegram.render_reply import TelegramReply
from bot.platforms.telegram.sender import retry_after_seconds

log = logging.getLogger("bot.platforms.telegram.chat")

#: a reply that hits a 429 waits this long at most, once; a longer wait drops the reply
MAX_REPLY_WAIT = 10.0
_NOT_MODIFIED = "message is not modified"
_NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


def markup(reply: TelegramReply, photo_id: int | None = None) -> InlineKeyboardMarkup | None:
    """The reply's keyboard; refresh buttons name `photo_id`, the chart sent before."""
    rows = [
        [
            InlineKeyboardButton(b.label, callback_data=render.callback_data(b, photo_id))
            for b in row
        ]
        for row in reply.keyboard
    ]
    return InlineKeyboardMarkup(rows) if rows else None


class TelegramReplies:
    """Delivers, edits and acknowledges replies for one bot."""

    def __init__(self, bot: Bot, limiter: SendLimiter | None) -> None:
        self._bot = bot
        self._limiter = limiter

    async def _call(self, chat_id: str, method: Callable[..., Any], **kw: Any) -> Any:
        """One send within the caps; the result, or None when it cannot be sent."""
        for attempt in range(2):
            try:
                if self._limiter is None:
                    return await method(chat_id=chat_id, **kw)
                async with self._limiter.slot(chat_id):
                    return await method(chat_id=chat_id, **kw)
            except RetryAfter as exc:
                wait = retry_after_seconds(exc)
                if attempt or wait > MAX_REPLY_WAIT:
                    log.warning(
                        "telegram: reply to %s dropped: flood control %.0f s", chat_id, wait
                    )
                    return None
                await asyncio.sleep(wait)
            except TelegramError as exc:  # blocked, kicked, network: logged, not raised
                log.warning("telegram: reply to %s failed: %s", chat_id, exc)
                return None
        return None

    async def deliver(self, caller: Caller, reply: TelegramReply) -> None:
        """The photo (with its caption), then the text parts; the keyboard on the last."""
        chat, thread = caller.chat_id, int(caller.thread_id) if caller.thread_id else None
        photo_id = None
        if reply.photo is not None:
            sent = await self._call(
                chat,
                self._bot.send_photo,
                photo=InputFile(reply.photo, filename=reply.filename),
                caption=reply.caption,
                parse_mode=ParseMode.HTML,
                message_thread_id=thread,
                reply_markup=None if reply.texts else markup(reply),
            )
            if sent is None:
                return
            photo_id = sent.message_id
        for i, text in enumerate(reply.texts):
            last = i == len(reply.texts) - 1
            sent = await self._call(
                chat,
                self._bot.send_message,
                text=text,
                parse_mode=ParseMode.HTML,
                message_thread_id=thread,
                link_preview_options=_NO_PREVIEW,
                reply_markup=markup(reply, photo_id) if last else None,
            )
            if sent is None:
                return

    async def edit(
        self, message: Message, reply: TelegramReply, photo_id: int | None
    ) -> bool | None:
        """Edit the pressed message (and its chart) in place: True edited, None unchanged,
        False when the new reply has another shape or the edit failed (send it anew)."""
        chat = str(message.chat.id)
        if message.photo and reply.photo is not None and not reply.texts:
            if message.caption == render.visible_text(reply.caption or ""):
                return None  # same words, same session: the same chart
            return await self._edit_media(chat, message.message_id, reply, markup(reply))
        shape_differs = (reply.photo is None) != (photo_id is None)
        if message.text is None or len(reply.texts) != 1 or shape_differs:
            return False
        if message.text == render.visible_text(reply.texts[0]):
            return None
        if reply.photo is not None and photo_id is not None:
            await self._edit_media(chat, photo_id, reply, None)
        return await _ok_or_unchanged(
            self._bot.edit_message_text(
                reply.texts[0],
                chat_id=chat,
                message_id=message.message_id,
                parse_mode=ParseMode.HTML,
                link_preview_options=_NO_PREVIEW,
                reply_markup=markup(reply, photo_id),
            )
        )

    async def _edit_media(
        self, chat: str, message_id: int, reply: TelegramReply, keyboard: Any
    ) -> bool | None:
        assert reply.photo is not None  # only a reply with a chart edits a photo
        media = InputMediaPhoto(
            InputFile(reply.photo, filename=reply.filename, attach=True),
            caption=reply.caption,
            parse_mode=ParseMode.HTML,
        )
        return await _ok_or_unchanged(
            self._bot.edit_message_media(
                media, chat_id=chat, message_id=message_id, reply_markup=keyboard
            )
        )

    @staticmethod
    async def toast(query: Any, text: str | None = None, alert: bool = False) -> None:
        """answerCallbackQuery (stops the button's spinner); a text shows as a toast, or as
        a dialog with `alert` (Telegram allows 200 characters)."""
        try:
            await query.answer(text=text[:200] if text else None, show_alert=alert)
        except TelegramError as exc:  # too old or already answered: nothing to fix
            log.debug("telegram: answerCallbackQuery failed: %s", exc)


async def _ok_or_unchanged(call: Any) -> bool | None:
    try:
        await call
    except BadRequest as exc:
        if _NOT_MODIFIED in str(exc).lower():
            return None  # harmless: the message already shows this
        log.warning("telegram: edit failed: %s", exc)
        return False
    except TelegramError as exc:
        log.warning("telegram: edit failed: %s", exc)
        return False
    return True
