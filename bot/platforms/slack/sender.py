"""Sending to Slack with slack-sdk's `AsyncWebClient` (the client slack-bolt uses).

Sending only: the command side (`bot.platforms.slack.chat`) lives beside it and may pass its bolt
app's client to `SlackSender(client, ...)`. Slack refuses with HTTP 200 and `ok: false` (or
HTTP 429 with Retry-After); slack-sdk raises `SlackApiError` for both. `delivery_error` below
is the one place that maps them, and aiohttp's network errors, to `DeliveryError`. The
client's own retry handlers are switched off: retries belong to the outbox, where they
survive a restart.
"""

from __future__ import annotations

import logging

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import DeliverySettings
from bot.delivery import Adapter, Rate, SendLimiter
from bot.model import (
    Address,
    AlertGroup,
    DeliveryError,
    PartCallback,
    SendResult,
    TextMessage,
    register_secret,
)
from bot.platforms.slack import render_alerts as render

log = logging.getLogger(__name__)

#: `ok: false` errors that mean the channel is gone or closed to the bot
REFUSED = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "account_inactive",
        "user_not_found",
        "user_disabled",
        "cannot_dm_bot",
        "restricted_action",
        "restricted_action_read_only_channel",
        "restricted_action_thread_only_channel",
        "restricted_action_non_threadable_channel",
        "team_access_not_granted",
        "access_denied",
    }
)
#: `ok: false` errors about the token: loud, retried, never a reason to drop a channel
TOKEN_ERRORS = frozenset({"invalid_auth", "not_authed", "token_revoked", "token_expired"})


def delivery_error(exc: Exception) -> DeliveryError:
    """What a slack-sdk or network error means for the outbox."""
    if isinstance(exc, SlackApiError):
        status = exc.response.status_code
        error = exc.response.get("error") if isinstance(exc.response.data, dict) else None
        if status == 429 or error == "ratelimited":
            return DeliveryError("rate limited (429)", retry_after=_retry_after(exc))
        if status >= 500:
            return DeliveryError(f"slack server error ({status})")
        if error in REFUSED:
            return DeliveryError(f"refused: {error}", permanent=True)
        if error in TOKEN_ERRORS:
            return DeliveryError(f"SLACK_BOT_TOKEN rejected: {error}")
        return DeliveryError(f"slack error: {error or status}")
    if isinstance(exc, TimeoutError):  # asyncio.TimeoutError is TimeoutError since 3.11
        return DeliveryError("timed out waiting for slack")
    return DeliveryError(f"{type(exc).__name__}: {exc}")  # connection refused, reset, …


def _retry_after(exc: SlackApiError) -> float:
    try:
        return max(float(exc.response.headers.get("Retry-After", 1)), 0.0)
    except (TypeError, ValueError):
        return 1.0


class SlackSender(Adapter):
    """Posts alert groups and notices as Block Kit with a plain-text fallback."""

    name = "slack"

    def __init__(
        self,
        client: AsyncWebClient,
        limiter: SendLimiter,
        *,
        timeout: aiohttp.ClientTimeout | None = None,
    ) -> None:
        self._client = client
        self._limiter = limiter
        self._timeout = timeout  # set: we own the client and its aiohttp session

    @classmethod
    def create(
        cls, token: str, settings: DeliverySettings, base_url: str | None = None
    ) -> SlackSender:
        """A sender with its own client; `base_url` (SLACK_API_URL) is passed as is."""
        register_secret(token)
        client = AsyncWebClient(
            token=token,
            base_url=base_url or settings.slack.api_url,
            timeout=settings.timeout,  # type: ignore[arg-type]  # aiohttp takes a float
            retry_handlers=[],
        )
        cap = settings.slack.per_channel
        limiter = SendLimiter(per_chat=Rate(cap.count, cap.per), headroom=settings.headroom)
        timeout = aiohttp.ClientTimeout(
            total=settings.timeout, sock_connect=settings.connect_timeout
        )
        return cls(client, limiter, timeout=timeout)

    async def start(self) -> None:
        """Open one HTTP session for all sends (slack-sdk opens one per call otherwise)."""
        if self._timeout is not None and self._client.session is None:
            self._client.session = aiohttp.ClientSession(timeout=self._timeout)

    async def stop(self) -> None:
        if self._timeout is not None and self._client.session is not None:
            await self._client.session.close()
            self._client.session = None

    async def send(
        self,
        address: Address,
        message: AlertGroup | TextMessage,
        *,
        silent: bool = False,  # Slack has no silent messages; the level only gates "off"
        skip_parts: int = 0,
        on_part: PartCallback | None = None,
    ) -> SendResult:
        if isinstance(message, AlertGroup):
            parts = render.render_alerts(message)
        else:
            parts = render.render_text_message(message)
        chart = message.chart_png if isinstance(message, TextMessage) else None
        total = len(parts) + (chart is not None)
        await self.start()
        for index in range(skip_parts, total):
            try:
                async with self._limiter.slot(address.chat_id):
                    if index < len(parts):
                        await self._client.chat_postMessage(
                            channel=address.chat_id,
                            text=parts[index].text,
                            blocks=parts[index].blocks,
                            unfurl_links=False,
                            unfurl_media=False,
                        )
                    else:  # the chart, uploaded into the channel
                        await self._client.files_upload_v2(
                            channel=address.chat_id, content=chart, filename="chart.png"
                        )
            # the network errors aiohttp and slack-sdk raise; nothing broader
            except (SlackClientError, aiohttp.ClientError, TimeoutError) as exc:
                raise delivery_error(exc) from exc
            if on_part is not None:
                await on_part(index + 1, total)
        return SendResult(parts=total)
