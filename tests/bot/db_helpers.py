"""Test databases: a fresh SQLite file, or a fresh schema on the PostgreSQL server named by
TEST_DATABASE_URL (`.ci/run` starts one and sets it; without it the PostgreSQL variants skip).

Each PostgreSQL test gets its own schema through the connection's search_path, so tests (and
other test runs sharing the server) never see each other's tables; it is dropped afterwards.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

PG_ENV = "TEST_DATABASE_URL"
NO_PG = f"{PG_ENV} is not set: no PostgreSQL server for this run (.ci/run starts one)"


def pg_base_url() -> str:
    """The server's URL, or skip the test with the reason."""
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(NO_PG)
    return url


@contextlib.contextmanager
def fresh_pg_schema(base_url: str) -> Iterator[str]:
    """A URL whose connections use a new, empty schema; the schema is dropped on exit."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = make_url(base_url).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text("SET lock_timeout = '10s'"))  # a leaked open transaction fails
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@contextlib.contextmanager
def database_url(kind: str, tmp_path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """`kind` "sqlite" (a file under tmp_path) or "postgresql" (skips without a server)."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'bot.db'}"
    else:
        with fresh_pg_schema(pg_base_url()) as url:
            yield url
