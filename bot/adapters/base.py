"""The small contract every chat platform meets (STYLE §4): start, send, stop, name.

Adapters know nothing of indicators or rules: they receive neutral messages (`bot.messages`)
and a destination address, render them with their platform's renderer, and report the outcome
as a `SendResult` (or raise `bot.errors.DeliveryError` with retry_after / permanent).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.messages import AlertGroup, TextMessage


@dataclass(frozen=True)
class Address:
    """Where a message goes on one platform."""

    platform: str  # telegram | slack | console
    chat_id: str
    thread_id: str = ""  # Telegram forum topic (message_thread_id); "" when none


@dataclass(frozen=True)
class SendResult:
    """What a successful send did. `parts` = messages the platform received (a long message
    is split); `migrated_to` is set when Telegram moved a group to a new chat id."""

    parts: int = 1
    migrated_to: str | None = None


#: called after each part of a message is sent, with (parts sent so far, total parts), so the
#: outbox can record progress and resume a split message after the parts already sent
PartCallback = Callable[[int, int], Awaitable[None]]


#: asks whether an address is already a destination; an adapter that can redirect a send to
#: another chat (Telegram's migrated groups) asks it first, since that chat gets its own copy
DestinationCheck = Callable[[Address], Awaitable[bool]]


class Adapter(ABC):
    """A chat platform: sends neutral messages; chat adapters also take commands (issue 5)."""

    name: str

    @abstractmethod
    async def start(self) -> None:
        """Connect (and, for chat adapters, begin receiving commands)."""

    @abstractmethod
    async def send(
        self,
        address: Address,
        message: AlertGroup | TextMessage,
        *,
        silent: bool = False,
        skip_parts: int = 0,
        on_part: PartCallback | None = None,
    ) -> SendResult:
        """Deliver `message` to `address`. `skip_parts` resumes a split message after a crash;
        `on_part` hears of each part sent. Raises `DeliveryError` (retry_after for 429,
        permanent for refusals) on failure."""

    @abstractmethod
    async def stop(self) -> None:
        """Stop taking work and release connections."""

    def check_destinations(self, check: DestinationCheck) -> None:  # noqa: B027 - optional hook
        """Keep `check` for redirected sends; an adapter that never redirects ignores it."""
