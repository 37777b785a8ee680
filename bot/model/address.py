"""Where a message goes and what sending it did: values shared by the outbox and every platform."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass


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
