"""Builds the running bot from settings and starts and stops it cleanly (docs/architecture.md).

`BotApp` owns the store, the engine, the senders and the delivery worker, the cached market
state the chat commands read, and the health endpoint; it is the `bot.runtime.jobs.JobRuntime` the
scheduler's named jobs call (refresh + evaluate, deliver, digest, heartbeat). The run modes
(daemon, `--once`, demo) in `bot.runtime.run_modes` drive it.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Literal, TextIO

import pandas as pd

from bot.alerts import (
    Engine,
    EvaluationResult,
    LoadedMarket,
    MarketLoader,
    MarketState,
    conditions_now,
)
from bot.commands import (
    Caller,
    ChatOptions,
    CommandContext,
    Dispatcher,
    standard_middleware,
    startup_lines,
)
from bot.config import Secrets, Settings, build_rules
from bot.delivery import (
    Adapter,
    DeliveryReport,
    DeliveryWorker,
    share_overall_caps,
    sync_destinations,
)
from bot.model import Clock, MessageKind, TextMessage, utcnow
from bot.platforms import build_senders
from bot.runtime.health import HealthServer
from bot.runtime.leadership import Leadership, Role
from bot.runtime.metrics import BotMetrics
from bot.runtime.off_loop import Interrupted, off_loop
from bot.storage import RunStart, Store, queue_message, record_failed_run
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
        self._worker_max_age = worker_max_age
        self.worker = DeliveryWorker(
            self.store, self.senders, settings, clock=clock, max_age=worker_max_age
        )
        if not self.store.is_sqlite:
            share_overall_caps(self.store, self.senders)
        self.spec = settings.data.spec()
        self.market = MarketLoader(self.spec)
        self.chat_state = chat_state
        #: pre-render the common charts after each refresh (set when chat adapters run)
        self.warm_charts = False
        self._state: MarketState | None = None
        #: market loads tried (readiness waits for the first, whatever its outcome)
        self._loads_tried = 0
        self._started_senders = False
        self.health: HealthServer | None = None
        #: who leads (the daemon sets it; None: a one-shot run, which leads itself)
        self.leadership: Leadership | None = None
        #: the daemon is up and answering (readiness)
        self.serving = False
        self._stopping: tuple[asyncio.AbstractEventLoop | None, asyncio.Event] = (
            None,
            asyncio.Event(),
        )
        self.next_run: Callable[[], datetime | None] | None = None
        self.context = CommandContext(
            caller=Caller("console", "console", "console", "private", True),
            state=lambda: self._state,
            store=self.store,
            rules=tuple(self.rules),
            options=ChatOptions(charts=settings.chat.charts),
            clock=clock,
            next_run=lambda: self.next_run() if self.next_run else None,
            own_alerts=settings.own_alerts,
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
        try:
            loaded = await off_loop(self.market.load, as_of, stop=self.stopping, name="market")
            if self.chat_state:
                self._state = await off_loop(loaded.state, stop=self.stopping, name="state")
        finally:
            self._loads_tried += 1
        if self.chat_state and self.warm_charts:  # the common charts now, not for the first asker
            from bot.commands import warm_cache

            await off_loop(warm_cache, self.context, stop=self.stopping, name="charts")
        return loaded

    @property
    def state(self) -> MarketState | None:
        return self._state

    @property
    def stopping(self) -> asyncio.Event:
        """Set when the process stops: a data load or evaluation still running is abandoned
        (`bot.runtime.off_loop`), so the shutdown never waits for it. The running loop's
        event (tests drive one app from several `asyncio.run`s)."""
        loop = asyncio.get_running_loop()
        if self._stopping[0] is not loop:
            self._stopping = (loop, asyncio.Event())
        return self._stopping[1]

    # --- JobRuntime ---------------------------------------------------------------------

    async def refresh_and_evaluate(self, now: datetime) -> EvaluationResult | None:
        """Refresh, evaluate, deliver. None when the data failed (recorded as a failed run)
        or the app stopped meanwhile: the evaluation is then abandoned, commits nothing
        (one transaction) and runs again at the next start."""
        try:
            result = await self._refresh_and_evaluate(now)
        except Interrupted:
            self._log_interrupted()
            return None
        except asyncio.CancelledError:  # the shutdown cancels the job rather than waiting
            if self.stopping.is_set():
                self._log_interrupted()
            raise
        if result is not None:
            await self.deliver(now)
        return result

    @staticmethod
    def _log_interrupted() -> None:
        log.warning("evaluation interrupted by shutdown; it runs again at the next start")

    async def _refresh_and_evaluate(self, now: datetime) -> EvaluationResult | None:
        log.info("evaluating as of %s: loading the market data", self.as_of_for(now).date())
        try:
            loaded = await self.refresh(now)
        except Interrupted:
            raise
        except Exception as exc:  # any data failure: recorded as a run, the bot goes on
            log.error("refresh failed: %s", exc)
            await asyncio.to_thread(self._record_failure, now, str(exc))
            self.metrics.evaluations.labels("error").inc()
            return None
        cancel = threading.Event()
        evaluate = functools.partial(
            self.engine.evaluate, loaded.history, loaded.data, loaded.as_of, now, cancel=cancel
        )
        result = await off_loop(evaluate, stop=self.stopping, cancel=cancel, name="evaluation")
        self.metrics.observe_evaluation(result)
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
        """Tell admins the bot is up, which rules' conditions hold now and which fire: a
        condition already true at the first start fires only after it clears, so it is
        named here rather than left unseen."""
        conds = conditions_now(self._state, self.store, self.rules)
        lines = [f"rules: {len(self.rules)}, source: {self.spec.source}", *startup_lines(conds)]
        msg = TextMessage(
            MessageKind.STARTUP,
            "rotation-bot started",
            tuple(lines),
            simulated=self.spec.source == "demo",
        )
        return self._enqueue(f"startup:{now.isoformat()}", msg, "admins")

    def role(self) -> Role:
        """This process's part: "leader" (it runs the jobs and sends) or "follower"."""
        return self.leadership.role if self.leadership is not None else "leader"

    def leader_id(self) -> str | None:
        """The leader's id (host:pid or `ROTATION_BOT_REPLICA_ID`), None while none leads."""
        return self.leadership.leader_id if self.leadership is not None else None

    def _started_reason(self) -> str | None:
        """Readiness: None once the daemon is serving and has tried to load the market once
        (a failed load still counts: commands that need no data answer, the others say why;
        every replica out of the balancer for a data outage would answer nothing at all)."""
        if not self.serving:
            return "starting"
        return "loading market data" if self.chat_state and not self._loads_tried else None

    def renew_worker(self) -> None:
        """A new delivery worker, for a replica that leads again (a stopped one stays
        stopped)."""
        self.worker = DeliveryWorker(
            self.store, self.senders, self.settings, clock=self.clock, max_age=self._worker_max_age
        )

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
                role=lambda: (self.role(), self.leader_id()),
                readiness=[self._started_reason],
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
