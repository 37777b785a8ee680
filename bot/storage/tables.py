"""Tables of the bot's database (SQLAlchemy 2; SQLite by default, PostgreSQL for teams).

Schema management: `create_all` plus a one-row `schema_version` table. The schema is young and
small; Alembic would add a migrations tree and a second tool to run for no benefit yet. The
version row lets a later release upgrade in place (see `bot.storage.store.SCHEMA_VERSION`).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class SchemaVersion(Base):
    __tablename__ = "schema_version"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer)


class Run(Base):
    """One evaluation: which session, how fresh the data was, and what came of it."""

    __tablename__ = "runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    as_of: Mapped[date] = mapped_column(Date, index=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    source: Mapped[str] = mapped_column(String(32))
    simulated: Mapped[bool] = mapped_column(Boolean, default=False)
    last_session: Mapped[date | None] = mapped_column(Date)
    stale_sessions: Mapped[int | None] = mapped_column(Integer)
    coverage: Mapped[float | None] = mapped_column(Float)
    #: initialized | evaluated | guarded | up_to_date | error
    outcome: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(Text)
    sessions_evaluated: Mapped[int] = mapped_column(Integer, default=0)
    alerts: Mapped[int] = mapped_column(Integer, default=0)


class RuleStateRow(Base):
    """A rule's persisted state machine (`signals.rules.step.RuleState` as JSON)."""

    __tablename__ = "rule_states"
    rule_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    state: Mapped[dict] = mapped_column(JSON)
    #: the last session this state has seen (evaluated or guarded)
    session: Mapped[date] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class EngineState(Base):
    """Engine-wide progress: the last session evaluated (guarded streaks are derived from
    the sessions after it, so they are not stored)."""

    __tablename__ = "engine_state"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_session: Mapped[date] = mapped_column(Date)
    #: bumped by every evaluation that ran (racing evaluations are serialised by the row
    #: lock / SQLite's BEGIN IMMEDIATE, and the alert key is unique in any case)
    version: Mapped[int] = mapped_column(Integer, default=0)


class AlertRow(Base):
    """The alert log; the unique key makes every transition happen once (docs/alerts.md)."""

    __tablename__ = "alerts"
    __table_args__ = (UniqueConstraint("rule_id", "transition", "session", name="uq_alert_key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule_id: Mapped[str] = mapped_column(String(128))
    transition: Mapped[str] = mapped_column(String(16))  # fired | resolved | data_health
    session: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(16))  # MessageKind
    severity: Mapped[str] = mapped_column(String(16))
    value: Mapped[float | None] = mapped_column(Float)
    threshold: Mapped[float | None] = mapped_column(Float)
    label: Mapped[str | None] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text)
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    #: whether the transition is announced (resolved only when the rule says notify_resolved)
    notify: Mapped[bool] = mapped_column(Boolean, default=True)
    simulated: Mapped[bool] = mapped_column(Boolean, default=False)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class DestinationRow(Base):
    """A chat or channel that receives messages, with its filters and levels."""

    __tablename__ = "destinations"
    __table_args__ = (UniqueConstraint("platform", "chat_id", "thread_id", name="uq_destination"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(64))
    #: Telegram topic id; "" when none (a real value keeps the unique key simple)
    thread_id: Mapped[str] = mapped_column(String(32), default="")
    #: "all", or a list of rule ids and/or severities
    rules: Mapped[list | str] = mapped_column(JSON, default="all")
    kinds: Mapped[dict] = mapped_column(JSON, default=dict)
    muted_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    origin: Mapped[str] = mapped_column(String(16), default="config")  # config | chat
    admin_only: Mapped[bool] = mapped_column(Boolean, default=False)
    #: an operator's private chat: receives the messages sent "to admins" (startup, data health)
    admin: Mapped[bool] = mapped_column(Boolean, default=False)
    #: the chat id before Telegram moved the group (ChatMigrated); config sync matches it
    migrated_from: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class DeliveryRow(Base):
    """The transactional outbox: one row per destination per evaluation (grouped)."""

    __tablename__ = "deliveries"
    __table_args__ = (UniqueConstraint("destination_id", "group_key", name="uq_delivery"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    destination_id: Mapped[int] = mapped_column(ForeignKey("destinations.id"), index=True)
    #: what this message groups, e.g. "run:2026-03-02:alerts"; unique per destination
    group_key: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))
    silent: Mapped[bool] = mapped_column(Boolean, default=False)
    alert_ids: Mapped[list] = mapped_column(JSON, default=list)
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    #: pending | sending | delivered | dead | cancelled
    status: Mapped[str] = mapped_column(String(16), index=True, default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    #: parts already sent of a message split over several sends (resume after a crash)
    parts_sent: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class UpdateClaimRow(Base):
    """An incoming chat update (Telegram update, Slack event or trigger) taken by one
    replica: the primary key makes a second claim of the same update fail, so a duplicate
    delivery is not answered twice; a lease run out before `done_at` lets a retry take it
    again, so a replica's death loses nothing (bot.storage.update_claims)."""

    __tablename__ = "update_claims"
    platform: Mapped[str] = mapped_column(String(16), primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    claimed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    #: the taker's lease; NULL in a claim made before leases (counts as done). Added to an
    #: existing table by `bot.storage.store` (`add_missing_columns`)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: when it was handled; NULL while being handled
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class LeaderLeaseRow(Base):
    """Which replica leads, until when, and its epoch: a takeover raises the epoch, and the
    leader's fenced writes check it (bot.storage.leader)."""

    __tablename__ = "leader_lease"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    epoch: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SendPaceRow(Base):
    """The next free send slot of a cap shared by every replica: a platform's overall cap
    (key "telegram") or one chat's ("telegram:-100123") (bot.storage.send_pace)."""

    __tablename__ = "send_pace"
    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    next_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class OwnAlertRow(Base):
    """A rule made in a chat for that chat alone (bot.storage.own_alerts). Deleted rules keep
    their row (`deleted`), so an id is never reused and the alert log's keys stay unique."""

    __tablename__ = "own_alerts"
    __table_args__ = (
        UniqueConstraint("platform", "chat_id", "thread_id", "number", name="uq_own_alert"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(64))
    #: Telegram topic id; "" when none
    thread_id: Mapped[str] = mapped_column(String(32), default="")
    #: the short id people type (`alert delete 3`), counted per chat
    number: Mapped[int] = mapped_column(Integer)
    #: the rule as the bot understood it (`breadth_200d crosses above 70 confirm 2`)
    text: Mapped[str] = mapped_column(Text)
    #: the rule's keys (signals.rules.RuleSpec.from_dict without id) and its subject
    spec: Mapped[dict] = mapped_column(JSON)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: the rule's state machine as JSON; null until its silent start at an evaluation
    state: Mapped[dict | None] = mapped_column(JSON)
    #: the last session the state has seen
    state_session: Mapped[date | None] = mapped_column(Date)
