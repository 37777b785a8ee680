"""Typed `health:` and `chat:` settings: the monitoring endpoint and the chat front door.

Also the few environment variables that override a config key. A container sets them (see the
Dockerfile): its health endpoint must listen on 0.0.0.0 to be scraped from outside, and its
cache belongs on the /data volume, whatever config file is mounted.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from pydantic import Field, field_validator

from bot.config.base import StrictModel, ids_as_strings
from bot.model import ConfigError

#: environment variable -> (config key it overrides, how to read its value)
ENV_OVERRIDES: dict[str, tuple[str, type]] = {
    "ROTATION_BOT_HEALTH_HOST": ("health.host", str),
    "ROTATION_BOT_HEALTH_PORT": ("health.port", int),
    "ROTATION_BOT_CACHE_DIR": ("data.cache_dir", str),
    "ROTATION_BOT_SEC_USER_AGENT": ("data.sec_user_agent", str),
}


def with_environment(
    overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Dotted config keys to override: command-line flags (`overrides`, None = not given) on
    top of `ENV_OVERRIDES` (an empty variable is unset). Flags > environment > file."""
    env = os.environ if environ is None else environ
    merged: dict[str, Any] = {}
    for name, (key, kind) in ENV_OVERRIDES.items():
        value = env.get(name, "").strip()
        if not value:
            continue
        try:
            merged[key] = kind(value)
        except ValueError:
            raise ConfigError(f"{name}={value!r}: expected {kind.__name__} for {key}") from None
    merged.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return merged


class HealthSettings(StrictModel):
    """`/healthz` and `/metrics` on a local port."""

    #: serve /healthz and /metrics while `rotation-bot run` runs
    enabled: bool = True
    #: address to listen on (0.0.0.0: every interface); ROTATION_BOT_HEALTH_HOST overrides
    host: str = "127.0.0.1"
    #: 0 picks a free port (tests); ROTATION_BOT_HEALTH_PORT overrides
    port: int = Field(8787, ge=0, le=65535)
    #: an evaluation counts as missed this many minutes after it was due (the session's
    #: close plus schedule.evaluate_delay_minutes); weekends and holidays miss nothing
    evaluation_grace_minutes: int = Field(90, ge=0)
    #: unhealthy when more evaluations than this were missed since the last one ran
    missed_evaluations: int = Field(0, ge=0)
    #: unhealthy when a dead letter is older than this many hours (0 = any dead letter)
    max_dead_letter_age_hours: float = Field(24.0, ge=0)


class ChatSettings(StrictModel):
    """Who may talk to the bot and how fast (middleware, not per-command code)."""

    #: chats allowed to use commands, per platform; empty = every chat
    allowlist: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    #: commands per user per minute (admins are exempt)
    rate_per_minute: int = Field(10, ge=1, le=600)
    #: render charts with replies
    charts: bool = True
    #: tell admins at start which conditions hold and what is firing
    startup_message: bool = True
    #: Slack HTTP mode (SLACK_SIGNING_SECRET without SLACK_APP_TOKEN): where bolt listens
    slack_http_host: str = "127.0.0.1"
    #: Slack HTTP mode: port of the events endpoint (0 picks a free one)
    slack_http_port: int = Field(3000, ge=0, le=65535)
    #: Slack HTTP mode: path for slash commands, events and button clicks
    slack_http_path: str = "/slack/events"
    #: answer commands typed into the terminal when no chat token is set (and stdin is one)
    console: bool = True

    _ids_as_strings = field_validator("allowlist", mode="before")(ids_as_strings)
