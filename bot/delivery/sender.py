"""The small contract every chat platform meets: start, send, stop, name.

Adapters know nothing of indicators or rules: they receive neutral messages (`bot.model.messages`)
and a destination address, render them with their platform's renderer, and report the outcome
as a `SendResult` (or raise `bot.model.errors.DeliveryError` with retry_after / permanent).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable

from bot.model import Address, AlertGroup, PartCallback, SendResult, TextMessage

#: asks whether an address is already a destination; an adapter that can redirect a send to
#: another chat (Telegram's migrated groups) asks it first, since that chat gets its own copy
DestinationCheck = Callable[[Address], Awaitable[bool]]


class Adapter(ABC):
    """A chat platform: sends neutral messages; chat adapters also take commands."""

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
