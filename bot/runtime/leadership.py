"""Which replica leads: the loop that takes, renews and gives up the leader lease, and starts
and stops the leader's work (the scheduler on the shared job store, the delivery worker).

Every `renew_every` seconds (3 by default) the loop either renews the lease (a leader) or
tries to take it (a follower). The lease lasts `ttl` seconds (15) from its last renewal by the
database's clock, so a leader that dies, kill -9 included, is replaced at most `ttl +
renew_every` seconds later (18 s; the issue asks for 30). A leader that cannot renew (the
database unreachable, a long pause) stops its work by its own clock once `ttl - renew_every`
seconds have passed since its last renewal, before anyone else may take over; should it be
slower than that, its writes are refused anyway (the fence, `bot.storage.leader`).

On SQLite there is no lease: one process serves the file (`bot.storage.daemon_lock`), and it
leads from the start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Literal, TypeVar

from bot.storage import DATABASE_ERRORS, Fence, LeaderLease, Store

log = logging.getLogger(__name__)

Role = Literal["leader", "follower"]
_T = TypeVar("_T")
#: seconds a lease lasts from its last renewal, and between two renewals (or tries)
LEASE_TTL, RENEW_EVERY = 15.0, 3.0
#: the environment variable that names this replica (default: host:pid)
REPLICA_ID_ENV = "ROTATION_BOT_REPLICA_ID"
#: at most this long for one lease statement; a slower database counts as a failed renewal
_STATEMENT_BUDGET = 5.0
#: what a lease statement may fail with: the database, or its time budget
_FAILURES: tuple[type[Exception], ...] = (TimeoutError, *DATABASE_ERRORS)


def replica_id() -> str:
    """This process's name in the lease and in /healthz: `$ROTATION_BOT_REPLICA_ID`, else
    host:pid."""
    return os.environ.get(REPLICA_ID_ENV, "").strip() or f"{socket.gethostname()}:{os.getpid()}"


class Leadership:
    """Runs `on_elected` when this replica becomes the leader and `on_deposed` when it stops
    being one (lost the lease, or shutting down). `on_elected` must return quickly (start
    work in the background): the renewals wait for it. Without a lease (SQLite) it leads
    from `start` to `stop`."""

    def __init__(
        self,
        store: Store,
        on_elected: Callable[[], Awaitable[None]],
        on_deposed: Callable[[], Awaitable[None]],
        *,
        me: str | None = None,
        ttl: float = LEASE_TTL,
        renew_every: float = RENEW_EVERY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if renew_every * 2 > ttl:
            raise ValueError("renew at least twice per lease")
        self.me = me or replica_id()
        self.store = store
        self.lease = None if store.is_sqlite else LeaderLease(store, self.me, ttl)
        self.ttl, self.renew_every = ttl, renew_every
        self._on_elected, self._on_deposed = on_elected, on_deposed
        self._clock = clock
        self._fence: Fence | None = None
        self._renewed_at = 0.0
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        #: the last leader seen in the database (this replica's id while it leads)
        self.leader_id: str | None = None

    @property
    def role(self) -> Role:
        return "leader" if self._fence is not None else "follower"

    @property
    def is_single(self) -> bool:
        """One process on SQLite: no lease, always the leader."""
        return self.lease is None

    async def start(self) -> None:
        """Take part: one try at once (so a lone replica leads before this returns), then
        the loop in the background."""
        if self.lease is None:
            self._fence = Fence(self.me, 0)
            self.leader_id = self.me
            await self._on_elected()
            return
        await self.tick()
        self._task = asyncio.create_task(self._loop(), name="leadership")

    async def _loop(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):  # the next tick is due
                await asyncio.wait_for(self._stop.wait(), timeout=self.renew_every)
            if self._stop.is_set():
                return
            try:
                await self.tick()
            # Broad on purpose: the loop must outlive any one failed step (it logs and tries
            # again at the next tick); a leader that keeps failing demotes itself by time.
            except Exception:
                log.exception("leadership step failed")

    async def tick(self) -> None:
        """One step: renew (leader) or try to take over (follower)."""
        assert self.lease is not None
        if self._fence is not None:
            await self._renew(self._fence)
        else:
            await self._try_acquire()

    async def _renew(self, fence: Fence) -> None:
        assert self.lease is not None
        started = self._clock()
        try:
            ok = await self._db(self.lease.renew, fence)
        except _FAILURES as exc:
            late = started - self._renewed_at
            if late < self.ttl - self.renew_every:
                log.warning("could not renew the leader lease (%s); trying again", exc)
                return
            log.error("could not renew the leader lease for %.0f s (%s): stepping down", late, exc)
            ok = False
        if ok:
            self._renewed_at = started
            return
        log.warning("%s lost the leader lease (epoch %d): stepping down", self.me, fence.epoch)
        await self._demote()

    async def _try_acquire(self) -> None:
        assert self.lease is not None
        started = self._clock()
        try:
            fence = await self._db(self.lease.try_acquire)
            if fence is None:
                held = await self._db(self.lease.current)
                self.leader_id = held.holder if held is not None and held.live else None
                return
        except _FAILURES as exc:
            log.warning("leader lease unavailable: %s", exc)
            return
        self._renewed_at = started
        self._fence = fence
        self.leader_id = self.me
        self.store.fence = fence.check
        log.info("%s leads (epoch %d)", self.me, fence.epoch)
        try:
            await self._on_elected()
        # Broad on purpose: a leader that could not start its work must not hold the lease
        # doing nothing; it steps down and hands the lease over, and tries again later.
        except Exception:
            log.exception("%s could not start the leader's work: stepping down", self.me)
            await self._demote()
            with contextlib.suppress(*_FAILURES):
                await self._db(self.lease.release, fence)

    async def _demote(self) -> None:
        """Stop the leader's work; the fence stays, and refuses every write from now on."""
        if self._fence is None:
            return
        self._fence = None
        self.leader_id = None
        await self._on_deposed()

    async def stop(self) -> None:
        """Stop leading (the leader's work first), hand the lease over at once, stop trying."""
        self._stop.set()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        fence = self._fence
        await self._demote()
        if fence is not None and self.lease is not None:
            try:
                await self._db(self.lease.release, fence)
                log.info("%s released the leader lease", self.me)
            except _FAILURES as exc:  # it expires by itself
                log.warning("could not release the leader lease: %s", exc)

    async def _db(self, fn: Callable[..., _T], *args: object) -> _T:
        return await asyncio.wait_for(asyncio.to_thread(fn, *args), _STATEMENT_BUDGET)
