"""Database URLs: plain postgresql:// and postgres:// mean the bundled psycopg 3 driver."""

from __future__ import annotations

import pytest

from bot.storage.store import Store
from bot.storage.url import display_database_url, normalize_database_url


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u:p@db:5432/bot", "postgresql+psycopg://u:p@db:5432/bot"),
        ("postgres://u@db/bot", "postgresql+psycopg://u@db/bot"),
        ("postgresql+psycopg://u@db/bot", "postgresql+psycopg://u@db/bot"),
        ("postgresql+psycopg2://u@db/bot", "postgresql+psycopg2://u@db/bot"),
        ("sqlite:///./rotation-bot.db", "sqlite:///./rotation-bot.db"),
        ("sqlite://", "sqlite://"),
    ],
)
def test_normalize(given: str, expected: str) -> None:
    assert normalize_database_url(given) == expected


def test_a_plain_postgresql_url_opens_with_psycopg(pg_url: str) -> None:
    plain = pg_url.replace("postgresql+psycopg://", "postgresql://", 1)
    store = Store(plain)
    try:
        assert store.engine.dialect.driver == "psycopg"
        assert store.queue_counts().pending == 0
    finally:
        store.close()


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("postgresql+psycopg://bot:s3cret@db:5432/bot", "postgresql+psycopg://bot:***@db:5432/bot"),
        ("sqlite:///./rotation-bot.db", "sqlite:///./rotation-bot.db"),
        ("not a url:s3cret", "not a url:…"),
    ],
)
def test_a_url_is_shown_without_its_password(given: str, shown: str) -> None:
    assert display_database_url(given) == shown
