"""The leadership loop in one process, with short timings: who is elected, who follows and
names the leader, a clean handover, a deposed leader's work stopped and its writes fenced off;
and on SQLite, the one process leads. `/healthz` and `/readyz` say the role and the leader."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import text

from bot.config.app import HealthSettings
from bot.runtime.health import HealthServer
from bot.runtime.leadership import Leadership, replica_id
from bot.runtime.metrics import BotMetrics
from bot.storage import LeaseLost, Store, evaluation_unit
from tests.bot.db_helpers import fresh_pg_schema, pg_base_url

TTL, EVERY = 1.0, 0.2


@pytest.fixture
def pg_url() -> Iterator[str]:
    with fresh_pg_schema(pg_base_url()) as url:
        yield url


class Events:
    """What the callbacks were told, in order."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    async def elected(self) -> None:
        self.seen.append("elected")

    async def deposed(self) -> None:
        self.seen.append("deposed")


def _replica(url: str, name: str) -> tuple[Leadership, Events, Store]:
    store, events = Store(url), Events()
    return (
        Leadership(store, events.elected, events.deposed, me=name, ttl=TTL, renew_every=EVERY),
        events,
        store,
    )


async def _until(cond, timeout: float) -> float:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    while not cond():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not within {timeout} s")
        await asyncio.sleep(0.02)
    return time.monotonic() - started


def test_one_leads_the_other_follows_and_takes_over_on_a_clean_stop(pg_url: str) -> None:
    async def scenario() -> None:
        (a, ea, sa), (b, eb, sb) = _replica(pg_url, "a:1"), _replica(pg_url, "b:2")
        try:
            await a.start()
            await b.start()
            assert (a.role, b.role) == ("leader", "follower")
            assert a.leader_id == "a:1" and b.leader_id == "a:1"
            await asyncio.sleep(TTL * 2)  # renewals keep it: no takeover past the first TTL
            assert (a.role, b.role) == ("leader", "follower")
            assert (ea.seen, eb.seen) == (["elected"], [])
            await a.stop()  # releases: b leads at its next try, not a whole TTL later
            took = await _until(lambda: b.role == "leader", 2.0)
            assert took < TTL
            assert ea.seen == ["elected", "deposed"] and eb.seen == ["elected"]
            assert b.leader_id == "b:2"
        finally:
            await a.stop()
            await b.stop()
            sa.close()
            sb.close()

    asyncio.run(scenario())


def test_a_leader_whose_lease_was_taken_stops_its_work_and_writes_nothing(pg_url: str) -> None:
    """As after a long pause of the leader: its lease ran out and another replica took it.
    At its next renewal it is deposed, and until then the fence refuses its writes."""

    async def scenario() -> None:
        (a, ea, sa), (b, _, sb) = _replica(pg_url, "a:1"), _replica(pg_url, "b:2")
        try:
            await a.start()
            assert a.role == "leader" and sa.fence is not None
            with sa.connection() as conn:  # the lease runs out, b takes it at its first try
                conn.execute(text("UPDATE leader_lease SET expires_at = now() - interval '1 s'"))
            await b.start()
            assert b.role == "leader"
            with pytest.raises(LeaseLost), evaluation_unit(sa) as unit:
                unit.progress()
                unit.start_progress(date(2026, 6, 1))
            await _until(lambda: a.role == "follower", 2.0)
            assert ea.seen == ["elected", "deposed"]
            await _until(lambda: a.leader_id == "b:2", 2.0)  # it follows b now
        finally:
            await a.stop()
            await b.stop()
            sa.close()
            sb.close()

    asyncio.run(scenario())


def test_the_lease_must_be_renewed_at_least_twice_per_ttl(pg_url: str) -> None:
    store = Store(pg_url)
    try:
        with pytest.raises(ValueError, match="twice"):
            Leadership(store, Events().elected, Events().deposed, ttl=5, renew_every=3)
    finally:
        store.close()


def test_on_sqlite_the_one_process_leads_without_a_lease(tmp_path: Path) -> None:
    async def scenario() -> None:
        store, events = Store(f"sqlite:///{tmp_path / 'bot.db'}"), Events()
        leadership = Leadership(store, events.elected, events.deposed)
        try:
            await leadership.start()
            assert leadership.is_single and leadership.role == "leader"
            assert leadership.leader_id == replica_id()
            assert store.fence is None  # one process: nothing to fence
            await leadership.stop()
            assert events.seen == ["elected", "deposed"]
        finally:
            store.close()

    asyncio.run(scenario())


def test_replica_id_is_host_pid_unless_named(monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    import socket

    monkeypatch.delenv("ROTATION_BOT_REPLICA_ID", raising=False)
    assert replica_id() == f"{socket.gethostname()}:{os.getpid()}"
    monkeypatch.setenv("ROTATION_BOT_REPLICA_ID", "bot-0")
    assert replica_id() == "bot-0"


# --- what the endpoints say -------------------------------------------------------------------


async def _get(server: HealthServer, path: str) -> tuple[int, dict | str]:
    url = f"http://127.0.0.1:{server.port}{path}"
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeout) as http, http.get(url) as resp:
        if path == "/metrics":
            return resp.status, await resp.text()
        return resp.status, await resp.json(content_type=None)


def test_healthz_readyz_and_metrics_carry_the_role_and_the_leader(tmp_path: Path) -> None:
    """A follower whose market data never arrived: /healthz is 503 (no evaluation yet) while
    /readyz is 200, so a load balancer keeps it; both name the role and the leader."""

    async def scenario() -> None:
        store = Store(f"sqlite:///{tmp_path / 'bot.db'}")
        starting = [True]
        server = HealthServer(
            store,
            HealthSettings(port=0),
            BotMetrics(),
            role=lambda: ("follower", "bot-1:7"),
            readiness=[lambda: "starting" if starting[0] else None],
        )
        await server.start()
        try:
            status, body = await _get(server, "/readyz")
            assert status == 503 and body == {
                "ready": False,
                "reasons": ["starting"],
                "role": "follower",
                "leader": "bot-1:7",
            }
            starting[0] = False
            status, body = await _get(server, "/readyz")
            assert status == 200 and isinstance(body, dict) and body["ready"] is True
            status, body = await _get(server, "/healthz")
            assert status == 503 and isinstance(body, dict)
            assert body["reasons"] == ["no evaluation has run yet"]
            assert (body["role"], body["leader"]) == ("follower", "bot-1:7")
            status, body = await _get(server, "/livez")
            assert (status, body) == (200, {"alive": True})
            status, text_ = await _get(server, "/metrics")
            assert 'rotation_bot_role{role="follower"} 1.0' in text_
            assert 'rotation_bot_role{role="leader"} 0.0' in text_
        finally:
            await server.stop()
            store.close()

    asyncio.run(scenario())


def test_readyz_is_503_when_the_database_is_gone(tmp_path: Path) -> None:
    """A PostgreSQL server that does not answer: not ready, with the reason."""
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    async def scenario() -> None:
        ok = Store(f"sqlite:///{tmp_path / 'bot.db'}")
        server = HealthServer(ok, HealthSettings(port=0), BotMetrics(), db_timeout=1.0)
        await server.start()
        try:
            ok.engine.dispose()
            from sqlalchemy import create_engine

            # the store's engine now points at nothing: every connection attempt is refused
            ok.engine = create_engine(f"postgresql+psycopg://u:p@127.0.0.1:{port}/db")
            ok.is_sqlite = False
            status, body = await _get(server, "/readyz")
            assert status == 503 and isinstance(body, dict)
            assert body["reasons"] and body["reasons"][0].startswith("database unavailable")
        finally:
            await server.stop()
            ok.close()

    asyncio.run(scenario())


def test_a_replica_that_cannot_start_the_leaders_work_hands_the_lease_over(pg_url: str) -> None:
    async def scenario() -> None:
        store = Store(pg_url)
        seen: list[str] = []

        async def broken() -> None:
            raise RuntimeError("the job store is unreachable")

        async def deposed() -> None:
            seen.append("deposed")

        a = Leadership(store, broken, deposed, me="a:1", ttl=TTL, renew_every=EVERY)
        b, eb, _ = _replica(pg_url, "b:2")
        try:
            await a.start()
            assert a.role == "follower" and seen == ["deposed"]
            await b.start()  # the lease was released: b takes it at once
            assert b.role == "leader" and eb.seen == ["elected"]
        finally:
            await a.stop()
            await b.stop()
            store.close()
            b.store.close()

    asyncio.run(scenario())
