"""`/healthz` and `/metrics` on a local port, for Docker's HEALTHCHECK and Prometheus.

/healthz answers 200 only when the last evaluation ran recently on fresh data and no dead
letter is older than the limit; otherwise 503. Both carry JSON with the reasons. A database
that cannot answer (locked by another process, unreachable) is a 503 with that reason within
a few seconds: the probe waits `db_timeout` for a lock, not the store's 30 s.

/readyz (for load balancers) says whether this process can serve: started, database
reachable, its chat ingress up; never the data's freshness, or stale prices would take every
replica out at once. /livez only says the event loop answers. /healthz and /metrics name this
replica's role (leader or follower) and the leader.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pandas as pd
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from bot.config import HealthSettings
from bot.model import Clock, utcnow
from bot.runtime.metrics import BotMetrics
from bot.storage import DatabaseUnavailable, Store, ping, read_health
from signals import calendar

log = logging.getLogger(__name__)

#: outcomes of a run whose data was usable
_FRESH_OUTCOMES = ("initialized", "evaluated", "up_to_date")


@dataclass(frozen=True)
class Health:
    """The verdict; `details` (what the verdict was drawn from) goes into the JSON as is."""

    ok: bool
    reasons: tuple[str, ...] = ()
    details: dict[str, object] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        return {"ok": self.ok, "reasons": list(self.reasons), **self.details}


def missed_evaluations(
    finished: datetime, now: datetime, delay_minutes: int, grace_minutes: int
) -> list[pd.Timestamp]:
    """Sessions whose evaluation was scheduled (close + delay) after the last run finished
    and is more than `grace_minutes` overdue at `now`: counted on the NYSE calendar, so a
    weekend or a holiday misses nothing."""
    delay, grace = pd.Timedelta(minutes=delay_minutes), pd.Timedelta(minutes=grace_minutes)
    done, at = pd.Timestamp(finished), pd.Timestamp(now)
    start = done.tz_convert(calendar.NEW_YORK).tz_localize(None).normalize()
    end = at.tz_convert(calendar.NEW_YORK).tz_localize(None).normalize()
    missed = []
    for day in calendar.sessions(start, end):
        scheduled = calendar.close_time(day) + delay
        if done < scheduled and scheduled + grace <= at:
            missed.append(day)
    return missed


def check_health(
    store: Store,
    cfg: HealthSettings,
    now: datetime | None = None,
    delay_minutes: int = 30,
    wait: float | None = None,
) -> Health:
    """The verdict and its reasons, from the database alone (so any process can ask).
    `delay_minutes`: how long after each close the evaluation is scheduled; `wait`: seconds
    to wait for a database lock (None: the store's own limits)."""
    now = now or utcnow()
    reasons: list[str] = []
    details: dict[str, object] = {}
    facts = read_health(store, wait)
    run, dead, dead_oldest = facts.last_run, facts.dead_letters, facts.oldest_dead_letter
    if run is None:
        reasons.append("no evaluation has run yet")
    else:
        finished = run.finished_at or run.started_at
        age = now - finished
        details["last_evaluation"] = {
            "as_of": run.as_of.isoformat(),
            "finished_at": finished.isoformat(),
            "outcome": run.outcome,
            "stale_sessions": run.stale_sessions,
            "coverage": run.coverage,
        }
        missed = missed_evaluations(finished, now, delay_minutes, cfg.evaluation_grace_minutes)
        details["missed_evaluations"] = len(missed)
        if len(missed) > cfg.missed_evaluations:
            reasons.append(
                f"{len(missed)} scheduled evaluation(s) missed since the last one finished "
                f"{age.total_seconds() / 3600:.1f} h ago (first: {missed[0].date()})"
            )
        if run.outcome not in _FRESH_OUTCOMES:
            reasons.append(f"last evaluation was {run.outcome}: {run.reason or 'no reason'}")
    details["dead_letters"] = dead
    if dead_oldest is not None:
        dead_age = now - dead_oldest
        if dead_age >= timedelta(hours=cfg.max_dead_letter_age_hours):
            reasons.append(
                f"{dead} dead letter(s), the oldest {dead_age.total_seconds() / 3600:.1f} h old"
            )
    return Health(ok=not reasons, reasons=tuple(reasons), details=details)


class HealthServer:
    """A tiny aiohttp server in the bot's event loop. `db_timeout`: seconds the health probe
    waits for a database lock; the answer comes within about a second more, whatever the
    database does (Docker's HEALTHCHECK gives up after 10 s)."""

    def __init__(
        self,
        store: Store,
        cfg: HealthSettings,
        metrics: BotMetrics,
        delay_minutes: int = 30,
        db_timeout: float = 2.0,
        clock: Clock = utcnow,
        role: Callable[[], tuple[str, str | None]] | None = None,
        readiness: Iterable[Callable[[], str | None]] = (),
    ) -> None:
        self.store, self.cfg, self.metrics = store, cfg, metrics
        #: this process's role and the leader's id, for /healthz and /metrics
        self.role = role or (lambda: ("leader", None))
        #: /readyz: each gives why this process cannot serve yet, or None (the database is
        #: asked too); ingress adds its own
        self.readiness: list[Callable[[], str | None]] = list(readiness)
        self.clock = clock
        self.delay_minutes = delay_minutes
        self.db_timeout = db_timeout
        self._runner: web.AppRunner | None = None
        self.port: int | None = None
        #: POST routes of the chat front-ends (Telegram's webhook), mounted once built
        self._ingress: dict[str, Callable[[web.Request], Awaitable[web.StreamResponse]]] = {}

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/readyz", self._readyz)
        app.router.add_get("/livez", self._livez)
        app.router.add_post("/{path:.*}", self._posted)  # last: it takes any POST path
        return app

    def mount(
        self, routes: Mapping[str, Callable[[web.Request], Awaitable[web.StreamResponse]]]
    ) -> None:
        """Serve these POST routes too, by path; the chat front-ends are built after this
        server starts, so the routes are looked up per request."""
        self._ingress.update(routes)

    async def _posted(self, request: web.Request) -> web.StreamResponse:
        route = self._ingress.get(request.path)
        if route is None:
            return web.Response(status=404, text="not found")
        return await route(request)

    async def _healthz(self, _request: web.Request) -> web.Response:
        deadline = self.db_timeout + 1.0
        try:
            health = await asyncio.wait_for(asyncio.to_thread(self._check), deadline)
        except TimeoutError:  # the thread finishes on its own; the answer cannot wait
            health = Health(ok=False, reasons=(f"database did not answer within {deadline:g} s",))
        role, leader = self.role()
        body = {**health.to_json(), "role": role, "leader": leader}
        return web.json_response(body, status=200 if health.ok else 503)

    async def _livez(self, _request: web.Request) -> web.Response:
        """200 while the event loop answers: a liveness probe that neither the database nor
        the market data can fail, so an outage of either never restarts every replica."""
        return web.json_response({"alive": True})

    async def _readyz(self, _request: web.Request) -> web.Response:
        """200 when this process can serve requests (started, database reachable, ingress
        up), whatever the market data: stale data must not take every replica out of a load
        balancer at once (that is /healthz's to report)."""
        reasons = [r for r in (check() for check in self.readiness) if r]
        deadline = self.db_timeout + 1.0
        try:
            await asyncio.wait_for(asyncio.to_thread(ping, self.store, self.db_timeout), deadline)
        except DatabaseUnavailable as exc:
            reasons.append(str(exc))
        except TimeoutError:
            reasons.append(f"database did not answer within {deadline:g} s")
        role, leader = self.role()
        body = {"ready": not reasons, "reasons": reasons, "role": role, "leader": leader}
        return web.json_response(body, status=503 if reasons else 200)

    def _check(self) -> Health:
        try:
            return check_health(
                self.store, self.cfg, self.clock(), self.delay_minutes, wait=self.db_timeout
            )
        except DatabaseUnavailable as exc:
            health = Health(ok=False, reasons=(str(exc),))
            log.warning("health: %s", health.reasons[0])
            return health

    async def _metrics(self, _request: web.Request) -> web.Response:
        counts = await asyncio.to_thread(self.store.queue_counts)
        self.metrics.observe_queue(counts)
        self.metrics.observe_role(self.role()[0])
        body = generate_latest(self.metrics.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.cfg.host, self.cfg.port)
        await site.start()
        server = site._server  # noqa: SLF001 - the bound port (port 0 picks one)
        sockets = server.sockets if isinstance(server, asyncio.Server) else ()
        self.port = sockets[0].getsockname()[1] if sockets else self.cfg.port
        log.info("health endpoint on http://%s:%s/healthz", self.cfg.host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
