"""The leader lease: one row in PostgreSQL naming the replica that runs the scheduled jobs and
the delivery worker, until when, and with which epoch.

A lease row rather than an advisory lock: an advisory lock lives as long as the session that
holds it, so a leader whose connection hangs (a network partition, a stopped VM) keeps it until
TCP gives up, minutes later, and nothing tells the leader's *other* connections that it lost
it. A row with an expiry measured by the database's clock ends when the leader stops renewing
it, whatever its connections do, and its epoch (raised by every takeover) lets each of the
leader's writes prove, in its own transaction, that it still leads: the fence. The row lives in
the bot's schema, so deployments (and test schemas) on one server never contend.

- `try_acquire`: take the lease if nobody holds it or it expired; the epoch goes up by one.
- `renew`: push the expiry on, only while holder and epoch are still ours.
- `release`: end our lease at once (a clean shutdown hands over without waiting it out).
- `Fence.check`: run at the end of a fenced transaction; it locks the row (FOR SHARE), so a
  takeover waits for that commit, and raises `LeaseLost` when the epoch moved on: the whole
  transaction rolls back. A deposed leader's claim, outcome or evaluation writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from bot.model import StorageError
from bot.storage.store import Store, as_utc

#: the lease's row (one per schema)
LEASE_NAME = "leader"


class LeaseLost(StorageError):
    """This replica no longer holds the lease it wrote under: its writes are refused."""


@dataclass(frozen=True)
class LeaseHolder:
    """The lease as stored: who, which epoch, and whether it is still live by the database's
    clock."""

    holder: str
    epoch: int
    expires_at: datetime
    live: bool


_INSERT = text(
    "INSERT INTO leader_lease (name, holder, epoch, expires_at) "
    "VALUES (:name, :holder, 1, clock_timestamp() + make_interval(secs => :ttl)) "
    "ON CONFLICT (name) DO NOTHING RETURNING epoch"
)
_TAKE_OVER = text(
    "UPDATE leader_lease SET holder = :holder, epoch = epoch + 1, "
    "expires_at = clock_timestamp() + make_interval(secs => :ttl) "
    "WHERE name = :name AND expires_at < clock_timestamp() RETURNING epoch"
)
_RENEW = text(
    "UPDATE leader_lease SET expires_at = clock_timestamp() + make_interval(secs => :ttl) "
    "WHERE name = :name AND holder = :holder AND epoch = :epoch RETURNING epoch"
)
_RELEASE = text(
    "UPDATE leader_lease SET expires_at = clock_timestamp() - interval '1 second' "
    "WHERE name = :name AND holder = :holder AND epoch = :epoch"
)
_CURRENT = text(
    "SELECT holder, epoch, expires_at, expires_at > clock_timestamp() AS live "
    "FROM leader_lease WHERE name = :name"
)
_FENCE = text(
    "SELECT epoch FROM leader_lease WHERE name = :name AND holder = :holder AND epoch = :epoch "
    "FOR SHARE"
)


@dataclass(frozen=True)
class Fence:
    """Proof of leadership for one epoch; `check` is what `Store.fence` runs."""

    holder: str
    epoch: int
    name: str = LEASE_NAME

    def check(self, conn: Connection | Session) -> None:
        found = conn.execute(
            _FENCE, {"name": self.name, "holder": self.holder, "epoch": self.epoch}
        ).first()
        if found is None:
            raise LeaseLost(
                f"{self.holder} no longer leads (epoch {self.epoch} was taken over): write refused"
            )


_RELEASE_CLAIMS = text(
    "UPDATE deliveries SET status = 'pending', claimed_until = NULL WHERE status = 'sending'"
)


def release_claims(store: Store) -> int:
    """A new leader's first write: the outbox rows still claimed (by the leader before it,
    dead or deposed, whose outcomes the fence now refuses) are pending again, so they go out
    now rather than when their claims run out; the parts already sent are kept. Fenced like
    every leader write. Returns how many rows were released."""
    with store.connection() as conn:
        released = conn.execute(_RELEASE_CLAIMS).rowcount
        store.check_fence(conn)
    return int(released or 0)


class LeaderLease:
    """The lease for `holder` on `store` (PostgreSQL), lasting `ttl` seconds per renewal.
    Every method is one short transaction, blocking: run it in a worker thread."""

    def __init__(self, store: Store, holder: str, ttl: float, name: str = LEASE_NAME) -> None:
        if store.is_sqlite:
            raise ValueError("a leader lease needs PostgreSQL; SQLite serves one process")
        self.store, self.holder, self.ttl, self.name = store, holder, float(ttl), name

    def _args(self, **more: object) -> dict[str, object]:
        return {"name": self.name, "holder": self.holder, "ttl": self.ttl, **more}

    def try_acquire(self) -> Fence | None:
        """Take the lease when it is free or expired: the fence of the new epoch, else None
        (someone else holds it)."""
        with self.store.connection() as conn:
            epoch = conn.execute(_INSERT, self._args()).scalar()
            if epoch is None:
                epoch = conn.execute(_TAKE_OVER, self._args()).scalar()
        return None if epoch is None else Fence(self.holder, int(epoch), self.name)

    def renew(self, fence: Fence) -> bool:
        """Extend our lease; False when it is no longer ours (taken over after it expired)."""
        with self.store.connection() as conn:
            return conn.execute(_RENEW, self._args(epoch=fence.epoch)).scalar() is not None

    def release(self, fence: Fence) -> None:
        """End our lease now, so that a follower takes over at its next try."""
        with self.store.connection() as conn:
            conn.execute(_RELEASE, self._args(epoch=fence.epoch))

    def current(self) -> LeaseHolder | None:
        """The stored lease (None before anyone took it)."""
        with self.store.connection() as conn:
            row = conn.execute(_CURRENT, {"name": self.name}).first()
        if row is None:
            return None
        expires = as_utc(row.expires_at)
        assert expires is not None  # the column is not nullable
        return LeaseHolder(row.holder, int(row.epoch), expires, bool(row.live))
