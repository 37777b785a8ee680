"""Typed `telegram:` settings: how commands reach the bot, by long polling or by webhook.

Long polling (the default) needs nothing public but serves one process: a second one polling
the same token gets 409 Conflict. In webhook mode Telegram POSTs each update to
`webhook_url`, which a reverse proxy forwards to `/telegram/webhook` on the health port of
any replica, so every replica takes commands. The webhook's secret comes from the
environment (TELEGRAM_WEBHOOK_SECRET), never from the file.
"""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from bot.config.app import HealthSettings
from bot.config.base import StrictModel

#: what Telegram accepts as a webhook's secret_token
SECRET_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
SECRET_ENV = "TELEGRAM_WEBHOOK_SECRET"
#: where a replica receives the updates (on the health server's port)
WEBHOOK_PATH = "/telegram/webhook"


class TelegramSettings(StrictModel):
    """Telegram's way in; see the module docstring."""

    #: polling (one process) | webhook (any number of replicas behind a public https URL)
    mode: Literal["polling", "webhook"] = "polling"
    #: webhook mode: the public https URL Telegram posts to; your proxy forwards it to
    #: /telegram/webhook on the health port
    webhook_url: str | None = None
    #: webhook mode: at most this many updates in flight at once (Telegram's setWebhook)
    max_connections: int = Field(40, ge=1, le=100)

    @field_validator("webhook_url", mode="after")
    @classmethod
    def _https(cls, v: str | None) -> str | None:
        if v is None:
            return v
        v = v.strip()
        parts = urlsplit(v)
        if parts.scheme != "https" or not parts.hostname or any(c.isspace() for c in v):
            raise ValueError(
                "must be the public https URL Telegram posts to, "
                "e.g. https://bot.example.com/telegram/webhook"
            )
        return v

    @model_validator(mode="after")
    def _webhook_needs_url(self) -> TelegramSettings:
        if self.mode == "webhook" and self.webhook_url is None:
            raise ValueError(
                "mode webhook needs telegram.webhook_url (the public https URL Telegram posts to)"
            )
        return self


def webhook_problems(
    telegram: TelegramSettings, health: HealthSettings, secret: str | None
) -> list[str]:
    """What stops webhook mode from starting, one line each (none in polling mode): the
    secret missing or malformed, or no health server to receive the updates on."""
    if telegram.mode != "webhook":
        return []
    problems = []
    if not secret:
        problems.append(
            f"telegram.mode is webhook: set {SECRET_ENV} (1-256 characters: A-Z a-z 0-9 _ -)"
        )
    elif not SECRET_PATTERN.match(secret):
        problems.append(
            f"{SECRET_ENV}: Telegram allows only 1-256 characters A-Z a-z 0-9 _ - "
            "(e.g. openssl rand -hex 32)"
        )
    if not health.enabled:
        problems.append(
            "telegram.mode is webhook: updates arrive on the health port, so health.enabled "
            "must be true"
        )
    return problems
