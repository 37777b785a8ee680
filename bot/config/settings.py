"""Typed settings: the YAML config file plus the environment, validated at start.

Lookup: `--config`, then `$ROTATION_BOT_CONFIG`, then `./config/rotation.yaml`,
then the copy packaged with the bot. Command-line flags override the file; secrets come from
the environment only and are `SecretStr` so they never print.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import yaml
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.config.app import ChatSettings, HealthSettings, with_environment
from bot.config.base import StrictModel
from bot.config.delivery import (
    AdminSettings,
    DeliverySettings,
    DestinationSettings,
    check_destinations,
)
from bot.config.own_alerts import OwnAlertSettings
from bot.config.schedule import ScheduleSettings
from bot.config.telegram import TelegramSettings
from bot.config.yaml_lines import locate, too_deep
from bot.model import ConfigError
from bot.storage import check_database_url
from signals.sources import DataSpec

DEFAULT_DATABASE_URL = "sqlite:///./rotation-bot.db"
LOCAL_CONFIG = Path("config/rotation.yaml")
#: far deeper than any real config; a deeper file is refused before PyYAML recurses into it
MAX_DEPTH = 64
#: an e-mail address somewhere in the SEC User-Agent (the SEC refuses agents without one)
SEC_CONTACT = re.compile(r"\S+@\S+\.\S+")


class DataSettings(StrictModel):
    """Where prices, members and snapshots come from (the shared data flags)."""

    source: Literal["demo", "yahoo", "files"] = "demo"
    prices: tuple[Path, ...] = ()
    members: Path | None = None
    membership: Path | None = None
    shares: Path | None = None
    #: Parquet price cache of the yahoo source; ROTATION_BOT_CACHE_DIR overrides
    cache_dir: Path = Path(".rotation-bot/cache")
    #: demo source: the simulated market's random seed (another seed, another history)
    demo_seed: int = 7
    #: demo source: years of simulated history
    demo_years: int = Field(7, ge=6, le=40)
    #: the simulated market's last session (default: the last completed one, so it moves
    #: with the clock; pin it for reproducible demos and tests)
    demo_end: date | None = None
    #: fundamentals files (date,series,value[,period_end]); each replaces a source's series
    fundamentals: tuple[Path, ...] = ()
    #: yahoo source: the contact the SEC requires ("Name you@example.com"); unset, the SEC
    #: is not asked (no energy FCF yield, no bottom-up P/E); ROTATION_BOT_SEC_USER_AGENT overrides
    sec_user_agent: str | None = None

    @field_validator("sec_user_agent", mode="after")
    @classmethod
    def _contact(cls, v: str | None) -> str | None:
        if v is None or not v.strip():
            return None
        if not SEC_CONTACT.search(v):
            raise ValueError(
                "the SEC needs a contact e-mail in it, e.g. 'Jane Doe jane@example.com'"
            )
        return v.strip()

    def spec(self) -> DataSpec:
        """These settings as the signals library's `DataSpec`."""
        return DataSpec(
            source=self.source,
            prices=tuple(self.prices),
            members=self.members,
            membership=self.membership,
            shares=self.shares,
            cache_dir=self.cache_dir,
            demo_seed=self.demo_seed,
            demo_years=self.demo_years,
            demo_end=None if self.demo_end is None else pd.Timestamp(self.demo_end),
            fundamentals=tuple(self.fundamentals),
            sec_user_agent=self.sec_user_agent,
        )


class GuardSettings(StrictModel):
    """Rules evaluate only on fresh, well-covered data."""

    #: rules evaluate only when the data's last session is at most this many sessions old
    max_stale_sessions: int = Field(0, ge=0)
    #: ... and at least this share of the members expected on the as-of session (universe
    #: list, or that day's membership) has a close on it; lower it to run knowingly on a history
    #: with gaps
    min_coverage: float = Field(0.9, ge=0.0, le=1.0)
    #: after this many consecutive guarded sessions a data_health alert goes to admins
    data_health_after: int = Field(3, ge=1)


class AlertSettings(StrictModel):
    """How old alerts from a catch-up are treated, and the footer every alert carries."""

    late_after_sessions: int = Field(3, ge=0)
    late_policy: Literal["mark", "skip"] = "mark"
    #: a line under every alert message
    footer: str = "Not investment advice."


class Secrets(BaseSettings):
    """Tokens and endpoints from the environment only."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", case_sensitive=False)

    telegram_bot_token: SecretStr | None = None
    slack_bot_token: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    telegram_webhook_secret: SecretStr | None = None
    database_url: SecretStr | None = None
    telegram_base_url: str | None = None
    slack_api_url: str | None = None


class Settings(StrictModel):
    """The whole validated configuration."""

    data: DataSettings = DataSettings()
    #: SQLAlchemy URL: a SQLite file or postgresql+psycopg://...; DATABASE_URL overrides
    database_url: str = DEFAULT_DATABASE_URL
    guard: GuardSettings = GuardSettings()
    alerts: AlertSettings = AlertSettings()
    #: alert rules (README: Alerts); none when the key is absent: the shipped config has 14
    rules: tuple[dict[str, Any], ...] = ()
    #: chats and channels that get alerts, synced into the database at start
    destinations: tuple[DestinationSettings, ...] = ()
    admins: AdminSettings = AdminSettings()
    schedule: ScheduleSettings = ScheduleSettings()
    delivery: DeliverySettings = DeliverySettings()
    health: HealthSettings = HealthSettings()
    chat: ChatSettings = ChatSettings()
    telegram: TelegramSettings = TelegramSettings()
    own_alerts: OwnAlertSettings = OwnAlertSettings()
    config_path: str | None = None

    @field_validator("database_url", mode="after")
    @classmethod
    def _usable_url(cls, v: str) -> str:
        return check_database_url(v)

    @field_validator("destinations", mode="after")
    @classmethod
    def _distinct_destinations(
        cls, v: tuple[DestinationSettings, ...]
    ) -> tuple[DestinationSettings, ...]:
        return check_destinations(v)


def find_config(explicit: str | Path | None = None) -> Path:
    """The config file to read, by the lookup order above."""
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigError(f"config file not found: {path}")
        return path
    env = os.environ.get("ROTATION_BOT_CONFIG")
    if env:
        path = Path(env)
        if not path.is_file():
            raise ConfigError(f"ROTATION_BOT_CONFIG points at a missing file: {path}")
        return path
    if LOCAL_CONFIG.is_file():
        return LOCAL_CONFIG
    with resources.as_file(resources.files("bot.config.defaults") / "rotation.yaml") as p:
        return Path(p)


def _format_errors(exc: ValidationError, text: str, path: Path) -> str:
    lines = []
    for err in exc.errors():
        loc = [p for p in err["loc"] if p != "__root__"]
        field = ".".join(str(p) for p in loc) or "(top level)"
        line = locate(text, loc)
        where = f"{path}:{line}" if line else str(path)
        lines.append(f"{where}: {field}: {err['msg']}")
    return "invalid configuration:\n  " + "\n  ".join(lines)


def read_yaml(path: Path, what: str) -> tuple[str, Any]:
    """The text of a YAML file and what it holds. Whatever is wrong with it (unreadable, not
    UTF-8, not YAML, nested absurdly deep) is a one-line `ConfigError` naming the file and,
    where there is one, the line; `what` names the file's role ("config file")."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{what} {path}: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigError(
            f"{path}:{line}: not UTF-8 text (byte 0x{data[exc.start]:02x}); save it as UTF-8"
        ) from None
    try:
        deep = too_deep(text, MAX_DEPTH)
        if deep is not None:
            raise ConfigError(f"{path}:{deep}: nested more than {MAX_DEPTH} levels deep")
        return text, yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or str(exc)
        ctx, ctx_mark = getattr(exc, "context", None), getattr(exc, "context_mark", None)
        if ctx and ctx_mark is not None:
            problem += f" ({ctx} that starts on line {ctx_mark.line + 1})"
        raise ConfigError(f"{where}: not valid YAML: {problem}") from None
    except RecursionError:  # aliases or tags deeper than the check sees: still one line
        raise ConfigError(f"{path}: nested too deeply to read") from None


def load_settings(
    config: str | Path | None = None, overrides: Mapping[str, Any] | None = None
) -> Settings:
    """Read, merge and validate. `overrides` are dotted keys from the command line
    (``{"data.source": "files"}``); values of None are ignored. They beat the environment's
    (`bot.config.app.ENV_OVERRIDES`), which beat the file."""
    path = find_config(config)
    text, raw = read_yaml(path, "config file")
    raw = raw or {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of settings")
    for dotted, value in with_environment(overrides).items():
        node = raw
        *parents, leaf = dotted.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    secrets = Secrets()
    if secrets.database_url is not None:
        url = secrets.database_url.get_secret_value()
        try:  # named here: a validation error would point at the file, which is not at fault
            check_database_url(url)
        except ValueError as exc:  # its message never repeats the URL (a password)
            raise ConfigError(f"DATABASE_URL: {exc}") from None
        raw["database_url"] = url
    raw["config_path"] = str(path)
    try:
        return Settings.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_format_errors(exc, text, path)) from None
