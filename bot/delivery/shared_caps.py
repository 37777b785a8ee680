"""Platform caps shared by the replicas: several processes reply (and one sends alerts) with
one bot token, and the platform counts them together.

Each platform's limiter takes every send's slots from rows in the database
(`bot.storage.SharedPace`) after its own windows: the overall one (Telegram's 30 a second)
and the chat's (Telegram's 1 a second per chat: two replicas answering one user's commands
take turns). The replicas together keep the caps however the traffic falls on them, and a
lone replica keeps the whole of them. A database that does not answer costs no send: the slot
is skipped with a warning and the process's own limits still hold (the replicas could then,
together, exceed the caps for as long as the database is away).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping

from bot.delivery.ratelimit import SendLimiter
from bot.delivery.sender import Adapter
from bot.storage import DATABASE_ERRORS, SharedPace, Store

log = logging.getLogger(__name__)

#: the share of a cap the shared slots use. Below a process's own headroom (0.95): a send
#: starts at its slot give or take the event loop's lag and the database's round trip, and
#: across processes nothing counts the sends in flight, so arrivals can bunch a little more
SHARED_HEADROOM = 0.9
#: at most one warning this often while the shared pace is unavailable
_WARN_EVERY = 60.0


class _Guarded:
    """A `SharedPace` whose slots never fail a send."""

    def __init__(self, pace: SharedPace) -> None:
        self._pace = pace
        self._warned = -_WARN_EVERY

    def __call__(self, chat: str) -> float:
        try:
            return self._pace.reserve(chat)
        except DATABASE_ERRORS as exc:
            now = time.monotonic()
            if now - self._warned >= _WARN_EVERY:
                self._warned = now
                log.warning("shared %s send pace unavailable (%s)", self._pace.platform, exc)
            return 0.0  # long past: send now, within this process's own limits


def share_overall_caps(store: Store, senders: Mapping[str, Adapter]) -> list[str]:
    """Share each sender's caps (overall and per chat) through `store` (PostgreSQL); the
    platforms done."""
    shared = []
    for name, sender in senders.items():
        limiter = getattr(sender, "limiter", None)
        if not isinstance(limiter, SendLimiter):
            continue
        overall, chat = limiter.overall_rate, limiter.chat_rate
        pace = SharedPace(
            store,
            name,
            None if overall is None else overall.per / overall.count / SHARED_HEADROOM,
            chat.per / chat.count / SHARED_HEADROOM,
        )
        limiter.share(_Guarded(pace))
        shared.append(name)
    return shared
