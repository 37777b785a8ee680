"""Telegram: the sender (alerts), the chat front-end (commands) and their HTML renderers.

python-telegram-bot is imported only when a factory runs, so a deployment without a Telegram
token never loads it.
"""

from __future__ import annotations

from bot.config import webhook_problems
from bot.delivery import Adapter, SendLimiter
from bot.model import ConfigError
from bot.platforms.chat_common import Wiring


def build_sender(w: Wiring) -> Adapter | None:
    """The alert sender, when TELEGRAM_BOT_TOKEN is set."""
    if w.secrets.telegram_bot_token is None:
        return None
    from bot.platforms.telegram.sender import TelegramSender

    return TelegramSender.create(
        w.secrets.telegram_bot_token.get_secret_value(),
        w.settings.delivery,
        base_url=w.secrets.telegram_base_url,
    )


def build_chat(w: Wiring, limiter: SendLimiter | None) -> Adapter | None:
    """The command front-end, when TELEGRAM_BOT_TOKEN is set: by long polling, or by webhook
    (`telegram.mode`), whose missing secret is a `ConfigError` naming it."""
    if w.secrets.telegram_bot_token is None or w.context_for is None:
        return None
    from bot.platforms.telegram.chat import TelegramChat
    from bot.platforms.telegram.ingress import WebhookOptions

    tg = w.settings.telegram
    secret = w.secrets.telegram_webhook_secret
    plain = None if secret is None else secret.get_secret_value()
    problems = webhook_problems(tg, w.settings.health, plain)
    if problems:
        raise ConfigError("; ".join(problems))
    webhook = None
    if tg.mode == "webhook" and tg.webhook_url is not None and plain is not None:
        webhook = WebhookOptions(tg.webhook_url, plain, tg.max_connections)

    return TelegramChat.create(
        w.secrets.telegram_bot_token.get_secret_value(),
        w.context_for,
        w.settings.delivery,
        dispatcher=w.dispatcher,
        admins=w.settings.admins.telegram,
        base_url=w.secrets.telegram_base_url,
        limiter=limiter,
        webhook=webhook,
        claims=w.claims,
    )


__all__ = ["build_chat", "build_sender"]
