"""The replica deployments in deploy/: the compose file (three replicas behind Caddy, on
PostgreSQL), its Caddyfile and config, and the Kubernetes manifests. No Docker engine or
cluster here: the files are parsed, their config validated by the bot's own loader, and every
path and port they name checked against what the bot serves."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.config import WEBHOOK_PATH
from bot.config.app import HealthSettings
from bot.config.settings import Settings, load_settings
from bot.runtime.health import HealthServer
from bot.runtime.metrics import BotMetrics
from bot.storage import Store
from tests.test_deployment import _secret_assignments

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "compose.replicas.yml"
CADDYFILE = DEPLOY / "Caddyfile"
K8S = DEPLOY / "kubernetes" / "rotation-bot.yaml"


@pytest.fixture(autouse=True)
def _no_env_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("ROTATION_BOT_HEALTH_HOST", "ROTATION_BOT_HEALTH_PORT", "DATABASE_URL"):
        monkeypatch.delenv(var, raising=False)


def _served_paths() -> set[str]:
    """The GET paths the health server really routes."""
    store = Store()
    try:
        app = HealthServer(store, HealthSettings(port=0), BotMetrics()).app()
        return {
            r.resource.canonical for r in app.router.routes() if r.method == "GET" and r.resource
        }
    finally:
        store.close()


def _config_in(path: Path, tmp_path: Path, text: str | None = None) -> Settings:
    target = tmp_path / "rotation.yaml"
    target.write_text(text if text is not None else path.read_text(encoding="utf-8"))
    return load_settings(target)


def test_compose_runs_three_replicas_behind_the_proxy_on_postgres(tmp_path: Path) -> None:
    doc = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    bot, proxy, db = (doc["services"][n] for n in ("bot", "proxy", "db"))
    assert bot["deploy"]["replicas"] == 3
    assert bot["environment"]["DATABASE_URL"].startswith("postgresql+psycopg://")
    assert bot["depends_on"]["db"]["condition"] == "service_healthy"
    assert "ports" not in bot, "only the proxy reaches the replicas"
    assert db["image"].startswith("postgres:") and "pg_isready" in " ".join(
        db["healthcheck"]["test"]
    )
    assert proxy["image"].startswith("caddy:")
    assert {"80:80", "443:443"} <= set(proxy["ports"])
    caddy_mount = next(v for v in proxy["volumes"] if v.endswith(":/etc/caddy/Caddyfile:ro"))
    assert (DEPLOY / caddy_mount.split(":")[0]).resolve() == CADDYFILE
    assert set(v for v in doc["volumes"]) >= {"db-data", "caddy-data"}
    assert _secret_assignments(COMPOSE.read_text(encoding="utf-8")) == []

    # the config every replica reads: valid, webhook mode, listening where the proxy dials
    mount = next(v for v in bot["volumes"] if v.endswith(":/config/rotation.yaml:ro"))
    assert bot["environment"]["ROTATION_BOT_CONFIG"] == "/config/rotation.yaml"
    settings = _config_in(DEPLOY / mount.split(":")[0], tmp_path)
    assert settings.telegram.mode == "webhook"
    assert settings.telegram.webhook_url is not None
    assert settings.telegram.webhook_url.endswith(WEBHOOK_PATH)
    assert settings.health.host == "0.0.0.0" and settings.chat.slack_http_host == "0.0.0.0"
    assert {str(settings.health.port), str(settings.chat.slack_http_port)} == set(bot["expose"])


def _caddy_routes(text: str) -> dict[str, str]:
    """`handle <path> { ... dynamic a <service> <port> ...}` -> {path: "service:port"}."""
    routes = {}
    for m in re.finditer(r"handle (\S+) \{(.*?)\n\t\}", text, re.S):
        dial = re.search(r"dynamic a (\S+) (\d+)", m.group(2))
        assert dial is not None, m.group(0)
        routes[m.group(1)] = f"{dial.group(1)}:{dial.group(2)}"
    return routes


def test_the_proxy_sends_each_platform_to_the_port_the_replicas_listen_on(tmp_path: Path) -> None:
    settings = _config_in(DEPLOY / "rotation.replicas.yaml", tmp_path)
    routes = _caddy_routes(CADDYFILE.read_text(encoding="utf-8"))
    assert routes == {
        WEBHOOK_PATH: f"bot:{settings.health.port}",
        settings.chat.slack_http_path: f"bot:{settings.chat.slack_http_port}",
    }
    # everything else (health, metrics) is answered by the proxy itself, never proxied
    assert re.search(r"handle \{\s*respond 404\s*\}", CADDYFILE.read_text(encoding="utf-8"))


def _k8s() -> dict[str, dict[str, Any]]:
    docs = [d for d in yaml.safe_load_all(K8S.read_text(encoding="utf-8")) if d]
    return {d["kind"]: d for d in docs}


def test_kubernetes_runs_three_replicas_with_readiness_apart_from_health(tmp_path: Path) -> None:
    kinds = _k8s()
    assert set(kinds) == {"ConfigMap", "Deployment", "Service", "PodDisruptionBudget"}
    deploy = kinds["Deployment"]["spec"]
    assert deploy["replicas"] == 3
    pod = deploy["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] > 10  # the bot exits within 10 s of SIGTERM
    assert pod["securityContext"]["runAsNonRoot"] is True
    (bot,) = pod["containers"]
    served = _served_paths()
    ready, live = bot["readinessProbe"]["httpGet"], bot["livenessProbe"]["httpGet"]
    assert ready["path"] == "/readyz" and live["path"] == "/livez"
    assert {ready["path"], live["path"], bot["startupProbe"]["httpGet"]["path"]} <= served
    env = {e["name"]: e for e in bot["env"]}
    assert env["ROTATION_BOT_REPLICA_ID"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    assert bot["envFrom"] == [{"secretRef": {"name": "rotation-bot"}}]
    secret_like = re.compile(r"TOKEN|SECRET|PASSWORD|DATABASE_URL")
    assert [n for n, e in env.items() if secret_like.search(n) and "value" in e] == []

    # the ConfigMap's config is valid and listens on the ports the pod and Service name
    settings = _config_in(K8S, tmp_path, kinds["ConfigMap"]["data"]["rotation.yaml"])
    assert settings.telegram.mode == "webhook"
    ports = {p["name"]: p["containerPort"] for p in bot["ports"]}
    assert ports == {"http": settings.health.port, "slack": settings.chat.slack_http_port}
    service = kinds["Service"]["spec"]
    labels = deploy["template"]["metadata"]["labels"]
    assert service["selector"] == labels == deploy["selector"]["matchLabels"]
    assert {p["targetPort"] for p in service["ports"]} == set(ports)
    assert kinds["PodDisruptionBudget"]["spec"]["minAvailable"] < deploy["replicas"]
