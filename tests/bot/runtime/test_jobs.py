"""The jobs registry: importable references for the job store, the registered runtime and
clock, one run at a time per job, and a clear error when no app is registered."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from apscheduler.util import obj_to_ref, ref_to_obj

from bot.runtime import jobs
from tests.bot.scheduler_helpers import RecordingRuntime

FIXED = datetime(2026, 3, 9, 21, 30, tzinfo=UTC)


@pytest.fixture
def runtime():
    rt = RecordingRuntime()
    jobs.set_runtime(rt, clock=lambda: FIXED)
    yield rt
    jobs.set_runtime(None)


def test_job_functions_are_importable_references() -> None:
    for name, func in jobs.JOB_FUNCTIONS.items():
        ref = obj_to_ref(func)
        assert ref == f"bot.runtime.jobs:{name}_job" and ref_to_obj(ref) is func


def test_jobs_call_the_runtime_with_the_registered_clock(runtime) -> None:
    assert isinstance(runtime, jobs.JobRuntime)
    later = datetime(2026, 3, 10, 20, 30, tzinfo=UTC)

    async def main() -> list:
        return [
            await jobs.evaluate_job(),
            await jobs.deliver_job(later),
            await jobs.digest_job(),
            await jobs.heartbeat_job(),
        ]

    assert asyncio.run(main()) == [
        f"{n} done" for n in ("evaluate", "deliver", "digest", "heartbeat")
    ]
    assert runtime.calls == [
        ("evaluate", FIXED),
        ("deliver", later),
        ("digest", FIXED),
        ("heartbeat", FIXED),
    ]


def test_a_job_never_overlaps_itself_but_jobs_overlap_each_other() -> None:
    active: dict[str, int] = {"evaluate": 0, "deliver": 0}
    peak: dict[str, int] = {"evaluate": 0, "deliver": 0, "both": 0}

    class Counting(RecordingRuntime):
        async def _record(self, name: str, now: datetime) -> str:
            active[name] += 1
            peak[name] = max(peak[name], active[name])
            peak["both"] = max(peak["both"], sum(active.values()))
            await asyncio.sleep(0.05)
            active[name] -= 1
            return f"{name} done"

    jobs.set_runtime(Counting())

    async def main() -> None:
        await asyncio.gather(jobs.evaluate_job(), jobs.evaluate_job(), jobs.deliver_job())

    try:
        asyncio.run(main())
    finally:
        jobs.set_runtime(None)
    assert peak == {"evaluate": 1, "deliver": 1, "both": 2}


def test_running_tasks_lists_jobs_in_flight(runtime) -> None:
    runtime.delay = 0.1

    async def main() -> tuple[int, int]:
        task = asyncio.create_task(jobs.evaluate_job(), name="evaluating")
        await asyncio.sleep(0.01)
        during = [t.get_name() for t in jobs.running_tasks()]
        await task
        return during, jobs.running_tasks()

    during, after = asyncio.run(main())
    assert during == ["evaluating"] and after == []


def test_no_runtime_is_a_clear_error() -> None:
    jobs.set_runtime(None)
    with pytest.raises(jobs.NoRuntimeError, match="set_runtime"):
        asyncio.run(jobs.evaluate_job())
