"""Benchmark: Telegram commands by webhook, answered per second and how fast, on 1 and 3 replicas.

    python -m benchmarks.ingress [--commands 300] [--users 50] [--replicas 1 3] [--caps]
                                 [--database-url URL] [--check]

Each case starts N `rotation-bot run` processes in webhook mode on one fresh PostgreSQL schema
(`--database-url`, else TEST_DATABASE_URL; the benchmark says so and stops without one) and
the fake Bot API in a process of its own, acting as Telegram: the commands (`/help`, from
`--users` users, each in a chat of its own so that no per-chat cap queues them) are queued
first, then POSTed to the replicas round-robin, at most 40 at once, every 5th twice and every
7th retried after a "late" answer, as Telegram does. Every command must be answered exactly
once (checked); the figures are:

- answered/s: commands over the time from the first POST to the last answer;
- latency: from the first POST of an update to the fake recording its answer (both read the
  fake's monotonic clock), p50 and p95; all commands arrive as one burst, so this includes
  the wait behind the others;
- the ratio of 3 replicas to 1.

By default the fake's caps are off and the bot's overall send cap is raised to 1,000/s, so
what is measured is the bot's own capacity; `--caps` keeps Telegram's 30 messages/s, which
then bounds any number of replicas (they share the cap) and the latency is the queue behind
it. Targets (`--check`): every command answered once; without the caps p95 under 2 s, with
them no send refused (429) by the fake. On a shared 2-core machine the replicas, PostgreSQL
and the fake compete for the same cores; compare ratios from one run.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench-webhook-secret"
TOKEN = "777000:bench-token"
P95_TARGET = 2.0


@dataclass(frozen=True)
class Result:
    replicas: int
    commands: int
    posts: int
    seconds: float
    latencies: tuple[float, ...]
    answers_per_chat: frozenset[int]  # how many answers the chats got: {1} when exactly once
    refused: int  # sends the fake refused with 429 (over Telegram's caps)
    refused_by: tuple[str, ...]  # the caps that refused them
    caps: bool

    @property
    def per_second(self) -> float:
        return self.commands / self.seconds

    def percentile(self, q: int) -> float:
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[q - 1]

    @property
    def ok(self) -> bool:
        """Each command answered once; with the caps, none exceeded; without, p95 in time."""
        if self.answers_per_chat != {1}:
            return False
        return self.refused == 0 if self.caps else self.percentile(95) < P95_TARGET


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=3) as r:  # noqa: S310 - loopback only
            return int(r.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


@contextmanager
def _fake(folder: Path, caps: bool) -> Iterator[dict]:
    state = folder / "fake.json"
    flags = [] if caps else ["--no-caps"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.telegram_api", "--state-file", str(state), *flags],
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 20
        while not state.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the fake Bot API did not start")
            time.sleep(0.05)
        yield json.loads(state.read_text())
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@contextmanager
def _replicas(folder: Path, n: int, db_url: str, base_url: str, caps: bool) -> Iterator[list[int]]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_BASE_URL": base_url,
        "TELEGRAM_WEBHOOK_SECRET": SECRET,
    }
    for var in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "DATABASE_URL", "ROTATION_BOT_CONFIG"):
        env.pop(var, None)
    delivery = {} if caps else {"telegram": {"overall": {"count": 1000, "per": 1.0}}}
    procs, ports = [], []
    try:
        for i in range(n):
            port = _free_port()
            sub = folder / f"r{i}"
            sub.mkdir()
            config = {
                "data": {"source": "demo", "demo_end": "2026-10-30", "cache_dir": str(sub)},
                "database_url": db_url,
                "health": {"port": port},
                "chat": {
                    "console": False,
                    "startup_message": False,
                    "charts": False,
                    "rate_per_minute": 600,
                },
                "delivery": delivery,
                "telegram": {"mode": "webhook", "webhook_url": "https://bench.invalid/tg"},
            }
            (sub / "rotation.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
            log = (sub / "stderr.log").open("w")
            procs.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "bot.cli",
                        "run",
                        "--config",
                        str(sub / "rotation.yaml"),
                    ],
                    cwd=sub,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=log,
                )
            )
            ports.append(port)
        deadline = time.monotonic() + 120
        while not all(_get(f"http://127.0.0.1:{p}/readyz") == 200 for p in ports):
            if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                raise SystemExit(f"the replicas did not get ready; see {folder}/r*/stderr.log")
            time.sleep(0.2)
        yield ports
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


def run_case(n: int, commands: int, users: int, db_url: str, caps: bool) -> Result:
    from tests.bot.db_helpers import fresh_pg_schema
    from tests.fakes.server import RemoteFake

    with (
        tempfile.TemporaryDirectory() as tmp,
        fresh_pg_schema(db_url) as url,
        _fake(Path(tmp), caps) as fake,
        _replicas(Path(tmp), n, url, fake["base_url"], caps) as ports,
    ):
        remote = RemoteFake(fake["url"])
        chats = [20_000 + i for i in range(commands)]
        for i, chat in enumerate(chats):
            remote.control("push_command", chat_id=chat, user_id=1 + i % users, text="/help")
        urls = [f"http://127.0.0.1:{p}/telegram/webhook" for p in ports]
        remote.control("deliver_to", urls=urls, duplicate_every=5, late_every=7, retry_delay=0.05)
        deadline = time.monotonic() + 300
        while True:
            sent = [r for r in remote.requests(method="sendMessage") if r["outcome"] == "ok"]
            if remote.control("webhook_in_flight") == 0 and len(
                {r["chat_id"] for r in sent}
            ) == len(chats):
                break
            if time.monotonic() > deadline:
                raise SystemExit("not every command was answered within 300 s")
            time.sleep(0.2)
        time.sleep(1.0)  # a second answer, if any, would have come by now
        records = remote.requests(method="sendMessage")
        sent = [r for r in records if r["outcome"] == "ok"]
        refused_caps = [r["cap"] for r in records if r["outcome"] == "rate_limited"]
        attempts = remote.control("webhook_attempts")
    first_post: dict[int, float] = {}
    for a in attempts:
        first_post[a["update_id"]] = min(first_post.get(a["update_id"], a["started"]), a["started"])
    answer_at: dict[str, float] = {}
    counts: dict[str, int] = {}
    for r in sent:
        counts[r["chat_id"]] = counts.get(r["chat_id"], 0) + 1
        answer_at.setdefault(r["chat_id"], r["at"])
    # update ids are 1..commands in push order, one chat each
    latencies = tuple(answer_at[str(chat)] - first_post[i + 1] for i, chat in enumerate(chats))
    start = min(first_post.values())
    return Result(
        replicas=n,
        commands=commands,
        posts=len(attempts),
        seconds=max(answer_at.values()) - start,
        latencies=latencies,
        answers_per_chat=frozenset(counts.values()),
        refused=len(refused_caps),
        refused_by=tuple(sorted(set(refused_caps))),
        caps=caps,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ingress", description=__doc__)
    parser.add_argument("--commands", type=int, default=300)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 3])
    parser.add_argument("--caps", action="store_true", help="keep Telegram's 30 messages/s")
    parser.add_argument("--database-url", default=os.environ.get("TEST_DATABASE_URL"))
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    if not args.database_url:
        print(
            "benchmarks.ingress: no PostgreSQL (give --database-url or TEST_DATABASE_URL); skipped"
        )
        return 0
    print(
        f"{args.commands} /help commands from {args.users} users by webhook "
        f"(every 5th twice, every 7th retried late); caps {'on' if args.caps else 'off'}"
    )
    print(
        f"{'replicas':>8} {'posts':>6} {'answered/s':>11} {'p50 ms':>8} {'p95 ms':>8} "
        f"{'429s':>5}  once"
    )
    results = []
    for n in args.replicas:
        r = run_case(n, args.commands, args.users, args.database_url, args.caps)
        results.append(r)
        once = "yes" if r.answers_per_chat == {1} else f"NO {sorted(r.answers_per_chat)}"
        by = f" ({', '.join(r.refused_by)} cap)" if r.refused_by else ""
        print(
            f"{n:>8} {r.posts:>6} {r.per_second:>11.1f} {r.percentile(50) * 1000:>8.0f} "
            f"{r.percentile(95) * 1000:>8.0f} {r.refused:>5}  {once}  "
            f"{'PASS' if r.ok else 'FAIL'}{by}"
        )
    if len(results) > 1:
        base = results[0]
        for r in results[1:]:
            print(
                f"{r.replicas} vs {base.replicas} replicas: answered/s x"
                f"{r.per_second / base.per_second:.2f}, p95 x"
                f"{r.percentile(95) / base.percentile(95):.2f}"
            )
    return 1 if args.check and not all(r.ok for r in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
