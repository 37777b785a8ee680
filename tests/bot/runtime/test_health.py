"""`/healthz` over HTTP on 127.0.0.1 when the database cannot answer: a fast 503 with the
reason, never a bare 500 after the store's 30 s busy timeout."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from bot.config.app import HealthSettings
from bot.runtime import health
from bot.runtime.health import HealthServer
from bot.runtime.metrics import BotMetrics
from bot.storage.store import Store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(f"sqlite:///{tmp_path / 'bot.db'}")
    yield s
    s.close()


async def _get_healthz(store: Store, **options: float) -> tuple[int, dict, float]:
    """Status, JSON body and seconds taken; the client gives up after 10 s."""
    server = HealthServer(store, HealthSettings(port=0), BotMetrics(), **options)
    await server.start()
    try:
        started = time.monotonic()
        url = f"http://127.0.0.1:{server.port}/healthz"
        timeout = aiohttp.ClientTimeout(total=10)
        async with aiohttp.ClientSession(timeout=timeout) as http, http.get(url) as resp:
            body = await resp.json(content_type=None)
            return resp.status, body, time.monotonic() - started
    finally:
        await server.stop()


def test_a_locked_database_is_a_fast_503_with_the_reason(store: Store, tmp_path: Path) -> None:
    holder = sqlite3.connect(tmp_path / "bot.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process writing, for longer than a probe waits
    try:
        status, body, took = asyncio.run(_get_healthz(store))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert status == 503 and body["ok"] is False
    (reason,) = body["reasons"]
    assert "database" in reason and "locked" in reason, reason
    assert took < 5.0


def test_a_database_that_never_answers_is_a_503_within_the_deadline(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever hangs below (a network database, a stuck driver), the answer comes."""

    def stuck(*_args: object, **_kwargs: object) -> None:
        time.sleep(3.0)

    monkeypatch.setattr(health, "check_health", stuck)
    status, body, took = asyncio.run(_get_healthz(store, db_timeout=0.5))
    assert status == 503 and "did not answer within" in body["reasons"][0]
    assert took < 2.5


def test_an_unlocked_database_still_answers(store: Store) -> None:
    status, body, _ = asyncio.run(_get_healthz(store))
    assert status == 503 and body["reasons"] == ["no evaluation has run yet"]
