"""Claims on incoming chat updates: each one is handled by one replica, once, and not lost.

Telegram retries a webhook update that was not acknowledged in time, possibly to another
replica behind the same URL, and delivers up to `max_connections` at once, out of order; Slack
retries an event (`X-Slack-Retry-Num`) the same way. So before an update is handled it is
taken here, and marked done once handled. A claim has a state:

- taken, with a lease (`lease_until`, `LEASE` from now): the replica that took it is handling
  it. Another delivery of the update meanwhile is `Claim.BUSY`: the caller asks the platform
  to deliver it again later, neither handling it nor acknowledging it away.
- done (`done_at` set): handled; a later delivery is `Claim.DONE`, acknowledged and dropped.
- taken, lease run out, not done: the replica died while handling it (`kill -9` between the
  claim and the answer). The next delivery takes it again (`Claim.TAKEN`) and handles it.

Taking is one statement, atomic on SQLite and PostgreSQL alike: `INSERT ... ON CONFLICT DO
UPDATE ... WHERE done_at IS NULL AND lease_until < now RETURNING`. A new update inserts, an
expired lease is renewed, and anything else returns no row, which is no error (PostgreSQL logs
nothing, the transaction stays usable); a racing second take waits for the first's row lock
(PostgreSQL) or its BEGIN IMMEDIATE (SQLite) and then sees the fresh lease. A high-water mark
would not do: updates arrive out of order. `LEASE` (60 s) is longer than the slowest handling
(a chart reply takes seconds): a lease never runs out under a replica still at work, so an
update is handled twice only when its handling outlives the lease. A claim from before leases
existed (no `lease_until`) counts as done.

Claims are needed only while the platform may still deliver the update again (Telegram keeps
an update at most 24 hours), so claims older than `keep` are deleted, at most once every
`prune_every`, by whichever claim comes along then: no scheduled job, no second process.
"""

from __future__ import annotations

import enum
import hashlib
import logging
import threading
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import ReturningInsert

from bot.model import Clock, StorageError, utcnow
from bot.storage.errors import DATABASE_ERRORS
from bot.storage.store import Store
from bot.storage.tables import UpdateClaimRow

log = logging.getLogger(__name__)

#: how long a replica may take to handle an update before another may take it again; longer
#: than the slowest reply (a chart: seconds), short enough that a retry after a crash is
#: handled within minutes
LEASE = timedelta(seconds=60)
#: twice Telegram's 24 hours: a retry can never outlive its claim, even across a clock step
KEEP = timedelta(days=2)
PRUNE_EVERY = timedelta(minutes=10)
#: the key column's width; longer keys are stored as their SHA-256
MAX_KEY = 128


class Claim(enum.Enum):
    """What `UpdateClaims.take` found; see the module docstring."""

    TAKEN = "taken"  #: this caller handles the update, then calls `done`
    BUSY = "busy"  #: another replica's lease runs: ask the platform to deliver it again later
    DONE = "done"  #: handled before: acknowledge it, do nothing


def _take_statement(
    dialect: str, platform: str, key: str, now: datetime, lease: timedelta
) -> ReturningInsert:
    """INSERT the claim, or renew it when its lease ran out and it is not done; returns the
    key only when this statement took it."""
    values = {"platform": platform, "key": key, "claimed_at": now, "lease_until": now + lease}
    conflict = ["platform", "key"]
    expired = UpdateClaimRow.done_at.is_(None) & (UpdateClaimRow.lease_until < now)
    renew = {"lease_until": now + lease}
    if dialect == "postgresql":
        pg = postgresql.insert(UpdateClaimRow).values(values)
        pg_upsert = pg.on_conflict_do_update(index_elements=conflict, set_=renew, where=expired)
        return pg_upsert.returning(UpdateClaimRow.key)
    lite = sqlite.insert(UpdateClaimRow).values(values)
    lite_upsert = lite.on_conflict_do_update(index_elements=conflict, set_=renew, where=expired)
    return lite_upsert.returning(UpdateClaimRow.key)


def stored_key(key: str) -> str:
    """`key` as stored: itself, or its SHA-256 when it is longer than the column."""
    return key if len(key) <= MAX_KEY else hashlib.sha256(key.encode()).hexdigest()


class UpdateClaims:
    """Claims in `store`; safe to call from several threads (the chat adapters claim from
    worker threads). A database failure is a `StorageError`: the caller then asks the platform
    to deliver again later rather than answer an update it could not claim."""

    def __init__(
        self,
        store: Store,
        *,
        lease: timedelta = LEASE,
        keep: timedelta = KEEP,
        prune_every: timedelta = PRUNE_EVERY,
        clock: Clock = utcnow,
    ) -> None:
        self._store = store
        self._lease = lease
        self._keep = keep
        self._prune_every = prune_every
        self._clock = clock
        self._dialect = store.engine.dialect.name
        self._lock = threading.Lock()
        self._next_prune: datetime | None = None  # None: at the first claim

    def take(self, platform: str, key: str) -> Claim:
        """Take the update for `lease` (TAKEN: handle it, then `done`), or say why not."""
        now = self._clock()
        stored = stored_key(key)
        stmt = _take_statement(self._dialect, platform, stored, now, self._lease)
        try:
            with self._store.connection() as conn:
                if conn.execute(stmt).first() is not None:
                    found = Claim.TAKEN
                else:  # the same transaction: on SQLite still under BEGIN IMMEDIATE
                    row = conn.execute(
                        select(UpdateClaimRow.done_at, UpdateClaimRow.lease_until).where(
                            (UpdateClaimRow.platform == platform) & (UpdateClaimRow.key == stored)
                        )
                    ).first()
                    busy = row is not None and row.done_at is None and row.lease_until is not None
                    found = Claim.BUSY if busy else Claim.DONE
        except DATABASE_ERRORS as exc:
            raise StorageError(f"cannot claim a {platform} update: {type(exc).__name__}") from exc
        if self._prune_due(now):
            try:
                self.prune(now - self._keep)
            except StorageError as exc:  # pruning can wait for the next round
                log.warning("%s", exc)
        return found

    def done(self, platform: str, key: str) -> None:
        """Mark the update handled: no later delivery takes it again."""
        stored = stored_key(key)
        try:
            with self._store.connection() as conn:
                conn.execute(
                    update(UpdateClaimRow)
                    .where((UpdateClaimRow.platform == platform) & (UpdateClaimRow.key == stored))
                    .values(done_at=self._clock())
                )
        except DATABASE_ERRORS as exc:
            raise StorageError(
                f"cannot mark a {platform} update handled: {type(exc).__name__}"
            ) from exc

    def _prune_due(self, now: datetime) -> bool:
        with self._lock:
            if self._next_prune is not None and now < self._next_prune:
                return False
            self._next_prune = now + self._prune_every
            return True

    def prune(self, before: datetime | None = None) -> int:
        """Delete claims made before `before` (default: `keep` ago); returns how many."""
        before = before or self._clock() - self._keep
        try:
            with self._store.connection() as conn:
                gone = conn.execute(
                    delete(UpdateClaimRow).where(UpdateClaimRow.claimed_at < before)
                ).rowcount
        except DATABASE_ERRORS as exc:
            raise StorageError(f"cannot prune update claims: {type(exc).__name__}") from exc
        if gone:
            log.debug("pruned %d update claim(s) older than %s", gone, before.isoformat())
        return gone
