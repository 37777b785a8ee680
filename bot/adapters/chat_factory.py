"""Which chat adapters a deployment starts: those whose tokens are present (DESIGN §6)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.app import BotApp

log = logging.getLogger(__name__)


def build_chat_adapters(app: BotApp) -> list:
    """Telegram with TELEGRAM_BOT_TOKEN; Slack with SLACK_APP_TOKEN (Socket Mode) or
    SLACK_SIGNING_SECRET (HTTP mode) besides SLACK_BOT_TOKEN. Receiving is wired in by the
    chat adapters (issue 5); until then no platform takes commands."""
    return []
