"""Database URLs as users write them, mapped to the driver the bot ships (psycopg 3).

SQLAlchemy reads `postgresql://` (and Heroku-style `postgres://`) as psycopg2, which is not
installed; `postgresql+psycopg://` is. An explicit driver is left alone.
"""

from __future__ import annotations

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

#: the databases the store is built and tested for
BACKENDS = ("sqlite", "postgresql")

_PLAIN = ("postgresql://", "postgres://")


def normalize_database_url(url: str) -> str:
    for prefix in _PLAIN:
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def check_database_url(url: str) -> str:
    """`url` unchanged when SQLAlchemy can parse it and it names SQLite or PostgreSQL; else
    a ValueError that never repeats the URL (it may hold a password)."""
    expected = (
        "expected sqlite:///FILE or postgresql+psycopg://USER:PASSWORD@HOST/DB; "
        "DATABASE_URL, when set, replaces this key"
    )
    try:
        backend = make_url(normalize_database_url(url)).get_backend_name()
    except ArgumentError:
        raise ValueError(f"not a database URL ({expected})") from None
    if backend not in BACKENDS:
        raise ValueError(f"{backend} is not supported ({expected})")
    return url


def display_database_url(url: str) -> str:
    """`url` as it may be shown: its password hidden; a URL that does not parse shows its
    scheme only, never in full (it may still hold a password)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # whatever SQLAlchemy raises on it
        return url.split(":", 1)[0] + ":…"
