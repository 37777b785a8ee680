"""Scheduler: the persisted job store across restarts (not re-added, missed runs coalesced and
run within the grace time), config changes, start/shutdown in a running loop, and the virtual
clock (catch-up after downtime, one call per due time). Job-store tests run on an SQLite file
and on PostgreSQL (`db_url`). Trigger times: test_trading_trigger.py."""

from __future__ import annotations

import asyncio
import logging
import time
import warnings
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pandas.errors import Pandas4Warning
from sqlalchemy import create_engine, text

from bot.config.schedule import ScheduleSettings
from bot.runtime import jobs
from bot.runtime.jobs import DELIVER, DIGEST, EVALUATE, HEARTBEAT
from bot.runtime.scheduler import Scheduler, build_jobs
from bot.runtime.trading_trigger import SessionCloseTrigger
from tests.bot.scheduler_helpers import RecordingRuntime

NY = ZoneInfo("America/New_York")


def ny(*args: int) -> datetime:
    return datetime(*args, tzinfo=NY)


@pytest.fixture
def runtime():
    rt = RecordingRuntime()
    jobs.set_runtime(rt)
    yield rt
    jobs.set_runtime(None)


async def _wait_for(predicate, timeout: float = 5.0) -> None:
    t0 = time.monotonic()
    while not predicate():
        if time.monotonic() - t0 > timeout:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


async def _prepare_store(
    url: str, settings: ScheduleSettings | None = None, **next_runs: timedelta
) -> None:
    """A first bot run that stored its jobs, then (paused, as if it went down) had the given
    jobs' next runs moved relative to now; then it stopped."""
    first = Scheduler(settings, jobstore_url=url)
    first.start(catch_up=False)
    first.aps.pause()
    now = datetime.now(UTC)
    for name, offset in next_runs.items():
        first.aps.modify_job(name, next_run_time=now + offset)
    await first.shutdown()


# --- real APScheduler ------------------------------------------------------------------


def test_starts_and_stops_inside_a_running_loop_without_warnings(db_url, runtime, caplog) -> None:
    async def main() -> Scheduler:
        sched = Scheduler(jobstore_url=db_url, clock=lambda: ny(2026, 3, 9, 17))
        task = sched.start()
        assert sched.running and task is not None
        assert await task == "evaluate done"  # the catch-up ran once, with the injected clock
        assert sched.next_run_time(EVALUATE) > datetime.now(UTC)
        await sched.shutdown()
        await sched.shutdown()  # twice is harmless
        return sched

    with caplog.at_level(logging.WARNING), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", category=Pandas4Warning)  # exchange-calendars
        sched = asyncio.run(main())
    assert [str(w.message) for w in caught] == []
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert not sched.running
    assert runtime.calls == [("evaluate", ny(2026, 3, 9, 17))]


def test_start_needs_a_running_loop() -> None:
    with pytest.raises(RuntimeError):
        Scheduler().start()


def _stored_ids(url: str) -> set[str]:
    engine = create_engine(url)
    with engine.connect() as conn:
        ids = set(conn.execute(text("select id from apscheduler_jobs")).scalars())
    engine.dispose()
    return ids


def test_jobs_survive_a_restart_and_are_not_re_added(db_url, runtime) -> None:
    later = timedelta(days=10)  # a re-added job would run at the next close, within 4 days
    asyncio.run(_prepare_store(db_url, evaluate=later))

    async def restart() -> tuple[datetime | None, dict]:
        sched = Scheduler(jobstore_url=db_url)
        sched.start(catch_up=False)
        stored = {job.id: job.trigger for job in sched.aps.get_jobs()}
        nxt = sched.next_run_time(EVALUATE)
        await sched.shutdown()
        return nxt, stored

    nxt, stored = asyncio.run(restart())
    assert set(stored) == {EVALUATE, DELIVER}
    assert stored[EVALUATE] == SessionCloseTrigger(30)
    assert nxt is not None and nxt - datetime.now(UTC) > timedelta(days=9)
    # only the calendar job is in the database; the delivery interval lives in memory
    assert _stored_ids(db_url) == {EVALUATE}
    assert runtime.calls == []


@pytest.mark.parametrize(
    ("down_for", "grace"),
    [
        (timedelta(minutes=10), 3600),  # one missed run, within the default grace
        (timedelta(days=14), None),  # ten missed sessions, no grace limit: coalesced into one
    ],
)
def test_runs_missed_during_downtime_fire_once_on_start(db_url, runtime, down_for, grace) -> None:
    settings = ScheduleSettings(misfire_grace_time=grace)
    asyncio.run(_prepare_store(db_url, settings, evaluate=-down_for))

    async def restart() -> datetime | None:
        sched = Scheduler(settings, jobstore_url=db_url)
        sched.start(catch_up=False)
        await _wait_for(lambda: EVALUATE in {job for job, _ in runtime.calls})
        await asyncio.sleep(0.2)  # nothing more comes: the missed runs were coalesced
        nxt = sched.next_run_time(EVALUATE)
        await sched.shutdown()
        return nxt

    nxt = asyncio.run(restart())
    assert [job for job, _ in runtime.calls if job == EVALUATE] == [EVALUATE]
    assert nxt is not None and nxt > datetime.now(UTC)  # the next close


def test_runs_missed_beyond_the_grace_time_are_skipped_and_the_catch_up_covers_them(
    db_url, runtime, caplog
) -> None:
    asyncio.run(_prepare_store(db_url, evaluate=timedelta(minutes=-10)))
    settings = ScheduleSettings(misfire_grace_time=60)

    async def restart() -> None:
        sched = Scheduler(settings, jobstore_url=db_url)
        sched.start(catch_up=True)
        await sched.catch_up_task
        await _wait_for(lambda: "was missed by" in caplog.text)
        await sched.shutdown()

    with caplog.at_level(logging.WARNING):
        asyncio.run(restart())
    assert [job for job, _ in runtime.calls if job == EVALUATE] == [EVALUATE]  # the catch-up


def test_a_changed_schedule_updates_the_stored_job_and_keeps_its_missed_run(
    db_url, runtime
) -> None:
    asyncio.run(_prepare_store(db_url, evaluate=timedelta(minutes=-5)))
    changed = ScheduleSettings(
        evaluate_delay_minutes=45, digest={"enabled": True}, heartbeat={"enabled": True}
    )

    async def run(settings: ScheduleSettings) -> dict:
        sched = Scheduler(settings, jobstore_url=db_url)
        sched.start(catch_up=False)
        await asyncio.sleep(0.1)
        found = {job.id: (job.name, job.trigger) for job in sched.aps.get_jobs()}
        await sched.shutdown()
        return found

    found = asyncio.run(run(changed))
    assert set(found) == {EVALUATE, DELIVER, DIGEST, HEARTBEAT}
    assert found[EVALUATE] == ("evaluate: NYSE close + 45 min", SessionCloseTrigger(45))
    assert [job for job, _ in runtime.calls if job == EVALUATE] == [EVALUATE]  # missed run kept
    # digest and heartbeat switched off again: their stored jobs go
    assert set(asyncio.run(run(ScheduleSettings()))) == {EVALUATE, DELIVER}


def test_shutdown_waits_for_a_running_job_then_cancels_it(runtime, caplog) -> None:
    runtime.delay = 0.2

    async def finishes() -> float:
        sched = Scheduler()
        sched.start()  # in-memory job store; the catch-up takes 0.2 s
        await asyncio.sleep(0.05)
        t0 = time.monotonic()
        await sched.shutdown(timeout=2)
        assert sched.catch_up_task.done() and sched.catch_up_task.result() == "evaluate done"
        return time.monotonic() - t0

    assert 0.1 < asyncio.run(finishes()) < 1.0
    runtime.delay = 10

    async def cancelled() -> float:
        sched = Scheduler()
        sched.start()
        await asyncio.sleep(0.05)
        t0 = time.monotonic()
        await sched.shutdown(timeout=0.1)
        assert sched.catch_up_task.cancelled()
        return time.monotonic() - t0

    with caplog.at_level(logging.WARNING):
        assert asyncio.run(cancelled()) < 1.0
    assert "still running at shutdown: cancelled" in caplog.text


def test_a_failing_catch_up_is_logged_and_the_scheduler_goes_on(runtime, caplog) -> None:
    runtime.fail = {EVALUATE}

    async def main() -> bool:
        sched = Scheduler()
        assert await sched.start() is None
        alive = sched.running
        await sched.shutdown()
        return alive

    with caplog.at_level(logging.ERROR):
        assert asyncio.run(main())
    assert "catch-up evaluation at start failed" in caplog.text


def test_build_jobs_follow_the_settings() -> None:
    start = ny(2026, 11, 28, 12)  # a Saturday
    assert list(build_jobs(ScheduleSettings(), start)) == [EVALUATE, DELIVER]
    settings = ScheduleSettings(
        delivery_interval_seconds=30,
        digest={"enabled": True},
        heartbeat={"enabled": True, "time": "17:05"},
    )
    specs = build_jobs(settings, start)
    nxt = {name: spec.trigger.get_next_fire_time(None, start) for name, spec in specs.items()}
    assert nxt == {
        EVALUATE: ny(2026, 11, 30, 16, 30),
        DELIVER: start,
        DIGEST: ny(2026, 11, 30, 8, 0),  # Monday 08:00 ET
        HEARTBEAT: ny(2026, 11, 28, 17, 5),  # daily, weekends too
    }
    assert specs[DELIVER].trigger.get_next_fire_time(start, start) == start + timedelta(seconds=30)


# --- the virtual clock -----------------------------------------------------------------


def test_advance_replays_each_session_once_in_order(runtime) -> None:
    async def main() -> list:
        sched = Scheduler()
        await sched.start_virtual(ny(2026, 11, 20, 9), catch_up=False)
        runs = await sched.advance(ny(2026, 12, 1, 23), names=[EVALUATE])
        return runs, sched.next_run_time(DELIVER)

    runs, deliver_next = asyncio.run(main())
    expected = [
        ny(2026, 11, 20, 16, 30),
        ny(2026, 11, 23, 16, 30),
        ny(2026, 11, 24, 16, 30),
        ny(2026, 11, 25, 16, 30),
        ny(2026, 11, 27, 13, 30),  # Thanksgiving skipped, early close
        ny(2026, 11, 30, 16, 30),
        ny(2026, 12, 1, 16, 30),
    ]
    assert runtime.times(EVALUATE) == expected
    assert [(r.status, r.scheduled) for r in runs] == [("ran", t) for t in expected]
    assert [r.result for r in runs] == ["evaluate done"] * len(expected)
    # the delivery interval, left out, was paused: it resumes from the end, owing nothing
    assert runtime.times(DELIVER) == []
    assert ny(2026, 12, 1, 23) <= deliver_next <= ny(2026, 12, 1, 23, 0, 15)


def test_catch_up_after_downtime_with_the_virtual_clock(runtime) -> None:
    async def main() -> tuple[list, Scheduler]:
        sched = Scheduler()
        runs = await sched.start_virtual(ny(2026, 11, 20, 17))  # Friday, after the close
        # down from Friday evening to Wednesday 16:45: Mon, Tue, Wed due; coalesced into one
        runs += await sched.run_due(ny(2026, 11, 25, 16, 45))
        assert sched.next_run_time(EVALUATE) == ny(2026, 11, 27, 13, 30)
        # down again past the grace time: Fri 13:30 and Mon 16:30 missed, not run
        runs += await sched.run_due(ny(2026, 11, 30, 20))
        assert sched.next_run_time(EVALUATE) == ny(2026, 12, 1, 16, 30)
        # ... which the catch-up at the next start covers
        runs += await sched.start_virtual(ny(2026, 11, 30, 20, 5))
        return runs, sched

    runs, sched = asyncio.run(main())
    assert runtime.times(EVALUATE) == [
        ny(2026, 11, 20, 17),  # catch-up at the first start
        ny(2026, 11, 25, 16, 45),  # one call for three due times
        ny(2026, 11, 30, 20, 5),  # catch-up at the restart
    ]
    evaluate = [(r.scheduled, r.status) for r in runs if r.name == EVALUATE]
    assert evaluate == [
        (ny(2026, 11, 20, 17), "ran"),
        (ny(2026, 11, 25, 16, 30), "ran"),
        (ny(2026, 11, 30, 16, 30), "missed"),
        (ny(2026, 11, 30, 20, 5), "ran"),
    ]
    # the delivery interval was due too, and ran once per call (coalesced, within its grace)
    assert runtime.times(DELIVER) == [ny(2026, 11, 25, 16, 45), ny(2026, 11, 30, 20)]


def test_due_jobs_lists_every_due_time_and_without_coalescing_each_runs(runtime) -> None:
    settings = ScheduleSettings(coalesce=False, misfire_grace_time=None)

    async def main() -> list:
        sched = Scheduler(settings)
        await sched.start_virtual(ny(2026, 11, 20, 17), catch_up=False)
        due = sched.due_jobs(ny(2026, 11, 25, 17), names=[EVALUATE])
        assert [(d.name, d.run_times) for d in due] == [
            (
                EVALUATE,
                (ny(2026, 11, 23, 16, 30), ny(2026, 11, 24, 16, 30), ny(2026, 11, 25, 16, 30)),
            )
        ]
        return await sched.run_due(ny(2026, 11, 25, 17), names=[EVALUATE])

    runs = asyncio.run(main())
    assert [r.status for r in runs] == ["ran"] * 3
    assert runtime.times(EVALUATE) == [ny(2026, 11, 25, 17)] * 3


def test_a_failing_job_is_recorded_and_the_virtual_clock_goes_on(runtime, caplog) -> None:
    runtime.fail = {EVALUATE}

    async def main() -> tuple[list, datetime | None]:
        sched = Scheduler()
        await sched.start_virtual(ny(2026, 3, 9, 17), catch_up=False)
        runs = await sched.run_due(ny(2026, 3, 10, 16, 31), names=[EVALUATE])
        return runs, sched.next_run_time(EVALUATE)

    with caplog.at_level(logging.ERROR):
        runs, nxt = asyncio.run(main())
    assert [(r.status, type(r.error)) for r in runs] == [("error", RuntimeError)]
    assert nxt == ny(2026, 3, 11, 16, 30)
    assert "job evaluate (virtual" in caplog.text


def test_the_virtual_clock_must_be_started(runtime) -> None:
    with pytest.raises(RuntimeError, match="start_virtual"):
        Scheduler().due_jobs(ny(2026, 3, 9))


def _rename_stored_function(url: str, name: str, old_ref: str) -> None:
    """Rewrite a stored job as an older version of the bot wrote it (function path only)."""
    import pickle

    engine = create_engine(url)
    with engine.begin() as conn:
        blob = conn.execute(
            text("SELECT job_state FROM apscheduler_jobs WHERE id = :id"), {"id": name}
        ).scalar_one()
        state = pickle.loads(blob)
        state["func"] = old_ref
        conn.execute(
            text("UPDATE apscheduler_jobs SET job_state = :s WHERE id = :id"),
            {"s": pickle.dumps(state), "id": name},
        )
    engine.dispose()


def test_a_job_stored_under_the_old_module_path_keeps_its_pending_run(db_url, runtime) -> None:
    later = timedelta(days=10)  # a re-added job would run at the next close, within 4 days
    asyncio.run(_prepare_store(db_url, evaluate=later))
    _rename_stored_function(db_url, EVALUATE, "bot.jobs:evaluate_job")

    async def restart() -> tuple[datetime | None, str]:
        sched = Scheduler(jobstore_url=db_url)
        sched.start(catch_up=False)
        nxt = sched.next_run_time(EVALUATE)
        job = sched.aps.get_job(EVALUATE)
        await sched.shutdown()
        return nxt, job.func_ref

    nxt, ref = asyncio.run(restart())
    assert nxt is not None and nxt - datetime.now(UTC) > timedelta(days=9)
    assert ref == "bot.runtime.jobs:evaluate_job"
