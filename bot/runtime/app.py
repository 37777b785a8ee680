"""Builds the running bot from settings and starts and stops it cleanly (docs/architecture.md).

`BotApp` owns the store, the engine, the senders and the delivery worker, the cached market
state the chat commands read, and the health endpoint; it is the `bot.runtime.jobs.JobRuntime` the
scheduler's named jobs call (refresh + evaluate, deliver, digest, heartbeat). The run modes
(daemon, `--once`, demo) in `bot.runtime.run_modes` drive it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Literal, TextIO

import pandas as pd

from bot.alerts import Engine, EvaluationResult, LoadedMarket, MarketLoader, MarketState
from bot.commands import Caller, ChatOptions, CommandContext, Dispatcher, standard_middleware
from bot.config import Secrets, Settings, build_rules
from bot.delivery import Adapter, DeliveryReport, DeliveryWorker, sync_destinations
from bot.model import Clock, MessageKind, TextMessage, utcnow
from bot.platforms import build_senders
from bot.runtime.health import HealthServer
from bot.runtime.metrics import BotMetrics
from bot.storage import RunStart, Store, firing_rules, queue_message, record_failed_run
from signals import calendar

log = logging.getLogger(__name__)


class BotApp:
    """One bot: see the module docstring. Create, `await start()`, `await stop()`."""

    def __init__(
        self,
        settings: Settings,
        *,
        store: Store | None = None,
        secrets: Secrets | None = None,
        clock: Clock = utcnow,
        stdout: TextIO | None = None,
        as_of: pd.Timestamp | None = None,
        chat_state: bool = True,
        senders: dict[str, Adapter] | None = None,
        worker_max_age: timedelta | None = None,
    ) -> None:
        self.settings = settings
        self.secrets = secrets or Secrets()
        self.store = store or Store(settings.database_url)
        self.clock = clock
        self.fixed_as_of = None if as_of is None else calendar.session_on_or_before(as_of)
        self.rules = build_rules(settings.rules, settings.config_path)
        self.engine = Engine(self.store, self.rules, settings.guard, settings.alerts, clock=clock)
        self.metrics = BotMetrics()
        self.senders = (
            senders if senders is not None else build_senders(settings, self.secrets, stdout=stdout)
        )
        self.worker = DeliveryWorker(
            self.store, self.senders, settings, clock=clock, max_age=worker_max_age
        )
        self.spec = settings.data.spec()
        self.market = MarketLoader(self.spec)
        self.chat_state = chat_state
        #: pre-render the common charts after each refresh (set when chat adapters run)
        self.warm_charts = False
        self._state: MarketState | None = None
        self._started_senders = False
        self.health: HealthServer | None = None
        self.next_run: Callable[[], datetime | None] | None = None
        self.context = CommandContext(
            caller=Caller("console", "console", "console", "private", True),
            state=lambda: self._state,
            store=self.store,
            rules=tuple(self.rules),
            options=ChatOptions(charts=settings.chat.charts),
            clock=clock,
            next_run=lambda: self.next_run() if self.next_run else None,
        )
        #: every chat command goes through it: command metrics, audit log, allowlist, rate
        self.dispatcher = Dispatcher(
            (
                self.metrics.command_timer,
                *standard_middleware(
                    allowlist=settings.chat.allowlist or None,
                    per_minute=settings.chat.rate_per_minute,
                ),
            )
        )

    # --- market data ----------------------------------------------------------------------

    def as_of_for(self, now: datetime) -> pd.Timestamp:
        """The session to evaluate at `now`: `--as-of`, else the last completed session."""
        return self.fixed_as_of or calendar.last_completed_session(now)

    async def refresh(self, now: datetime) -> LoadedMarket:
        as_of = self.as_of_for(now)
        loaded = await asyncio.to_thread(self.market.load, as_of)
        if self.chat_state:
            self._state = await asyncio.to_thread(loaded.state)
            if self.warm_charts:  # render the common charts now, not for the first asker
                from bot.commands import warm_cache

                await asyncio.to_thread(warm_cache, self.context)
        return loaded

    @property
    def state(self) -> MarketState | None:
        return self._state

    # --- JobRuntime ---------------------------------------------------------------------

    async def refresh_and_evaluate(self, now: datetime) -> EvaluationResult | None:
        try:
            loaded = await self.refresh(now)
        except Exception as exc:  # any data failure: recorded as a run, the bot goes on
            log.error("refresh failed: %s", exc)
            await asyncio.to_thread(self._record_failure, now, str(exc))
            self.metrics.evaluations.labels("error").inc()
            return None
        result = await asyncio.to_thread(
            self.engine.evaluate, loaded.history, loaded.data, loaded.as_of, now
        )
        self.metrics.observe_evaluation(result)
        await self.deliver(now)
        return result

    def _record_failure(self, now: datetime, reason: str) -> None:
        start = RunStart(
            as_of=self.as_of_for(now).date(),
            started_at=now,
            source=self.spec.source,
            simulated=self.spec.source == "demo",
        )
        record_failed_run(self.store, start, reason, self.clock)

    async def deliver(self, now: datetime) -> DeliveryReport:
        report = await self.worker.run_once()
        self.metrics.observe_delivery(report)
        return report

    async def digest(self, now: datetime) -> int:
        """The weekly digest: the snapshot's headline numbers to digest subscribers."""
        state = self._state
        if state is None:
            return 0
        from bot.render import format_snapshot

        lines = tuple(format_snapshot(state.snapshot).splitlines())
        chart = (
            await asyncio.to_thread(self._digest_chart, state)
            if self.settings.chat.charts
            else None
        )
        msg = TextMessage(
            MessageKind.DIGEST, "Weekly rotation digest", lines, state.data.simulated, chart
        )
        return await asyncio.to_thread(self._enqueue, f"digest:{now:%Y-%m-%d}", msg, "subscribers")

    @staticmethod
    def _digest_chart(state: MarketState) -> bytes:
        """The snapshot chart (breadth and RSP/SPY) over the last year."""
        from bot.render import ChartMeta, snapshot_chart

        h, closes = state.history, state.data.closes
        window = slice(-252, None)
        meta = ChartMeta(state.data.source, state.snapshot.as_of, state.data.simulated)
        return snapshot_chart(
            h.series("breadth_200d").iloc[window],
            h.series("breadth_50d").iloc[window],
            closes["RSP"].iloc[window],
            closes["SPY"].iloc[window],
            meta,
        )

    async def heartbeat(self, now: datetime) -> int:
        as_of = self._state.as_of.date() if self._state else "no data yet"
        msg = TextMessage(MessageKind.HEARTBEAT, "rotation-bot is running", (f"as of {as_of}",))
        return await asyncio.to_thread(
            self._enqueue, f"heartbeat:{now:%Y-%m-%d}", msg, "subscribers"
        )

    def _enqueue(self, key: str, msg: TextMessage, to: Literal["admins", "subscribers"]) -> int:
        return queue_message(self.store, group_key=key, message=msg, to=to)

    def startup_message(self, now: datetime) -> int:
        """Tell admins the bot is up and what is currently firing."""
        firing = firing_rules(self.store)
        lines = [f"rules: {len(self.rules)}, source: {self.spec.source}"]
        lines.append("firing now: " + (", ".join(firing) if firing else "nothing"))
        msg = TextMessage(
            MessageKind.STARTUP,
            "rotation-bot started",
            tuple(lines),
            simulated=self.spec.source == "demo",
        )
        return self._enqueue(f"startup:{now.isoformat()}", msg, "admins")

    # --- lifecycle ----------------------------------------------------------------------

    async def open(self) -> None:
        """Sync config destinations into the database and start the senders."""
        report = await asyncio.to_thread(sync_destinations, self.store, self.settings, self.clock())
        if report.added or report.disabled:
            log.info("destinations: %d added, %d disabled", len(report.added), len(report.disabled))
        for sender in self.senders.values():
            await sender.start()
        self._started_senders = True

    async def start_health(self) -> None:
        if self.settings.health.enabled:
            self.health = HealthServer(
                self.store,
                self.settings.health,
                self.metrics,
                self.settings.schedule.evaluate_delay_minutes,
                clock=self.clock,
            )
            await self.health.start()

    async def close(self) -> None:
        """Stop the senders and the health endpoint, close the database."""
        if self.health is not None:
            await self.health.stop()
            self.health = None
        if self._started_senders:
            for name, sender in self.senders.items():
                try:
                    await sender.stop()
                except Exception:  # one sender failing to close must not keep others open
                    log.exception("stopping the %s sender failed", name)
            self._started_senders = False
        self.store.close()
