"""The chat platforms a deployment can run, by name: adding one is a folder and a line here.

Each platform's folder offers two factories over the same `Wiring`: `sender` (alerts out;
None when its token is absent) and `chat` (commands in; None when it cannot take commands).
A `fallback` platform (the console) takes commands only when no other platform does.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

from bot.commands import Dispatcher
from bot.config import Secrets, Settings
from bot.delivery import Adapter, SendLimiter
from bot.platforms import console, slack, telegram
from bot.platforms.chat_common import ChatAdapter, ContextFactory, WebRoute, Wiring
from bot.storage import UpdateClaims


@dataclass(frozen=True)
class Platform:
    """A platform's two factories."""

    sender: Callable[[Wiring], Adapter | None]
    chat: Callable[[Wiring, SendLimiter | None], Adapter | None]
    fallback: bool = False


PLATFORMS: dict[str, Platform] = {
    "telegram": Platform(telegram.build_sender, telegram.build_chat),
    "slack": Platform(slack.build_sender, slack.build_chat),
    "console": Platform(console.build_sender, console.build_chat, fallback=True),
}


def build_senders(
    settings: Settings, secrets: Secrets | None = None, *, stdout: TextIO | None = None
) -> dict[str, Adapter]:
    """Senders keyed by platform name, as the delivery worker takes them."""
    wiring = Wiring(settings, secrets or Secrets(), stdout=stdout)
    built = {name: p.sender(wiring) for name, p in PLATFORMS.items()}
    return {name: sender for name, sender in built.items() if sender is not None}


def _alert_limiter(senders: dict[str, Adapter], platform: str) -> SendLimiter | None:
    """The alert sender's limiter, so one set of caps covers replies and alerts."""
    return getattr(senders.get(platform), "limiter", None)


def build_chat_adapters(
    settings: Settings,
    secrets: Secrets,
    context_for: ContextFactory,
    dispatcher: Dispatcher,
    senders: dict[str, Adapter],
    stdin: TextIO | None = None,
    claims: UpdateClaims | None = None,
) -> list[Adapter]:
    """The chat front-ends whose tokens are present; the console's when there is none and
    stdin is a terminal. `dispatcher` runs their commands (with the app's middleware);
    `claims` makes each incoming update handled once across replicas."""
    wiring = Wiring(
        settings,
        secrets,
        context_for=context_for,
        dispatcher=dispatcher,
        stdin=stdin or sys.stdin,
        claims=claims,
    )
    adapters: list[Adapter] = []
    for fallback in (False, True):
        if fallback and adapters:
            break
        for name, p in PLATFORMS.items():
            if p.fallback == fallback:
                chat = p.chat(wiring, _alert_limiter(senders, name))
                if chat is not None:
                    adapters.append(chat)
    return adapters


def web_routes(adapters: list[Adapter]) -> dict[str, WebRoute]:
    """The POST routes the chat front-ends need on the bot's web port, by path."""
    routes: dict[str, WebRoute] = {}
    for adapter in adapters:
        if isinstance(adapter, ChatAdapter):
            routes.update(adapter.web_routes())
    return routes
