"""Telegram commands with python-telegram-bot: receive, dispatch, answer.

One `Application` polls `getUpdates` inside the caller's event loop (no `run_polling()`:
`initialize`, `start`, `updater.start_polling`, and the reverse on stop), so Telegram, Slack
and the scheduler share one loop. In webhook mode it has no updater: `setWebhook` at start,
and the updates come through `web_routes()`, served on the bot's web port (`ingress`). Either
way each update is claimed in the database before it is handled, so it is answered once.
The handlers come from the one command table: a `CommandHandler` per
`bot.commands.table.Command` (its name and aliases; `/cmd@botname` in groups), and
`setMyCommands` from `menu()`, so /help, the menu and the handlers cannot drift.

What reaches the bot: commands anywhere; in private chats any text (`snapshot` works without
the slash, and anything else gets the help hint); in groups and channels, text addressed to
the bot (`@botname snapshot`, `/unknown@botname`) and nothing else, since a group's
`/command` may be for another bot. Commands run in a worker thread (`asyncio.to_thread`), the
reply is rendered there too (`bot.platforms.telegram.render_reply`) and sent by `TelegramReplies`
within the caps. Buttons: a choice runs its command and answers with a new message (an error
only to the presser); a refresh edits the pressed message in place and says "Up to date" when
nothing changed. Telegram down at start: the adapter keeps trying in the background
(`chat_common.Connector`). Sending alerts is `TelegramSender`'s job; `send` here hands it this
adapter's `Bot`, so both share one connection pool and one limiter.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection
from typing import Any

from telegram import BotCommand, BotCommandScopeChat, Message, Update
from telegram.error import InvalidToken, NetworkError, RetryAfter, TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import HTTPXRequest

from bot.commands import COMMANDS, Caller, ChatType, Dispatcher, menu
from bot.config import WEBHOOK_PATH, DeliverySettings
from bot.delivery import SendLimiter
from bot.model import ConfigError, Reply, register_secret
from bot.platforms.chat_common import ChatAdapter, Connector, ContextFactory, WebRoute
from bot.platforms.telegram import render_reply as render
from bot.platforms.telegram.ingress import (
    ALLOWED_UPDATES,
    DRAIN_SECONDS,
    UpdateGate,
    WebhookOptions,
    webhook_route,
)
from bot.platforms.telegram.replies import TelegramReplies
from bot.platforms.telegram.sender import TelegramSender, telegram_limiter
from bot.render import error_line
from bot.render import texts as T
from bot.storage import UpdateClaims

log = logging.getLogger(__name__)

CHAT_TYPES: dict[str, ChatType] = {
    "private": "private",
    "group": "group",
    "supergroup": "group",
    "channel": "channel",
}
_NEW = filters.UpdateType.MESSAGE | filters.UpdateType.CHANNEL_POST
TOKEN_REFUSED = (
    "Telegram refused TELEGRAM_BOT_TOKEN (revoked or mistyped?): copy the current token "
    "from @BotFather (/mybots, API Token)"
)


def file_url(base_url: str) -> str:
    """The file endpoint beside a Bot API base URL (".../bot" -> ".../file/bot")."""
    return base_url[: -len("/bot")] + "/file/bot" if base_url.endswith("/bot") else base_url


class TelegramChat(ChatAdapter):
    """Telegram commands and replies; see the module docstring. `context_for` makes the
    command context for one caller (the app passes `app.context.for_caller`); `dispatcher`
    runs the commands (the app passes its own, with the middleware; default: none).
    `webhook`: take updates by webhook instead of polling; `gate` claims each update."""

    name = "telegram"

    def __init__(
        self,
        application: Application,
        context_for: ContextFactory,
        *,
        dispatcher: Dispatcher | None = None,
        admins: Collection[str] = (),
        limiter: SendLimiter | None = None,
        poll_timeout: float = 10.0,
        webhook: WebhookOptions | None = None,
        gate: UpdateGate | None = None,
    ) -> None:
        self.app = application
        self._context_for = context_for
        self._dispatcher = dispatcher or Dispatcher()
        self._admins = frozenset(str(a) for a in admins)
        self._replies = TelegramReplies(application.bot, limiter)
        self._poll_timeout = poll_timeout
        self._connector = Connector("telegram", self._connect, (NetworkError, RetryAfter))
        self._requests: list[HTTPXRequest] = []  # set by `create`, which owns them
        # alerts sent through `send` always keep to the caps, replies when given a limiter
        self._sender = TelegramSender(
            application.bot, limiter or telegram_limiter(DeliverySettings())
        )
        self.username = ""
        self._webhook = webhook
        self._gate = gate or UpdateGate(None, "")
        if webhook is None:  # webhook updates are claimed by the route, around handling
            application.add_handler(TypeHandler(Update, self._gate.polled), group=-1)
            application.add_handler(TypeHandler(Update, self._gate.polled_done), group=1)
        for cmd in COMMANDS:
            names = [cmd.name, *cmd.aliases]
            application.add_handler(CommandHandler(names, self._on_command, filters=_NEW))
        application.add_handler(CallbackQueryHandler(self._on_button))
        application.add_handler(MessageHandler(filters.TEXT & _NEW, self._on_text))
        application.add_error_handler(self._on_error)

    @classmethod
    def create(
        cls,
        token: str,
        context_for: ContextFactory,
        settings: DeliverySettings,
        *,
        dispatcher: Dispatcher | None = None,
        admins: Collection[str] = (),
        base_url: str | None = None,
        limiter: SendLimiter | None = None,
        poll_timeout: float = 10.0,
        webhook: WebhookOptions | None = None,
        claims: UpdateClaims | None = None,
    ) -> TelegramChat:
        """An adapter with its own `Application`; `base_url` (TELEGRAM_BASE_URL) is passed as
        is. `limiter`: share the alert sender's (`telegram_limiter(settings)` otherwise).
        `webhook`: webhook mode; `claims`: where each update is claimed before handling."""
        register_secret(token)
        if webhook is not None:
            register_secret(webhook.secret)
        url = base_url or settings.telegram.base_url
        requests = [] if webhook else [HTTPXRequest(connection_pool_size=1)]  # getUpdates
        request = HTTPXRequest(
            connection_pool_size=16,
            connect_timeout=settings.connect_timeout,
            read_timeout=settings.timeout,
            write_timeout=settings.timeout,
            pool_timeout=settings.timeout,
        )
        builder = (
            Application.builder()
            .token(token)
            .base_url(url)
            .base_file_url(file_url(url))
            .request(request)
            .concurrent_updates(64)  # one slow chart must not hold up other chats
        )
        if webhook is None:
            builder = builder.get_updates_request(requests[0])
        else:
            builder = builder.updater(None)  # updates come in through `web_routes()`
        application = builder.build()
        limiter = limiter or telegram_limiter(settings)
        self = cls(
            application,
            context_for,
            dispatcher=dispatcher,
            admins=admins,
            limiter=limiter,
            poll_timeout=poll_timeout,
            webhook=webhook,
            gate=UpdateGate(claims, token.split(":", 1)[0]),
        )
        self._requests = [request, *requests]
        return self

    @property
    def bot(self) -> Any:
        return self.app.bot

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect now, or keep trying in the background if Telegram is unreachable
        (`connected` tells when). A refused token is a `ConfigError` at once, whose message
        (unlike PTB's `InvalidToken`, which quotes the token) is safe to print."""
        try:
            await self._connector.start()
        except InvalidToken:
            await self._close_requests()
            raise ConfigError(TOKEN_REFUSED) from None
        except BaseException:  # close what initialize() opened, re-raise
            await self._close_requests()
            raise

    @property
    def connected(self) -> asyncio.Event:
        return self._connector.connected

    async def _connect(self) -> None:
        """getMe (for `/cmd@botname`), the command menu, then polling in this loop, or in
        webhook mode setWebhook (each replica sets the same one at start; none deletes it at
        stop, which would cut the others off)."""
        await self.app.initialize()  # does nothing the second time (a retry)
        self.username = self.bot.username or ""
        await self._set_menu()
        if not self.app.running:
            await self.app.start()
        if self._webhook is not None:
            await self.bot.set_webhook(
                self._webhook.url,
                secret_token=self._webhook.secret,
                allowed_updates=ALLOWED_UPDATES,
                max_connections=self._webhook.max_connections,
            )
            log.info("telegram: taking commands as @%s by webhook", self.username)
            return
        assert self.app.updater is not None  # built with an updater: it polls
        await self.app.updater.start_polling(
            timeout=self._poll_timeout,  # type: ignore[arg-type]  # float seconds work too
            allowed_updates=ALLOWED_UPDATES,
        )
        log.info("telegram: taking commands as @%s", self.username)

    def web_routes(self) -> dict[str, WebRoute]:
        """Webhook mode: the route Telegram's updates arrive on (none when polling)."""
        if self._webhook is None:
            return {}
        route = webhook_route(self.app, self._gate, self._webhook.secret, self.connected)
        return {WEBHOOK_PATH: route}

    async def stop(self) -> None:
        if self._webhook is not None:  # updates being handled in their requests finish first
            await self._gate.drain(DRAIN_SECONDS)
        await self._connector.stop()
        if self.app.updater is not None and self.app.updater.running:
            await self.app.updater.stop()
        if self.app.running:
            await self.app.stop()
        await self.app.shutdown()
        await self._close_requests()

    async def _close_requests(self) -> None:
        """Close the HTTP clients even when `initialize()` failed half-way."""
        for request in self._requests:
            await request.shutdown()

    async def _set_menu(self) -> None:
        """setMyCommands for everyone, and the fuller admin menu in each admin's chat."""
        try:
            await self.bot.set_my_commands([BotCommand(n, s) for n, s in menu()])
            if menu(admin=True) != menu():
                full = [BotCommand(n, s) for n, s in menu(admin=True)]
                for admin in sorted(self._admins):
                    await self.bot.set_my_commands(full, scope=BotCommandScopeChat(int(admin)))
        except InvalidToken:
            raise
        except TelegramError as exc:  # a menu is a convenience: commands work without it
            log.warning("telegram: setMyCommands failed: %s", exc)

    # --- receiving ------------------------------------------------------------------------

    def _caller(self, message: Message, user: Any) -> Caller:
        chat = message.chat
        sender = user or message.sender_chat  # a channel post has no user
        user_id = str(sender.id) if sender is not None else ""
        return Caller(
            platform="telegram",
            user_id=user_id,
            chat_id=str(chat.id),
            chat_type=CHAT_TYPES.get(chat.type, "group"),
            is_admin=user is not None and user_id in self._admins,
            thread_id=str(message.message_thread_id) if message.is_topic_message else "",
        )

    def _addressed(self, text: str) -> bool:
        """Group text meant for this bot: `/cmd@botname …` or `@botname …`."""
        first = text.split(maxsplit=1)[0].lower() if text.strip() else ""
        return bool(self.username) and first.endswith("@" + self.username.lower())

    async def _on_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is not None and message.text:
            await self._answer(message, update.effective_user, message.text)

    async def _on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None or not message.text:
            return
        if message.chat.type == "private" or self._addressed(message.text):
            await self._answer(message, update.effective_user, message.text)

    def _run(self, text: str, caller: Caller) -> tuple[Reply | None, render.TelegramReply | None]:
        """Dispatch and render (in a worker thread: both may take milliseconds)."""
        reply = self._dispatcher.dispatch_text(
            text, self._context_for(caller), bot_names=(self.username,)
        )
        return reply, (None if reply is None else render.render_reply(reply))

    async def _answer(self, message: Message, user: Any, text: str) -> None:
        caller = self._caller(message, user)
        _reply, rendered = await asyncio.to_thread(self._run, text, caller)
        if rendered is not None:
            await self._replies.deliver(caller, rendered)

    async def _on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None:
            return
        pressed = render.parse_callback(query.data)
        message = query.message if isinstance(query.message, Message) else None
        if pressed is None or message is None:
            await self._replies.toast(query)
            return
        caller = self._caller(message, query.from_user)
        reply, rendered = await asyncio.to_thread(self._run, pressed.command, caller)
        if reply is None or rendered is None:
            await self._replies.toast(query)
        elif reply.is_error:  # only the presser hears of it, not the whole group
            await self._replies.toast(query, error_line(reply), alert=True)
        elif pressed.refresh:
            edited = await self._replies.edit(message, rendered, pressed.photo_id)
            await self._replies.toast(query, {True: T.REFRESHED, None: T.UP_TO_DATE}.get(edited))
            if edited is False:
                await self._replies.deliver(caller, rendered)
        else:
            await self._replies.toast(query)
            await self._replies.deliver(caller, rendered)

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("telegram: handler failed", exc_info=context.error)
