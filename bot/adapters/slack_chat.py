"""Slack commands with slack-bolt: `/rotation <command>`, `@rotation-bot <command>`, buttons.

A bolt `AsyncApp` whose client is slack-sdk's `AsyncWebClient(base_url=SLACK_API_URL)`,
running in the caller's event loop (STYLE §16). Two ways in (DESIGN §6):

- Socket Mode (default, SLACK_APP_TOKEN): `AsyncSocketModeHandler` (aiohttp) connects out,
  so no public URL is needed.
- HTTP mode (SLACK_SIGNING_SECRET): `app.web_app(path=...)` served by aiohttp on a local port;
  bolt verifies each request's signature, and a bad, missing or stale (over 5 minutes)
  signature gets 401.

Every listener calls `ack()` first (Slack wants it within 3 s) and answers after: a slash
command through its response_url (works in any channel, even where the bot is not a member),
a mention with chat.postMessage in the mention's thread, a button click by replacing the
message (refresh) or posting a new one (choice). Charts go up with `files_upload_v2` next to
the answer. The command runs in a worker thread, rendered by `bot.render.reply_slack`.
Sending alerts is `SlackSender`'s job; `send` here hands it this adapter's client.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot import texts as T
from bot.adapters.base import Adapter, Address, PartCallback, SendResult
from bot.adapters.slack_sender import SlackSender
from bot.commands import dispatch_text
from bot.commands_context import Caller, CommandContext
from bot.errors import ConfigError
from bot.messages import AlertGroup, TextMessage
from bot.ratelimit import Rate, SendLimiter
from bot.redact import register_secret
from bot.render import reply_slack as render
from bot.render.reply_text import heading
from bot.render.slack import SlackMessage
from bot.reply import Reply
from bot.settings_delivery import DeliverySettings

log = logging.getLogger(__name__)

ContextFactory = Callable[[Caller], CommandContext]
SLASH_COMMAND = "/rotation"
_ACTIONS = re.compile("^" + re.escape(render.ACTION_PREFIX))
#: what the network can throw at a post; nothing broader
_SEND_ERRORS = (SlackClientError, aiohttp.ClientError, TimeoutError)


@dataclass(frozen=True)
class _Target:
    """Where an answer goes: the channel (and thread), and the response_url when there is one."""

    channel: str
    thread_ts: str | None = None
    respond: Callable[..., Awaitable[Any]] | None = None


class SlackChat(Adapter):
    """Slack commands and replies; see the module docstring. `context_for` makes the command
    context for one caller (the app passes `app.context.for_caller`). Exactly one of
    `app_token` (Socket Mode) and `http_port` (HTTP mode) is used; the app token wins."""

    name = "slack"

    def __init__(
        self,
        app: AsyncApp,
        context_for: ContextFactory,
        sender: SlackSender,
        limiter: SendLimiter,
        *,
        admins: Collection[str] = (),
        app_token: str | None = None,
        http_host: str = "127.0.0.1",
        http_port: int = 3000,
        http_path: str = "/slack/events",
        slash_command: str = SLASH_COMMAND,
    ) -> None:
        self.app = app
        self._context_for = context_for
        self._sender = sender
        self._limiter = limiter
        self._admins = frozenset(admins)
        self._app_token = app_token
        self._http = (http_host, http_port, http_path)
        self._socket: AsyncSocketModeHandler | None = None
        self._runner: web.AppRunner | None = None
        self.port: int | None = None  # HTTP mode: the port actually bound (http_port 0 = any)
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
        **http: Any,
    ) -> SlackChat:
        """An adapter with its own client; `base_url` (SLACK_API_URL) is passed as is.
        Socket Mode with `app_token`, else HTTP mode with `signing_secret` (`http`: host,
        port, path for `__init__`). Neither is a `ConfigError`."""
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
        return cls(app, context_for, sender, limiter, admins=admins, app_token=app_token, **http)

    @property
    def client(self) -> AsyncWebClient:
        return self.app.client

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the client's session, then connect the socket or listen on the port."""
        await self._sender.start()
        if self._app_token:
            self._socket = AsyncSocketModeHandler(self.app, self._app_token)
            await self._socket.connect_async()
            log.info("slack: taking commands over Socket Mode")
            return
        host, port, path = self._http
        self._runner = web.AppRunner(self.app.web_app(path=path, port=port))
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        self.port = self._runner.addresses[0][1]
        log.info("slack: taking commands on http://%s:%s%s", host, self.port, path)

    async def stop(self) -> None:
        if self._socket is not None:
            await self._socket.close_async()
            self._socket = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self._sender.stop()

    async def send(
        self,
        address: Address,
        message: AlertGroup | TextMessage,
        *,
        silent: bool = False,
        skip_parts: int = 0,
        on_part: PartCallback | None = None,
    ) -> SendResult:
        """Alerts through `SlackSender` on this adapter's client (same session and limiter)."""
        return await self._sender.send(
            address, message, silent=silent, skip_parts=skip_parts, on_part=on_part
        )

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
        reply = dispatch_text(text.strip() or "help", self._context_for(caller))
        return reply, ([] if reply is None else render.render_reply(reply))

    async def _on_slash(self, ack: Any, body: dict[str, Any], respond: Any) -> None:
        await ack()
        channel = str(body.get("channel_id", ""))
        caller = self._caller(str(body.get("user_id", "")), channel)
        reply, messages = await asyncio.to_thread(self._run, str(body.get("text", "")), caller)
        if reply is not None:
            await self._answer(_Target(channel, respond=respond), reply, messages)

    async def _on_mention(self, event: dict[str, Any]) -> None:
        """app_mention (bolt acknowledges events itself, before this runs)."""
        channel = str(event.get("channel", ""))
        caller = self._caller(str(event.get("user", "")), channel)
        reply, messages = await asyncio.to_thread(self._run, str(event.get("text", "")), caller)
        if reply is not None:
            target = _Target(channel, event.get("thread_ts"))  # in the thread if asked there
            await self._answer(target, reply, messages)

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
            and await self._replace(channel, message_ts, respond, messages)
        ):
            if reply.chart is not None:  # a chart cannot be edited: the new one in thread
                await self._upload(_Target(channel, message_ts), reply)
            return
        thread = container.get("thread_ts")
        await self._answer(_Target(channel, thread, respond), reply, messages)

    # --- answering ------------------------------------------------------------------------

    async def _answer(self, target: _Target, reply: Reply, messages: list[SlackMessage]) -> None:
        """The messages, then the chart. Errors only the asker sees, when Slack allows."""
        for m in messages:
            if not await self._post(target, m, ephemeral=reply.is_error):
                return
        if reply.chart is not None:
            await self._upload(target, reply)

    async def _post(self, target: _Target, m: SlackMessage, *, ephemeral: bool = False) -> bool:
        try:
            if target.respond is not None:
                kind = "ephemeral" if ephemeral else "in_channel"
                return await self._respond(
                    target.channel,
                    target.respond,
                    text=m.text,
                    blocks=m.blocks,
                    response_type=kind,
                    replace_original=False,
                )
            async with self._limiter.slot(target.channel):
                await self.client.chat_postMessage(
                    channel=target.channel,
                    thread_ts=target.thread_ts,
                    text=m.text,
                    blocks=m.blocks,
                    unfurl_links=False,
                    unfurl_media=False,
                )
            return True
        except _SEND_ERRORS as exc:
            log.warning("slack: reply to %s failed: %s", target.channel, _error(exc))
            return False

    async def _replace(
        self, channel: str, ts: str | None, respond: Any, messages: list[SlackMessage]
    ) -> bool:
        """Replace the clicked message: through the response_url, else chat.update."""
        m = messages[0]
        try:
            if respond is not None:
                return await self._respond(
                    channel, respond, text=m.text, blocks=m.blocks, replace_original=True
                )
            if ts:
                await self.client.chat_update(channel=channel, ts=ts, text=m.text, blocks=m.blocks)
            else:
                return False
            return True
        except _SEND_ERRORS as exc:
            log.warning("slack: refresh in %s failed: %s", channel, _error(exc))
            return False

    async def _respond(self, channel: str, respond: Any, **message: Any) -> bool:
        """A post to the response_url; its failures come back as a status, not raised."""
        try:
            answer = await respond(**message)
        except _SEND_ERRORS as exc:
            log.warning("slack: response_url for %s failed: %s", channel, _error(exc))
            return False
        status = getattr(answer, "status_code", 200)
        if status >= 400:
            log.warning("slack: response_url for %s answered %s", channel, status)
        return status < 400

    async def _upload(self, target: _Target, reply: Reply) -> None:
        chart = reply.chart
        if chart is None:
            return
        try:
            await self.client.files_upload_v2(
                channel=target.channel,
                thread_ts=target.thread_ts,
                file=chart.png,
                filename=chart.filename,
                title=heading(reply),
                alt_txt=chart.alt,
            )
        except _SEND_ERRORS as exc:
            error = _error(exc)
            log.warning("slack: chart to %s failed: %s", target.channel, error)
            if target.respond is not None:  # tell the asker why the picture is missing
                note = T.CHART_NOT_POSTED.format(error=error)
                await self._respond(
                    target.channel, target.respond, text=note, response_type="ephemeral"
                )


def _error(exc: Exception) -> str:
    if isinstance(exc, SlackApiError) and isinstance(exc.response.data, dict):
        return str(exc.response.data.get("error") or exc.response.status_code)
    return type(exc).__name__
