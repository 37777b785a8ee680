"""A fake Telegram Bot API for python-telegram-bot, on 127.0.0.1 with an ephemeral port.

    with FakeTelegram() as tg:                       # or: async with FakeTelegram() as tg:
        bot = telegram.Bot(TEST_TOKEN, base_url=tg.base_url, base_file_url=tg.base_file_url)
        tg.inject("blocked", chat_id=42, times=1)    # next send to chat 42 -> Forbidden
        tg.push_command(42, 42, "/snapshot")         # served by getUpdates
        tg.delivered("42")                           # what reached chat 42

Behaves like the Bot API where tests depend on it: message ids count per chat, HTML
`parse_mode` is checked (unsupported or unbalanced tags, bare `<` or `&` give "can't parse
entities"), text over 4,096 characters (caption 1,024) is refused, edits of unknown or unchanged
messages fail, `getUpdates` long-polls and honours `offset`, and send methods are capped at 30/s
overall, 1/s per chat and 20/min per group (negative chat id) with a 429 and `retry_after`.
"""

from __future__ import annotations

import html
import itertools
import re
import struct
import sys
import time
from html.parser import HTMLParser
from typing import Any

from aiohttp import web

from tests.fakes.common import (
    Answer,
    Cap,
    CapHit,
    CapScope,
    Fault,
    Handler,
    RateCaps,
    RecordedRequest,
    UploadedFile,
    decode_json_fields,
    hang,
    reset,
)
from tests.fakes.server import FakeServer, run_cli
from tests.fakes.telegram_webhook import DeliveryPlan, WebhookAttempt, WebhookDelivery

TEST_TOKEN = "123456789:TEST-fake-telegram-token"

#: Methods that put a message into a chat: these count against the caps.
SEND_METHODS = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "sendMediaGroup",
        "sendAnimation",
        "sendVideo",
        "sendAudio",
        "sendVoice",
        "sendSticker",
        "copyMessage",
        "forwardMessage",
    }
)
MAX_TEXT = 4096
MAX_CAPTION = 1024
#: Parameters that PTB sends JSON-encoded inside form values; decoded before recording.
TYPED_PARAMS = (
    "chat_id",
    "message_id",
    "message_thread_id",
    "from_chat_id",
    "user_id",
    "offset",
    "limit",
    "timeout",
    "reply_to_message_id",
    "disable_notification",
    "protect_content",
    "drop_pending_updates",
    "show_alert",
    "cache_time",
    "reply_markup",
    "entities",
    "caption_entities",
    "commands",
    "scope",
    "link_preview_options",
    "reply_parameters",
    "allowed_updates",
    "media",
)


def telegram_caps(*, enabled: bool = True, time_scale: float = 1.0) -> RateCaps:
    """The Bot API's published limits: 30 messages/s overall, 1/s per chat, 20/min per group."""
    return RateCaps(
        [
            Cap("global", 30, 1.0, CapScope.GLOBAL),
            Cap("chat", 1, 1.0, CapScope.CHAT),
            Cap("group", 20, 60.0, CapScope.GROUP),
        ],
        counted_methods=SEND_METHODS,
        is_group=lambda chat: chat.startswith("-"),
        enabled=enabled,
        time_scale=time_scale,
    )


def _error_body(code: int, description: str, **parameters: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return body


# -- fault presets (inject("name") or inject(preset(...))) ------------------------------------


def server_error(status: int = 500) -> Fault:
    """A 5xx; PTB raises NetworkError."""
    return Fault("server_error", status, _error_body(status, "Internal Server Error"))


def blocked() -> Fault:
    """403: the user blocked the bot; PTB raises Forbidden."""
    return Fault("blocked", 403, _error_body(403, "Forbidden: bot was blocked by the user"))


def kicked() -> Fault:
    """403: the bot was removed from the group; PTB raises Forbidden."""
    return Fault("kicked", 403, _error_body(403, "Forbidden: bot was kicked from the group chat"))


def chat_not_found() -> Fault:
    """400 chat not found; PTB raises BadRequest."""
    return Fault("chat_not_found", 400, _error_body(400, "Bad Request: chat not found"))


def migrated(new_chat_id: int = -1001000000001) -> Fault:
    """400 with migrate_to_chat_id; PTB raises ChatMigrated(new_chat_id)."""
    body = _error_body(
        400,
        "Bad Request: group chat was upgraded to a supergroup chat",
        migrate_to_chat_id=new_chat_id,
    )
    return Fault("migrated", 400, body)


def too_many_requests(retry_after: int = 1) -> Fault:
    """A 429 regardless of the caps; PTB raises RetryAfter."""
    body = _error_body(
        429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after
    )
    return Fault("too_many_requests", 429, body)


def unauthorized() -> Fault:
    """401, as for a revoked token; PTB raises InvalidToken."""
    return Fault("unauthorized", 401, _error_body(401, "Unauthorized"))


def bad_request(description: str = "Bad Request: message text is empty") -> Fault:
    """Any other 400; PTB raises BadRequest(description)."""
    return Fault("bad_request", 400, _error_body(400, description))


PRESETS = {
    "server_error": server_error,
    "blocked": blocked,
    "kicked": kicked,
    "chat_not_found": chat_not_found,
    "migrated": migrated,
    "too_many_requests": too_many_requests,
    "unauthorized": unauthorized,
    "bad_request": bad_request,
    "hang": hang,
    "reset": reset,
}


# -- HTML parse_mode -----------------------------------------------------------------------

_TAGS = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "span",
    "tg-spoiler",
    "a",
    "code",
    "pre",
    "blockquote",
    "tg-emoji",
}
_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


class _TelegramHtml(HTMLParser):
    """Checks text against the Bot API's HTML subset and collects the visible text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []
        self.visible: list[str] = []
        self.error: str | None = None

    def _fail(self, message: str) -> None:
        self.error = self.error or message

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _TAGS:
            self._fail(f'Unsupported start tag "{tag}"')
        elif tag == "span" and ("class", "tg-spoiler") not in attrs:
            self._fail('Unsupported start tag "span"')
        self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._fail(f'Unsupported start tag "{tag}"')

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self._fail(f'Unexpected end tag "{tag}"')
        else:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if "<" in data:
            self._fail('Unsupported start tag ""')
        if "&" in data:
            self._fail("Unsupported HTML entity")
        self.visible.append(data)

    def handle_entityref(self, name: str) -> None:
        if name not in _ENTITIES:
            self._fail(f'Unsupported HTML entity "&{name};"')
        self.visible.append(_ENTITIES.get(name, ""))

    def handle_charref(self, name: str) -> None:
        self.visible.append(html.unescape(f"&#{name};"))

    def handle_comment(self, data: str) -> None:
        self._fail('Unsupported start tag "!--"')

    def handle_decl(self, decl: str) -> None:
        self._fail(f'Unsupported start tag "!{decl}"')

    def unknown_decl(self, data: str) -> None:
        self._fail(f'Unsupported start tag "!{data}"')

    def handle_pi(self, data: str) -> None:
        self._fail(f'Unsupported start tag "?{data}"')


def visible_text(text: str, parse_mode: str | None) -> tuple[str, str | None]:
    """The text a user would see and, for bad HTML, the Bot API's parse error."""
    if (parse_mode or "").upper() != "HTML":
        return text, None
    parser = _TelegramHtml()
    parser.feed(text)
    parser.close()
    if parser.stack and parser.error is None:
        parser.error = f'Can\'t find end tag corresponding to start tag "{parser.stack[-1]}"'
    if parser.rawdata and parser.error is None:  # an unfinished "<..." left unparsed
        parser.error = 'Unsupported start tag ""'
    if parser.error:
        return "", f"Bad Request: can't parse entities: {parser.error}"
    return "".join(parser.visible), None


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def command_entities(text: str) -> list[dict[str, Any]]:
    """Entities the Bot API would attach: a bot_command at offset 0, and @mentions."""
    entities: list[dict[str, Any]] = []
    command = re.match(r"/[A-Za-z0-9_]+(?:@[A-Za-z0-9_]+)?", text)
    if command:
        entities.append({"type": "bot_command", "offset": 0, "length": _utf16_len(command[0])})
    for mention in re.finditer(r"(?<![\w/@])@[A-Za-z0-9_]{5,32}", text):
        offset = _utf16_len(text[: mention.start()])
        entities.append({"type": "mention", "offset": offset, "length": _utf16_len(mention[0])})
    return entities


def _png_size(data: bytes) -> tuple[int, int]:
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        return struct.unpack(">II", data[16:24])
    return (1, 1)


class FakeTelegram(FakeServer):
    """The fake Bot API. `token`: when set, other tokens get 401 Unauthorized.
    `caps`/`time_scale`: see `telegram_caps` and `RateCaps`."""

    kind = "telegram"
    presets = PRESETS
    control_calls = FakeServer.control_calls | {
        "push_message",
        "push_command",
        "push_callback",
        "deliver_to",
        "webhook_info",
        "webhook_attempts",
        "webhook_in_flight",
    }

    def __init__(
        self,
        *,
        token: str | None = None,
        bot_username: str = "rotation_test_bot",
        caps: bool = True,
        time_scale: float = 1.0,
        port: int = 0,
    ) -> None:
        super().__init__(caps=telegram_caps(enabled=caps, time_scale=time_scale), port=port)
        self.token = token
        self.bot_username = bot_username
        prefix = (token or TEST_TOKEN).split(":", 1)[0]
        self.bot_id = int(prefix) if prefix.isdigit() else 123456789
        handlers: dict[str, Handler] = {
            "getMe": self._get_me,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "sendDocument": self._send_document,
            "sendChatAction": self._true,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "editMessageMedia": self._edit_message_media,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "getUpdates": self._get_updates,
            "getChat": self._get_chat,
            "getFile": self._get_file,
            "logOut": self._true,
            "close": self._true,
        }
        self._handlers = {name.lower(): (name, fn) for name, fn in handlers.items()}
        self._webhook_out = WebhookDelivery(self._lock)
        self._reset_state()

    # -- addresses ---------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """For PTB's `base_url` / TELEGRAM_BASE_URL: PTB appends `<token>/<method>`."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.url}/file/bot"

    def endpoints(self) -> dict[str, str]:
        return {"base_url": self.base_url, "base_file_url": self.base_file_url}

    # -- state -------------------------------------------------------------------------------

    def _reset_state(self) -> None:
        with self._lock:
            self._messages: dict[tuple[str, int], dict[str, Any]] = {}
            self._next_message_id: dict[str, int] = {}
            self._updates: list[dict[str, Any]] = []
            self._update_ids = itertools.count(1)
            self._callback_ids = itertools.count(1)
            self._open_callbacks: set[str] = set()
            self._commands: dict[str, list[dict[str, Any]]] = {}
            self._webhook: dict[str, Any] | None = None
            self._files: dict[str, tuple[str, bytes]] = {}  # file_id -> (file_path, bytes)
            self._poll_generation = 0
            if hasattr(self, "_webhook_out"):
                self._webhook_out.reset()

    @property
    def updates(self) -> list[dict[str, Any]]:
        """Updates pushed and not yet confirmed by a getUpdates offset."""
        with self._lock:
            return list(self._updates)

    def message(self, chat_id: str | int, message_id: int) -> dict[str, Any] | None:
        """The current state of a message (after edits), or None."""
        with self._lock:
            return self._messages.get((str(chat_id), int(message_id)))

    def commands(self, scope: dict[str, Any] | None = None, language_code: str = "") -> list:
        """The command menu last set with setMyCommands for that scope."""
        with self._lock:
            return list(self._commands.get(self._scope_key(scope, language_code), []))

    def bot_user(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "Rotation Bot",
            "username": self.bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    @staticmethod
    def chat(chat_id: str | int, chat_type: str | None = None) -> dict[str, Any]:
        """A Chat object; the type follows the id (negative: group, -100...: supergroup)."""
        text = str(chat_id)
        if text.startswith("@"):
            return {"id": -(abs(hash(text)) % 10**12), "type": "channel", "title": text[1:]}
        number = int(text)
        kind = chat_type or (
            "private" if number > 0 else "supergroup" if text.startswith("-100") else "group"
        )
        if kind == "private":
            return {"id": number, "type": "private", "first_name": f"User{number}"}
        return {"id": number, "type": kind, "title": f"{kind.title()} {number}"}

    def _new_message_id(self, chat: str) -> int:
        self._next_message_id[chat] = self._next_message_id.get(chat, 0) + 1
        return self._next_message_id[chat]

    # -- pushing updates (served by getUpdates) ----------------------------------------------

    def push_message(
        self,
        chat_id: str | int,
        user_id: int,
        text: str,
        *,
        chat_type: str | None = None,
        username: str | None = None,
        message_thread_id: int | None = None,
        entities: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Queue a user's message; entities default to `command_entities(text)`."""
        user = {
            "id": user_id,
            "is_bot": False,
            "first_name": f"User{user_id}",
            "username": username or f"user{user_id}",
            "language_code": "en",
        }
        with self._lock:
            chat = str(chat_id)
            message: dict[str, Any] = {
                "message_id": self._new_message_id(chat),
                "from": user,
                "chat": self.chat(chat_id, chat_type),
                "date": int(time.time()),
                "text": text,
            }
            found = command_entities(text) if entities is None else entities
            if found:
                message["entities"] = found
            if message_thread_id is not None:
                message["message_thread_id"] = message_thread_id
                message["is_topic_message"] = True
            self._messages[(chat, message["message_id"])] = message
            update = {"update_id": next(self._update_ids), "message": message}
            self._updates.append(update)
        self._bump()
        self._pump()
        return update

    def push_command(
        self,
        chat_id: str | int,
        user_id: int,
        text: str,
        *,
        chat_type: str | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Queue a command message (`/snapshot`, `/sector XLF`, `/help@botname`) with its
        bot_command entity, as CommandHandler needs. A missing leading "/" is added."""
        if not text.startswith("/"):
            text = "/" + text
        return self.push_message(chat_id, user_id, text, chat_type=chat_type, **kwargs)

    def push_callback(
        self,
        chat_id: str | int,
        user_id: int,
        data: str,
        *,
        message_id: int | None = None,
        chat_type: str | None = None,
    ) -> dict[str, Any]:
        """Queue an inline-button press on `message_id` (a message the bot sent; None makes
        a placeholder bot message). Answer it with answerCallbackQuery."""
        with self._lock:
            chat = str(chat_id)
            message = None if message_id is None else self._messages.get((chat, message_id))
            if message is None:
                message = {
                    "message_id": message_id or self._new_message_id(chat),
                    "from": self.bot_user(),
                    "chat": self.chat(chat_id, chat_type),
                    "date": int(time.time()),
                    "text": "(placeholder)",
                }
                self._messages[(chat, message["message_id"])] = message
            query_id = str(next(self._callback_ids))
            self._open_callbacks.add(query_id)
            query = {
                "id": query_id,
                "from": {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"},
                "chat_instance": f"ci{chat}",
                "data": data,
                "message": message,
            }
            update = {"update_id": next(self._update_ids), "callback_query": query}
            self._updates.append(update)
        self._bump()
        self._pump()
        return update

    # -- routing -----------------------------------------------------------------------------

    def _add_routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/bot{token}/{method}", self._h_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._h_file)

    async def _h_api(self, request: web.Request) -> web.StreamResponse:
        info = request.match_info
        return await self._serve_api(request, info["method"], info["token"])

    async def _h_file(self, request: web.Request) -> web.StreamResponse:
        path = request.match_info["path"]
        with self._lock:
            found = [data for file_path, data in self._files.values() if file_path == path]
        if not found:
            return web.json_response(_error_body(404, "Not Found"), status=404)
        return web.Response(body=found[0], content_type="application/octet-stream")

    def _resolve_method(self, method: str) -> tuple[str, Handler | None]:
        return self._handlers.get(method.lower(), (method, None))

    def _normalize(self, params: dict[str, Any]) -> None:
        decode_json_fields(params, TYPED_PARAMS)

    def _chat_of(self, params: dict[str, Any]) -> str | None:
        chat = params.get("chat_id")
        return None if chat in (None, "") else str(chat)

    def _check_auth(self, method: str, token: str | None) -> Answer | None:
        if self.token is not None and token != self.token:
            return Answer(401, _error_body(401, "Unauthorized"))
        return None

    def _unknown_method(self, method: str) -> Answer:
        return Answer(404, _error_body(404, "Not Found"))

    def _bad_request(self, message: str) -> Answer:
        return Answer(400, _error_body(400, f"Bad Request: {message}"))

    def _rate_limited(self, hit: CapHit) -> Answer:
        seconds = hit.retry_after
        body = _error_body(429, f"Too Many Requests: retry after {seconds}", retry_after=seconds)
        return Answer(429, body)

    # -- methods -----------------------------------------------------------------------------

    @staticmethod
    def _ok(result: Any, *, delivered: bool = False) -> Answer:
        return Answer(200, {"ok": True, "result": result}, delivered=delivered)

    def _true(self, params: dict[str, Any], *_: Any) -> Answer:
        return self._ok(True)

    def _get_me(self, params: dict[str, Any], *_: Any) -> Answer:
        return self._ok(self.bot_user())

    def _get_chat(self, params: dict[str, Any], *_: Any) -> Answer:
        if params.get("chat_id") in (None, ""):
            return self._bad_request("chat_id is empty")
        return self._ok(self.chat(params["chat_id"]))

    def _deliver(self, params: dict[str, Any], **content: Any) -> Answer:
        """Store a new bot message in the chat and answer it."""
        chat = str(params["chat_id"])
        with self._lock:
            message: dict[str, Any] = {
                "message_id": self._new_message_id(chat),
                "from": self.bot_user(),
                "chat": self.chat(params["chat_id"]),
                "date": int(time.time()),
                **content,
            }
            if params.get("message_thread_id") is not None:
                message["message_thread_id"] = params["message_thread_id"]
                message["is_topic_message"] = True
            if params.get("reply_markup") is not None:
                message["reply_markup"] = params["reply_markup"]
            self._messages[(chat, message["message_id"])] = message
        return self._ok(message, delivered=True)

    def _send_message(self, params: dict[str, Any], *_: Any) -> Answer:
        if params.get("chat_id") in (None, ""):
            return self._bad_request("chat_id is empty")
        text = params.get("text")
        if not text:
            return self._bad_request("message text is empty")
        shown, error = visible_text(str(text), params.get("parse_mode"))
        if error:
            return Answer(400, _error_body(400, error))
        if len(shown) > MAX_TEXT:
            return self._bad_request("message is too long")
        return self._deliver(params, text=shown)

    def _send_file(
        self, params: dict[str, Any], files: dict[str, UploadedFile], field: str
    ) -> tuple[dict[str, Any] | None, Answer | None]:
        """Common part of sendPhoto/sendDocument: the file and the caption."""
        if params.get("chat_id") in (None, ""):
            return None, self._bad_request("chat_id is empty")
        upload = files.get(field)
        if upload is None and not params.get(field):
            return None, self._bad_request(f"there is no {field} in the request")
        content: dict[str, Any] = {}
        caption = params.get("caption")
        if caption:
            shown, error = visible_text(str(caption), params.get("parse_mode"))
            if error:
                return None, Answer(400, _error_body(400, error))
            if len(shown) > MAX_CAPTION:
                return None, self._bad_request("message caption is too long")
            content["caption"] = shown
        with self._lock:
            file_id = f"{field}-{len(self._files) + 1}"
            data = upload.data if upload else b""
            self._files[file_id] = (f"{field}s/{file_id}", data)
        content["_file"] = {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_size": len(data),
            "data": data,
        }
        return content, None

    def _send_photo(
        self, params: dict[str, Any], files: dict[str, UploadedFile], *_: Any
    ) -> Answer:
        content, error = self._send_file(params, files, "photo")
        if error or content is None:
            return error or self._bad_request("no photo")
        info = content.pop("_file")
        width, height = _png_size(info.pop("data"))
        content["photo"] = [{**info, "width": width, "height": height}]
        return self._deliver(params, **content)

    def _send_document(
        self, params: dict[str, Any], files: dict[str, UploadedFile], *_: Any
    ) -> Answer:
        content, error = self._send_file(params, files, "document")
        if error or content is None:
            return error or self._bad_request("no document")
        info = content.pop("_file")
        info.pop("data")
        upload = files.get("document")
        info["file_name"] = upload.filename if upload else None
        content["document"] = info
        return self._deliver(params, **content)

    def _find_message(self, params: dict[str, Any]) -> tuple[dict[str, Any] | None, Answer | None]:
        if params.get("inline_message_id"):
            return None, self._ok(True)
        key = (str(params.get("chat_id")), params.get("message_id"))
        message = self._messages.get(key)  # type: ignore[arg-type]
        if message is None:
            return None, self._bad_request("message to edit not found")
        return message, None

    def _edit_message_text(self, params: dict[str, Any], *_: Any) -> Answer:
        text = params.get("text")
        if not text:
            return self._bad_request("message text is empty")
        shown, error = visible_text(str(text), params.get("parse_mode"))
        if error:
            return Answer(400, _error_body(400, error))
        if len(shown) > MAX_TEXT:
            return self._bad_request("MESSAGE_TOO_LONG")
        with self._lock:
            message, answer = self._find_message(params)
            if message is None:
                return answer or self._bad_request("message to edit not found")
            markup = params.get("reply_markup")
            if message.get("text") == shown and message.get("reply_markup") == markup:
                return self._not_modified()
            message["text"] = shown
            self._set_markup(message, markup)
            message["edit_date"] = int(time.time())
            return self._ok(dict(message))

    def _edit_message_media(
        self, params: dict[str, Any], files: dict[str, UploadedFile], *_: Any
    ) -> Answer:
        """A photo (uploaded as attach://NAME) and its caption replace the message's media."""
        media = params.get("media")
        if not isinstance(media, dict) or media.get("type") != "photo":
            return self._bad_request("can't parse InputMedia: media not found")
        attached = str(media.get("media", ""))
        upload = files.get(attached.removeprefix("attach://"))
        if upload is None:
            return self._bad_request("wrong file identifier/HTTP URL specified")
        caption = media.get("caption")
        shown = None
        if caption:
            shown, error = visible_text(str(caption), media.get("parse_mode"))
            if error:
                return Answer(400, _error_body(400, error))
            if len(shown) > MAX_CAPTION:
                return self._bad_request("message caption is too long")
        with self._lock:
            message, answer = self._find_message(params)
            if message is None:
                return answer or self._bad_request("message to edit not found")
            file_id = f"photo-{len(self._files) + 1}"
            self._files[file_id] = (f"photos/{file_id}", upload.data)
            width, height = _png_size(upload.data)
            message["photo"] = [
                {
                    "file_id": file_id,
                    "file_unique_id": f"u{file_id}",
                    "file_size": len(upload.data),
                    "width": width,
                    "height": height,
                }
            ]
            message.pop("text", None)
            if shown:
                message["caption"] = shown
            else:
                message.pop("caption", None)
            self._set_markup(message, params.get("reply_markup"))
            message["edit_date"] = int(time.time())
            return self._ok(dict(message))

    def _edit_message_reply_markup(self, params: dict[str, Any], *_: Any) -> Answer:
        with self._lock:
            message, answer = self._find_message(params)
            if message is None:
                return answer or self._bad_request("message to edit not found")
            markup = params.get("reply_markup")
            if message.get("reply_markup") == markup:
                return self._not_modified()
            self._set_markup(message, markup)
            message["edit_date"] = int(time.time())
            return self._ok(dict(message))

    @staticmethod
    def _set_markup(message: dict[str, Any], markup: Any) -> None:
        if markup is None:
            message.pop("reply_markup", None)
        else:
            message["reply_markup"] = markup

    def _not_modified(self) -> Answer:
        return self._bad_request(
            "message is not modified: specified new message content and reply markup are "
            "exactly the same as a current content and reply markup of the message"
        )

    def _delete_message(self, params: dict[str, Any], *_: Any) -> Answer:
        with self._lock:
            key = (str(params.get("chat_id")), params.get("message_id"))
            if self._messages.pop(key, None) is None:  # type: ignore[arg-type]
                return self._bad_request("message to delete not found")
        return self._ok(True)

    def _answer_callback_query(self, params: dict[str, Any], *_: Any) -> Answer:
        with self._lock:
            query_id = str(params.get("callback_query_id"))
            if query_id not in self._open_callbacks:
                return self._bad_request(
                    "query is too old and response timeout expired or query ID is invalid"
                )
            self._open_callbacks.discard(query_id)
        return self._ok(True)

    @staticmethod
    def _scope_key(scope: Any, language_code: Any) -> str:
        kind = scope.get("type", "default") if isinstance(scope, dict) else "default"
        return f"{kind}:{scope.get('chat_id', '') if isinstance(scope, dict) else ''}:" + str(
            language_code or ""
        )

    def _set_my_commands(self, params: dict[str, Any], *_: Any) -> Answer:
        commands = params.get("commands")
        if not isinstance(commands, list):
            return self._bad_request('parameter "commands" is required')
        for command in commands:
            name = command.get("command", "") if isinstance(command, dict) else ""
            about = command.get("description", "") if isinstance(command, dict) else ""
            if not re.fullmatch(r"[a-z0-9_]{1,32}", name) or not 1 <= len(about) <= 256:
                return self._bad_request("BOT_COMMAND_INVALID")
        with self._lock:
            key = self._scope_key(params.get("scope"), params.get("language_code"))
            self._commands[key] = commands
        return self._ok(True)

    def _get_my_commands(self, params: dict[str, Any], *_: Any) -> Answer:
        return self._ok(self.commands(params.get("scope"), params.get("language_code") or ""))

    def _delete_my_commands(self, params: dict[str, Any], *_: Any) -> Answer:
        with self._lock:
            key = self._scope_key(params.get("scope"), params.get("language_code"))
            self._commands.pop(key, None)
        return self._ok(True)

    def _set_webhook(self, params: dict[str, Any], *_: Any) -> Answer:
        connections = int(params.get("max_connections") or 40)
        if not 1 <= connections <= 100:
            return self._bad_request("bad webhook: max_connections must be 1-100")
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            return self._bad_request("secret token contains unallowed characters")
        with self._lock:
            url = params.get("url") or ""
            self._webhook = (
                {
                    "url": url,
                    "secret_token": secret,
                    "allowed_updates": params.get("allowed_updates"),
                    "max_connections": connections,
                }
                if url
                else None
            )
            if params.get("drop_pending_updates"):
                self._updates.clear()
        self._webhook_out.set_connections(connections)
        self._pump()
        return self._ok(True)

    def _delete_webhook(self, params: dict[str, Any], *_: Any) -> Answer:
        with self._lock:
            self._webhook = None
            if params.get("drop_pending_updates"):
                self._updates.clear()
        return self._ok(True)

    # -- webhook mode: the fake POSTs updates to the bot (tests/fakes/telegram_webhook.py) ----

    def deliver_to(
        self,
        urls: str | list[str],
        *,
        duplicate_every: int = 0,
        late_every: int = 0,
        timeout: float = 5.0,
        retry_delay: float = 0.2,
        max_attempts: int = 5,
    ) -> None:
        """While a webhook is set, POST each update to `urls` (round-robin) instead of the
        registered URL; see `DeliveryPlan` for the other knobs. Updates already queued go
        out at once."""
        plan = DeliveryPlan(
            tuple([urls] if isinstance(urls, str) else urls),
            duplicate_every,
            late_every,
            timeout,
            retry_delay,
            max_attempts,
        )
        with self._lock:
            self._webhook_out.plan = plan
        self._pump()

    def webhook_info(self) -> dict[str, Any] | None:
        """What the last setWebhook registered: url, secret_token, allowed_updates,
        max_connections (None: no webhook)."""
        with self._lock:
            return None if self._webhook is None else dict(self._webhook)

    def webhook_attempts(self, update_id: int | None = None) -> list[WebhookAttempt]:
        """Every POST of an update to the bot, oldest first."""
        return self._webhook_out.attempts(update_id)

    def webhook_in_flight(self) -> int:
        """Updates still being delivered (POSTing, or waiting for a retry)."""
        return self._webhook_out.in_flight

    def _pump(self) -> None:
        """Hand the queued updates to the webhook delivery, when a webhook is set and the
        test said where to deliver (on the fake's loop)."""
        loop = self._loop
        if loop is None:
            return
        if not self._on_loop():
            loop.call_soon_threadsafe(self._pump)
            return
        with self._lock:
            if self._webhook is None or not self._webhook_out.plan.urls:
                return
            ready, self._updates = self._updates, []
            secret = self._webhook.get("secret_token")
            for _ in ready:
                self._webhook_out.begin()
        for update in ready:
            self._spawn(self._webhook_out.deliver(update, secret))

    async def _before_stop(self) -> None:
        await self._webhook_out.close()

    def _get_webhook_info(self, params: dict[str, Any], *_: Any) -> Answer:
        with self._lock:
            url = self._webhook["url"] if self._webhook else ""
            pending = len(self._updates)
        info = {"url": url, "has_custom_certificate": False, "pending_update_count": pending}
        return self._ok(info)

    def _get_file(self, params: dict[str, Any], *_: Any) -> Answer:
        with self._lock:
            found = self._files.get(str(params.get("file_id")))
        if found is None:
            return self._bad_request("invalid file_id")
        file_path, data = found
        return self._ok(
            {
                "file_id": params["file_id"],
                "file_unique_id": f"u{params['file_id']}",
                "file_size": len(data),
                "file_path": file_path,
            }
        )

    async def _get_updates(
        self, params: dict[str, Any], files: dict[str, UploadedFile], rec: RecordedRequest
    ) -> Answer:
        """Long poll: confirm updates below `offset`, answer at once when some are pending,
        else wait up to `timeout` seconds. A newer getUpdates ends this one with 409."""
        offset = int(params.get("offset") or 0)
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        deadline = time.monotonic() + float(params.get("timeout") or 0)
        with self._lock:
            if self._webhook is not None:
                return Answer(
                    409,
                    _error_body(
                        409,
                        "Conflict: can't use getUpdates method while webhook is active; "
                        "use deleteWebhook to delete the webhook first",
                    ),
                )
            if offset > 0:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
            elif offset < 0:
                self._updates = self._updates[offset:]
            self._poll_generation += 1
            generation = self._poll_generation
        self._bump()  # an older long poll still waiting is ended with 409 Conflict
        while True:
            event = self._change_event()
            with self._lock:
                if self._poll_generation != generation:
                    return Answer(
                        409,
                        _error_body(
                            409,
                            "Conflict: terminated by other getUpdates request; make sure "
                            "that only one bot instance is running",
                        ),
                    )
                ready = self._updates[:limit]
            remaining = deadline - time.monotonic()
            if ready or remaining <= 0 or self._stopping:
                return self._ok(ready)
            await self._wait_change(event, remaining)


def main(argv: list[str] | None = None) -> None:
    """`python -m tests.fakes.telegram_api --port 0 --state-file X`."""
    run_cli(lambda args: FakeTelegram(port=args.port), argv)


if __name__ == "__main__":
    main(sys.argv[1:])
