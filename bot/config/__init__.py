"""Settings: one strict pydantic base, the YAML file and the environment, the rules section."""

from bot.config.app import HealthSettings
from bot.config.delivery import AdminSettings, DeliverySettings, DestinationSettings
from bot.config.own_alerts import OwnAlertSettings
from bot.config.rules import build_rules
from bot.config.schedule import ScheduleSettings
from bot.config.settings import (
    AlertSettings,
    GuardSettings,
    Secrets,
    Settings,
    load_settings,
    read_yaml,
)
from bot.config.telegram import WEBHOOK_PATH, TelegramSettings, webhook_problems

__all__ = [
    "WEBHOOK_PATH",
    "AdminSettings",
    "AlertSettings",
    "DeliverySettings",
    "DestinationSettings",
    "GuardSettings",
    "HealthSettings",
    "OwnAlertSettings",
    "ScheduleSettings",
    "Secrets",
    "Settings",
    "TelegramSettings",
    "build_rules",
    "load_settings",
    "read_yaml",
    "webhook_problems",
]
