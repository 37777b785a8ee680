"""What the chat adapters share: the context factory, and starting despite an outage.

A chat platform that is unreachable when the bot starts must not stop the bot: alerts still
go out (the outbox retries them) and the other platform still takes commands. So a chat
adapter connects once in `start()`, and when that fails for a reason that may pass (network,
5xx, flood control) it keeps trying in the background, 1 s, 2 s, 4 s… up to a minute apart.
What will not pass (a rejected token) is raised at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TextIO

from aiohttp import web

from bot.commands import Caller, CommandContext, Dispatcher
from bot.config import Secrets, Settings
from bot.delivery import Adapter, DestinationCheck
from bot.model import Address, AlertGroup, PartCallback, SendResult, TextMessage
from bot.storage import UpdateClaims

log = logging.getLogger(__name__)

#: makes the command context for one caller: the app passes `app.context.for_caller`
ContextFactory = Callable[[Caller], CommandContext]
#: an aiohttp handler a chat front-end serves on the bot's web (health) port
WebRoute = Callable[[web.Request], Awaitable[web.StreamResponse]]
FIRST_DELAY = 1.0
MAX_DELAY = 60.0


@dataclass(frozen=True)
class Wiring:
    """What a platform's factories may use to build its sender and its chat front-end."""

    settings: Settings
    secrets: Secrets
    #: None when only senders are built (the standalone delivery worker)
    context_for: ContextFactory | None = None
    #: runs every command through the app's middleware
    dispatcher: Dispatcher = field(default_factory=Dispatcher)
    stdin: TextIO | None = None
    stdout: TextIO | None = None
    #: where incoming updates are claimed, so each is handled once across replicas
    claims: UpdateClaims | None = None


class Connector:
    """Runs `connect` now, or again and again in the background while it fails with one of
    `transient`. `connected` is set once it succeeded."""

    def __init__(
        self,
        name: str,
        connect: Callable[[], Awaitable[None]],
        transient: tuple[type[BaseException], ...],
    ) -> None:
        self._name = name
        self._connect = connect
        self._transient = transient
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()

    async def start(self) -> None:
        try:
            await self._connect()
        except self._transient as exc:
            log.warning("%s: cannot connect (%s); retrying in the background", self._name, exc)
            self._task = asyncio.create_task(self._retry(), name=f"{self._name}-connect")
            return
        self.connected.set()

    async def _retry(self) -> None:
        delay = FIRST_DELAY
        while True:
            await asyncio.sleep(delay)
            try:
                await self._connect()
            except self._transient as exc:
                delay = min(delay * 2, MAX_DELAY)
                log.warning(
                    "%s: still cannot connect (%s); next try in %.0f s", self._name, exc, delay
                )
                continue
            except Exception:  # broad on purpose: a bug here must be logged, not lost in a task
                log.exception("%s: connecting failed; commands are off", self._name)
                return
            log.info("%s: connected", self._name)
            self.connected.set()
            return

    async def stop(self) -> None:
        """Stop retrying (a connection already made is the adapter's to close)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


class ChatAdapter(Adapter):
    """A chat platform that also delivers alerts: `send` goes through the platform's sender
    (`self._sender`), on the same client and limiter the replies use."""

    _sender: Adapter

    def web_routes(self) -> dict[str, WebRoute]:
        """POST routes this front-end needs on the bot's web port (a webhook), by path."""
        return {}

    async def send(
        self,
        address: Address,
        message: AlertGroup | TextMessage,
        *,
        silent: bool = False,
        skip_parts: int = 0,
        on_part: PartCallback | None = None,
    ) -> SendResult:
        return await self._sender.send(
            address, message, silent=silent, skip_parts=skip_parts, on_part=on_part
        )

    def check_destinations(self, check: DestinationCheck) -> None:
        self._sender.check_destinations(check)
