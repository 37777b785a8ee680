"""Which chat adapters a deployment starts: those whose tokens are present (DESIGN §6).

Telegram takes commands with TELEGRAM_BOT_TOKEN; Slack with SLACK_BOT_TOKEN plus
SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP mode) — a bot token alone only
sends alerts. With no chat platform, the console answers commands typed into the terminal.
"""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING, TextIO

from bot.adapters.base import Adapter

if TYPE_CHECKING:
    from bot.app import BotApp
    from bot.ratelimit import SendLimiter

log = logging.getLogger(__name__)


def _alert_limiter(app: BotApp, platform: str) -> SendLimiter | None:
    """The alert sender's limiter, so one set of caps covers replies and alerts."""
    return getattr(app.senders.get(platform), "limiter", None)


def build_chat_adapters(app: BotApp, stdin: TextIO | None = None) -> list[Adapter]:
    settings, secrets = app.settings, app.secrets
    context_for = app.context.for_caller
    adapters: list[Adapter] = []
    if secrets.telegram_bot_token is not None:
        from bot.adapters.telegram_chat import TelegramChat

        adapters.append(
            TelegramChat.create(
                secrets.telegram_bot_token.get_secret_value(),
                context_for,
                settings.delivery,
                admins=settings.admins.telegram,
                base_url=secrets.telegram_base_url,
                limiter=_alert_limiter(app, "telegram"),
            )
        )
    app_token, signing = secrets.slack_app_token, secrets.slack_signing_secret
    if secrets.slack_bot_token is not None and (app_token or signing):
        from bot.adapters.slack_chat import SlackChat

        chat = settings.chat
        adapters.append(
            SlackChat.create(
                secrets.slack_bot_token.get_secret_value(),
                context_for,
                settings.delivery,
                app_token=app_token.get_secret_value() if app_token else None,
                signing_secret=signing.get_secret_value() if signing else None,
                base_url=secrets.slack_api_url,
                admins=settings.admins.slack,
                http_host=chat.slack_http_host,
                http_port=chat.slack_http_port,
                http_path=chat.slack_http_path,
            )
        )
    elif secrets.slack_bot_token is not None:
        log.warning("Slack: alerts only (no SLACK_APP_TOKEN or SLACK_SIGNING_SECRET for commands)")
    stdin = stdin or sys.stdin
    if not adapters and settings.chat.console and stdin is not None and stdin.isatty():
        from bot.adapters.console_chat import ConsoleChat

        adapters.append(ConsoleChat(context_for, stdin=stdin))
    return adapters
