"""`rotation-bot run` replicas as subprocesses on one PostgreSQL schema, for the replica
tests: start them, read their endpoints, find the one leader they agree on."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def base_env(**extra: str) -> dict[str, str]:
    """This environment without tokens or a replica name (host:pid then, so a leader maps to
    its process), plus `extra`."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for var in (
        "TELEGRAM_BOT_TOKEN",
        "SLACK_BOT_TOKEN",
        "SLACK_APP_TOKEN",
        "DATABASE_URL",
        "ROTATION_BOT_CONFIG",
        "ROTATION_BOT_REPLICA_ID",
    ):
        env.pop(var, None)
    return {**env, **extra}


def get_json(port: int, path: str) -> tuple[int, dict[str, Any]] | None:
    """Status and JSON of GET `path`; None when nothing answers."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=3) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())
    except OSError:
        return None


def spawn_run(
    config: Path, env: dict[str, str], log: Path, args: Sequence[str] = ()
) -> subprocess.Popen[bytes]:
    """`rotation-bot run [args] --config <config>` in the config's folder, stderr into `log`
    (the child keeps its own copy of the descriptor), stdin and stdout closed."""
    with log.open("w") as err:
        return subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "run", *args, "--config", str(config)],
            cwd=config.parent,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )


class Replica:
    """One `rotation-bot run --config <config>`, its stderr in a file beside the config."""

    def __init__(self, config: Path, port: int, env: dict[str, str]) -> None:
        self.port = port
        self.log = config.parent / "stderr.log"
        self.proc = spawn_run(config, env, self.log)

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def health(self) -> dict[str, Any] | None:
        got = get_json(self.port, "/healthz")
        return None if got is None else got[1]

    def stderr(self) -> str:
        return self.log.read_text()

    def stop(self) -> int | None:
        """SIGTERM, then its exit code (killed after 15 s)."""
        if self.alive:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def views(replicas: list[Replica]) -> list[dict[str, Any] | None]:
    return [r.health() if r.alive else None for r in replicas]


def wait_for(cond: Callable[[], Any], timeout: float, what: str, replicas: list[Replica]) -> Any:
    """`cond()`'s first true value, polled; fails with every replica's view and log tail."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        got = cond()
        if got:
            return got
        time.sleep(0.25)
    logs = "\n".join(f"--- {r.log}\n{r.stderr()[-2000:]}" for r in replicas)
    pytest.fail(f"{what} within {timeout} s; last views {views(replicas)}\n{logs}")


def one_leader(replicas: list[Replica]) -> Replica | None:
    """The leader when every live replica answers, exactly one says it leads, and every one
    names it (its id is host:pid)."""
    live = [(r, r.health()) for r in replicas if r.alive]
    if not live or any(v is None for _, v in live):
        return None
    leaders = [r for r, v in live if v is not None and v["role"] == "leader"]
    named = {v["leader"] for _, v in live if v is not None}
    if len(leaders) != 1 or len(named) != 1:
        return None
    (leader,) = leaders
    return leader if str(named.pop()).endswith(f":{leader.proc.pid}") else None
