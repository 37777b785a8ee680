"""Typed `health:` and `chat:` settings: the monitoring endpoint and the chat front door."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HealthSettings(_Strict):
    """`/healthz` and `/metrics` on a local port (DESIGN §4, issue 6)."""

    enabled: bool = True
    host: str = "127.0.0.1"
    #: 0 picks a free port (tests); the Dockerfile's HEALTHCHECK uses the default
    port: int = Field(8787, ge=0, le=65535)
    #: unhealthy when the last evaluation that ran is older than this many hours
    max_evaluation_age_hours: float = Field(30.0, gt=0)
    #: unhealthy when a dead letter is older than this many hours (0 = any dead letter)
    max_dead_letter_age_hours: float = Field(24.0, ge=0)


class ChatSettings(_Strict):
    """Who may talk to the bot and how fast (middleware, not per-command code)."""

    #: chats allowed to use commands, per platform; empty = every chat
    allowlist: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    #: commands per user per minute (admins are exempt)
    rate_per_minute: int = Field(10, ge=1, le=600)
    #: render charts with replies
    charts: bool = True
    #: tell admins at start what is currently firing
    startup_message: bool = True

    @field_validator("allowlist", mode="before")
    @classmethod
    def _ids_as_strings(cls, v: object) -> object:
        if isinstance(v, dict):
            return {k: tuple(str(x) for x in (ids or ())) for k, ids in v.items()}
        return v
