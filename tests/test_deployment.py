"""Deployment: the Dockerfile, docker-compose.yml, the Slack manifest, the README's reference
table and `rotation-bot healthcheck`.

There is no Docker engine here, so `test_image_contents_run_as_nobody` replays the Dockerfile
(tests/docker_replay.py; the contract is at the top of the Dockerfile): its build-stage install
steps into a fresh venv, then the runtime stage's environment, user, HEALTHCHECK and CMD against
it. That test installs from the package index (pip's wheel cache makes it quick) and is marked
`slow`, so `-m "not slow"` leaves it out; it skips with the reason when no index is reachable
or no unprivileged user can be had.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from bot.cli import main
from bot.config.app import ENV_OVERRIDES, with_environment
from bot.config.settings import Secrets, load_settings
from bot.model.errors import ConfigError
from bot.runtime.metrics import BotMetrics
from tests import docker_replay as dr

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "docker-compose.yml"
MANIFEST = ROOT / "deploy" / "slack-app-manifest.yaml"
README = ROOT / "README.md"


def _config_reference() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "config_reference", ROOT / "scripts" / "config_reference.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


# --- a stub /healthz -------------------------------------------------------------------------


@contextlib.contextmanager
def stub_health(status: int, body: bytes) -> Iterator[int]:
    """An HTTP server on 127.0.0.1 answering every GET with `status` and `body`; its port."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- healthcheck and the environment overrides ----------------------------------------------


def test_healthcheck_exit_codes_and_reasons(capsys) -> None:
    ok = json.dumps({"ok": True, "reasons": []}).encode()
    with stub_health(200, ok) as port:
        assert main(["healthcheck", "--url", f"http://127.0.0.1:{port}/healthz"]) == 0
    bad = json.dumps({"ok": False, "reasons": ["no evaluation has run yet", "2 dead letters"]})
    with stub_health(503, bad.encode()) as port:
        assert main(["healthcheck", "--url", f"http://127.0.0.1:{port}/healthz"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == "rotation-bot: unhealthy (503): no evaluation has run yet; 2 dead letters"
    with stub_health(500, b"Internal Server Error") as port:
        assert main(["healthcheck", "--url", f"http://127.0.0.1:{port}/"]) == 1
    assert capsys.readouterr().err.strip().endswith("(500): Internal Server Error")
    port = _free_port()  # nothing listens there
    assert main(["healthcheck", "--url", f"http://127.0.0.1:{port}/healthz"]) == 1
    assert "unhealthy" in capsys.readouterr().err
    assert main(["healthcheck", "--url", "file:///etc/passwd"]) == 1


def test_healthcheck_follows_the_configured_host_and_port(monkeypatch, capsys) -> None:
    with stub_health(200, b"{}") as port:
        # a container listens on every interface; the check asks the loopback address
        monkeypatch.setenv("ROTATION_BOT_HEALTH_HOST", "0.0.0.0")
        monkeypatch.setenv("ROTATION_BOT_HEALTH_PORT", str(port))
        assert main(["healthcheck"]) == 0
        assert f"http://127.0.0.1:{port}/healthz" in capsys.readouterr().out
    monkeypatch.setenv("ROTATION_BOT_HEALTH_PORT", "0")
    assert main(["healthcheck"]) == 1
    assert "random port" in capsys.readouterr().err


def test_environment_overrides_config_and_flags_override_environment(monkeypatch, tmp_path):
    cfg = tmp_path / "rotation.yaml"
    cfg.write_text("health: {host: 127.0.0.1, port: 9000}\ndata: {cache_dir: here}\n")
    assert load_settings(cfg).health.port == 9000
    monkeypatch.setenv("ROTATION_BOT_HEALTH_HOST", "0.0.0.0")
    monkeypatch.setenv("ROTATION_BOT_HEALTH_PORT", "8787")
    monkeypatch.setenv("ROTATION_BOT_CACHE_DIR", "/data/cache")
    s = load_settings(cfg)
    assert (s.health.host, s.health.port, str(s.data.cache_dir)) == ("0.0.0.0", 8787, "/data/cache")
    assert str(load_settings(cfg, {"data.cache_dir": "flag"}).data.cache_dir) == "flag"
    # an empty variable is unset; a None flag is "not given" and leaves the environment's
    assert with_environment({"data.cache_dir": None}, {"ROTATION_BOT_CACHE_DIR": "x"}) == {
        "data.cache_dir": "x"
    }
    assert with_environment(None, {"ROTATION_BOT_HEALTH_PORT": " "}) == {}
    monkeypatch.setenv("ROTATION_BOT_HEALTH_PORT", "eighty")
    with pytest.raises(ConfigError, match="ROTATION_BOT_HEALTH_PORT='eighty'"):
        load_settings(cfg)


# --- static checks --------------------------------------------------------------------------


def _dockerfile() -> tuple[dict[str, str], list[dr.Stage]]:
    return dr.parse_dockerfile(DOCKERFILE.read_text(encoding="utf-8"))


def test_dockerfile_is_multi_stage_non_root_with_healthcheck() -> None:
    args, stages = _dockerfile()
    assert len(stages) == 2, "a build stage and a runtime stage"
    build, runtime = stages
    assert re.fullmatch(r"python:3\.11-slim(-\w+)?", build.image) and runtime.image == build.image
    assert any("/opt/venv" in r and "pip install ." in r for r in build.all("RUN"))
    assert "-e" not in " ".join(build.all("RUN")).split(), "non-editable install"
    assert any(c.startswith("--from=build /opt/venv") for c in runtime.all("COPY"))
    assert not runtime.all("RUN") or all("pip install" not in r for r in runtime.all("RUN"))
    user = runtime.last("USER")
    assert user is not None and user.split(":")[0] not in ("root", "0")
    env = dict(pair for a in runtime.all("ENV") for pair in dr.env_pairs(a))
    assert env["DATABASE_URL"] == "sqlite:////data/rotation-bot.db"
    assert env["ROTATION_BOT_CACHE_DIR"].startswith("/data/")
    assert env["ROTATION_BOT_HEALTH_HOST"] == "0.0.0.0"
    assert runtime.last("EXPOSE") == env["ROTATION_BOT_HEALTH_PORT"]
    assert set(env) - {"PATH", "PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE", "HOME"} <= {
        "DATABASE_URL",
        *ENV_OVERRIDES,
    }, "every variable the image sets is one the bot reads"
    healthcheck = runtime.last("HEALTHCHECK")
    assert healthcheck is not None and dr.exec_form(healthcheck)[:2] == [
        "rotation-bot",
        "healthcheck",
    ]
    assert dr.exec_form(runtime.last("CMD") or "") == ["rotation-bot", "run"]


def _secret_assignments(text: str) -> list[str]:
    """`...TOKEN=value` / `SECRET: value` / `PASSWORD=value` with a literal value (a `${VAR}`
    reference or an empty value is fine)."""
    rx = re.compile(
        r"(?<![\w{])(\w*(?:TOKEN|SECRET|PASSWORD)\w*)\s*[=:]\s*([^\s#]+)", re.IGNORECASE
    )
    found = []
    for line in text.splitlines():
        if line.lstrip().startswith("#"):
            continue
        for m in rx.finditer(line):
            if not m.group(2).startswith("${") and m.group(2) not in ('""', "''"):
                found.append(m.group(0))
    return found


def test_no_secrets_in_the_image_or_compose_and_env_files_stay_out() -> None:
    for path in (DOCKERFILE, COMPOSE):
        assert _secret_assignments(path.read_text(encoding="utf-8")) == [], path.name
    assert _secret_assignments("TELEGRAM_BOT_TOKEN=123:abc") == ["TELEGRAM_BOT_TOKEN=123:abc"]
    ignored = dr.dockerignore(ROOT)
    assert ignored(".env") and ignored(".venv") and ignored("bot/__pycache__")
    assert not ignored("bot/cli.py") and not ignored("config/rotation.yaml")
    assert ".env" in (ROOT / ".gitignore").read_text().splitlines()


def test_compose_runs_the_bot_on_postgres() -> None:
    doc = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    bot, db = doc["services"]["bot"], doc["services"]["db"]
    assert db["image"] == "postgres:16-alpine"
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert bot["depends_on"]["db"]["condition"] == "service_healthy"
    assert bot["environment"]["DATABASE_URL"].startswith("postgresql+psycopg://")
    assert bot["env_file"] == ".env"
    named = set(doc["volumes"])
    for service, mount in ((bot, "/data"), (db, "/var/lib/postgresql/data")):
        volume = next(v.split(":")[0] for v in service["volumes"] if v.split(":")[1] == mount)
        assert volume in named
    assert all(p.startswith("127.0.0.1:") for p in bot.get("ports", [])), "health stays local"


def test_slack_manifest_asks_only_for_what_the_bot_uses() -> None:
    doc = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    assert doc["features"]["bot_user"]["display_name"] == "rotation-bot"
    (command,) = doc["features"]["slash_commands"]
    assert command["command"] == "/rotation" and command["usage_hint"]
    assert set(doc["oauth_config"]["scopes"]["bot"]) == {
        "app_mentions:read",
        "chat:write",
        "commands",
        "files:write",
    }
    settings = doc["settings"]
    assert settings["socket_mode_enabled"] is True
    assert settings["event_subscriptions"]["bot_events"] == ["app_mention"]
    assert settings["interactivity"]["is_enabled"] is True
    assert 174 <= len(doc["display_information"]["long_description"]) <= 4000  # Slack's limits
    assert len(doc["display_information"]["description"]) <= 140


# --- README ---------------------------------------------------------------------------------


def test_readme_starts_with_the_two_commands() -> None:
    text = README.read_text(encoding="utf-8")
    first = re.search(r"```sh\n(.*?)```", text, re.S)
    assert first is not None and first.group(1) == "make demo\nmake test\n"


def test_readme_config_table_is_the_generated_one() -> None:
    ref = _config_reference()
    expected = ref.render()
    assert ref.readme_table(README.read_text(encoding="utf-8")) == expected, (
        "README's config table is stale: .venv/bin/python scripts/config_reference.py "
        "--write README.md"
    )
    keys = [line.split("|")[1].strip(" `") for line in expected.splitlines()[2:]]
    assert {"data.source", "database_url", "health.port", "delivery.telegram.overall"} <= set(keys)
    assert "config_path" not in keys
    undocumented = [line for line in expected.splitlines()[2:] if line.rstrip().endswith("|  |")]
    assert undocumented == [], "give these fields a `#:` comment in their model"


def test_readme_names_every_variable_and_metric() -> None:
    text = README.read_text(encoding="utf-8")
    names = (
        [n.upper() for n in Secrets.model_fields] + list(ENV_OVERRIDES) + ["ROTATION_BOT_CONFIG"]
    )
    assert [n for n in names if n not in text] == []
    metrics = [m.name for m in BotMetrics().registry.collect()]
    assert metrics and [m for m in metrics if m not in text] == []


# --- the image's contents, replayed ---------------------------------------------------------

_NETWORK_TROUBLE = re.compile(
    r"NewConnectionError|Failed to establish a new connection|Temporary failure in name "
    r"resolution|Network is unreachable|ConnectTimeout|ReadTimeout|ProxyError|SSLError|"
    r"Max retries exceeded|No route to host",
)


def _run(prefix: list[str], cmd: list[str], env: dict[str, str], cwd: Path, **kw):
    return subprocess.run(
        [*prefix, *cmd],
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
        **kw,
    )


@pytest.mark.slow
def test_image_contents_run_as_nobody() -> None:
    t0 = time.monotonic()
    prefix = dr.unprivileged_prefix()
    if prefix is None:
        pytest.skip("cannot run as an unprivileged user here (neither setpriv nor runuser works)")
    python = dr.base_interpreter(prefix)
    if python is None:
        pytest.skip("no Python >= 3.11 with venv that an unprivileged user can run")
    _, (build, runtime) = _dockerfile()
    # /tmp itself: a TMPDIR under a private home would lock the unprivileged user out
    scratch = Path(tempfile.mkdtemp(prefix="rotation-bot-image-", dir="/tmp"))
    try:
        scratch.chmod(0o755)  # mkdtemp's 0700 would lock nobody out of the venv
        venv, data = scratch / "opt" / "venv", scratch / "data"
        rewrite = dr.rewriter({"/opt/venv": venv, "/data": data})
        pip_env = {"PIP_DEFAULT_TIMEOUT": "20", "PIP_RETRIES": "1"}
        failed = dr.run_build_stage(build, ROOT, scratch, rewrite, python, pip_env, timeout=300)
        if failed is not None:
            log = failed.stdout + failed.stderr
            if _NETWORK_TROUBLE.search(log):
                pytest.skip(f"pip cannot reach a package index: {_NETWORK_TROUBLE.search(log)[0]}")
            pytest.fail(f"build step failed ({failed.returncode}):\n{log[-3000:]}")
        build_s = time.monotonic() - t0
        for path in (scratch / "opt", venv):
            path.chmod(0o755)
        data.mkdir()
        if os.geteuid() == 0:
            os.chown(data, dr.UID, dr.GID)
        env = dr.runtime_env(runtime, rewrite)
        port = _free_port()
        env["ROTATION_BOT_HEALTH_PORT"] = str(port)
        assert Path(env["PATH"].split(os.pathsep)[0]) == venv / "bin"

        # the packaged config, universe and demo market work from an unrelated folder
        check = _run(prefix, ["rotation-bot", "check-config"], env, data, timeout=60)
        assert check.returncode == 0, check.stderr
        assert f"sqlite:///{data}/rotation-bot.db" in check.stdout
        assert "site-packages/bot/config/defaults/rotation.yaml" in check.stdout
        evaluated = _run(prefix, ["rotation-bot", "evaluate", "--json"], env, data, timeout=120)
        assert evaluated.returncode == 0, evaluated.stderr
        assert json.loads(evaluated.stdout)["source"] == "demo"

        healthcheck = dr.exec_form(runtime.last("HEALTHCHECK") or "")
        with stub_health(503, b'{"ok": false, "reasons": ["no evaluation has run yet"]}') as p:
            down = _run(prefix, healthcheck, {**env, "ROTATION_BOT_HEALTH_PORT": str(p)}, data)
        assert down.returncode == 1 and "no evaluation has run yet" in down.stderr
        nothing = _run(
            prefix, healthcheck, {**env, "ROTATION_BOT_HEALTH_PORT": str(_free_port())}, data
        )
        assert nothing.returncode == 1 and "unhealthy" in nothing.stderr

        log_path = scratch / "run.log"
        with log_path.open("w") as log:
            daemon = subprocess.Popen(
                [*prefix, *dr.exec_form(runtime.last("CMD") or "")],
                env=env,
                cwd=data,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            started, healthy = time.monotonic(), None
            while time.monotonic() - started < 90 and daemon.poll() is None:
                probe = _run(prefix, healthcheck, env, data, timeout=30)
                if probe.returncode == 0:
                    healthy = time.monotonic() - started
                    break
                time.sleep(0.5)
            assert healthy is not None, f"never healthy:\n{log_path.read_text()[-3000:]}"
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
                assert "rotation_bot_evaluations_total" in resp.read().decode()
            stop = time.monotonic()
            daemon.send_signal(signal.SIGTERM)
            code = daemon.wait(timeout=10)
            stopped = time.monotonic() - stop
        finally:
            if daemon.poll() is None:
                daemon.kill()
                daemon.wait()
        assert code == 0, log_path.read_text()[-3000:]
        db = data / "rotation-bot.db"
        assert db.is_file() and (os.geteuid() != 0 or db.stat().st_uid == dr.UID)
        print(
            f"\nimage replay: build {build_s:.1f} s, healthy after {healthy:.1f} s, "
            f"stopped in {stopped:.1f} s, total {time.monotonic() - t0:.1f} s",
            file=sys.stderr,
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
