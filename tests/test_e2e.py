"""End to end: `rotation-bot run` as a subprocess against the fake Telegram and Slack
servers on the demo market.

The daemon's catch-up evaluation at start is the scheduler's evaluate job; `--as-of` moves
the as-of session, so a first run initialises silently and a second run (a day the clock
passed while the bot was down) fires what happened in between. SIGTERM must end it within
10 s with nothing pending, and a restart must send nothing twice.
"""

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
from pathlib import Path

import pytest

from bot.storage.store import Store

ROOT = Path(__file__).resolve().parents[1]
D1, D2 = "2026-06-01", "2026-07-16"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _config(tmp_path: Path, port: int) -> Path:
    rules = (ROOT / "config" / "rotation.yaml").read_text(encoding="utf-8")
    rules = rules[rules.index("\nrules:") :]
    path = tmp_path / "rotation.yaml"
    path.write_text(
        f"""\
data: {{source: demo, demo_end: "2026-10-30", cache_dir: "{tmp_path / "cache"}"}}
database_url: sqlite:///{tmp_path / "bot.db"}
destinations:
  - {{platform: telegram, chat_id: "-1001"}}
  - {{platform: slack, channel: "C0001"}}
admins: {{telegram: [77]}}
health: {{port: {port}}}
delivery: {{backoff_base: 0.05, timeout: 2.0, connect_timeout: 1.0}}
"""
        + rules,
        encoding="utf-8",
    )
    return path


def _health(port: int) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def _wait(pred, timeout: float, what: str, proc: subprocess.Popen) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(
                f"the bot exited ({proc.returncode}) while waiting for {what}:\n{err[-3000:]}"
            )
        try:
            if pred():
                return
        except OSError:
            pass
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=15)
    pytest.fail(f"timed out waiting for {what}:\n{err[-4000:]}")


def _start(config: Path, as_of: str, env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run", "--config", str(config), "--as-of", as_of],
        cwd=config.parent,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _stop(proc: subprocess.Popen) -> tuple[str, str]:
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        out, err = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"no exit within 10 s of SIGTERM:\n{err[-3000:]}")
    assert proc.returncode == 0, err[-3000:]
    assert time.monotonic() - started < 10
    return out, err


def test_daemon_end_to_end(tmp_path, telegram_fake, slack_fake) -> None:
    port = _free_port()
    config = _config(tmp_path, port)
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": "123:e2e-secret-token",
        "TELEGRAM_BASE_URL": telegram_fake.base_url,
        "SLACK_BOT_TOKEN": "xoxb-e2e-secret",
        "SLACK_APP_TOKEN": "xapp-e2e-secret",  # Socket Mode through the fake's WebSocket
        "SLACK_API_URL": slack_fake.base_url,
        "PYTHONPATH": str(ROOT),
    }
    for var in ("SLACK_SIGNING_SECRET", "DATABASE_URL", "ROTATION_BOT_CONFIG"):
        env.pop(var, None)

    # 1. first start: the rule state is set silently; admins hear that the bot started
    proc = _start(config, D1, env)
    _wait(lambda: _health(port)[0] == 200, 60, "a healthy first evaluation", proc)
    _wait(lambda: telegram_fake.delivered("77"), 20, "the startup message", proc)
    _, err = _stop(proc)
    assert telegram_fake.delivered("-1001") == [] and slack_fake.delivered() == []
    assert "e2e-secret" not in err

    # 2. a later session: the catch-up evaluation fires; both platforms get it
    proc = _start(config, D2, env)
    _wait(
        lambda: telegram_fake.delivered("-1001") and slack_fake.delivered("C0001"),
        60,
        "alerts on both fakes",
        proc,
    )
    _wait(
        lambda: _health(port)[1].get("last_evaluation", {}).get("as_of") == D2,
        30,
        "the evaluation as of D2",
        proc,
    )
    # people in the chats ask for a snapshot: answered on both platforms
    telegram_fake.push_command(555, 555, "/snapshot", chat_type="private")
    _wait(
        lambda: any(
            "Market snapshot · 2026-07-16" in (r.text or "") and "Above 200-day avg" in r.text
            for r in telegram_fake.requests(chat_id="555")
        ),
        60,
        "the Telegram /snapshot answer",
        proc,
    )
    slack_fake.push_slash_command("snapshot", channel_id="C0002", user_id="U0USER")
    _wait(
        lambda: any("Above 200-day avg" in str(r.params) for r in slack_fake.requests()),
        60,
        "the Slack /rotation snapshot answer",
        proc,
    )
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
        metrics = r.read().decode()
    assert 'rotation_bot_evaluations_total{outcome="evaluated"} 1.0' in metrics
    _, err = _stop(proc)
    tg, sl = telegram_fake.delivered("-1001"), slack_fake.delivered("C0001")
    assert "SIMULATED" in tg[0].text and "2026-07-16" in tg[0].text
    counts = Store(f"sqlite:///{tmp_path / 'bot.db'}").queue_counts()
    assert counts.pending == counts.sending == counts.retrying == counts.dead == 0

    # 3. a restart on the same day sends nothing twice
    proc = _start(config, D2, env)
    _wait(lambda: len(telegram_fake.delivered("77")) >= 3, 60, "the third startup message", proc)
    _stop(proc)
    assert len(telegram_fake.delivered("-1001")) == len(tg)
    assert len(slack_fake.delivered("C0001")) == len(sl)
