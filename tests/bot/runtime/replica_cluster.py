"""Real `rotation-bot run` replicas in webhook mode on one PostgreSQL schema, driven by the fake
Bot API acting as Telegram: the harness of `test_replicas_e2e.py` and `benchmarks/replicas.py`.

Each replica is a subprocess with its own config file (its own health port, where Telegram's
updates arrive on `/telegram/webhook`) and the same database, token and webhook secret. The
fake (`tests.fakes.telegram_api.FakeTelegram`, run in the caller's process) is the Bot API
the replicas call (`TELEGRAM_BASE_URL`) and, once they called setWebhook, the Telegram that
POSTs updates to their webhook URLs round-robin (`FakeTelegram.deliver_to`: the list of URLs
stands in for the reverse proxy).

The market is the bundled demo with a fixed end, and the rules are two of the default ones,
written into the config: the database is first initialised as of `FIRST_SESSION` by a
`run --once` (a first start fires nothing), and the replicas run `--as-of ALERT_SESSION`, so
the leader's catch-up evaluation fires both rules on that session and queues one alert
message per destination (see docs/alerts.md, Grouping).
"""

from __future__ import annotations

import bisect
import itertools
import json
import math
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import yaml

from tests.bot.runtime.replica_helpers import spawn_run
from tests.fakes.server import RemoteFake

ROOT = Path(__file__).resolve().parents[3]
#: the demo market ends here whatever today is, so the sessions below stay what they are
DEMO_END = "2026-10-30"
#: the first start (silent) and the session the replicas evaluate: both rules fire on it
FIRST_SESSION, ALERT_SESSION = "2026-05-08", "2026-05-18"
#: the rules that fire on ALERT_SESSION (from config/rotation.yaml), and words of their messages
RULES: list[dict[str, Any]] = [
    {
        "id": "breadth_broadening",
        "signal": "breadth_200d",
        "op": "crosses_above",
        "threshold": 65,
        "clear": 55,
        "confirm": 3,
        "resolve_confirm": 5,
        "cooldown_days": 20,
        "severity": "info",
        "notify_resolved": True,
        "message": "Breadth is broadening: {value:.1f}% of members are above their 200-day average",
    },
    {
        "id": "broad_rotation",
        "all": [
            {"signal": "breadth_200d", "op": "at_least", "threshold": 65, "clear": 60},
            {"signal": "ew_vs_cw", "op": "above", "threshold": 0, "clear": -2},
        ],
        "confirm": 3,
        "resolve_confirm": 5,
        "cooldown_days": 20,
        "notify_resolved": True,
        "message": "Breadth and equal weight agree: rotation is broadening",
    },
]
ALERT_WORDS = ("Breadth is broadening", "rotation is broadening")
#: the webhook's secret (Telegram allows A-Z a-z 0-9 _ -) and the public URL given to
#: setWebhook; the fake delivers to the replicas' 127.0.0.1 URLs instead
SECRET = "replica-test-secret_0123456789"
PUBLIC_URL = "https://bot.example.test/telegram/webhook"
#: alert destinations are private chats from here on (the users' chats are below it)
FIRST_ALERT_CHAT = 9_000_001
SECTORS = ("XLB", "XLC", "XLE", "XLF", "XLI", "XLK", "XLP", "XLRE", "XLU", "XLV", "XLY")

_T = TypeVar("_T")


@dataclass(frozen=True)
class SlackHttp:
    """Slack in HTTP mode for a replica: the fake Web API, the bot token, the signing secret
    requests are checked with, and the port the replica's events endpoint listens on."""

    api_url: str
    token: str
    signing_secret: str
    port: int | None = None


@dataclass(frozen=True)
class Caps:
    """Telegram's caps as configured (the fake is set to the same): at most `overall`
    messages in any `per` seconds overall, `chat` per chat in any `per` seconds."""

    overall: int = 30
    per: float = 1.0
    chat: int = 1

    @property
    def rate(self) -> float:
        return self.overall / self.per


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _base_config(url: str, folder: Path) -> dict[str, Any]:
    return {
        "data": {"source": "demo", "demo_end": DEMO_END, "cache_dir": str(folder / "cache")},
        "database_url": url,
        "rules": RULES,
        "alerts": {"late_policy": "mark"},
        "chat": {
            "console": False,
            "startup_message": False,
            "charts": False,
            "rate_per_minute": 600,
        },
        "schedule": {
            "delivery_interval_seconds": 1,
            "digest": {"enabled": False},
            "heartbeat": {"enabled": False},
        },
    }


def replica_config(
    folder: Path,
    url: str,
    port: int,
    *,
    chats: int,
    caps: Caps,
    batch: int = 50,
    slack_port: int | None = None,
) -> Path:
    """`folder/rotation.yaml` for one replica: webhook mode on health port `port`, `chats`
    private Telegram chats as alert destinations, the caps and a delivery lease short enough
    that rows a killed leader held come back within seconds (the config checks it against
    the longest part of a send). `slack_port`: Slack's HTTP mode listens there."""
    folder.mkdir(parents=True, exist_ok=True)
    config = _base_config(url, folder)
    if slack_port is not None:
        config["chat"] |= {"slack_http_host": "127.0.0.1", "slack_http_port": slack_port}
    config |= {
        "destinations": [
            {"platform": "telegram", "chat_id": str(FIRST_ALERT_CHAT + i)} for i in range(chats)
        ],
        "health": {"host": "127.0.0.1", "port": port},
        "telegram": {"mode": "webhook", "webhook_url": PUBLIC_URL, "max_connections": 40},
        "delivery": {
            "batch": batch,
            "timeout": 3.0,
            "connect_timeout": 2.0,
            "poll_interval": 0.2,
            "backoff_base": 0.5,
            "lease": 8,
            "telegram": {
                "overall": {"count": caps.overall, "per": caps.per},
                "per_chat": {"count": caps.chat, "per": caps.per},
                # only private chats here; a group's cap is Telegram's 20 a minute
                "per_group": {"count": caps.chat, "per": caps.per},
            },
        },
    }
    path = folder / "rotation.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def _env(**more: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PTB_TIMEDELTA": "1"}
    for var in (
        "TELEGRAM_BOT_TOKEN",
        "TELEGRAM_BASE_URL",
        "TELEGRAM_WEBHOOK_SECRET",
        "SLACK_BOT_TOKEN",
        "SLACK_APP_TOKEN",
        "SLACK_SIGNING_SECRET",
        "DATABASE_URL",
        "ROTATION_BOT_REPLICA_ID",
    ):
        env.pop(var, None)
    return env | more


def initialise(url: str, folder: Path, as_of: str = FIRST_SESSION) -> None:
    """The database's first start, as of `as_of` (rule states set, nothing fires): a
    `run --once` without chat tokens or destinations."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "init.yaml"
    path.write_text(yaml.safe_dump(_base_config(url, folder)), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "run", "--once", "--as-of", as_of, "--config", str(path)],
        cwd=folder,
        env=_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"run --once exited {done.returncode}:\n{done.stderr[-3000:]}")


def http_json(url: str, timeout: float = 3.0) -> tuple[int, dict[str, Any]] | None:
    """GET `url`: (status, JSON body), or None when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:  # noqa: S310 - loopback only
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")
    except (OSError, ValueError):
        return None


def post(url: str, body: bytes, headers: dict[str, str], timeout: float = 3.0) -> int:
    """POST `body`: the HTTP status."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as r:  # noqa: S310 - loopback
            return int(r.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


class Replica:
    """One `rotation-bot run --as-of ALERT_SESSION` process, named `name`
    (ROTATION_BOT_REPLICA_ID), stderr in `folder/stderr.log`."""

    def __init__(
        self,
        name: str,
        config: Path,
        port: int,
        telegram_base_url: str,
        token: str,
        slack: SlackHttp | None = None,
    ) -> None:
        self.name, self.port, self.slack = name, port, slack
        self.log = config.parent / "stderr.log"
        env = _env(
            TELEGRAM_BOT_TOKEN=token,
            TELEGRAM_BASE_URL=telegram_base_url,
            TELEGRAM_WEBHOOK_SECRET=SECRET,
            ROTATION_BOT_REPLICA_ID=name,
        )
        if slack is not None:
            env |= {
                "SLACK_BOT_TOKEN": slack.token,
                "SLACK_SIGNING_SECRET": slack.signing_secret,
                "SLACK_API_URL": slack.api_url,
            }
        self.proc = spawn_run(config, env, self.log, ("--as-of", ALERT_SESSION))

    @property
    def webhook_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/telegram/webhook"

    @property
    def slack_url(self) -> str:
        assert self.slack is not None and self.slack.port is not None
        return f"http://127.0.0.1:{self.slack.port}/slack/events"

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def get(self, path: str) -> tuple[int, dict[str, Any]] | None:
        return http_json(f"http://127.0.0.1:{self.port}{path}") if self.alive else None

    def ready(self) -> bool:
        got = self.get("/readyz")
        return got is not None and got[0] == 200

    def role(self) -> tuple[str, str | None] | None:
        """(role, leader id) from /healthz, None when it does not answer."""
        got = self.get("/healthz")
        return None if got is None else (got[1].get("role", ""), got[1].get("leader"))

    def kill(self) -> None:
        """kill -9: no lease released, no clean shutdown."""
        self.proc.kill()
        self.proc.wait()

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM; the exit code (killed after `timeout`)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def tail(self, chars: int = 3000) -> str:
        try:
            return f"--- {self.name} ({self.log})\n{self.log.read_text()[-chars:]}"
        except OSError:
            return f"--- {self.name}: no log"


def start_replicas(
    folder: Path,
    url: str,
    count: int,
    telegram_base_url: str,
    token: str,
    *,
    chats: int,
    caps: Caps,
    batch: int = 50,
    slack: SlackHttp | None = None,
) -> list[Replica]:
    """`count` replicas, all started at once (none waits for another); with `slack`, each
    also takes Slack requests in HTTP mode on a port of its own."""
    made = []
    for i in range(count):
        port = free_port()
        own = None if slack is None else replace(slack, port=free_port())
        sub = folder / f"replica{i}"
        config = replica_config(
            sub,
            url,
            port,
            chats=chats,
            caps=caps,
            batch=batch,
            slack_port=None if own is None else own.port,
        )
        made.append((sub.name, config, port, own))
    return [
        Replica(name, config, port, telegram_base_url, token, own)
        for name, config, port, own in made
    ]


def wait_for(
    cond: Callable[[], _T | None],
    timeout: float,
    what: str,
    replicas: Iterable[Replica] = (),
    every: float = 0.1,
) -> _T:
    """Poll `cond` until it returns something truthy; AssertionError with the replicas' log
    tails after `timeout` seconds."""
    end = time.monotonic() + timeout
    while True:
        got = cond()
        if got:
            return got
        if time.monotonic() > end:
            logs = "\n".join(r.tail() for r in replicas)
            raise AssertionError(f"no {what} within {timeout:g} s\n{logs}")
        time.sleep(every)


def agreed_leader(replicas: Sequence[Replica]) -> Replica | None:
    """The live replica that says it leads, when exactly one does and every live one names
    it in /healthz."""
    live = [r for r in replicas if r.alive]
    views = [r.role() for r in live]
    if not live or any(v is None for v in views):
        return None
    leaders = [r for r, v in zip(live, views, strict=True) if v is not None and v[0] == "leader"]
    named = {v[1] for v in views if v is not None}
    if len(leaders) != 1 or named != {leaders[0].name}:
        return None
    return leaders[0]


def max_in_window(times: Sequence[float], window: float) -> int:
    """The most of `times` (sorted) that fall in any half-open interval of `window` seconds."""
    best = 0
    for i, t in enumerate(times):
        best = max(best, bisect.bisect_left(times, t + window, lo=i) - i)
    return best


def percentile(values: Sequence[float], q: float) -> float:
    """The `q` quantile (0..1) of `values`, nearest rank."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = min(len(ordered), max(1, math.ceil(q * len(ordered))))
    return ordered[rank - 1]


# --- the fake Bot API in a process of its own ------------------------------------------


@dataclass(frozen=True)
class Send:
    """One send request as the fake saw it: arrival (monotonic: the same clock in every
    process on the machine), chat, method, text, outcome and whether it reached the chat."""

    at: float
    chat_id: str
    method: str
    text: str
    outcome: str
    delivered: bool

    @property
    def refused(self) -> bool:
        return self.outcome == "rate_limited"


SEND_METHODS = ("sendMessage", "sendPhoto")


class FakeTelegramProcess:
    """`python -m tests.fakes.telegram_api` in its own process, so that the arrival times it
    records are not held up by this process (the test polls it), controlled over HTTP."""

    def __init__(self, folder: Path, *, caps: Caps | None) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        state = folder / "fake_telegram.json"
        argv = [sys.executable, "-m", "tests.fakes.telegram_api", "--state-file", str(state)]
        self.log = folder / "fake_telegram.log"
        with self.log.open("w") as err:
            self.proc = subprocess.Popen(
                argv if caps else [*argv, "--no-caps"],
                cwd=ROOT,
                env=_env(),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
        wait_for(lambda: state.exists() or self.proc.poll() is not None, 30, "fake Bot API")
        if self.proc.poll() is not None:
            raise RuntimeError(f"the fake Bot API exited: {self.log.read_text()[-2000:]}")
        endpoints = json.loads(state.read_text())
        self.url, self.base_url = endpoints["url"], endpoints["base_url"]
        self.remote = RemoteFake(self.url, timeout=30)
        if caps:
            self.remote.control("set_cap", name="global", limit=caps.overall, window=caps.per)
            self.remote.control("set_cap", name="chat", limit=caps.chat, window=caps.per)

    def control(self, call: str, **kwargs: Any) -> Any:
        return self.remote.control(call, **kwargs)

    def push_command(self, chat: int, user: int, text: str) -> dict[str, Any]:
        return dict(self.control("push_command", chat_id=chat, user_id=user, text=text))

    def deliver_to(self, urls: Sequence[str], **plan: Any) -> None:
        self.control("deliver_to", urls=list(urls), **plan)

    def webhook_in_flight(self) -> int:
        return int(self.control("webhook_in_flight"))

    def webhook_attempts(self) -> list[dict[str, Any]]:
        return list(self.control("webhook_attempts"))

    def webhook_info(self) -> dict[str, Any] | None:
        got = self.control("webhook_info")
        return None if got is None else dict(got)

    def sends(self) -> list[Send]:
        """Every send request (delivered or not), by arrival."""
        out = []
        for method in SEND_METHODS:
            for r in self.remote.requests(method=method):
                params = r.get("params") or {}
                text = str(params.get("text") or params.get("caption") or "")
                out.append(
                    Send(r["at"], str(r["chat_id"]), method, text, r["outcome"], r["delivered"])
                )
        out.sort(key=lambda s: s.at)
        return out

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# --- users asking commands ---------------------------------------------------------------


@dataclass(frozen=True)
class Asked:
    """One command a user sent: its update, chat, the sector asked about, when it was pushed
    (monotonic, as the fake's arrival times)."""

    update_id: int
    chat: str
    sector: str
    pushed_at: float


def answers_sector(text: str, sector: str) -> bool:
    """A `/sector` reply names its ETF in its first line ("XLF Financials · ...")."""
    first = text.strip().split("\n", 1)[0]
    return f"{sector} " in first


class Users:
    """`count` users, each in their own private chat (ids from `first_chat`), asking
    `/sector` about a different sector each time, one command at a time, as people do."""

    def __init__(self, fake: FakeTelegramProcess, count: int, first_chat: int = 1001) -> None:
        self.fake = fake
        self.chats = [first_chat + i for i in range(count)]
        self.asked: list[Asked] = []

    def ask(self, user: int, round_index: int) -> Asked:
        """User number `user` sends their command of round `round_index` now."""
        chat = self.chats[user]
        sector = SECTORS[(user + round_index) % len(SECTORS)]
        pushed_at = time.monotonic()
        update = self.fake.push_command(chat, chat, f"/sector {sector}")
        asked = Asked(int(update["update_id"]), str(chat), sector, pushed_at)
        self.asked.append(asked)
        return asked

    def ask_round(self, round_index: int) -> list[Asked]:
        """Every user sends one command now."""
        return [self.ask(i, round_index) for i in range(len(self.chats))]

    def replies(self, sends: Sequence[Send] | None = None) -> dict[str, list[Send]]:
        """Per user chat, the messages the bot put in it, oldest first."""
        out: dict[str, list[Send]] = {str(c): [] for c in self.chats}
        for s in self.fake.sends() if sends is None else sends:
            if s.delivered and s.chat_id in out:
                out[s.chat_id].append(s)
        return out

    def answered(
        self, batch: Sequence[Asked], sends: Sequence[Send] | None = None
    ) -> dict[int, list[Send]]:
        """Per update of `batch`, the replies that answer it (its chat, its sector)."""
        replies = self.replies(sends)
        return {
            a.update_id: [r for r in replies[a.chat] if answers_sector(r.text, a.sector)]
            for a in batch
        }

    def wait_answered(
        self, batch: Sequence[Asked], timeout: float, replicas: Iterable[Replica] = ()
    ) -> dict[int, float]:
        """Wait until every command of `batch` has an answer; per update, its latency (pushed
        -> the first answer recorded by the fake)."""

        def done() -> dict[int, float] | None:
            got = self.answered(batch)
            if not all(got.values()):
                return None
            return {a.update_id: got[a.update_id][0].at - a.pushed_at for a in batch}

        what = f"answer to each of {len(batch)} commands"
        return wait_for(done, timeout, what, replicas, every=0.25)


#: chats (and update ids from here on) of the warm-up commands, apart from the users'
WARM_UP_CHAT, WARM_UP_UPDATES = 500, 800_000_000
LOADING = "still loading"
_warm_up_ids = itertools.count(WARM_UP_UPDATES)


def command_update(update_id: int, chat: int, text: str) -> dict[str, Any]:
    """A Telegram update carrying command `text` from user `chat` in their private chat."""
    command = text.split()[0]
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "chat": {"id": chat, "type": "private", "first_name": f"User{chat}"},
            "from": {"id": chat, "is_bot": False, "first_name": f"User{chat}"},
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(command)}],
        },
    }


def warm_up(replicas: Sequence[Replica], fake: FakeTelegramProcess, timeout: float = 60) -> None:
    """Wait until every replica answers a command from market data: /readyz says a replica
    can take requests, not that its market state is loaded ("still loading" until then). Each
    replica gets its own `/sector XLF` straight on its webhook URL (as Telegram would post
    it, with the secret), again until the answer is a real one."""
    headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": SECRET}

    for i, replica in enumerate(replicas):
        chat = WARM_UP_CHAT + i

        def answers(chat: int = chat) -> list[Send]:
            return [s for s in fake.sends() if s.chat_id == str(chat) and s.delivered]

        def answered_for_real(replica: Replica = replica, chat: int = chat) -> bool:
            seen = len(answers(chat))
            update = command_update(next(_warm_up_ids), chat, "/sector XLF")
            body = json.dumps(update).encode()
            if post(replica.webhook_url, body, headers) != 200:
                time.sleep(0.5)
                return False
            got = wait_for(
                lambda: answers(chat)[seen:], 30, f"{replica.name}'s warm-up answer", [replica]
            )
            if LOADING in got[-1].text:
                time.sleep(0.5)
                return False
            return True

        wait_for(answered_for_real, timeout, f"{replica.name} answering from market data", replicas)
