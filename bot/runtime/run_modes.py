"""The three ways the bot runs: the daemon, one shot (`run --once`), and the demo replay.

All three drive the same `BotApp` through the same named job functions (`bot.runtime.jobs`), so what
the demo shows is what production does: refresh -> evaluate -> outbox -> delivery.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import sys
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TextIO

import pandas as pd

from bot.config import AdminSettings, Settings
from bot.delivery import Adapter
from bot.model import Clock, utcnow
from bot.runtime import jobs
from bot.runtime.app import BotApp
from bot.runtime.leader_work import LeaderWork
from bot.runtime.leadership import Leadership
from bot.runtime.scheduler import Scheduler
from bot.storage import MEMORY_URL, Store, UpdateClaims
from signals import calendar

log = logging.getLogger(__name__)

#: `run` exit codes
EXIT_OK, EXIT_ERROR, EXIT_DEAD_LETTERS = 0, 1, 2
#: the daemon must be gone within 10 s of SIGTERM; leave room for the process to exit
SHUTDOWN_BUDGET = 7.0


# --- one shot ----------------------------------------------------------------------------


async def run_once(
    settings: Settings,
    as_of: pd.Timestamp | None = None,
    max_age: float | None = None,
    *,
    clock: Clock = utcnow,
) -> int:
    """Refresh, evaluate, deliver everything pending. Exit 2 when the database holds dead
    letters as the run ends (this run's or an earlier one's), else 0; rows another run
    still holds are that run's to deliver, not a failure of this one."""
    age = settings.delivery.once_max_age if max_age is None else timedelta(seconds=max_age)
    app = BotApp(settings, as_of=as_of, chat_state=False, worker_max_age=age, clock=clock)
    await app.open()
    try:
        result = await app.refresh_and_evaluate(clock())
        if result is None:
            return EXIT_ERROR
        if result.reason:
            log.warning("as of %s: %s", result.as_of, result.reason)  # stale data: reported
        report = await app.worker.run_once(deadline=clock() + age)
        app.metrics.observe_delivery(report)
        counts = report.counts
        left = counts.pending + counts.retrying + counts.sending
        if left:
            log.warning(
                "%d delivery(ies) still pending (another run holds them, or they are due "
                "after this run); a later run sends them",
                left,
            )
        if counts.dead:
            log.error(
                "%d dead letter(s) in the outbox (%d from this run)", counts.dead, report.dead
            )
            return EXIT_DEAD_LETTERS
        return EXIT_OK
    finally:
        await app.close()


# --- daemon ------------------------------------------------------------------------------


async def run_daemon(
    settings: Settings,
    *,
    as_of: pd.Timestamp | None = None,
    stop: asyncio.Event | None = None,
    clock: Clock = utcnow,
    on_started: Callable[[BotApp], None] | None = None,
) -> int:
    """Run until SIGTERM/SIGINT (or `stop`): chat and health on every replica; the scheduler
    and delivery on the leader only (on SQLite, the one process leads)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not the main thread
            loop.add_signal_handler(sig, stop.set)
    app = BotApp(settings, as_of=as_of, clock=clock)
    work = LeaderWork(app, settings, clock, shutdown_budget=SHUTDOWN_BUDGET / 2)
    leadership = Leadership(app.store, work.elected, work.deposed)
    chat: list = []
    try:
        await app.open()
        app.leadership = leadership
        await app.start_health()
        # build the exchange calendar (~0.4 s) off the loop before the triggers need it
        await asyncio.to_thread(calendar.last_completed_session)
        jobs.set_runtime(app, clock)
        chat = await start_chat_adapters(app)
        app.warm_charts = bool(chat) and settings.chat.charts
        await leadership.start()
        if leadership.is_single and work.ready is not None:
            # one process: running once the catch-up evaluation is done, unless stopped first
            if not await _done_before(work.ready, stop):
                log.info("stopping")
                return EXIT_OK
        elif leadership.role == "follower":
            work.follow()
        # objects made at start live for the whole run: keep them out of the collector's
        # scans, whose pauses otherwise stall the send pace (measured by benchmarks/fanout)
        gc.freeze()
        app.serving = True
        if on_started is not None:
            on_started(app)
        log.info(
            "rotation-bot running as %s (%s); next evaluation %s",
            leadership.me,
            leadership.role,
            app.next_run() if app.next_run else "on the leader",
        )
        await stop.wait()
        log.info("stopping")
    finally:
        await _stop_all(app, leadership, work, chat)
    return EXIT_OK


async def _stop_all(app: BotApp, leadership: Leadership, work: LeaderWork, chat: list) -> None:
    """Stop taking commands, stop leading (scheduling stops, in-flight sends finish, the
    rows not yet sent go back to the outbox, the lease is handed over), close the store.
    An evaluation still running is abandoned at once: it commits nothing and runs again at
    the next start."""
    app.stopping.set()
    for adapter in chat:
        try:
            await asyncio.wait_for(adapter.stop(), timeout=3)
        except Exception:  # a hung chat connection must not block the shutdown
            log.exception("stopping %s failed", getattr(adapter, "name", adapter))
    work.stop_following()
    await leadership.stop()
    jobs.set_runtime(None)
    await app.close()


async def _done_before(task: asyncio.Task[None], stop: asyncio.Event) -> bool:
    """Wait for `task`; False when `stop` is set first (the shutdown then deals with it)."""
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait((task, stopping), return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
    if not task.done():
        return False
    task.result()  # a failed start fails the daemon, as before
    return True


async def start_chat_adapters(app: BotApp) -> list:
    """The chat adapters whose tokens are present; the console when none is and
    stdin is a terminal. Their webhook routes go on the health server before they start
    (Telegram posts as soon as its webhook is set), and each update is claimed in the
    database, so a replica answers only what no other took."""
    from bot.platforms import build_chat_adapters, web_routes

    adapters = build_chat_adapters(
        app.settings,
        app.secrets,
        app.context.for_caller,
        app.dispatcher,
        app.senders,
        claims=UpdateClaims(app.store),
    )
    for adapter in adapters:
        routes = web_routes([adapter])
        if routes and app.health is not None:
            app.health.mount(routes)
            app.health.readiness.append(_connected_reason(adapter))
    started = []
    for adapter in adapters:
        await adapter.start()
        started.append(adapter)
    return started


def _connected_reason(adapter: Adapter) -> Callable[[], str | None]:
    """Readiness of a webhook front-end: not before it is connected (setWebhook done)."""
    connected: asyncio.Event | None = getattr(adapter, "connected", None)

    def reason() -> str | None:
        if connected is None or connected.is_set():
            return None
        return f"{adapter.name}: not connected yet"

    return reason


# --- demo --------------------------------------------------------------------------------


def demo_settings(settings: Settings) -> Settings:
    """The demo's own delivery: the console only, no admins, no chats."""
    delivery = settings.delivery.model_copy(update={"console": "on"})
    return settings.model_copy(
        update={"destinations": (), "admins": AdminSettings(), "delivery": delivery}
    )


async def run_demo(
    settings: Settings,
    start: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
    stdout: TextIO | None = None,
    *,
    clock: Clock = utcnow,
) -> int:
    """Replay the market session by session through the scheduler's virtual clock, the
    engine, the outbox and the console; then print the final snapshot. The virtual clock
    starts at `clock()`."""
    out = stdout or sys.stdout
    settings = demo_settings(settings)
    virtual_now: list[datetime] = [clock()]
    app = BotApp(
        settings,
        store=Store(MEMORY_URL),
        clock=lambda: virtual_now[0],
        stdout=out,
        chat_state=False,
    )
    await app.open()
    try:
        loaded = await app.refresh(clock())
        sessions = loaded.data.closes.index
        first = start or sessions[min(252, len(sessions) - 1)]
        last = min(end or sessions[-1], sessions[-1])
        days = calendar.sessions(calendar.session_on_or_before(first), last)
        if len(days) < 2:
            raise ValueError(f"the demo period {first.date()} .. {last.date()} has no sessions")
        label = " (SIMULATED market)" if loaded.data.simulated else ""
        print(
            f"rotation-bot demo{label}: replaying {len(days)} sessions, "
            f"{days[0].date()} .. {days[-1].date()}",
            file=out,
            flush=True,
        )
        delay = timedelta(minutes=settings.schedule.evaluate_delay_minutes)
        scheduler = Scheduler(settings.schedule, jobstore_url=None, clock=lambda: virtual_now[0])
        jobs.set_runtime(app, lambda: virtual_now[0])
        virtual_now[0] = calendar.close_time(days[0]).to_pydatetime() + delay
        await scheduler.start_virtual(virtual_now[0], catch_up=True)  # first start: silent
        year = days[0].year
        for day in days[1:]:
            if day.year != year:
                year = day.year
                print(f"── {year} ──", file=out, flush=True)
            virtual_now[0] = calendar.close_time(day).to_pydatetime() + delay
            await scheduler.run_due(virtual_now[0], names=[jobs.EVALUATE])
        app.chat_state = True
        await app.refresh(virtual_now[0])
        from bot.render import format_snapshot

        print("", file=out)
        state = app.state
        assert state is not None  # refresh() just built it
        print(format_snapshot(state.snapshot), file=out, flush=True)
        return EXIT_OK
    finally:
        jobs.set_runtime(None)
        await app.close()
