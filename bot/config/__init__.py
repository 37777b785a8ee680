"""Settings: one strict pydantic base, the YAML file and the environment, the rules section."""

from bot.config.app import HealthSettings
from bot.config.delivery import AdminSettings, DeliverySettings, DestinationSettings
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

__all__ = [
    "AdminSettings",
    "AlertSettings",
    "DeliverySettings",
    "DestinationSettings",
    "GuardSettings",
    "HealthSettings",
    "ScheduleSettings",
    "Secrets",
    "Settings",
    "build_rules",
    "load_settings",
    "read_yaml",
]
