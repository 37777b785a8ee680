"""Update claims: one claim per update across stores (replicas) on SQLite and PostgreSQL,
leases (refused while they run, taken again after unless done), the columns added to a table
from before leases, pruning of old claims, long keys, and a failing database as one
`StorageError`."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from bot.model.errors import StorageError
from bot.storage.store import Store
from bot.storage.update_claims import LEASE, MAX_KEY, Claim, UpdateClaims

T0 = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _rows(store: Store) -> list[tuple[str, str]]:
    """The claims as plain SQL sees them, not through the repository under test."""
    with store.engine.connect() as conn:
        rows = conn.execute(text("SELECT platform, key FROM update_claims ORDER BY 1, 2")).all()
    return [(p, k) for p, k in rows]


@pytest.fixture
def stores(db_url):
    """Three stores on one database: three replicas' connection pools."""
    opened = [Store(db_url) for _ in range(3)]
    yield opened
    for s in opened:
        s.close()


def test_an_update_is_claimed_once_per_platform(stores) -> None:
    claims = UpdateClaims(stores[0])
    assert claims.take("telegram", "1:100") is Claim.TAKEN
    assert claims.take("telegram", "1:100") is Claim.BUSY
    assert UpdateClaims(stores[1]).take("telegram", "1:100") is Claim.BUSY  # another replica
    assert claims.take("slack", "1:100") is Claim.TAKEN  # the same id on another platform
    assert _rows(stores[2]) == [("slack", "1:100"), ("telegram", "1:100")]


def test_racing_replicas_claim_each_update_exactly_once(stores) -> None:
    """Three replicas, four threads each, all claiming the same 60 updates at once."""
    keys = [f"1:{i}" for i in range(60)]
    wins: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(12)

    def replica_thread(store: Store) -> None:
        claims = UpdateClaims(store)
        start.wait()
        for key in keys:
            if claims.take("telegram", key) is Claim.TAKEN:
                with lock:
                    wins.append(key)

    threads = [
        threading.Thread(target=replica_thread, args=(store,)) for store in stores for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(wins) == sorted(keys)  # every update won once, none twice
    assert len(_rows(stores[0])) == 60


def _states(store: Store) -> dict[str, tuple[bool, bool]]:
    """key -> (has a lease, is done), as plain SQL sees them."""
    with store.engine.connect() as conn:
        rows = conn.execute(text("SELECT key, lease_until, done_at FROM update_claims")).all()
    return {k: (lease is not None, done is not None) for k, lease, done in rows}


def test_a_claim_not_done_is_refused_while_its_lease_runs_and_taken_again_after(stores) -> None:
    """A replica that took an update and died (no `done`): every other replica is told BUSY
    until the lease ends, then exactly one takes it again, with a fresh lease."""
    clock = Clock()
    dead = UpdateClaims(stores[0], lease=timedelta(seconds=60), clock=clock)
    assert dead.take("telegram", "1:7") is Claim.TAKEN
    others = [UpdateClaims(s, lease=timedelta(seconds=60), clock=clock) for s in stores[1:]]
    for at in (1, 30, 59, 60):  # the lease still runs at its last instant
        clock.now = T0 + timedelta(seconds=at)
        assert [o.take("telegram", "1:7") for o in others] == [Claim.BUSY, Claim.BUSY]
    clock.now = T0 + timedelta(seconds=61)
    assert others[0].take("telegram", "1:7") is Claim.TAKEN
    # the new lease runs from now: the third replica, and the dead one's ghost, wait again
    clock.now = T0 + timedelta(seconds=61 + 59)
    assert others[1].take("telegram", "1:7") is Claim.BUSY
    assert dead.take("telegram", "1:7") is Claim.BUSY
    others[0].done("telegram", "1:7")
    assert _states(stores[2]) == {"1:7": (True, True)}
    assert _rows(stores[2]) == [("telegram", "1:7")]


def test_a_done_claim_is_never_taken_again(stores) -> None:
    clock = Clock()
    claims = UpdateClaims(stores[0], clock=clock)
    assert claims.take("slack", "event:Ev1") is Claim.TAKEN
    assert _states(stores[1]) == {"event:Ev1": (True, False)}
    claims.done("slack", "event:Ev1")
    assert _states(stores[1]) == {"event:Ev1": (True, True)}
    for later in (timedelta(0), LEASE, LEASE * 2, timedelta(days=1)):
        clock.now = T0 + later
        other = UpdateClaims(stores[1], clock=clock, prune_every=timedelta(days=365))
        assert other.take("slack", "event:Ev1") is Claim.DONE
        assert claims.take("slack", "event:Ev1") is Claim.DONE
    assert UpdateClaims(stores[2]).take("telegram", "event:Ev1") is Claim.TAKEN  # other platform


def test_racing_replicas_retake_an_expired_lease_exactly_once(stores) -> None:
    """Twelve threads on three stores find the same 30 expired, undone claims at once: each is
    taken again by one of them."""
    keys = [f"1:{i}" for i in range(30)]
    # five minutes ago, by the real clock the racers use (and within `keep`: not pruned)
    past = UpdateClaims(stores[0], clock=Clock(datetime.now(UTC) - timedelta(minutes=5)))
    for key in keys:
        assert past.take("telegram", key) is Claim.TAKEN
    wins: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(12)

    def replica_thread(store: Store) -> None:
        claims = UpdateClaims(store)
        start.wait()
        for key in keys:
            if claims.take("telegram", key) is Claim.TAKEN:
                with lock:
                    wins.append(key)

    threads = [
        threading.Thread(target=replica_thread, args=(store,)) for store in stores for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(wins) == sorted(keys)


def test_a_claims_table_from_before_leases_gets_the_columns(db_url) -> None:
    """A database whose update_claims has no lease columns yet: opening it adds them, the
    old claims count as done (they were acknowledged), new ones take leases."""
    old = Store(db_url)
    with old.engine.begin() as conn:
        conn.execute(text("DROP TABLE update_claims"))
        conn.execute(
            text(
                "CREATE TABLE update_claims (platform VARCHAR(16) NOT NULL, "
                "key VARCHAR(128) NOT NULL, claimed_at TIMESTAMP WITH TIME ZONE NOT NULL, "
                "PRIMARY KEY (platform, key))"
            )
        )
        conn.execute(text("INSERT INTO update_claims VALUES ('telegram', '1:1', :at)"), {"at": T0})
    old.close()
    store = Store(db_url)
    try:
        claims = UpdateClaims(store, clock=Clock(T0 + timedelta(hours=1)))
        assert claims.take("telegram", "1:1") is Claim.DONE
        assert claims.take("telegram", "1:2") is Claim.TAKEN
        claims.done("telegram", "1:2")
        assert _states(store) == {"1:1": (False, False), "1:2": (True, True)}
        Store(db_url).close()  # opening it again changes nothing
        assert _states(store) == {"1:1": (False, False), "1:2": (True, True)}
    finally:
        store.close()


def test_old_claims_are_pruned_by_a_later_claim(stores) -> None:
    clock = Clock()
    claims = UpdateClaims(
        stores[0], keep=timedelta(days=1), prune_every=timedelta(minutes=10), clock=clock
    )
    assert (
        claims.take("telegram", "old") is Claim.TAKEN
    )  # the first claim also prunes (nothing yet)
    clock.now = T0 + timedelta(minutes=5)
    assert claims.take("telegram", "mid") is Claim.TAKEN
    clock.now = T0 + timedelta(days=1, minutes=1)
    assert claims.take("telegram", "new") is Claim.TAKEN  # prunes what is older than a day: "old"
    assert _rows(stores[0]) == [("telegram", "mid"), ("telegram", "new")]
    # within prune_every of that prune nothing is deleted, though "mid" is now a day old
    clock.now = T0 + timedelta(days=1, minutes=8)
    assert claims.take("telegram", "later") is Claim.TAKEN
    assert ("telegram", "mid") in _rows(stores[0])
    clock.now = T0 + timedelta(days=1, minutes=12)
    assert claims.take("telegram", "latest") is Claim.TAKEN
    assert _rows(stores[0]) == [("telegram", "later"), ("telegram", "latest"), ("telegram", "new")]
    # once pruned, an id may be taken again (Telegram reuses ids after a quiet week)
    assert claims.take("telegram", "old") is Claim.TAKEN


def test_prune_returns_what_it_deleted(stores) -> None:
    clock = Clock()
    claims = UpdateClaims(stores[0], clock=clock, prune_every=timedelta(days=365))
    for i in range(5):
        clock.now = T0 + timedelta(hours=i)
        claims.take("slack", f"event:Ev{i}")
    assert claims.prune(T0 + timedelta(hours=2, minutes=30)) == 3
    assert _rows(stores[0]) == [("slack", "event:Ev3"), ("slack", "event:Ev4")]


def test_keys_longer_than_the_column_are_hashed_and_still_distinct(stores) -> None:
    claims = UpdateClaims(stores[0])
    a, b = "x" * MAX_KEY + "a", "x" * MAX_KEY + "b"
    assert claims.take("slack", a) is claims.take("slack", b) is Claim.TAKEN
    claims.done("slack", a)
    assert claims.take("slack", a) is Claim.DONE
    assert claims.take("slack", b) is Claim.BUSY
    assert all(len(k) <= MAX_KEY for _, k in _rows(stores[0]))


def test_a_database_failure_is_a_storage_error(tmp_path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'bot.db'}")
    with store.engine.begin() as conn:
        conn.execute(text("DROP TABLE update_claims"))
    with pytest.raises(StorageError, match="cannot claim a telegram update"):
        UpdateClaims(store).take("telegram", "1:1")
    with pytest.raises(StorageError, match="cannot mark a telegram update handled"):
        UpdateClaims(store).done("telegram", "1:1")
    store.close()
