"""Shared by the delivery tests: a store with destinations and one queued alert group, and a
scripted in-memory adapter (for worker logic; the adapter tests use the HTTP fakes)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select

from bot.config.settings import Settings
from bot.delivery.destinations import sync_destinations
from bot.delivery.sender import Adapter
from bot.model.address import Address, PartCallback, SendResult
from bot.model.errors import DeliveryError
from bot.model.messages import AlertGroup, AlertItem, TextMessage
from bot.storage.outbox import enqueue_alerts
from bot.storage.store import Store
from bot.storage.tables import DeliveryRow, DestinationRow

SESSION = date(2026, 3, 2)


def alert_group(n_items: int = 2) -> AlertGroup:
    items = tuple(
        AlertItem(f"rule_{i}", "fired", SESSION, "info", f"rule {i} crossed", 66.0 + i, 65.0)
        for i in range(n_items)
    )
    return AlertGroup(as_of=SESSION, source="demo", simulated=True, items=items)


def setup_outbox(
    store: Store,
    destinations: Sequence[dict],
    *,
    group_key: str = "run:1",
    delivery: dict | None = None,
) -> Settings:
    """Sync `destinations` and queue one alert group for all of them."""
    settings = Settings.model_validate(
        {"destinations": list(destinations), "delivery": delivery or {}}
    )
    sync_destinations(store, settings)
    enqueue(store, group_key)
    return settings


def enqueue(store: Store, group_key: str, group: AlertGroup | None = None) -> int:
    with store.transaction() as s:
        return enqueue_alerts(
            s, group_key=group_key, group=group or alert_group(), rule_severity={}
        )


def statuses(store: Store) -> dict[str, list[str]]:
    """Outbox row statuses by destination chat id."""
    out: dict[str, list[str]] = {}
    with store.transaction() as s:
        rows = s.execute(
            select(DestinationRow.chat_id, DeliveryRow.status)
            .join(DeliveryRow, DeliveryRow.destination_id == DestinationRow.id)
            .order_by(DeliveryRow.id)
        ).all()
    for chat, status in rows:
        out.setdefault(chat, []).append(status)
    return out


def destination(store: Store, chat_id: str) -> DestinationRow:
    with store.transaction() as s:
        return s.scalars(select(DestinationRow).where(DestinationRow.chat_id == chat_id)).one()


def delivery_rows(store: Store) -> list[DeliveryRow]:
    with store.transaction() as s:
        return list(s.scalars(select(DeliveryRow).order_by(DeliveryRow.id)))


@dataclass
class Sent:
    chat_id: str
    part: int
    silent: bool


@dataclass
class ScriptedAdapter(Adapter):
    """Answers each part from a per-chat script of outcomes (None = success, an exception is
    raised, a float sleeps that long first), then succeeds. Records every part sent."""

    name: str = "telegram"
    script: dict[str, list[object]] = field(default_factory=dict)
    parts: int = 1
    migrate: dict[str, str] = field(default_factory=dict)
    sent: list[Sent] = field(default_factory=list)
    delay: float = 0.0

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    async def send(
        self,
        address: Address,
        message: AlertGroup | TextMessage,
        *,
        silent: bool = False,
        skip_parts: int = 0,
        on_part: PartCallback | None = None,
    ) -> SendResult:
        chat = address.chat_id
        for index in range(skip_parts, self.parts):
            if self.delay:
                await asyncio.sleep(self.delay)
            outcomes = self.script.get(chat) or []
            outcome = outcomes.pop(0) if outcomes else None
            if isinstance(outcome, float):
                await asyncio.sleep(outcome)
            elif isinstance(outcome, DeliveryError):
                raise outcome
            chat = self.migrate.get(chat, chat)
            self.sent.append(Sent(chat, index + 1, silent))
            if on_part is not None:
                await on_part(index + 1, self.parts)
        moved = chat if chat != address.chat_id else None
        return SendResult(parts=self.parts, migrated_to=moved)

    def per_chat(self) -> Counter[str]:
        return Counter(s.chat_id for s in self.sent if s.part == self.parts)
