"""What the health probe reads: the last run and the dead letters, within a time limit.

A probe must answer within seconds even while another process holds the database, so
`read_health` can wait less for a lock than the store's 30 s: SQLite's busy timeout of the
probe's connection, PostgreSQL's lock and statement timeouts of its transaction.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bot.model import StorageError
from bot.storage.runs import Runs, RunSummary
from bot.storage.store import Store, as_utc
from bot.storage.tables import DeliveryRow


class DatabaseUnavailable(StorageError):
    """The database did not answer (locked by another process, unreachable); the message is
    one line for a reason list."""


@dataclass(frozen=True)
class HealthFacts:
    """The database's part of the health verdict."""

    last_run: RunSummary | None
    dead_letters: int
    #: when the oldest dead letter was queued (UTC); None when there is none
    oldest_dead_letter: datetime | None


def read_health(store: Store, wait: float | None = None) -> HealthFacts:
    """The last run and the dead letters. `wait`: seconds to wait for a lock held by another
    process (None: the store's own limits); a database that cannot answer is
    `DatabaseUnavailable`."""
    try:
        with _session(store, wait) as s:
            run = Runs(s).last()
            dead_oldest = s.scalar(
                select(func.min(DeliveryRow.created_at)).where(DeliveryRow.status == "dead")
            )
            dead = s.scalar(select(func.count()).where(DeliveryRow.status == "dead")) or 0
    except SQLAlchemyError as exc:
        raise DatabaseUnavailable(_database_trouble(exc)) from exc
    return HealthFacts(run, dead, as_utc(dead_oldest))


def ping(store: Store, wait: float | None = None) -> None:
    """One round trip to the database (readiness); `DatabaseUnavailable` when it does not
    answer within `wait` seconds."""
    try:
        if store.is_sqlite:  # a local file: reachable when it opens (no write lock taken)
            raw = store.engine.raw_connection()
            try:
                raw.cursor().execute("SELECT 1")
            finally:
                raw.close()
            return
        with _session(store, wait) as s:
            s.execute(text("SELECT 1"))
    except (SQLAlchemyError, sqlite3.Error) as exc:
        raise DatabaseUnavailable(_database_trouble(exc)) from exc


def _database_trouble(exc: SQLAlchemyError | sqlite3.Error) -> str:
    """The driver's message ("database is locked"), not SQLAlchemy's with its SQL."""
    cause = getattr(exc, "orig", None) or exc
    lines = str(cause).strip().splitlines()
    return f"database unavailable: {lines[0] if lines else type(cause).__name__}"


@contextlib.contextmanager
def _session(store: Store, wait: float | None) -> Iterator[Session]:
    """The store's transaction, waiting at most `wait` seconds (None: the store's own limits)
    for a lock held by another process."""
    ms = None if wait is None else max(1, round(wait * 1000))
    if ms is None or (store.is_sqlite and store.engine.url.database in (None, "", ":memory:")):
        with store.transaction() as s:  # an in-memory database has no other process
            yield s
    elif not store.is_sqlite:
        with store.transaction() as s:
            s.execute(text(f"SET LOCAL lock_timeout = {ms}"))
            s.execute(text(f"SET LOCAL statement_timeout = {ms}"))
            yield s
    else:  # SQLite: the busy timeout of this connection, set before its BEGIN IMMEDIATE
        with store.engine.connect() as conn:
            raw = conn.connection.dbapi_connection
            assert raw is not None
            before = raw.execute("PRAGMA busy_timeout").fetchone()[0]
            raw.execute(f"PRAGMA busy_timeout={ms}")
            try:
                with Session(bind=conn, expire_on_commit=False) as s, s.begin():
                    yield s
            finally:
                raw.execute(f"PRAGMA busy_timeout={int(before)}")
