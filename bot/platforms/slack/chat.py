"""Slack commands with slack-bolt: `/rotation <command>`, `@rotation-bot <command>`, buttons.

A bolt `AsyncApp` whose client is slack-sdk's `AsyncWebClient(base_url=SLACK_API_URL)`,
running in the caller's event loop. Two ways in:

- Socket Mode (default, SLACK_APP_TOKEN): `AsyncSocketModeHandler` (aiohttp) connects out,
  so no public URL is needed; slack-sdk keeps retrying when Slack is unreachable.
- HTTP mode (SLACK_SIGNING_SECRET): `app.web_app(path=...)` served by aiohttp on a local port;
  bolt verifies each request's signature, and a bad, missing or stale (over 5 minutes)
  signature gets 401, as does a timestamp header that is not an integer.

Every listener calls `ack()` first (Slack wants it within 3 s) and answers after: a slash
command through its response_url (works in any channel, even where the bot is not a member),
a mention with chat.postMessage (in its thread when asked in one), a button click by
replacing the message (refresh) or posting a new one (choice); `SlackReplies` does the
posting, charts with `files_upload_v2`. The command runs in a worker thread, rendered by
`bot.platforms.slack.render_reply`. Sending alerts is `SlackSender`'s job; `send` here hands it this
adapter's client and limiter. Given `claims`, each request is claimed in the database before a
listener runs (`ingress`), so a retried event is answered once across replicas.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Collection
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.typedefs import Handler
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.commands import Caller, Dispatcher
from bot.config import DeliverySettings
from bot.delivery import Rate, SendLimiter
from bot.model import ConfigError, Reply, register_secret
from bot.platforms.chat_common import ChatAdapter, ContextFactory
from bot.platforms.slack import render_reply as render
from bot.platforms.slack.ingress import ClaimOnce
from bot.platforms.slack.render_alerts import SlackMessage
from bot.platforms.slack.replies import SlackReplies, Target
from bot.platforms.slack.sender import SlackSender
from bot.storage import UpdateClaims

log = logging.getLogger(__name__)

SLASH_COMMAND = "/rotation"
_ACTIONS = re.compile("^" + re.escape(render.ACTION_PREFIX))


_TIMESTAMP = "X-Slack-Request-Timestamp"


@web.middleware
async def _reject_malformed_timestamp(request: web.Request, handler: Handler) -> web.StreamResponse:
    """401, as for any bad signature, when the timestamp header is not an integer: bolt's
    verifier calls `int()` on it and would answer the `ValueError` with a 500."""
    stamp = request.headers.get(_TIMESTAMP)
    if stamp is not None:
        try:
            int(stamp)
        except ValueError:
            log.debug("slack: refused a request with a malformed %s header", _TIMESTAMP)
            return web.json_response({"error": "invalid request"}, status=401)
    return await handler(request)


class SlackChat(ChatAdapter):
    """Slack commands and replies; see the module docstring. `context_for` makes the command
    context for one caller (the app passes `app.context.for_caller`); `dispatcher` runs the
    commands (the app passes its own, with the middleware; default: none). Exactly one of
    `app_token` (Socket Mode) and `http_port` (HTTP mode) is used; the app token wins."""

    name = "slack"

    def __init__(
        self,
        app: AsyncApp,
        context_for: ContextFactory,
        sender: SlackSender,
        limiter: SendLimiter,
        *,
        dispatcher: Dispatcher | None = None,
        admins: Collection[str] = (),
        app_token: str | None = None,
        http_host: str = "127.0.0.1",
        http_port: int = 3000,
        http_path: str = "/slack/events",
        slash_command: str = SLASH_COMMAND,
        ping_interval: float = 10.0,
        start_wait: float = 5.0,
        claims: UpdateClaims | None = None,
    ) -> None:
        self.app = app
        self._context_for = context_for
        self._dispatcher = dispatcher or Dispatcher()
        self._sender = sender
        self._replies = SlackReplies(app.client, limiter)
        self._connecting: asyncio.Task[None] | None = None
        self._ping_interval = ping_interval
        self._start_wait = start_wait
        self.connected = asyncio.Event()
        self._admins = frozenset(admins)
        self._app_token = app_token
        self._http = (http_host, http_port, http_path)
        self._socket: AsyncSocketModeHandler | None = None
        self._runner: web.AppRunner | None = None
        self.port: int | None = None  # HTTP mode: the port actually bound (http_port 0 = any)
        if claims is not None:  # after bolt's signature check, before any listener
            app.middleware(ClaimOnce(claims))
        app.command(slash_command)(self._on_slash)
        app.event("app_mention")(self._on_mention)
        app.action(_ACTIONS)(self._on_action)

    @classmethod
    def create(
        cls,
        bot_token: str,
        context_for: ContextFactory,
        settings: DeliverySettings,
        *,
        app_token: str | None = None,
        signing_secret: str | None = None,
        base_url: str | None = None,
        admins: Collection[str] = (),
        **options: Any,
    ) -> SlackChat:
        """An adapter with its own client; `base_url` (SLACK_API_URL) is passed as is.
        Socket Mode with `app_token`, else HTTP mode with `signing_secret`; neither is a
        `ConfigError`. `options` go to `__init__` (http_host, http_port, http_path, ...)."""
        if not app_token and not signing_secret:
            raise ConfigError("Slack commands need SLACK_APP_TOKEN or SLACK_SIGNING_SECRET")
        for secret in (bot_token, app_token, signing_secret):
            if secret:
                register_secret(secret)
        client = AsyncWebClient(
            token=bot_token,
            base_url=base_url or settings.slack.api_url,
            timeout=settings.timeout,  # type: ignore[arg-type]  # aiohttp takes a float
            retry_handlers=[],
        )
        app = AsyncApp(client=client, signing_secret=signing_secret or "")
        cap = settings.slack.per_channel
        limiter = SendLimiter(per_chat=Rate(cap.count, cap.per), headroom=settings.headroom)
        timeout = aiohttp.ClientTimeout(
            total=settings.timeout, sock_connect=settings.connect_timeout
        )
        sender = SlackSender(client, limiter, timeout=timeout)
        return cls(app, context_for, sender, limiter, admins=admins, app_token=app_token, **options)

    @property
    def client(self) -> AsyncWebClient:
        return self.app.client

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the client's session, then listen on the port (HTTP mode: a port already
        taken raises) or connect the socket. slack-sdk retries a failed Socket Mode connect
        by itself every `ping_interval`, so when Slack is unreachable `start` returns after
        `start_wait` and the connect goes on in the background (`connected` tells when)."""
        await self._sender.start()
        if self._app_token:
            self._socket = AsyncSocketModeHandler(
                self.app, self._app_token, ping_interval=self._ping_interval
            )
            self._connecting = asyncio.create_task(self._connect(self._socket))
            done, _ = await asyncio.wait([self._connecting], timeout=self._start_wait)
            if not done:
                log.warning("slack: Socket Mode not connected yet; still trying")
            return
        host, port, path = self._http
        web_app = self.app.web_app(path=path, port=port)
        web_app.middlewares.append(_reject_malformed_timestamp)
        self._runner = web.AppRunner(web_app)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        self.port = self._runner.addresses[0][1]
        self.connected.set()
        log.info("slack: taking commands on http://%s:%s%s", host, self.port, path)

    async def _connect(self, socket: AsyncSocketModeHandler) -> None:
        await socket.connect_async()
        self.connected.set()
        log.info("slack: taking commands over Socket Mode")

    async def stop(self) -> None:
        if self._connecting is not None and not self._connecting.done():
            self._connecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._connecting
        if self._socket is not None:
            await self._socket.close_async()
            self._socket = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self._sender.stop()

    # --- receiving ------------------------------------------------------------------------

    def _caller(self, user: str, channel: str) -> Caller:
        return Caller(
            platform="slack",
            user_id=user,
            chat_id=channel,
            chat_type="private" if channel.startswith("D") else "group",
            is_admin=user in self._admins,
        )

    def _run(self, text: str, caller: Caller) -> tuple[Reply | None, list[SlackMessage]]:
        """Dispatch and render in a worker thread. "/rotation" alone asks for help."""
        reply = self._dispatcher.dispatch_text(text.strip() or "help", self._context_for(caller))
        return reply, ([] if reply is None else render.render_reply(reply))

    async def _on_slash(self, ack: Any, body: dict[str, Any], respond: Any) -> None:
        await ack()
        channel = str(body.get("channel_id", ""))
        caller = self._caller(str(body.get("user_id", "")), channel)
        reply, messages = await asyncio.to_thread(self._run, str(body.get("text", "")), caller)
        if reply is not None:
            await self._replies.answer(Target(channel, respond=respond), reply, messages)

    async def _on_mention(self, event: dict[str, Any]) -> None:
        """app_mention (bolt acknowledges events itself, before this runs)."""
        channel = str(event.get("channel", ""))
        caller = self._caller(str(event.get("user", "")), channel)
        reply, messages = await asyncio.to_thread(self._run, str(event.get("text", "")), caller)
        if reply is not None:
            target = Target(channel, event.get("thread_ts"))  # in the thread if asked there
            await self._replies.answer(target, reply, messages)

    async def _on_action(self, ack: Any, body: dict[str, Any], respond: Any) -> None:
        """A button: refresh replaces the message it sits on; a choice answers anew."""
        await ack()
        action = (body.get("actions") or [{}])[0]
        container = body.get("container") or {}
        channel = str((body.get("channel") or {}).get("id") or container.get("channel_id", ""))
        caller = self._caller(str((body.get("user") or {}).get("id", "")), channel)
        command = str(action.get("value", ""))
        reply, messages = await asyncio.to_thread(self._run, command, caller)
        if reply is None:
            return
        message_ts = container.get("message_ts")
        refresh = action.get("action_id") == render.REFRESH_ACTION and not reply.is_error
        if (
            refresh
            and len(messages) == 1
            and await self._replies.replace(channel, message_ts, respond, messages)
        ):
            if reply.chart is not None:  # a chart cannot be edited: the new one in thread
                await self._replies.upload(Target(channel, message_ts), reply)
            return
        thread = container.get("thread_ts")
        await self._replies.answer(Target(channel, thread, respond), reply, messages)
