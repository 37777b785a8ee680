"""What the health probe reads, and how it fails: soon, and in one line."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.storage import DatabaseUnavailable, Store, read_health


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    s = Store(db_url)
    yield s
    s.close()


def test_an_empty_database_has_no_run_and_no_dead_letter(store: Store) -> None:
    facts = read_health(store, wait=1.0)
    assert facts.last_run is None and facts.dead_letters == 0
    assert facts.oldest_dead_letter is None


def test_a_locked_sqlite_file_is_unavailable_after_the_wait(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'bot.db'}")
    holder = sqlite3.connect(tmp_path / "bot.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        started = time.monotonic()
        with pytest.raises(DatabaseUnavailable, match="^database unavailable: .*locked"):
            read_health(store, wait=0.2)
        assert time.monotonic() - started < 5.0
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    # the connection's own busy timeout is back: the probe's limit was for the probe only
    assert read_health(store).last_run is None
    store.close()
