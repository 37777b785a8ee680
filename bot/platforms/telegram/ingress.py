"""Telegram updates in, each handled once and none lost: the webhook route and the claim.

In webhook mode Telegram POSTs every update to the public URL, which a proxy forwards to
`/telegram/webhook` on the health port of any replica. The route answers 403 unless the
`X-Telegram-Bot-Api-Secret-Token` header equals TELEGRAM_WEBHOOK_SECRET (compared in constant
time, so its timing tells nothing about the secret), and hands nothing on then. Otherwise it
takes a claim on the update in the database (`bot.storage.UpdateClaims`, keyed by the bot's id
and the `update_id`, with a lease), handles it within the request through PTB's
`process_update` (the same handlers, under the same concurrency limit, as a queued update),
marks the claim done, and only then answers 200: Telegram never delivers an update again after
a 200, so a replica killed before the answer leaves Telegram to retry it. The retry of an
update whose claim is done is acknowledged with 200 and dropped; one still under another
replica's lease gets 503 (Telegram comes back later); one whose lease ran out undone (its
replica died mid-way) is taken and handled. A database that cannot take the claim gets 503,
so Telegram delivers the update again later instead of it being answered twice or lost. A
handler's error is answered by the bot's error handler and still gets 200: it was handled. At
stop the route answers 503 to new updates and the adapter waits a moment for those being
handled (`UpdateGate.drain`) before PTB's application stops.

In polling mode (one process) the same claim runs first in PTB's handler chain and the done
mark last: a restart that polls an update again does not answer it twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from telegram import Update
from telegram.ext import Application, ApplicationHandlerStop, ContextTypes

from bot.model import StorageError
from bot.platforms.chat_common import WebRoute
from bot.storage import UpdateClaims
from bot.storage.update_claims import Claim

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
#: what the bot handles; Telegram sends nothing else (setWebhook and getUpdates alike)
ALLOWED_UPDATES = ["message", "channel_post", "callback_query"]
#: how long a stopping adapter waits for the webhook updates being handled (the daemon gives
#: the whole stop 3 s); one still running after that may lose its reply
DRAIN_SECONDS = 2.5


@dataclass(frozen=True)
class WebhookOptions:
    """Webhook mode: the public URL given to setWebhook, the secret Telegram sends back in
    every request, and how many requests Telegram may have open at once."""

    url: str
    secret: str
    max_connections: int = 40

    def __repr__(self) -> str:  # never the secret
        return f"WebhookOptions(url={self.url!r}, max_connections={self.max_connections})"


class UpdateGate:
    """Claims each update before it is handled and marks it done after; see the module
    docstring. `claims` None: no database to claim in (a test's adapter), every update is
    handled."""

    def __init__(self, claims: UpdateClaims | None, bot_id: str) -> None:
        self._claims = claims
        self._bot_id = bot_id
        #: webhook updates being handled, and whether the adapter is stopping (`drain`)
        self._handling = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self.closing = False

    @contextlib.contextmanager
    def handling(self) -> Iterator[None]:
        """Around the handling of one webhook update, for `drain`."""
        self._handling += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._handling -= 1
            if self._handling == 0:
                self._idle.set()

    async def drain(self, timeout: float) -> None:
        """At stop, before PTB's application stops: take no more webhook updates (503: Telegram
        delivers them to another replica or later) and let those being handled finish, for at
        most `timeout` seconds."""
        self.closing = True
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            log.warning("telegram: stopping with %d update(s) still being handled", self._handling)

    def _key(self, update_id: int) -> str:
        return f"{self._bot_id}:{update_id}"

    async def take(self, update_id: int) -> Claim:
        """`Claim.TAKEN` when this process is to handle the update; `StorageError` when the
        database cannot say."""
        if self._claims is None:
            return Claim.TAKEN
        return await asyncio.to_thread(self._claims.take, "telegram", self._key(update_id))

    async def done(self, update_id: int) -> None:
        """Mark the update handled. A failure is logged only: the update was answered, and
        its claim's lease runs out unanswered by anyone but a late retry."""
        if self._claims is None:
            return
        try:
            await asyncio.to_thread(self._claims.done, "telegram", self._key(update_id))
        except StorageError as exc:
            log.warning("telegram: %s (update %d)", exc, update_id)

    async def polled(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        """First in PTB's handler chain in polling mode: stop an update handled before. An
        update under another lease is handled all the same (polling serves one process: the
        lease is a dead predecessor's), and so is one the database cannot claim: an answer is
        better than none."""
        try:
            found = await self.take(update.update_id)
        except StorageError as exc:
            log.warning("telegram: %s; handling update %d unclaimed", exc, update.update_id)
            return
        if found is Claim.DONE:
            log.info("telegram: update %d was handled before; skipped", update.update_id)
            raise ApplicationHandlerStop
        if found is Claim.BUSY:
            log.info("telegram: update %d was being handled at a restart; again", update.update_id)

    async def polled_done(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        """Last in PTB's handler chain in polling mode (handler errors do not stop it)."""
        await self.done(update.update_id)


def _secret_ok(given: str | None, secret: bytes) -> bool:
    return hmac.compare_digest((given or "").encode("utf-8", "replace"), secret)


def webhook_route(
    application: Application[Any, Any, Any, Any, Any, Any],
    gate: UpdateGate,
    secret: str,
    ready: asyncio.Event,
) -> WebRoute:
    """The `/telegram/webhook` handler: secret, claim, handle, done, 200; see the module
    docstring. `ready`: set once PTB's application runs (503 before, so Telegram tries
    again)."""
    expected = secret.encode()

    async def receive(request: web.Request) -> web.StreamResponse:
        if not _secret_ok(request.headers.get(SECRET_HEADER), expected):
            log.warning("telegram webhook: refused a request without the right secret token")
            return web.Response(status=403, text="forbidden")
        if gate.closing:
            return web.Response(status=503, text="stopping")
        if not ready.is_set():
            return web.Response(status=503, text="starting")
        try:
            body = await request.json()
            update_id = body["update_id"]
            if not isinstance(update_id, int) or isinstance(update_id, bool):
                raise TypeError("update_id is not an integer")
            update = Update.de_json(body, application.bot)
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("telegram webhook: not an update (%s)", type(exc).__name__)
            return web.Response(status=400, text="not an update")
        try:
            found = await gate.take(update_id)
        except StorageError as exc:
            log.warning("telegram webhook: %s; asking Telegram to deliver it again", exc)
            return web.Response(status=503, text="try again")
        if found is Claim.DONE:
            log.info("telegram webhook: update %d was handled before; acknowledged", update_id)
            return web.Response(status=200)
        if found is Claim.BUSY:
            log.info("telegram webhook: update %d is being handled elsewhere; later", update_id)
            return web.Response(status=503, text="being handled")
        # PTB's own path for a queued update: the same handlers, its concurrency limit, and
        # handler errors go to the error handler (the bot's error boundary), not out of here
        processor = application.update_processor
        try:
            with gate.handling():
                await processor.process_update(update, application.process_update(update))
        except Exception:
            log.exception("telegram webhook: update %d failed outside its handlers", update_id)
            return web.Response(status=500, text="failed")
        await gate.done(update_id)
        return web.Response(status=200)

    return receive
