"""Typed settings for where messages go and how they are delivered.

`destinations`, `admins` and `delivery` of the config file. Chat ids are strings: a Telegram
`chat_id` written as a YAML number (``-1001234567890``) is accepted and stored as its decimal
string (YAML integers are exact, so nothing is lost); a Slack `channel` must be a string.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from bot.config.base import StrictModel
from bot.model import Level, MessageKind

_TELEGRAM_ID = re.compile(r"^-?\d{1,20}$|^@[A-Za-z][A-Za-z0-9_]{3,}$")
_SLACK_ID = re.compile(r"^[A-Z0-9][A-Z0-9_-]{1,31}$")
_TELEGRAM_USER = re.compile(r"^[1-9][0-9]{0,19}$")


def _id_string(v: Any, *, numbers: bool, what: str) -> Any:
    """Ids are strings; Telegram's may be written as a YAML integer (never a float/bool)."""
    if isinstance(v, (bool, float)):
        raise ValueError(f'{what} must be a string such as "-1001234567890"')
    if isinstance(v, int):
        if not numbers:
            raise ValueError(f"{what} must be a string (quote it in YAML)")
        return str(v)
    return v.strip() if isinstance(v, str) else v


class DestinationSettings(StrictModel):
    """One chat or channel that receives alerts."""

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
    #: level per message kind; unset kinds keep the defaults of bot.model.kinds
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


def _telegram_user(v: str) -> str:
    """A name or a group id matches no user: nobody would be an admin."""
    if not _TELEGRAM_USER.match(v):
        raise ValueError(f"a Telegram user id is a positive number, not {v!r}")
    return v


def _slack_user(v: str) -> str:
    if not _SLACK_ID.match(v):
        raise ValueError(f'a Slack user id looks like "U0123ABC", not {v!r}')
    return v


class AdminSettings(StrictModel):
    """User ids of the operators: startup and data-health notices go to their private chat
    (Telegram: the user id is the chat id; Slack: posting to a user id opens the DM)."""

    #: Telegram user ids (numbers; a user id is also the private chat's id)
    telegram: tuple[Annotated[str, AfterValidator(_telegram_user)], ...] = ()
    #: Slack user ids ("U0123ABC")
    slack: tuple[Annotated[str, AfterValidator(_slack_user)], ...] = ()

    @field_validator("telegram", mode="before")
    @classmethod
    def _tg(cls, v: Any) -> Any:
        return tuple(_id_string(x, numbers=True, what="admin id") for x in (v or ()))

    @field_validator("slack", mode="before")
    @classmethod
    def _slack(cls, v: Any) -> Any:
        return tuple(_id_string(x, numbers=False, what="admin id") for x in (v or ()))


class Cap(StrictModel):
    """At most `count` messages in any `per` seconds."""

    count: int = Field(ge=1)
    per: float = Field(gt=0, le=3600)


class TelegramDelivery(StrictModel):
    """Bot API endpoint and the published caps."""

    #: passed to python-telegram-bot as is; TELEGRAM_BASE_URL overrides it
    base_url: str = "https://api.telegram.org/bot"
    overall: Cap = Cap(count=30, per=1.0)
    per_chat: Cap = Cap(count=1, per=1.0)
    #: groups, supergroups and channels (negative chat ids)
    per_group: Cap = Cap(count=20, per=60.0)


class SlackDelivery(StrictModel):
    #: passed to slack-sdk as is (ends in /api/); SLACK_API_URL overrides it
    api_url: str = "https://slack.com/api/"
    per_channel: Cap = Cap(count=1, per=1.0)


def _duration(v: timedelta, longest: timedelta, what: str) -> timedelta:
    """A positive duration no longer than `longest` (a date plus it must stay a date)."""
    if v <= timedelta(0):
        raise ValueError(f"must be positive, got {v.total_seconds():g} s")
    if v > longest:
        raise ValueError(f"at most {longest.total_seconds():g} s ({what}), got {v}")
    return v


def longest_part(
    timeout: float,
    connect_timeout: float,
    batch: int,
    headroom: float,
    telegram: TelegramDelivery,
    slack: SlackDelivery,
) -> tuple[float, str]:
    """Seconds one part of a message can take from the worker handing it to its sender until
    the answer, and how that adds up: the longest cap window of one chat (a full window
    waits for its oldest send to leave it), the overall pace of a full batch queued ahead,
    connecting, and the answer."""
    window = max(telegram.per_chat.per, telegram.per_group.per, slack.per_channel.per)
    pace = batch * telegram.overall.per / telegram.overall.count / headroom
    total = window + pace + connect_timeout + timeout
    how = (
        f"cap window {window:g} s + pace of a batch of {batch} {pace:.1f} s"
        f" + connect_timeout {connect_timeout:g} s + timeout {timeout:g} s"
    )
    return total, how


class DeliverySettings(StrictModel):
    """Retries, timeouts and rate limits of the delivery worker."""

    model_config = ConfigDict(allow_inf_nan=False)

    #: a failing delivery is retried until its outbox row is this old, then it is dead
    #: (at most 365 days)
    max_age: timedelta = timedelta(hours=24)
    #: `run --once` retries within the run for at most this long (at most a day)
    once_max_age: timedelta = timedelta(seconds=60)
    #: first retry after about this long (seconds), doubling each time, with jitter
    backoff_base: float = Field(1.0, gt=0, le=2.0)
    backoff_max: float = Field(300.0, gt=0, le=86_400)
    #: seconds to wait for the platform's answer / to connect
    timeout: float = Field(10.0, gt=0, le=600)
    connect_timeout: float = Field(5.0, gt=0, le=600)
    #: outbox rows a worker holds at once (claimed and not yet finished)
    batch: int = Field(200, ge=1, le=10_000)
    #: seconds between outbox polls when idle (daemon)
    poll_interval: float = Field(1.0, gt=0, le=60)
    #: the overall pace as a share of the overall cap (caps themselves are kept exactly:
    #: each send counts from its start to its answer, whatever the network jitter)
    headroom: float = Field(0.95, gt=0.1, le=1.0)
    #: print alerts on stdout: auto = when no destination is configured
    console: Literal["auto", "on", "off"] = "auto"
    telegram: TelegramDelivery = TelegramDelivery()
    slack: SlackDelivery = SlackDelivery()
    #: a claimed row is another worker's to take when its claim is this old (at most a
    #: day). The worker renews its claim before a send when less is left than one part of a
    #: send may take, and as each part is recorded; so the lease must be longer than that
    #: part: the longest cap window of one chat, plus the overall pace of a full batch
    #: (batch × overall per / overall count / headroom), plus connect_timeout and timeout
    #: (82 s with the defaults)
    lease: timedelta = timedelta(minutes=2)

    @field_validator("max_age", mode="after")
    @classmethod
    def _max_age(cls, v: timedelta) -> timedelta:
        return _duration(v, timedelta(days=365), "a year")

    @field_validator("once_max_age", mode="after")
    @classmethod
    def _once_max_age(cls, v: timedelta) -> timedelta:
        return _duration(v, timedelta(days=1), "a day")

    @field_validator("lease", mode="after")
    @classmethod
    def _lease(cls, v: timedelta, info: ValidationInfo) -> timedelta:
        """Declared last so every value it depends on is validated before it."""
        _duration(v, timedelta(days=1), "a day")
        names = ("timeout", "connect_timeout", "batch", "headroom", "telegram", "slack")
        if not all(name in info.data for name in names):
            return v  # one of them is invalid itself and reported on its own
        longest, how = longest_part(*(info.data[name] for name in names))
        if v.total_seconds() <= longest:
            raise ValueError(
                f"{v.total_seconds():g} s must be longer than the longest part of a send, "
                f"{longest:.1f} s ({how}): raise lease, or lower those"
            )
        return v

    @property
    def longest_part(self) -> float:
        """Seconds one part of a message can take (see `longest_part` above)."""
        return longest_part(
            self.timeout,
            self.connect_timeout,
            self.batch,
            self.headroom,
            self.telegram,
            self.slack,
        )[0]


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
