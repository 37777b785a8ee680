"""Every failure the operator can cause or meet is one line on stderr and exit code 1: never a
traceback, never a secret (a refused Telegram token, a database URL's password).

The daemon cases run the real command line in a subprocess against the fake Bot API; the
database and config-file cases call `main()` in this process, which reaches the same code.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import event
from sqlalchemy.pool import Pool

from bot.cli import main
from bot.storage import errors as db_errors
from bot.storage.store import Store
from tests.fakes.common import Fault
from tests.fakes.telegram_api import FakeTelegram

ROOT = Path(__file__).resolve().parents[2]
REFUSED_TOKEN = "123456789:AAH-refused-secret-token-value"
PASSWORD = "pw-very-secret-4711"


def error_line(err: str) -> str:
    """The one error line: last on stderr, after no traceback."""
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert lines, "nothing on stderr"
    assert lines[-1].startswith("rotation-bot: error: "), err
    assert sum(line.startswith("rotation-bot: error") for line in lines) == 1, err
    return lines[-1]


def _config(tmp_path: Path, *, database_url: str | None = None, port: int | None = None) -> Path:
    health = f"{{port: {port}}}" if port is not None else "{enabled: false}"
    db = f"database_url: {database_url}\n" if database_url else ""
    path = tmp_path / "rotation.yaml"
    path.write_text(
        f'data: {{source: demo, demo_end: "2026-10-30", cache_dir: "{tmp_path / "cache"}"}}\n'
        f"health: {health}\nchat: {{console: false, startup_message: false}}\n{db}",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in (
        "TELEGRAM_BOT_TOKEN",
        "SLACK_BOT_TOKEN",
        "SLACK_APP_TOKEN",
        "SLACK_SIGNING_SECRET",
        "DATABASE_URL",
        "ROTATION_BOT_CONFIG",
    ):
        monkeypatch.delenv(var, raising=False)


def _env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), **extra}
    for var in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "DATABASE_URL"):
        env.pop(var, None)
    return env


def _cli(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(proc: subprocess.Popen, timeout: float) -> tuple[int, str, str]:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"still running after {timeout} s:\n{err[-3000:]}")
    return proc.returncode, out, err


# --- a refused Telegram token ------------------------------------------------------------


@pytest.mark.parametrize(("status", "flags"), [(401, []), (404, []), (401, ["-v"])])
def test_a_refused_telegram_token_is_one_line_and_never_printed(
    tmp_path, status: int, flags: list[str]
) -> None:
    """401 (revoked) and 404 (mistyped) both mean: Telegram will not take this token. With
    -v every library logs at DEBUG (httpx logs each URL, which holds the token)."""
    with FakeTelegram(token="987654321:the-real-token" if status == 401 else None) as fake:
        if status == 404:  # Telegram's answer to a token that is not even well-formed
            body = {"ok": False, "error_code": 404, "description": "Not Found"}
            fake.inject(Fault("not_found", 404, body), method="getMe")
        env = _env(TELEGRAM_BOT_TOKEN=REFUSED_TOKEN, TELEGRAM_BASE_URL=fake.base_url)
        config = _config(tmp_path, database_url=f"sqlite:///{tmp_path / 'bot.db'}", port=0)
        args = ["run", "--config", str(config), "--as-of", "2026-06-01", *flags]
        code, out, err = _finish(_cli(args, tmp_path, env), 90)
    assert code == 1, err[-3000:]
    line = error_line(err)
    assert "Telegram refused TELEGRAM_BOT_TOKEN" in line
    secret = REFUSED_TOKEN.split(":", 1)[1]
    for stream in (out, err):
        assert REFUSED_TOKEN not in stream and secret not in stream


# --- a second daemon on one SQLite file -------------------------------------------------


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
            return r.status == 200
    except urllib.error.HTTPError:
        return True  # it answers: it is up (health itself is not what this test is about)
    except OSError:
        return False


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def first_daemon(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    """`rotation-bot run` on tmp_path/bot.db, up and answering its health endpoint."""
    port = _free_port()
    first_dir = tmp_path / "first"
    first_dir.mkdir()
    db = f"sqlite:///{tmp_path / 'bot.db'}"
    env = _env()
    env.pop("TELEGRAM_BOT_TOKEN", None)
    proc = _cli(
        ["run", "--config", str(_config(first_dir, database_url=db, port=port))], first_dir, env
    )
    try:
        end = time.monotonic() + 60
        while not _healthy(port):
            if proc.poll() is not None or time.monotonic() > end:
                proc.kill()
                pytest.fail(f"the first daemon did not start:\n{proc.communicate()[1][-3000:]}")
            time.sleep(0.2)
        yield tmp_path, env
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()


def test_a_second_daemon_says_another_process_holds_the_database(first_daemon) -> None:
    tmp_path, env = first_daemon
    second_dir = tmp_path / "second"
    second_dir.mkdir()
    config = _config(second_dir, database_url=f"sqlite:///{tmp_path / 'bot.db'}", port=0)
    code, _, err = _finish(_cli(["run", "--config", str(config)], second_dir, env), 60)
    assert code == 1, err[-3000:]
    line = error_line(err)
    assert "another rotation-bot process" in line and str(tmp_path / "bot.db") in line


# --- database failures -------------------------------------------------------------------


def _run_once(tmp_path: Path, url: str, capsys: pytest.CaptureFixture[str]) -> str:
    config = _config(tmp_path, database_url=url)
    code = main(["run", "--once", "--config", str(config), "--as-of", "2026-06-01"])
    err = capsys.readouterr().err
    assert code == 1, err
    return error_line(err)


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("directory", "is a directory"),
        ("missing parent", "does not exist"),
        ("corrupt", "not a SQLite database"),
        ("read-only", "read-only"),
    ],
)
def test_a_database_that_cannot_be_used_is_one_line(
    tmp_path, capsys, clean_env, case: str, expected: str
) -> None:
    path = tmp_path / "bot.db"
    url = f"sqlite:///{path}"
    if case == "directory":
        path.mkdir()
    elif case == "missing parent":
        path = tmp_path / "no" / "such" / "bot.db"
        url = f"sqlite:///{path}"
    elif case == "corrupt":
        path.write_bytes(b"this was a database once\n" * 400)
    elif case == "read-only":  # as a read-only volume opens it (root ignores file modes)
        Store(url).close()
        url = f"sqlite:///file:{path}?mode=ro&uri=true"
    line = _run_once(tmp_path, url, capsys)
    assert expected in line and str(path) in line


def test_an_unparsable_database_url_is_one_line_without_the_password(
    tmp_path, capsys, clean_env, monkeypatch
) -> None:
    for url in ("not a url", f"postgresql://bot:{PASSWORD}@db:notaport/bot"):
        monkeypatch.setenv("DATABASE_URL", url)
        code = main(["run", "--once", "--config", str(_config(tmp_path))])
        err = capsys.readouterr().err
        assert code == 1, err
        line = error_line(err)
        assert line.startswith("rotation-bot: error: DATABASE_URL: ") and PASSWORD not in err


def test_an_unreachable_database_never_shows_its_password(tmp_path, capsys, clean_env) -> None:
    url = f"postgresql+psycopg://bot:{PASSWORD}@127.0.0.1:1/bot?connect_timeout=2"
    line = _run_once(tmp_path, url, capsys)
    assert PASSWORD not in line and "***" in line
    assert "127.0.0.1" in line


def test_a_database_locked_past_the_busy_timeout_is_one_line(
    tmp_path, capsys, clean_env, monkeypatch
) -> None:
    path = tmp_path / "bot.db"
    Store(f"sqlite:///{path}").close()
    monkeypatch.setattr(db_errors, "BUSY_TIMEOUT", 0.2)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process in the middle of a long write
    try:
        line = _run_once(tmp_path, f"sqlite:///{path}", capsys)
    finally:
        holder.close()
    assert "locked" in line and "another process" in line and str(path) in line


def test_a_full_disk_is_one_line(tmp_path, capsys, clean_env) -> None:
    """SQLite's own SQLITE_FULL: the new database may not grow past its first page, as on a
    disk with no room left for the tables."""
    path = tmp_path / "bot.db"

    def no_room(dbapi_conn: sqlite3.Connection, _record: object) -> None:
        dbapi_conn.execute("PRAGMA max_page_count=1")

    event.listen(Pool, "connect", no_room)
    try:
        line = _run_once(tmp_path, f"sqlite:///{path}", capsys)
    finally:
        event.remove(Pool, "connect", no_room)
    assert "full" in line and str(path) in line


# --- config files ------------------------------------------------------------------------

DEEP = 5000


@pytest.mark.parametrize(
    ("case", "content", "expected"),
    [
        ("latin-1", "data:\n  source: demo\n# café\n".encode("latin-1"), "not UTF-8"),
        ("deep flow", ("[" * DEEP + "]" * DEEP).encode(), "nested"),
        ("deep block", ("- " * DEEP + "x\n").encode(), "nested"),
        ("deep mapping", ("{a: " * DEEP + "1" + "}" * DEEP).encode(), "nested"),
    ],
)
def test_an_unreadable_config_file_is_one_line(
    tmp_path, capsys, clean_env, case: str, content: bytes, expected: str
) -> None:
    path = tmp_path / "rotation.yaml"
    path.write_bytes(content)
    assert main(["check-config", str(path)]) == 1
    line = error_line(capsys.readouterr().err)
    assert expected in line and str(path) in line
    # the same file given as a backtest's --rules
    assert main(["backtest", "--rules", str(path)]) == 1
    line = error_line(capsys.readouterr().err)
    assert expected in line and str(path) in line


# --- anything else -----------------------------------------------------------------------


def test_an_unexpected_error_is_one_line_and_masked(capsys, clean_env, monkeypatch) -> None:
    from bot import cli
    from bot.model.redact import register_secret

    secret = "sk-unexpected-secret-9876"
    register_secret(secret)

    def boom(args: object) -> int:
        raise RuntimeError(f"surprise with {secret}") from KeyError(secret)

    monkeypatch.setattr(cli, "cmd_evaluate", boom)
    assert main(["evaluate"]) == 1
    line = error_line(capsys.readouterr().err)
    assert "RuntimeError" in line and "surprise" in line and secret not in line
