"""Typed settings for where messages go and how they are delivered (DESIGN §6).

`destinations`, `admins` and `delivery` of the config file. Chat ids are strings: a Telegram
`chat_id` written as a YAML number (``-1001234567890``) is accepted and stored as its decimal
string (YAML integers are exact, so nothing is lost); a Slack `channel` must be a string.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.kinds import Level, MessageKind

_TELEGRAM_ID = re.compile(r"^-?\d{1,20}$|^@[A-Za-z][A-Za-z0-9_]{3,}$")
_SLACK_ID = re.compile(r"^[A-Z0-9][A-Z0-9_-]{1,31}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _id_string(v: Any, *, numbers: bool, what: str) -> Any:
    """Ids are strings; Telegram's may be written as a YAML integer (never a float/bool)."""
    if isinstance(v, (bool, float)):
        raise ValueError(f'{what} must be a string such as "-1001234567890"')
    if isinstance(v, int):
        if not numbers:
            raise ValueError(f"{what} must be a string (quote it in YAML)")
        return str(v)
    return v.strip() if isinstance(v, str) else v


class DestinationSettings(_Strict):
    """One chat or channel that receives alerts (DESIGN §6 config sketch)."""

    #: where the entry delivers; console prints on stdout
    platform: Literal["telegram", "slack", "console"]
    #: Telegram chat id ("-100…" for groups and channels, a user id for a private chat)
    chat_id: str | None = None
    #: Slack channel id ("C0123456"), or a user id for a direct message
    channel: str | None = None
    #: Telegram forum topic; only for telegram
    message_thread_id: str | None = None
    #: "all", or rule ids and/or severities ("warning")
    rules: Literal["all"] | tuple[str, ...] = "all"
    #: level per message kind; unset kinds keep the defaults of bot.kinds
    kinds: dict[MessageKind, Level] = Field(default_factory=dict)

    @field_validator("kinds", mode="before")
    @classmethod
    def _yaml_on_off(cls, v: Any) -> Any:
        """YAML 1.1 reads an unquoted `on` / `off` as true / false: take them as meant."""
        if isinstance(v, dict):
            return {
                k: {True: "on", False: "off"}.get(x, x) if isinstance(x, bool) else x
                for k, x in v.items()
            }
        return v

    #: nothing is queued for this destination until then (UTC unless a zone is given)
    muted_until: datetime | None = None

    @field_validator("chat_id", mode="before")
    @classmethod
    def _chat_id(cls, v: Any) -> Any:
        return _id_string(v, numbers=True, what="chat_id")

    @field_validator("message_thread_id", mode="before")
    @classmethod
    def _thread(cls, v: Any) -> Any:
        v = _id_string(v, numbers=True, what="message_thread_id")
        if isinstance(v, str) and not v.isdigit():
            raise ValueError("message_thread_id must be a positive integer")
        return v

    @field_validator("channel", mode="before")
    @classmethod
    def _channel(cls, v: Any) -> Any:
        return _id_string(v, numbers=False, what="channel")

    @field_validator("muted_until", mode="after")
    @classmethod
    def _utc(cls, v: datetime | None) -> datetime | None:
        return v.replace(tzinfo=UTC) if v is not None and v.tzinfo is None else v

    @field_validator("rules", mode="before")
    @classmethod
    def _rules(cls, v: Any) -> Any:
        if isinstance(v, str) and v != "all":
            return (v,)  # a single rule id or severity
        return v

    @model_validator(mode="after")
    def _address(self) -> DestinationSettings:
        p = self.platform
        if p == "telegram":
            if not self.chat_id or not _TELEGRAM_ID.match(self.chat_id):
                raise ValueError('telegram needs chat_id: a number such as "-1001234567890"')
            if self.channel is not None:
                raise ValueError("telegram takes chat_id, not channel")
        elif p == "slack":
            if not self.channel or not _SLACK_ID.match(self.channel):
                raise ValueError('slack needs channel: an id such as "C0123456" (not "#name")')
            if self.chat_id is not None:
                raise ValueError("slack takes channel, not chat_id")
        elif self.chat_id is not None or self.channel is not None:
            raise ValueError("console takes no chat_id or channel")
        if self.message_thread_id is not None and p != "telegram":
            raise ValueError("message_thread_id is a Telegram forum topic; only for telegram")
        return self

    @property
    def address_id(self) -> str:
        """The id stored in the database's chat_id column."""
        return self.chat_id or self.channel or "stdout"

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.platform, self.address_id, self.message_thread_id or "")


class AdminSettings(_Strict):
    """User ids of the operators: startup and data-health notices go to their private chat
    (Telegram: the user id is the chat id; Slack: posting to a user id opens the DM)."""

    #: Telegram user ids (numbers; a user id is also the private chat's id)
    telegram: tuple[str, ...] = ()
    #: Slack user ids ("U0123ABC")
    slack: tuple[str, ...] = ()

    @field_validator("telegram", mode="before")
    @classmethod
    def _tg(cls, v: Any) -> Any:
        return tuple(_id_string(x, numbers=True, what="admin id") for x in (v or ()))

    @field_validator("slack", mode="before")
    @classmethod
    def _slack(cls, v: Any) -> Any:
        return tuple(_id_string(x, numbers=False, what="admin id") for x in (v or ()))


class Cap(_Strict):
    """At most `count` messages in any `per` seconds."""

    count: int = Field(ge=1)
    per: float = Field(gt=0)


class TelegramDelivery(_Strict):
    """Bot API endpoint and the published caps (DESIGN §6)."""

    #: passed to python-telegram-bot as is; TELEGRAM_BASE_URL overrides it
    base_url: str = "https://api.telegram.org/bot"
    overall: Cap = Cap(count=30, per=1.0)
    per_chat: Cap = Cap(count=1, per=1.0)
    #: groups, supergroups and channels (negative chat ids)
    per_group: Cap = Cap(count=20, per=60.0)


class SlackDelivery(_Strict):
    #: passed to slack-sdk as is (ends in /api/); SLACK_API_URL overrides it
    api_url: str = "https://slack.com/api/"
    per_channel: Cap = Cap(count=1, per=1.0)


class DeliverySettings(_Strict):
    """Retries, timeouts and rate limits of the delivery worker."""

    #: a failing delivery is retried until its outbox row is this old, then it is dead
    max_age: timedelta = timedelta(hours=24)
    #: `run --once` retries within the run for at most this long (DESIGN §4)
    once_max_age: timedelta = timedelta(seconds=60)
    #: first retry after about this long (seconds), doubling each time, with jitter
    backoff_base: float = Field(1.0, gt=0, le=2.0)
    backoff_max: float = Field(300.0, gt=0)
    #: seconds to wait for the platform's answer / to connect
    timeout: float = Field(10.0, gt=0)
    connect_timeout: float = Field(5.0, gt=0)
    #: a claimed row is another worker's to take when its claim is this old
    lease: timedelta = timedelta(minutes=2)
    #: outbox rows a worker holds at once (claimed and not yet finished)
    batch: int = Field(200, ge=1, le=10_000)
    #: seconds between outbox polls when idle (daemon)
    poll_interval: float = Field(1.0, gt=0)
    #: the overall pace as a share of the overall cap (caps themselves are kept exactly:
    #: each send counts from its start to its answer, whatever the network jitter)
    headroom: float = Field(0.95, gt=0.1, le=1.0)
    #: print alerts on stdout: auto = when no destination is configured
    console: Literal["auto", "on", "off"] = "auto"
    telegram: TelegramDelivery = TelegramDelivery()
    slack: SlackDelivery = SlackDelivery()


def check_destinations(dests: tuple[DestinationSettings, ...]) -> tuple[DestinationSettings, ...]:
    """Reject the same chat (and topic) listed twice: which entry would win is unclear."""
    seen: dict[tuple[str, str, str], int] = {}
    for i, d in enumerate(dests):
        if d.key in seen:
            raise ValueError(
                f"destination {i} repeats destination {seen[d.key]} "
                f"({d.platform} {d.address_id}); merge them into one entry"
            )
        seen[d.key] = i
    return dests
