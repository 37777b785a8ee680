"""Database URLs as users write them, mapped to the driver the bot ships (psycopg 3).

SQLAlchemy reads `postgresql://` (and Heroku-style `postgres://`) as psycopg2, which is not
installed; `postgresql+psycopg://` is. An explicit driver is left alone.
"""

from __future__ import annotations

_PLAIN = ("postgresql://", "postgres://")


def normalize_database_url(url: str) -> str:
    for prefix in _PLAIN:
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
