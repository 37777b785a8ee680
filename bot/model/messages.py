"""Neutral, frozen message values: what the core produces and every renderer formats.

No markup here: Telegram HTML, Slack blocks and console text are made from these at
the edge. An `AlertGroup` is everything one evaluation produced for one destination; it is
stored as JSON in the outbox row so delivery never re-reads the alert log.
"""

from __future__ import annotations

import base64
from dataclasses import asdict, dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from bot.model.kinds import MessageKind


class AlertTransition(StrEnum):
    """What an alert announces: a rule's transition (the values of `signals.rules.Transition`
    that are alerts) or a data-health notice, which is no rule's. The values are stored in the
    alert log and the outbox's JSON."""

    FIRED = "fired"
    RESOLVED = "resolved"
    DATA_HEALTH = "data_health"


@dataclass(frozen=True)
class AlertItem:
    """One transition of one rule (or a data-health notice)."""

    rule_id: str
    transition: AlertTransition
    session: date
    severity: str  # info | warning
    message: str  # the rule's rendered template (plain text)
    value: float | None = None
    threshold: float | None = None
    label: str | None = None  # for `changes` rules: the new label
    late: bool = False  # older than the late limit when evaluated (catch-up)

    @property
    def kind(self) -> MessageKind:
        return {
            AlertTransition.FIRED: MessageKind.ALERT,
            AlertTransition.RESOLVED: MessageKind.RESOLVED,
        }.get(self.transition, MessageKind.DATA_HEALTH)


@dataclass(frozen=True)
class AlertGroup:
    """Everything one evaluation sends to one destination, as one message."""

    as_of: date
    source: str
    simulated: bool
    items: tuple[AlertItem, ...]
    footer: str = "Not investment advice."
    kind: MessageKind = MessageKind.ALERT

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["as_of"] = self.as_of.isoformat()
        d["kind"] = self.kind.value
        d["items"] = [
            {**asdict(i), "transition": str(i.transition), "session": i.session.isoformat()}
            for i in self.items
        ]
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> AlertGroup:
        items = tuple(
            AlertItem(
                **{
                    **i,
                    "transition": AlertTransition(i["transition"]),
                    "session": date.fromisoformat(i["session"]),
                }
            )
            for i in d["items"]
        )
        return cls(
            as_of=date.fromisoformat(d["as_of"]),
            source=d["source"],
            simulated=bool(d["simulated"]),
            items=items,
            footer=d.get("footer", ""),
            kind=MessageKind(d.get("kind", "alert")),
        )


@dataclass(frozen=True)
class TextMessage:
    """A plain notice (startup, heartbeat, digest): a title and lines, rendered per platform,
    and optionally a chart (PNG) sent after the text (the weekly digest's)."""

    kind: MessageKind
    title: str
    lines: tuple[str, ...] = field(default_factory=tuple)
    simulated: bool = False
    chart_png: bytes | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind.value,
            "title": self.title,
            "lines": list(self.lines),
            "simulated": self.simulated,
        }
        if self.chart_png is not None:  # the outbox row is JSON: the PNG travels as base64
            out["chart_png"] = base64.b64encode(self.chart_png).decode("ascii")
        return out

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> TextMessage:
        chart = d.get("chart_png")
        return cls(
            kind=MessageKind(d["kind"]),
            title=d["title"],
            lines=tuple(d.get("lines", ())),
            simulated=bool(d.get("simulated", False)),
            chart_png=base64.b64decode(chart) if chart else None,
        )
