"""The leader lease on PostgreSQL: acquire, renew, expire, take over, release; the fence that
refuses a deposed leader's writes (outbox claims and outcomes, an evaluation); and the
first-start races of replicas starting together. Skipped without TEST_DATABASE_URL."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select, text

from bot.config import Settings
from bot.delivery import sync_destinations
from bot.model import utcnow
from bot.storage import (
    Fence,
    LeaderLease,
    LeaseLost,
    OutboxDb,
    Store,
    evaluation_unit,
)
from bot.storage.tables import DeliveryRow, DestinationRow, EngineState
from tests.bot.db_helpers import fresh_pg_schema, pg_base_url
from tests.bot.outbox_helpers import alert_group, enqueue

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def pg_url() -> Iterator[str]:
    with fresh_pg_schema(pg_base_url()) as url:
        yield url


@pytest.fixture
def store(pg_url: str) -> Iterator[Store]:
    s = Store(pg_url)
    yield s
    s.close()


def _stored(store: Store) -> tuple[str, int]:
    with store.connection() as conn:
        row = conn.execute(text("SELECT holder, epoch FROM leader_lease")).one()
    return row.holder, row.epoch


# --- the lease -------------------------------------------------------------------------------


def test_the_first_replica_takes_the_lease_and_the_others_wait(store: Store) -> None:
    a, b = LeaderLease(store, "a:1", ttl=30), LeaderLease(store, "b:2", ttl=30)
    fence = a.try_acquire()
    assert fence == Fence("a:1", 1)
    assert b.try_acquire() is None
    assert a.try_acquire() is None  # holding it is not taking it again: no second epoch
    held = b.current()
    assert held is not None and held.holder == "a:1" and held.epoch == 1 and held.live
    assert _stored(store) == ("a:1", 1)


def test_renewing_keeps_the_lease_past_its_first_expiry(store: Store) -> None:
    a, b = LeaderLease(store, "a:1", ttl=1.0), LeaderLease(store, "b:2", ttl=1.0)
    fence = a.try_acquire()
    assert fence is not None
    for _ in range(4):  # 1.6 s in all: past the first expiry, never past a renewed one
        time.sleep(0.4)
        assert a.renew(fence)
        assert b.try_acquire() is None
    assert _stored(store) == ("a:1", 1)


def test_an_expired_lease_is_taken_over_with_a_new_epoch(store: Store) -> None:
    a, b = LeaderLease(store, "a:1", ttl=0.5), LeaderLease(store, "b:2", ttl=30)
    old = a.try_acquire()
    assert old is not None
    time.sleep(0.7)
    held = b.current()
    assert held is not None and not held.live
    new = b.try_acquire()
    assert new == Fence("b:2", 2)
    assert not a.renew(old)  # the old leader learns it lost at its next renewal
    assert _stored(store) == ("b:2", 2)


def test_a_released_lease_is_free_at_once(store: Store) -> None:
    a, b = LeaderLease(store, "a:1", ttl=30), LeaderLease(store, "b:2", ttl=30)
    fence = a.try_acquire()
    assert fence is not None
    a.release(fence)
    assert b.try_acquire() == Fence("b:2", 2)


def test_the_lease_is_per_schema(pg_url: str) -> None:
    """Two deployments (two test schemas) on one server each have their own leader."""
    with fresh_pg_schema(pg_base_url()) as other_url:
        one, two = Store(pg_url), Store(other_url)
        try:
            assert LeaderLease(one, "a:1", ttl=30).try_acquire() is not None
            assert LeaderLease(two, "b:2", ttl=30).try_acquire() is not None
        finally:
            one.close()
            two.close()


def test_a_killed_holder_is_replaced_after_the_lease_runs_out(store: Store, pg_url: str) -> None:
    """kill -9 of a process holding the lease: nothing releases it, and it is taken over once
    it has run out, not before."""
    script = (
        "import sys, time\n"
        "from bot.storage import LeaderLease, Store\n"
        "lease = LeaderLease(Store(sys.argv[1]), 'dead:1', ttl=2.0)\n"
        "assert lease.try_acquire() is not None\n"
        "print('held', flush=True)\n"
        "time.sleep(600)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script, pg_url],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        proc.kill()
        proc.wait()
        killed = time.monotonic()
        follower = LeaderLease(store, "b:2", ttl=30)
        assert follower.try_acquire() is None  # still within its 2 s
        fence = None
        while fence is None and time.monotonic() - killed < 10:
            time.sleep(0.1)
            fence = follower.try_acquire()
        assert fence == Fence("b:2", 2)
        assert time.monotonic() - killed < 3.0
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()  # reaps it and closes its pipe


# --- the fence ----------------------------------------------------------------------------


def _depose(store: Store, ttl: float = 0.3) -> tuple[Fence, Fence]:
    """`a` leads and its store is fenced; then its lease runs out and `b` takes over."""
    old = LeaderLease(store, "a:1", ttl=ttl).try_acquire()
    assert old is not None
    store.fence = old.check
    time.sleep(ttl + 0.2)
    new = LeaderLease(store, "b:2", ttl=30).try_acquire()
    assert new is not None
    return old, new


def _count(store: Store, where: Callable[[type[DeliveryRow]], Any]) -> int:
    with store.transaction() as s:
        found = s.scalar(select(func.count()).select_from(DeliveryRow).where(where(DeliveryRow)))
    return int(found or 0)


def _with_outbox(store: Store) -> None:
    settings = Settings.model_validate({"destinations": [{"platform": "console"}]})
    sync_destinations(store, settings)
    assert enqueue(store, "run:1", alert_group()) == 1


def test_a_leaders_claims_go_through_while_it_leads(store: Store) -> None:
    _with_outbox(store)
    fence = LeaderLease(store, "a:1", ttl=30).try_acquire()
    assert fence is not None
    store.fence = fence.check
    jobs = OutboxDb(store).claim("w", 10, timedelta(minutes=2), utcnow())
    assert len(jobs) == 1
    assert _count(store, lambda d: d.status == "sending") == 1


def test_a_deposed_leaders_claim_is_refused_and_claims_nothing(store: Store) -> None:
    _with_outbox(store)
    _depose(store)
    with pytest.raises(LeaseLost, match="a:1 no longer leads"):
        OutboxDb(store).claim("w", 10, timedelta(minutes=2), utcnow())
    assert _count(store, lambda d: d.status == "pending") == 1  # rolled back


def test_a_deposed_leaders_delivery_outcome_is_refused(store: Store) -> None:
    """Claimed while leading, sent, then deposed: recording 'delivered' is refused, so the
    row stays claimed and the new leader sends it again when the claim runs out (a send in
    flight at a failover may repeat; nothing is lost)."""
    from bot.storage import Delivered

    _with_outbox(store)
    old = LeaderLease(store, "a:1", ttl=0.3).try_acquire()
    assert old is not None
    store.fence = old.check
    db = OutboxDb(store)
    (job,) = db.claim("w", 10, timedelta(minutes=2), utcnow())
    time.sleep(0.5)
    assert LeaderLease(store, "b:2", ttl=30).try_acquire() is not None
    with pytest.raises(LeaseLost):
        db.fenced([(job, Delivered(parts_sent=1, attempts=1, delivered_at=utcnow()))])
    assert _count(store, lambda d: d.status == "sending") == 1
    assert _count(store, lambda d: d.status == "delivered") == 0


def test_a_deposed_leaders_evaluation_commits_nothing(store: Store) -> None:
    _depose(store)
    with pytest.raises(LeaseLost), evaluation_unit(store) as unit:
        assert unit.progress() is None
        unit.start_progress(utcnow().date())
    with store.transaction() as s:
        assert s.get(EngineState, 1) is None


def test_without_a_fence_nothing_is_checked(store: Store) -> None:
    """SQLite's single process and `run --once` write without a lease."""
    _with_outbox(store)
    assert store.fence is None
    assert len(OutboxDb(store).claim("w", 10, timedelta(minutes=2), utcnow())) == 1


# --- replicas starting together --------------------------------------------------------------


def _all_at_once(n: int, work: Callable[[], None]) -> list[BaseException]:
    barrier = threading.Barrier(n)
    errors: list[BaseException] = []

    def run() -> None:
        barrier.wait()
        try:
            work()
        except BaseException as exc:  # collected for the assertion, whatever it is
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return errors


@pytest.mark.parametrize("attempt", range(3))
def test_replicas_creating_the_schema_and_syncing_destinations_at_once_all_succeed(
    pg_url: str, attempt: int
) -> None:
    """Each of six starts creates the tables, writes the schema version and inserts the
    config's destinations; every one succeeds and each destination is there once."""
    settings = Settings.model_validate(
        {
            "destinations": [
                {"platform": "telegram", "chat_id": "-100123"},
                {"platform": "slack", "channel": "C0123456"},
            ],
            "admins": {"telegram": [42]},
        }
    )

    def start() -> None:
        store = Store(pg_url)
        try:
            sync_destinations(store, settings)
        finally:
            store.close()

    assert _all_at_once(6, start) == []
    engine = create_engine(pg_url)
    try:
        with engine.connect() as conn:
            chats = sorted(conn.execute(select(DestinationRow.chat_id)).scalars())
            versions = conn.execute(text("SELECT count(*) FROM schema_version")).scalar()
    finally:
        engine.dispose()
    assert chats == ["-100123", "42", "C0123456"]
    assert versions == 1


def test_replicas_syncing_the_config_destinations_at_once_insert_each_once(pg_url: str) -> None:
    """The tables exist already (an upgrade, or a restart of all replicas); each replica's
    sync finds the destinations missing at once and inserts them."""
    Store(pg_url).close()
    settings = Settings.model_validate(
        {"destinations": [{"platform": "telegram", "chat_id": f"-100{i}"} for i in range(20)]}
    )
    stores = [Store(pg_url) for _ in range(6)]
    try:
        it = iter(stores)
        lock = threading.Lock()

        def sync() -> None:
            with lock:
                store = next(it)
            sync_destinations(store, settings)

        assert _all_at_once(len(stores), sync) == []
        with stores[0].transaction() as s:
            n = s.scalar(select(func.count()).select_from(DestinationRow))
        assert n == 20
    finally:
        for store in stores:
            store.close()


def test_a_new_leader_releases_the_claims_of_the_one_before(store: Store) -> None:
    """The old leader claimed a row and died mid-send; the new leader makes it pending at
    once (the old one's outcome would be refused anyway), keeping the parts already sent."""
    from bot.storage import PartsSent, release_claims

    _with_outbox(store)
    old = LeaderLease(store, "a:1", ttl=0.3).try_acquire()
    assert old is not None
    store.fence = old.check
    db = OutboxDb(store)
    (job,) = db.claim("w", 10, timedelta(minutes=2), utcnow())
    assert db.fenced([(job, PartsSent(1, utcnow() + timedelta(minutes=2)))]) == [True]
    time.sleep(0.5)
    new = LeaderLease(store, "b:2", ttl=30).try_acquire()
    assert new is not None
    with pytest.raises(LeaseLost):  # the old leader cannot do it
        release_claims(store)
    assert _count(store, lambda d: d.status == "sending") == 1
    store.fence = new.check
    assert release_claims(store) == 1
    (again,) = db.claim("w2", 10, timedelta(minutes=2), utcnow())  # claimable now
    assert again.row_id == job.row_id and again.parts_sent == 1
