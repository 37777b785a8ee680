"""The bot's database: connection, schema, and the queries every layer shares.

SQLite by default (a file next to the bot; `sqlite://` for a throwaway in-memory store),
PostgreSQL through `DATABASE_URL`. Write transactions on SQLite start with BEGIN IMMEDIATE so
two processes racing on one file serialise instead of failing half-way; on PostgreSQL the
outbox is claimed with FOR UPDATE SKIP LOCKED so several workers share it. A database that
cannot be opened or written is a `StorageError` (`bot.storage.errors`) at once, not at the first
alert: a bad URL is a `ConfigError`.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import create_engine, event, func, inspect, select, update
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from bot.model import ConfigError, StorageError, register_secret, utcnow
from bot.storage import errors as db_errors
from bot.storage.locks import serialize
from bot.storage.tables import Base, DeliveryRow, DestinationRow, SchemaVersion
from bot.storage.url import check_database_url, normalize_database_url

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
MEMORY_URL = "sqlite://"


def as_utc(ts: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything here is UTC."""
    if ts is None:
        return None
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)


#: columns added to a table after its first release: `create_all` creates missing tables
#: only, so a database from before gets them here (nullable, so an older bot writing rows
#: without them still works, and the schema version stays)
ADDED_COLUMNS = {"update_claims": ("lease_until", "done_at")}


def add_missing_columns(conn: Connection) -> None:
    """Upgrade in place: ALTER TABLE ... ADD COLUMN for each of `ADDED_COLUMNS` missing."""
    for table, names in ADDED_COLUMNS.items():
        have = {c["name"] for c in inspect(conn).get_columns(table)}
        for name in names:
            if name in have:
                continue
            column = Base.metadata.tables[table].c[name]
            kind = column.type.compile(dialect=conn.dialect)
            conn.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")
            log.info("database: added column %s.%s", table, name)


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_conn.isolation_level = None  # let SQLAlchemy's "begin" event emit BEGIN
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(db_errors.BUSY_TIMEOUT * 1000)}")
        if engine.url.database not in (None, "", ":memory:"):
            cur.execute("PRAGMA journal_mode=WAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn) -> None:  # type: ignore[no-untyped-def]
        conn.exec_driver_sql("BEGIN IMMEDIATE")


@dataclass(frozen=True)
class QueueCounts:
    """Delivery outbox by state; feeds /status and /metrics."""

    pending: int = 0
    retrying: int = 0
    sending: int = 0
    delivered: int = 0
    dead: int = 0
    cancelled: int = 0


class Store:
    """Owns the SQLAlchemy engine and hands out transactions."""

    #: while a replica leads, a check that it still does, run at the end of each of its
    #: fenced writes (outbox claims and outcomes, evaluations): see `bot.storage.leader`
    fence: Callable[[Connection | Session], None] | None = None

    def check_fence(self, conn: Connection | Session) -> None:
        """Refuse this transaction's writes when the replica no longer leads (no fence: a
        single process, nothing to check)."""
        if self.fence is not None:
            self.fence(conn)

    def __init__(self, url: str = MEMORY_URL) -> None:
        url = normalize_database_url(url)  # postgresql:// means psycopg 3 here
        try:
            check_database_url(url)
            register_secret(make_url(url).password)  # whatever prints a URL, never this
        except ValueError as exc:  # never repeats the URL: it may hold a password
            raise ConfigError(f"database URL: {exc}; {db_errors.FIX_URL}") from None
        self.url = url
        kwargs: dict = {}
        if url.startswith("sqlite"):
            if url in (MEMORY_URL, "sqlite:///:memory:"):
                kwargs = {"poolclass": StaticPool, "connect_args": {"check_same_thread": False}}
            else:
                timeout = db_errors.BUSY_TIMEOUT
                kwargs = {"connect_args": {"check_same_thread": False, "timeout": timeout}}
        try:
            self.engine = create_engine(url, **kwargs)
        except ImportError as exc:  # a dialect whose driver is not installed
            shown = db_errors.describe_database(url)
            raise ConfigError(f"{shown}: its driver is not installed ({exc.name})") from None
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        if self.is_sqlite:
            _sqlite_setup(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        # an in-memory database is one connection shared by every thread (StaticPool): its
        # transactions must take turns, or two chat commands at once collide mid-transaction
        self._memory_lock = threading.RLock() if kwargs.get("poolclass") is StaticPool else None
        try:
            self._create_schema()
        except (SQLAlchemyError, sqlite3.Error, OSError) as exc:
            self.engine.dispose()
            raise db_errors.storage_error(exc, url) from exc
        except StorageError:
            self.engine.dispose()
            raise

    def _create_schema(self) -> None:
        """The tables, and one write: a database that cannot be written (read-only, full,
        locked by another process) fails here, at the start, rather than at the first alert.
        Replicas starting together on PostgreSQL take turns (`serialize`)."""
        with self.connection() as conn:
            serialize(conn, "schema")
            Base.metadata.create_all(conn)
            add_missing_columns(conn)
        with self.transaction() as s:
            serialize(s, "schema")
            row = s.get(SchemaVersion, 1)
            if row is None:
                s.add(SchemaVersion(id=1, version=SCHEMA_VERSION))
            elif row.version > SCHEMA_VERSION:
                raise StorageError(
                    f"database schema v{row.version} is newer than this bot (v{SCHEMA_VERSION}); "
                    "upgrade rotation-bot"
                )
            else:
                s.execute(
                    update(SchemaVersion)
                    .where(SchemaVersion.id == 1)
                    .values(version=SchemaVersion.version)
                )

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: commit on success, roll back on any error."""
        lock = self._memory_lock or contextlib.nullcontext()
        with lock, self._sessions() as session, session.begin():
            yield session

    @contextlib.contextmanager
    def connection(self) -> Iterator[Connection]:
        """A Core connection in a transaction, for bulk statements (same rules as above)."""
        lock = self._memory_lock or contextlib.nullcontext()
        with lock, self.engine.begin() as conn:
            yield conn

    def close(self) -> None:
        self.engine.dispose()

    # --- outbox queries shared by delivery, /status and /metrics ---------------------------

    def queue_counts(self, now: datetime | None = None) -> QueueCounts:
        now = now or utcnow()
        with self.transaction() as s:
            failed = DeliveryRow.last_error.is_not(None)
            rows = s.execute(
                select(DeliveryRow.status, DeliveryRow.attempts, failed, func.count()).group_by(
                    DeliveryRow.status, DeliveryRow.attempts, failed
                )
            ).all()
        counts: dict[str, int] = {}
        for status, attempts, has_error, n in rows:
            # retrying: pending after a failure (a 429 sets last_error, not attempts)
            key = "retrying" if status == "pending" and (attempts > 0 or has_error) else status
            counts[key] = counts.get(key, 0) + n
        known = QueueCounts.__dataclass_fields__
        return QueueCounts(**{k: v for k, v in counts.items() if k in known})

    def claim_deliveries(
        self,
        worker: str,
        limit: int = 50,
        lease: timedelta = timedelta(minutes=2),
        now: datetime | None = None,
    ) -> list[int]:
        """Claim due outbox rows for `worker` until the lease ends; returns their ids.

        A row whose lease ran out (its worker died mid-send) is claimable again, which is how
        a crash loses nothing; at most the sends in flight at the crash can repeat.
        """
        now = now or utcnow()
        due_now = ((DeliveryRow.status == "pending") & (DeliveryRow.next_attempt_at <= now)) | (
            (DeliveryRow.status == "sending") & (DeliveryRow.claimed_until < now)
        )
        # a destination is claimed whole: never while another worker holds a live lease on
        # one of its rows, so each chat's messages go out in order even with several workers
        leased = select(DeliveryRow.destination_id).where(
            (DeliveryRow.status == "sending") & (DeliveryRow.claimed_until >= now)
        )
        with self.transaction() as s:
            dests = (
                select(DestinationRow.id)
                .where(DestinationRow.id.in_(select(DeliveryRow.destination_id).where(due_now)))
                .where(DestinationRow.id.not_in(leased))
                .order_by(DestinationRow.id)
                .limit(limit)
            )
            if not self.is_sqlite:  # SQLite's BEGIN IMMEDIATE already serialises claims
                dests = dests.with_for_update(skip_locked=True)
            dest_ids = list(s.scalars(dests))
            if dest_ids:
                # again, now that we hold the destinations' locks: on PostgreSQL the first
                # statement's snapshot may predate another worker's claim that committed
                # while we waited, and this new statement sees it (READ COMMITTED)
                busy = set(s.scalars(leased.where(DeliveryRow.destination_id.in_(dest_ids))))
                dest_ids = [d for d in dest_ids if d not in busy]
            ids: list[int] = []
            if dest_ids:
                ids = list(
                    s.scalars(
                        select(DeliveryRow.id)
                        .where(due_now & DeliveryRow.destination_id.in_(dest_ids))
                        # whole destinations first; a cut-off tail waits for its head
                        .order_by(
                            DeliveryRow.destination_id, DeliveryRow.next_attempt_at, DeliveryRow.id
                        )
                        .limit(limit)
                    )
                )
            if ids:
                s.execute(
                    update(DeliveryRow)
                    .where(DeliveryRow.id.in_(ids))
                    .values(status="sending", claimed_until=now + lease)
                )
            self.check_fence(s)
        if ids:
            log.debug("worker %s claimed %d deliveries", worker, len(ids))
        return ids
