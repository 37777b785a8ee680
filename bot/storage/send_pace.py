"""Caps shared by every replica: a platform's overall cap, and each chat's, as rows holding
the next free send slot.

Each send takes, in one statement, the next overall slot and then its chat's next slot at or
after that one, and starts at the chat's slot: a slot is the later of the row's `next_at` and
the database's clock (and for the chat, the overall slot), and `next_at` moves one interval
past it. So sends to one chat are spaced by the chat's interval where they really start, and
a chat's wait never pushes the overall schedule back (its overall slot is then unused). The
row locks hand the slots out one at a time, evenly spaced, across processes. The database says
how far ahead the slot is, and that becomes a time on the process's own monotonic clock, so
the replicas' clocks need not agree. A slot nobody used (a replica that died after reserving
it) is simply lost; after an idle moment a schedule restarts at now, so no burst builds up.
A chat's row is made by its first send (an upsert): the table holds a row per chat sent to.
"""

from __future__ import annotations

import time

from sqlalchemy import text

from bot.storage.store import Store


def _upsert(name: str, key: str, interval: str, floor: str) -> str:
    """A CTE taking the next slot of row `key`: not before `floor` (SQL), `interval` apart."""
    return (
        f"{name} AS (INSERT INTO send_pace (key, next_at)"
        f" VALUES ({key}, {floor} + make_interval(secs => {interval}))"
        f" ON CONFLICT (key) DO UPDATE SET next_at = GREATEST(send_pace.next_at, {floor})"
        f" + make_interval(secs => {interval})"
        f" RETURNING next_at - make_interval(secs => {interval}) AS slot)"
    )


_AHEAD = "SELECT EXTRACT(EPOCH FROM (chat.slot - clock_timestamp()))::float8 FROM chat"
#: the overall slot, then the chat's at or after it: the send's start
_BOTH = text(
    "WITH "
    + _upsert("overall", ":key", ":interval", "clock_timestamp()")
    + ", "
    + _upsert(
        "chat",
        ":chat_key",
        ":chat_interval",
        "GREATEST(clock_timestamp(), (SELECT slot FROM overall))",
    )
    + " "
    + _AHEAD
)
#: a platform without an overall cap: the chat's slot alone
_CHAT = text(
    "WITH " + _upsert("chat", ":chat_key", ":chat_interval", "clock_timestamp()") + " " + _AHEAD
)


class SharedPace:
    """Slots `interval` seconds apart for `platform` overall (None: no overall cap), and
    `chat_interval` apart per chat, shared through `store` (PostgreSQL)."""

    def __init__(
        self, store: Store, platform: str, interval: float | None, chat_interval: float
    ) -> None:
        if store.is_sqlite:
            raise ValueError("a shared send pace needs PostgreSQL; SQLite serves one process")
        self.store, self.platform = store, platform
        self.interval = None if interval is None else float(interval)
        self.chat_interval = float(chat_interval)

    def reserve(self, chat: str) -> float:
        """Take the next slot for a send to `chat`; when it comes, on this process's
        `time.monotonic()` clock. Blocking. The database says how far ahead the slot is when
        the statement runs, somewhere between sending it and its answer: the midpoint is the
        best guess, and an absolute time (not a wait) keeps the hop back to the event loop
        out of the pace."""
        args = {
            "key": self.platform,
            "interval": self.interval,
            "chat_key": f"{self.platform}:{chat}",
            "chat_interval": self.chat_interval,
        }
        with self.store.connection() as conn:
            sent = time.monotonic()
            ahead = conn.execute(_CHAT if self.interval is None else _BOTH, args).scalar()
            answered = time.monotonic()
        return (sent + answered) / 2 + max(0.0, float(ahead or 0.0))
