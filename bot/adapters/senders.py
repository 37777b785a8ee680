"""The senders a deployment has: one per platform whose token is in the environment.

Telegram needs TELEGRAM_BOT_TOKEN, Slack SLACK_BOT_TOKEN (DESIGN §6); the console is always
there. TELEGRAM_BASE_URL / SLACK_API_URL in the environment override the config's endpoints.
"""

from __future__ import annotations

from typing import TextIO

from bot.adapters.base import Adapter
from bot.adapters.console import ConsoleSender
from bot.settings import Secrets, Settings


def build_senders(
    settings: Settings, secrets: Secrets | None = None, *, stdout: TextIO | None = None
) -> dict[str, Adapter]:
    """Senders keyed by platform name, as `bot.delivery.DeliveryWorker` takes them."""
    secrets = secrets or Secrets()
    senders: dict[str, Adapter] = {"console": ConsoleSender(stdout)}
    if secrets.telegram_bot_token is not None:
        from bot.adapters.telegram_sender import TelegramSender

        senders["telegram"] = TelegramSender.create(
            secrets.telegram_bot_token.get_secret_value(),
            settings.delivery,
            base_url=secrets.telegram_base_url,
        )
    if secrets.slack_bot_token is not None:
        from bot.adapters.slack_sender import SlackSender

        senders["slack"] = SlackSender.create(
            secrets.slack_bot_token.get_secret_value(),
            settings.delivery,
            base_url=secrets.slack_api_url,
        )
    return senders
