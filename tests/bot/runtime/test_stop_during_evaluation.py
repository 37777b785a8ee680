"""SIGTERM while an evaluation runs: `rotation-bot run` exits 0 within 10 s, nothing of the
interrupted evaluation is committed, and the next start evaluates again.

The evaluation is made slow for real: the members file is a named pipe that nobody writes,
so the data load blocks in `open()` (a hung file server looks the same) and stays blocked
until the process ends. `run --once` on SIGTERM ends at once (killed by the signal), on
SIGINT with 130; neither commits anything either.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import create_engine, text

from signals.sources import DataSpec, load_market
from tests.bot.db_helpers import database_url

ROOT = Path(__file__).resolve().parents[3]
#: the contract: gone within 10 s of SIGTERM
STOP_BUDGET = 10.0
#: the log line of an evaluation that has started loading its data
EVALUATING = "evaluating as of"
INTERRUPTED = "evaluation interrupted by shutdown; it runs again at the next start"
DEMO_END = "2026-10-30"


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database_url(request.param, tmp_path) as u:
        yield u


class Daemon:
    """A `rotation-bot` subprocess whose stderr is collected line by line."""

    def __init__(self, args: list[str], cwd: Path) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        for var in (
            "TELEGRAM_BOT_TOKEN",
            "SLACK_BOT_TOKEN",
            "SLACK_APP_TOKEN",
            "SLACK_SIGNING_SECRET",
            "DATABASE_URL",
            "ROTATION_BOT_CONFIG",
        ):
            env.pop(var, None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", *args],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)

    @property
    def err(self) -> str:
        return "".join(self.lines)

    def wait_for_line(self, needle: str, timeout: float = 90) -> None:
        end = time.monotonic() + timeout
        while not any(needle in line for line in self.lines):
            if self.proc.poll() is not None or time.monotonic() > end:
                self.kill()
                pytest.fail(f"no {needle!r} in the log:\n{self.err[-4000:]}")
            time.sleep(0.05)

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> tuple[int, float]:
        """Send `sig`; the exit code and the seconds it took to exit."""
        started = time.monotonic()
        self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"still running 30 s after {sig.name}:\n{self.err[-4000:]}")
        took = time.monotonic() - started
        self._reader.join(timeout=5)
        return code, took

    def kill(self) -> None:
        """Make sure it is gone, and close its pipe."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._reader.join(timeout=5)
        if self.proc.stderr is not None:
            self.proc.stderr.close()


def _members_csv() -> str:
    """The demo market's own members, as a members file."""
    data = load_market(DataSpec(source="demo", demo_end=pd.Timestamp(DEMO_END)))
    return data.universe.table.to_csv()


def _config(tmp_path: Path, url: str, members: Path) -> Path:
    path = tmp_path / "rotation.yaml"
    path.write_text(
        f'data: {{source: demo, demo_end: "{DEMO_END}", members: "{members}", '
        f'cache_dir: "{tmp_path / "cache"}"}}\n'
        "health: {enabled: false}\n"
        "chat: {console: false, startup_message: false}\n"
        f"database_url: '{url}'\n",
        encoding="utf-8",
    )
    return path


def _committed(url: str) -> tuple[int, int]:
    """(runs, engine_state rows): what evaluations have committed."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            runs = conn.execute(text("SELECT count(*) FROM runs")).scalar_one()
            progress = conn.execute(text("SELECT count(*) FROM engine_state")).scalar_one()
        return int(runs), int(progress)
    finally:
        engine.dispose()


def _hung_members(tmp_path: Path) -> Path:
    """A members file whose reader blocks until someone writes it (never, here)."""
    fifo = tmp_path / "members.csv"
    os.mkfifo(fifo)
    return fifo


def _serve_members(fifo: Path) -> None:
    """Replace the hung file by a readable one with the demo's members."""
    fifo.unlink()
    fifo.write_text(_members_csv(), encoding="utf-8")


def test_sigterm_during_the_catch_up_evaluation_exits_0_and_it_runs_at_the_next_start(
    tmp_path: Path, url: str
) -> None:
    members = _hung_members(tmp_path)
    config = _config(tmp_path, url, members)
    args = ["run", "--config", str(config), "--as-of", "2026-06-01"]
    daemon = Daemon(args, tmp_path)
    try:
        daemon.wait_for_line(EVALUATING)
        time.sleep(0.5)  # well inside the blocked read
        code, took = daemon.stop()
    finally:
        daemon.kill()
    assert code == 0, daemon.err[-4000:]
    assert took < STOP_BUDGET, f"exited {took:.1f} s after SIGTERM:\n{daemon.err[-4000:]}"
    assert sum(INTERRUPTED in line for line in daemon.lines) == 1, daemon.err[-4000:]
    assert "Traceback" not in daemon.err, daemon.err[-4000:]
    assert _committed(url) == (0, 0)

    _serve_members(members)
    again = Daemon(args, tmp_path)
    try:
        again.wait_for_line("evaluation as of 2026-06-01: initialized")
        code, took = again.stop()
    finally:
        again.kill()
    assert code == 0, again.err[-4000:]
    assert INTERRUPTED not in again.err
    assert _committed(url) == (1, 1)


@pytest.mark.parametrize(
    ("sig", "expected"), [(signal.SIGTERM, -signal.SIGTERM), (signal.SIGINT, 130)]
)
def test_run_once_stops_promptly_during_its_evaluation(
    tmp_path: Path, sig: signal.Signals, expected: int
) -> None:
    """`run --once` has no graceful stop: SIGTERM ends it where it stands (the database
    rolls back the open transaction), SIGINT exits 130; the next run evaluates again."""
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    members = _hung_members(tmp_path)
    config = _config(tmp_path, url, members)
    once = Daemon(["run", "--once", "--config", str(config), "--as-of", "2026-06-01"], tmp_path)
    try:
        once.wait_for_line(EVALUATING)
        time.sleep(0.5)
        code, took = once.stop(sig)
    finally:
        once.kill()
    assert code == expected, once.err[-4000:]
    assert took < STOP_BUDGET, f"exited {took:.1f} s after {sig.name}:\n{once.err[-4000:]}"
    assert _committed(url) == (0, 0)
