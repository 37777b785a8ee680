"""Slack: the sender (alerts), the chat front-end (commands) and their Block Kit renderers.

slack-sdk and slack-bolt are imported only when a factory runs. Sending alerts needs
SLACK_BOT_TOKEN alone; taking commands also needs SLACK_APP_TOKEN (Socket Mode) or
SLACK_SIGNING_SECRET (HTTP mode).
"""

from __future__ import annotations

import logging

from bot.delivery import Adapter, SendLimiter
from bot.platforms.chat_common import Wiring

log = logging.getLogger(__name__)


def build_sender(w: Wiring) -> Adapter | None:
    """The alert sender, when SLACK_BOT_TOKEN is set."""
    if w.secrets.slack_bot_token is None:
        return None
    from bot.platforms.slack.sender import SlackSender

    return SlackSender.create(
        w.secrets.slack_bot_token.get_secret_value(),
        w.settings.delivery,
        base_url=w.secrets.slack_api_url,
    )


def build_chat(w: Wiring, limiter: SendLimiter | None) -> Adapter | None:
    """The command front-end, when the bot token and an app token or signing secret are set."""
    secrets = w.secrets
    app_token, signing = secrets.slack_app_token, secrets.slack_signing_secret
    if secrets.slack_bot_token is None or w.context_for is None:
        return None
    if not (app_token or signing):
        log.warning("Slack: alerts only (no SLACK_APP_TOKEN or SLACK_SIGNING_SECRET for commands)")
        return None
    from bot.platforms.slack.chat import SlackChat

    chat = w.settings.chat
    return SlackChat.create(
        secrets.slack_bot_token.get_secret_value(),
        w.context_for,
        w.settings.delivery,
        dispatcher=w.dispatcher,
        app_token=app_token.get_secret_value() if app_token else None,
        signing_secret=signing.get_secret_value() if signing else None,
        base_url=secrets.slack_api_url,
        admins=w.settings.admins.slack,
        http_host=chat.slack_http_host,
        http_port=chat.slack_http_port,
        http_path=chat.slack_http_path,
        claims=w.claims,
    )


__all__ = ["build_chat", "build_sender"]
