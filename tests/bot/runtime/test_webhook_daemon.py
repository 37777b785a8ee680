"""`rotation-bot run` in Telegram webhook mode, as a subprocess against the fake Bot API
acting as Telegram: setWebhook at start with the secret, the allowed updates and
max_connections; updates POSTed to /telegram/webhook on the health port; requests without
the secret refused with 403; duplicates and late retries answered once; and on PostgreSQL
two replicas sharing the updates round-robin, each command answered by exactly one."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

from tests.bot.db_helpers import fresh_pg_schema, pg_base_url
from tests.bot.runtime.replica_helpers import spawn_run
from tests.fakes.telegram_api import FakeTelegram, visible_text

ROOT = Path(__file__).resolve().parents[3]
PUBLIC = "https://bot.example.com/telegram/webhook"
SECRET = "daemon-webhook_secret-42"
TOKEN = "555000:daemon-secret-token"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _config(folder: Path, db_url: str, port: int, catch_up: bool) -> Path:
    """`catch_up: false`: no evaluation at start (commands that need no market state)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "rotation.yaml"
    settings = {
        "data": {"source": "demo", "demo_end": "2026-10-30", "cache_dir": str(folder / "cache")},
        "database_url": db_url,
        "health": {"port": port},
        "chat": {"console": False, "startup_message": False, "rate_per_minute": 600},
        "telegram": {"mode": "webhook", "webhook_url": PUBLIC, "max_connections": 8},
        "schedule": {"catch_up": catch_up},
    }
    path.write_text(yaml.safe_dump(settings), encoding="utf-8")
    return path


class Daemon:
    """One `rotation-bot run` process; its stderr goes to a file next to its config."""

    def __init__(self, config: Path, port: int, fake: FakeTelegram) -> None:
        self.port = port
        self.log = config.parent / "stderr.log"
        self.terminated = False
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_BASE_URL": fake.base_url,
            "TELEGRAM_WEBHOOK_SECRET": SECRET,
        }
        for var in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "DATABASE_URL", "ROTATION_BOT_CONFIG"):
            env.pop(var, None)
        self.proc = spawn_run(config, env, self.log)

    @property
    def webhook(self) -> str:
        return f"http://127.0.0.1:{self.port}/telegram/webhook"

    def get(self, path: str) -> int | None:
        return self.get_json(path)[0]

    def get_json(self, path: str) -> tuple[int | None, dict]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=3) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())
        except OSError:
            return None, {}

    def post(self, path: str, body: dict, headers: dict[str, str]) -> int | None:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", **headers},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as r:  # noqa: S310 - loopback
                return r.status
        except urllib.error.HTTPError as exc:
            return exc.code
        except OSError:
            return None

    def terminate(self) -> None:
        if self.proc.poll() is None and not self.terminated:
            self.proc.send_signal(signal.SIGTERM)
            self.terminated = True

    def stop(self) -> str:
        self.terminate()
        if self.proc.poll() is None:
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.log.read_text()


def _wait(cond: Callable[[], object], timeout: float, what: str, daemons: list[Daemon]) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for d in daemons:
            if d.proc.poll() is not None:
                pytest.fail(f"a bot exited ({d.proc.returncode}):\n{d.log.read_text()[-3000:]}")
        if cond():
            return
        time.sleep(0.1)
    logs = "\n".join(d.log.read_text()[-2000:] for d in daemons)
    pytest.fail(f"timed out after {timeout} s waiting for {what}\n{logs}")


@contextmanager
def daemons(
    folder: Path, db_url: str, fake: FakeTelegram, n: int, catch_up: bool = True
) -> Iterator[list[Daemon]]:
    started: list[Daemon] = []
    try:
        for i in range(n):
            port = _free_port()
            config = _config(folder / f"r{i}", db_url, port, catch_up)
            started.append(Daemon(config, port, fake))
        yield started
    finally:
        _stop_all(started)


def _stop_all(started: list[Daemon]) -> list[str]:
    """SIGTERM to all at once, then their logs."""
    for d in started:
        d.terminate()
    return [d.stop() for d in started]


def _shown(rec) -> str:
    text, error = visible_text(rec.text or "", rec.params.get("parse_mode"))
    assert error is None, error
    return text


def _update(update_id: int, chat: int, text: str) -> dict:
    return {
        "update_id": update_id,
        "message": {
            "message_id": 1,
            "date": int(time.time()),
            "chat": {"id": chat, "type": "private", "first_name": "X"},
            "from": {"id": chat, "is_bot": False, "first_name": "X"},
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}],
        },
    }


def test_webhook_mode_end_to_end(tmp_path: Path, telegram_fake: FakeTelegram) -> None:
    telegram_fake.inject("server_error", method="setWebhook", times=2)  # Telegram down at start
    with daemons(tmp_path, f"sqlite:///{tmp_path / 'bot.db'}", telegram_fake, 1) as (bot,):
        # not ready while its webhook is not set: a load balancer sends it nothing yet
        _wait(
            lambda: "telegram: not connected yet" in bot.get_json("/readyz")[1].get("reasons", []),
            60,
            "/readyz naming the missing webhook",
            [bot],
        )
        _wait(telegram_fake.webhook_info, 60, "setWebhook", [bot])
        assert telegram_fake.webhook_info() == {
            "url": PUBLIC,
            "secret_token": SECRET,
            "allowed_updates": ["message", "channel_post", "callback_query"],
            "max_connections": 8,
        }
        _wait(lambda: bot.get("/healthz") == 200, 60, "a healthy first evaluation", [bot])
        _wait(lambda: bot.get("/readyz") == 200, 10, "/readyz", [bot])
        # 403 without the secret or with another one: nothing handled, nothing claimed
        forged = _update(900, 901, "/help")
        assert bot.post("/telegram/webhook", forged, {}) == 403
        wrong = {"X-Telegram-Bot-Api-Secret-Token": "not-" + SECRET}
        assert bot.post("/telegram/webhook", forged, wrong) == 403
        assert bot.post("/elsewhere", forged, {}) == 404
        # the fake delivers as Telegram: every update twice, every other one "late"
        telegram_fake.deliver_to(bot.webhook, duplicate_every=1, late_every=2, retry_delay=0.05)
        telegram_fake.push_command(42, 42, "/snapshot")
        chats = [100 + i for i in range(6)]
        for chat in chats:
            telegram_fake.push_command(chat, chat, "/help")
        _wait(
            lambda: (
                telegram_fake.webhook_in_flight() == 0
                and all(telegram_fake.delivered(c) for c in [42, *chats])
            ),
            60,
            "every answer",
            [bot],
        )
        time.sleep(0.5)  # a second answer, if any, would have arrived by now
        log = bot.stop()
    assert bot.proc.returncode == 0, log[-3000:]
    assert telegram_fake.delivered(901) == []  # the forged update was never answered
    assert telegram_fake.requests("getUpdates") == []  # nothing polled
    (snapshot,) = telegram_fake.delivered(42)
    assert _shown(snapshot).startswith("Market snapshot") and "2026-10-30" in _shown(snapshot)
    for chat in chats:
        (answer,) = telegram_fake.delivered(chat)
        assert _shown(answer).startswith("Commands")
    posts = telegram_fake.webhook_attempts()
    assert len(posts) >= 2 * (1 + len(chats))  # every update came at least twice
    assert SECRET not in log and TOKEN.split(":")[1] not in log


def test_two_replicas_on_postgresql_answer_each_command_once(
    tmp_path: Path, telegram_fake: FakeTelegram
) -> None:
    with (
        fresh_pg_schema(pg_base_url()) as url,
        daemons(tmp_path, url, telegram_fake, 2, catch_up=False) as pair,
    ):
        _wait(
            lambda: (
                len(telegram_fake.requests("setWebhook", outcome="ok")) == 2
                and all(d.get("/readyz") == 200 for d in pair)
            ),
            90,
            "both replicas ready with their webhook set",
            pair,
        )
        telegram_fake.deliver_to(
            [d.webhook for d in pair], duplicate_every=3, late_every=4, retry_delay=0.05
        )
        chats = [3000 + i for i in range(30)]
        for chat in chats:
            telegram_fake.push_command(chat, chat % 7 + 1, "/help")
        _wait(
            lambda: (
                telegram_fake.webhook_in_flight() == 0
                and all(telegram_fake.delivered(c) for c in chats)
            ),
            90,
            "every answer",
            pair,
        )
        time.sleep(0.5)
        logs = _stop_all(pair)
    assert [d.proc.returncode for d in pair] == [0, 0], logs
    for chat in chats:
        assert len(telegram_fake.delivered(chat)) == 1, chat
    by_url = {d.webhook: 0 for d in pair}
    for attempt in telegram_fake.webhook_attempts():
        by_url[attempt.url] += 1
    assert all(n > 0 for n in by_url.values()), by_url  # both replicas took updates
    assert all(SECRET not in log for log in logs)
