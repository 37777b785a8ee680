"""Take turns on PostgreSQL: a transaction-scoped advisory lock named after what it guards.

Several replicas starting at once on a fresh database all try to create the tables, write the
schema version and insert the config's destinations; each of those reads first and writes
what it did not find, so two of them find nothing and one fails on a unique key. Holding an
advisory lock for the length of that transaction makes the second wait for the first and then
read what it wrote. The key mixes in the current schema, so databases that share a server but
not a schema (the tests' schemas, say) never wait for each other. On SQLite nothing is needed:
a write transaction there starts with BEGIN IMMEDIATE, which already serialises them.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

_LOCK = text("SELECT pg_advisory_xact_lock(hashtext(current_schema() || ':' || :name))")


def serialize(conn: Connection | Session, name: str) -> None:
    """Wait until no other transaction holds the lock `name` (in this schema), then hold it
    until this transaction ends. A no-op on SQLite."""
    dialect = conn.get_bind().dialect if isinstance(conn, Session) else conn.dialect
    if dialect.name == "postgresql":
        conn.execute(_LOCK, {"name": name})
