"""Store: schema creation, reopening, transactions and outbox claims on SQLite (and on
PostgreSQL when TEST_DATABASE_URL is set); a database that cannot be used is one clear error,
and one daemon holds a SQLite file."""

from __future__ import annotations

import os
from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError

from bot.model.errors import ConfigError, StorageError
from bot.storage.errors import daemon_lock, storage_error
from bot.storage.store import MEMORY_URL, SCHEMA_VERSION, Store, utcnow
from bot.storage.tables import AlertRow, DeliveryRow, DestinationRow, SchemaVersion


@pytest.fixture
def store(db_url: str):
    s = Store(db_url)
    yield s
    s.close()


def _alert(**kw) -> AlertRow:
    base = dict(
        rule_id="r",
        transition="fired",
        session=date(2026, 3, 2),
        kind="alert",
        severity="info",
        value=66.0,
        threshold=65.0,
        message="m",
        created_at=utcnow(),
    )
    base.update(kw)
    return AlertRow(**base)


def test_schema_survives_reopen(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    s1 = Store(url)
    with s1.transaction() as s:
        s.add(_alert())
    s1.close()
    s2 = Store(url)  # create_all again must keep the data
    with s2.transaction() as s:
        assert len(s.scalars(select(AlertRow)).all()) == 1
    s2.close()


def test_alert_key_is_unique(store: Store) -> None:
    with store.transaction() as s:
        s.add(_alert())
    with pytest.raises(IntegrityError), store.transaction() as s:
        s.add(_alert(value=70.0))
    with store.transaction() as s:
        assert len(s.scalars(select(AlertRow)).all()) == 1


def test_failed_transaction_rolls_back_everything(store: Store) -> None:
    with pytest.raises(RuntimeError), store.transaction() as s:
        s.add(_alert(rule_id="x"))
        s.flush()
        raise RuntimeError("boom")
    with store.transaction() as s:
        assert s.scalars(select(AlertRow)).all() == []


def _delivery(dest_id: int, key: str, **kw) -> DeliveryRow:
    now = utcnow()
    base = dict(
        destination_id=dest_id,
        group_key=key,
        kind="alert",
        payload={},
        next_attempt_at=now - timedelta(seconds=1),
        created_at=now,
    )
    base.update(kw)
    return DeliveryRow(**base)


def test_claims_are_exclusive_and_leases_expire(store: Store) -> None:
    with store.transaction() as s:
        a = DestinationRow(platform="telegram", chat_id="1", created_at=utcnow())
        b = DestinationRow(platform="telegram", chat_id="2", created_at=utcnow())
        s.add_all([a, b])
        s.flush()
        s.add_all([_delivery(a.id, f"a{i}") for i in range(5)])
        s.add_all([_delivery(b.id, f"b{i}") for i in range(2)])
    first = store.claim_deliveries("a", limit=3)
    # chat 1 is leased by worker a: worker b gets chat 2 only, never the rest of chat 1
    second = store.claim_deliveries("b", limit=10)
    assert len(first) == 3 and len(second) == 2 and not set(first) & set(second)
    assert store.claim_deliveries("c") == []  # chat 1's tail waits for its head
    counts = store.queue_counts()
    assert counts.sending == 5 and counts.pending == 2
    # once chat 1's claimed rows are done, its tail is claimable, in order
    with store.transaction() as s:
        for rid in first:
            s.get(DeliveryRow, rid).status = "delivered"
    tail = store.claim_deliveries("d")
    assert len(tail) == 2 and min(tail) > max(first)
    # an expired lease (a crashed worker) makes the row claimable again
    with store.transaction() as s:
        s.get(DeliveryRow, tail[0]).claimed_until = utcnow() - timedelta(seconds=1)
        s.get(DeliveryRow, tail[1]).claimed_until = utcnow() - timedelta(seconds=1)
    assert sorted(store.claim_deliveries("e")) == sorted(tail)


def test_future_rows_are_not_claimed(store: Store) -> None:
    with store.transaction() as s:
        d = DestinationRow(platform="slack", chat_id="C1", created_at=utcnow())
        s.add(d)
        s.flush()
        s.add(_delivery(d.id, "later", next_attempt_at=utcnow() + timedelta(minutes=5), attempts=1))
    assert store.claim_deliveries("w") == []
    assert store.queue_counts().retrying == 1


# --- a database that cannot be used: one StorageError that says why and what to do --------


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("directory", "is a directory"),
        ("missing parent", "does not exist"),
        ("corrupt", "not a SQLite database"),
        ("read-only", "read-only"),
    ],
)
def test_an_unusable_database_file_is_a_storage_error(tmp_path, case: str, expected: str) -> None:
    path = tmp_path / "bot.db"
    url = f"sqlite:///{path}"
    if case == "directory":
        path.mkdir()
    elif case == "missing parent":
        path = tmp_path / "gone" / "bot.db"
        url = f"sqlite:///{path}"
    elif case == "corrupt":
        path.write_bytes(b"\x00garbage" * 1000)
    elif case == "read-only":  # a read-only volume (root ignores file modes, so say it)
        Store(url).close()
        url = f"sqlite:///file:{path}?mode=ro&uri=true"
    with pytest.raises(StorageError) as caught:
        Store(url)
    message = str(caught.value)
    assert expected in message and str(path) in message and "\n" not in message


def test_a_full_disk_while_running_is_a_storage_error(tmp_path) -> None:
    """SQLite's SQLITE_FULL on a write after the start, as the command line translates it."""
    path = tmp_path / "bot.db"
    url = f"sqlite:///{path}"
    store = Store(url)
    try:
        with store.connection() as conn:
            pages = conn.exec_driver_sql("PRAGMA page_count").scalar()
            conn.exec_driver_sql(f"PRAGMA max_page_count={pages}")
        with pytest.raises(OperationalError) as caught, store.transaction() as s:
            s.add_all([_alert(rule_id=f"r{i}", message="m" * 500) for i in range(50)])
    finally:
        store.close()
    error = storage_error(caught.value, url)
    assert isinstance(error, StorageError)
    assert "full" in str(error) and str(path) in str(error) and "INSERT" not in str(error)


def test_a_newer_schema_is_a_storage_error(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    store = Store(url)
    with store.transaction() as s:
        s.get(SchemaVersion, 1).version = SCHEMA_VERSION + 1
    store.close()
    with pytest.raises(StorageError, match="upgrade rotation-bot"):
        Store(url)


def test_an_unusable_url_is_a_config_error_without_its_password() -> None:
    for url in ("not a url", "postgresql://bot:pw-secret-xyz@db:notaport/bot", "mysql://a:b@c/d"):
        with pytest.raises(ConfigError) as caught:
            Store(url)
        assert "pw-secret-xyz" not in str(caught.value)
        assert "database URL" in str(caught.value)


def test_one_daemon_per_sqlite_file(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    with daemon_lock(url):
        with pytest.raises(StorageError) as caught, daemon_lock(url):
            pass
        message = str(caught.value)
        assert "another rotation-bot process" in message and str(os.getpid()) in message
        assert str(tmp_path / "bot.db") in message
    with daemon_lock(url):  # released at exit
        pass
    with daemon_lock(MEMORY_URL), daemon_lock(MEMORY_URL):  # nothing to share
        pass
