"""`/healthz` and `/metrics` on a local port, for Docker's HEALTHCHECK and Prometheus.

/healthz answers 200 only when the last evaluation ran recently on fresh data and no dead
letter is older than the limit; otherwise 503. Both carry JSON with the reasons.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pandas as pd
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import func, select

from bot.db_models import DeliveryRow, Run
from bot.metrics import BotMetrics
from bot.settings_app import HealthSettings
from bot.store import Store, as_utc, utcnow
from signals import calendar

log = logging.getLogger(__name__)

#: outcomes of a run whose data was usable
_FRESH_OUTCOMES = ("initialized", "evaluated", "up_to_date")


@dataclass(frozen=True)
class Health:
    ok: bool
    reasons: tuple[str, ...] = ()
    details: dict = field(default_factory=dict)

    def to_json(self) -> dict:
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
    store: Store, cfg: HealthSettings, now: datetime | None = None, delay_minutes: int = 30
) -> Health:
    """The verdict and its reasons, from the database alone (so any process can ask).
    `delay_minutes`: how long after each close the evaluation is scheduled."""
    now = now or utcnow()
    reasons: list[str] = []
    details: dict = {}
    with store.transaction() as s:
        run = s.scalars(select(Run).order_by(Run.id.desc()).limit(1)).first()
        dead_oldest = s.scalar(
            select(func.min(DeliveryRow.created_at)).where(DeliveryRow.status == "dead")
        )
        dead = s.scalar(select(func.count()).where(DeliveryRow.status == "dead")) or 0
    if run is None:
        reasons.append("no evaluation has run yet")
    else:
        finished = as_utc(run.finished_at or run.started_at)
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
        dead_age = now - as_utc(dead_oldest)
        if dead_age >= timedelta(hours=cfg.max_dead_letter_age_hours):
            reasons.append(
                f"{dead} dead letter(s), the oldest {dead_age.total_seconds() / 3600:.1f} h old"
            )
    return Health(ok=not reasons, reasons=tuple(reasons), details=details)


class HealthServer:
    """A tiny aiohttp server in the bot's event loop."""

    def __init__(
        self, store: Store, cfg: HealthSettings, metrics: BotMetrics, delay_minutes: int = 30
    ) -> None:
        self.store, self.cfg, self.metrics = store, cfg, metrics
        self.delay_minutes = delay_minutes
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/metrics", self._metrics)
        return app

    async def _healthz(self, _request: web.Request) -> web.Response:
        health = await asyncio.to_thread(
            check_health, self.store, self.cfg, None, self.delay_minutes
        )
        return web.json_response(health.to_json(), status=200 if health.ok else 503)

    async def _metrics(self, _request: web.Request) -> web.Response:
        counts = await asyncio.to_thread(self.store.queue_counts)
        self.metrics.observe_queue(counts)
        body = generate_latest(self.metrics.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.cfg.host, self.cfg.port)
        await site.start()
        sockets = site._server.sockets if site._server else []  # noqa: SLF001 - the bound port
        self.port = sockets[0].getsockname()[1] if sockets else self.cfg.port
        log.info("health endpoint on http://%s:%s/healthz", self.cfg.host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
