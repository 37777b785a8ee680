"""Posting command replies on Slack: the answering half of `SlackChat`.

Where an answer goes depends on how the question came: through the response_url when Slack
gave one (slash commands and button clicks; it works in channels the bot has not joined, and
errors there are ephemeral: only the asker sees them), else with chat.postMessage within the
per-channel cap. Charts follow with `files_upload_v2` (the bot must be in the channel; when
it is not, the asker is told why the picture is missing). A button's refresh replaces the
message in place. Nothing here raises a Slack or network error: failures are logged.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.delivery import SendLimiter
from bot.model import Reply
from bot.platforms.slack.render_alerts import SlackMessage
from bot.render import heading
from bot.render import texts as T

log = logging.getLogger("bot.platforms.slack.chat")

#: what the network can throw at a post; nothing broader
SEND_ERRORS = (SlackClientError, aiohttp.ClientError, TimeoutError)


@dataclass(frozen=True)
class Target:
    """Where an answer goes: the channel (and thread), and the response_url when there is one."""

    channel: str
    thread_ts: str | None = None
    respond: Callable[..., Awaitable[Any]] | None = None


class SlackReplies:
    """Posts, replaces and uploads replies with one client, within the per-channel cap."""

    def __init__(self, client: AsyncWebClient, limiter: SendLimiter) -> None:
        self._client = client
        self._limiter = limiter

    async def answer(self, target: Target, reply: Reply, messages: list[SlackMessage]) -> None:
        """The messages, then the chart. Errors only the asker sees, when Slack allows."""
        for m in messages:
            if not await self._post(target, m, ephemeral=reply.is_error):
                return
        if reply.chart is not None:
            await self.upload(target, reply)

    async def _post(self, target: Target, m: SlackMessage, *, ephemeral: bool = False) -> bool:
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
                await self._client.chat_postMessage(
                    channel=target.channel,
                    thread_ts=target.thread_ts,
                    text=m.text,
                    blocks=m.blocks,
                    unfurl_links=False,
                    unfurl_media=False,
                )
            return True
        except SEND_ERRORS as exc:
            log.warning("slack: reply to %s failed: %s", target.channel, _error(exc))
            return False

    async def replace(
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
                await self._client.chat_update(channel=channel, ts=ts, text=m.text, blocks=m.blocks)
            else:
                return False
            return True
        except SEND_ERRORS as exc:
            log.warning("slack: refresh in %s failed: %s", channel, _error(exc))
            return False

    async def _respond(self, channel: str, respond: Any, **message: Any) -> bool:
        """A post to the response_url; its failures come back as a status, not raised."""
        try:
            answer = await respond(**message)
        except SEND_ERRORS as exc:
            log.warning("slack: response_url for %s failed: %s", channel, _error(exc))
            return False
        status = getattr(answer, "status_code", 200)
        if status >= 400:
            log.warning("slack: response_url for %s answered %s", channel, status)
        return status < 400

    async def upload(self, target: Target, reply: Reply) -> None:
        chart = reply.chart
        if chart is None:
            return
        try:
            await self._client.files_upload_v2(
                channel=target.channel,
                thread_ts=target.thread_ts,
                file=chart.png,
                filename=chart.filename,
                title=heading(reply),
                alt_txt=chart.alt,
            )
        except SEND_ERRORS as exc:
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
