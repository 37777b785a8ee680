"""Slack requests in, each handled once across replicas.

Slack retries an event that was not acknowledged within 3 seconds (the retry carries
`X-Slack-Retry-Num`), and behind a load balancer the retry may reach another replica. So a
global bolt middleware, after bolt has checked the signature, takes a claim on each request in
the database (`bot.storage.UpdateClaims`, with a lease) before any listener runs: an event by
its `event_id`, a slash command or a button click by its `trigger_id` (unique per user action),
and marks it done once the listeners have acknowledged it. A request done before is
acknowledged with an empty 200 and nothing else happens; one still under another replica's
lease gets 503, so Slack retries it later; one whose lease ran out undone (its replica died
before acknowledging) is taken and handled. A database that cannot take the claim gets 503:
Slack retries an event later rather than have it answered twice or lost.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.model import StorageError
from bot.storage import UpdateClaims
from bot.storage.update_claims import Claim

log = logging.getLogger(__name__)


def claim_key(body: Mapping[str, Any]) -> str | None:
    """What identifies a request across retries: `event:<event_id>` for the Events API,
    `trigger:<trigger_id>` for slash commands and interactions; None for anything else."""
    event_id = body.get("event_id")
    if isinstance(event_id, str) and event_id:
        return f"event:{event_id}"
    trigger_id = body.get("trigger_id")
    if isinstance(trigger_id, str) and trigger_id:
        return f"trigger:{trigger_id}"
    return None


class ClaimOnce(AsyncMiddleware):
    """The middleware of the module docstring."""

    def __init__(self, claims: UpdateClaims) -> None:
        self._claims = claims

    async def async_process(
        self,
        *,
        req: AsyncBoltRequest,
        resp: BoltResponse,
        next: Callable[[], Awaitable[BoltResponse]],  # noqa: A002 - bolt's keyword
    ) -> BoltResponse | None:
        key = claim_key(req.body)
        if key is None:
            return await next()
        try:
            found = await asyncio.to_thread(self._claims.take, "slack", key)
        except StorageError as exc:
            log.warning("slack: %s; asking Slack to send it again", exc)
            return BoltResponse(status=503, body="")
        retry = req.headers.get("x-slack-retry-num", ["0"])[0]
        if found is Claim.BUSY:
            log.info("slack: %s is being handled elsewhere (retry %s); later", key, retry)
            return BoltResponse(status=503, body="")
        if found is Claim.DONE:
            log.info("slack: %s was handled before (retry %s); acknowledged", key, retry)
            return BoltResponse(status=200, body="")
        response = await next()
        try:
            await asyncio.to_thread(self._claims.done, "slack", key)
        except StorageError as exc:  # acknowledged all the same; the lease runs out unused
            log.warning("slack: %s (%s)", exc, key)
        return response
