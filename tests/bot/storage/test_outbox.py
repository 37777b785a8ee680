"""Outbox: destination sync from config, matching (rule filter, kind levels, mute, admins),
idempotent enqueue, and the typed settings behind them."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from bot.config.settings import Settings, load_settings
from bot.delivery.destinations import REMOVED_FROM_CONFIG, sync_destinations
from bot.model.errors import ConfigError
from bot.model.kinds import MessageKind
from bot.model.messages import AlertGroup, AlertItem, TextMessage
from bot.storage.outbox import enqueue_alerts, enqueue_message, message_from_payload
from bot.storage.store import Store, utcnow
from bot.storage.tables import DeliveryRow, DestinationRow

SESSION = date(2026, 3, 2)


def _item(rule: str, transition: str = "fired", severity: str = "info") -> AlertItem:
    return AlertItem(rule, transition, SESSION, severity, f"{rule} {transition}", 66.0, 65.0)


def _group(*items: AlertItem) -> AlertGroup:
    return AlertGroup(as_of=SESSION, source="demo", simulated=True, items=items)


def _settings(destinations: list[dict], **extra) -> Settings:
    return Settings.model_validate({"destinations": destinations, **extra})


@pytest.fixture
def store(db_url):
    s = Store(db_url)
    yield s
    s.close()


def _rows(store: Store) -> dict[str, DeliveryRow]:
    """Outbox rows by their destination's chat id."""
    with store.transaction() as s:
        pairs = s.execute(
            select(DeliveryRow, DestinationRow.chat_id).join(
                DestinationRow, DestinationRow.id == DeliveryRow.destination_id
            )
        ).all()
    return {chat: row for row, chat in pairs}


def _enqueue(store: Store, group: AlertGroup, key: str = "run:1", severity=None) -> int:
    with store.transaction() as s:
        return enqueue_alerts(s, group_key=key, group=group, rule_severity=severity or {})


def test_rule_filter_kind_levels_and_silence(store) -> None:
    sync_destinations(
        store,
        _settings(
            [
                {"platform": "telegram", "chat_id": "-1001", "rules": "all"},
                {"platform": "telegram", "chat_id": "-1002", "rules": ["breadth"]},
                {"platform": "slack", "channel": "C1", "rules": ["warning"]},
                {"platform": "slack", "channel": "C2", "kinds": {"resolved": "off"}},
                {"platform": "slack", "channel": "C3", "kinds": {"alert": "silent"}},
                {"platform": "slack", "channel": "C4", "rules": ["nothing_matches"]},
            ]
        ),
    )
    group = _group(
        _item("breadth", "fired"),
        _item("smallcaps", "fired", severity="warning"),
        _item("ew", "resolved"),
    )
    assert _enqueue(store, group) == 5
    rows = _rows(store)
    assert "C4" not in rows  # nothing it wants: no row at all

    def rules(chat: str) -> list[str]:
        return [i["rule_id"] for i in rows[chat].payload["items"]]

    assert rules("-1001") == ["breadth", "smallcaps", "ew"]
    assert rules("-1002") == ["breadth"]
    assert rules("C1") == ["smallcaps"]  # by severity
    assert rules("C2") == ["breadth", "smallcaps"]  # resolved is off there
    # silent only when every remaining item's level is silent: C3 still hears "resolved"
    assert [rows[c].silent for c in ("-1001", "C2", "C3")] == [False, False, False]
    assert rows["-1001"].status == "pending" and rows["-1001"].attempts == 0
    # the payload is the neutral group, restorable for the renderers
    restored = message_from_payload(rows["-1002"].payload)
    assert isinstance(restored, AlertGroup) and restored.items == (group.items[0],)


def test_all_silent_group_is_silent_and_kind_follows_items(store) -> None:
    sync_destinations(
        store,
        _settings([{"platform": "telegram", "chat_id": "5", "kinds": {"resolved": "silent"}}]),
    )
    _enqueue(store, _group(_item("a", "resolved"), _item("b", "resolved")))
    row = _rows(store)["5"]
    assert row.silent is True
    assert row.kind == "resolved" and row.payload["kind"] == "resolved"


def test_rerun_inserts_nothing_new(store) -> None:
    sync_destinations(store, _settings([{"platform": "telegram", "chat_id": "-1"}]))
    group = _group(_item("a"))
    assert _enqueue(store, group) == 1
    assert _enqueue(store, group) == 0  # same group key: unique per destination
    assert _enqueue(store, group, key="run:2") == 1


def test_muted_and_disabled_destinations_get_nothing(store) -> None:
    later = (utcnow() + timedelta(hours=1)).isoformat()
    earlier = (utcnow() - timedelta(hours=1)).isoformat()
    sync_destinations(
        store,
        _settings(
            [
                {"platform": "telegram", "chat_id": "1", "muted_until": later},
                {"platform": "telegram", "chat_id": "2", "muted_until": earlier},
                {"platform": "telegram", "chat_id": "3"},
            ]
        ),
    )
    with store.transaction() as s:
        row = s.scalars(select(DestinationRow).where(DestinationRow.chat_id == "3")).one()
        row.enabled = False
    _enqueue(store, _group(_item("a")))
    assert set(_rows(store)) == {"2"}


def test_messages_to_admins_and_subscribers(store) -> None:
    settings = _settings(
        [
            {"platform": "telegram", "chat_id": "-100", "kinds": {"digest": "silent"}},
            {"platform": "telegram", "chat_id": "42"},  # an admin who also subscribes
        ],
        admins={"telegram": [42, 43], "slack": ["U1"]},
    )
    sync_destinations(store, settings)
    startup = TextMessage(MessageKind.STARTUP, "rotation-bot started", ("3 rules",))
    with store.transaction() as s:
        assert enqueue_message(s, group_key="start:1", message=startup, to="admins") == 3
    assert set(_rows(store)) == {"42", "43", "U1"}
    # alerts never go to admin-only chats
    _enqueue(store, _group(_item("a")))
    assert {c for c, r in _rows(store).items() if r.group_key == "run:1"} == {"-100", "42"}
    digest = TextMessage(MessageKind.DIGEST, "weekly digest")
    with store.transaction() as s:
        assert enqueue_message(s, group_key="digest:1", message=digest, to="subscribers") == 1
    rows = [r for r in _rows(store).values() if r.group_key == "digest:1"]
    assert rows[0].silent is True  # digest is off by default, silent where asked
    restored = message_from_payload(rows[0].payload)
    assert restored == digest


def test_sync_updates_disables_reenables_and_leaves_chat_rows(store, caplog) -> None:
    sync_destinations(
        store,
        _settings(
            [{"platform": "telegram", "chat_id": "-1"}, {"platform": "slack", "channel": "C1"}]
        ),
    )
    now = utcnow()
    with store.transaction() as s:
        s.add(DestinationRow(platform="slack", chat_id="C9", origin="chat", created_at=now))
    _enqueue(store, _group(_item("a")))
    report = sync_destinations(
        store, _settings([{"platform": "telegram", "chat_id": "-1", "rules": ["a"]}])
    )
    assert report.updated == [("telegram", "-1", "")]
    assert report.disabled == [("slack", "C1", "")]
    with store.transaction() as s:
        dests = {d.chat_id: d for d in s.scalars(select(DestinationRow))}
        statuses = {d.destination_id: d.status for d in s.scalars(select(DeliveryRow))}
    assert dests["-1"].rules == ["a"]
    assert not dests["C1"].enabled and dests["C1"].disabled_reason == REMOVED_FROM_CONFIG
    assert statuses[dests["C1"].id] == "cancelled"
    assert dests["C9"].enabled  # chat-origin rows are never touched
    assert statuses[dests["C9"].id] == "pending"
    # listing it again re-enables it; a platform refusal stays
    with store.transaction() as s:
        row = s.get(DestinationRow, dests["-1"].id)
        row.enabled, row.disabled_reason = False, "refused (403): bot was blocked by the user"
    report = sync_destinations(
        store,
        _settings(
            [{"platform": "telegram", "chat_id": "-1"}, {"platform": "slack", "channel": "C1"}]
        ),
    )
    assert report.reenabled == [("slack", "C1", "")]
    with store.transaction() as s:
        assert not s.get(DestinationRow, dests["-1"].id).enabled
    assert "stays disabled: refused (403)" in caplog.text


def test_sync_follows_a_migrated_telegram_group(store, caplog) -> None:
    settings = _settings([{"platform": "telegram", "chat_id": "-1"}])
    sync_destinations(store, settings)
    with store.transaction() as s:
        row = s.scalars(select(DestinationRow)).one()
        row.chat_id, row.migrated_from = "-1009", "-1"
    report = sync_destinations(store, settings)
    assert report.added == [] and report.disabled == []
    with store.transaction() as s:
        assert [d.chat_id for d in s.scalars(select(DestinationRow))] == ["-1009"]
    assert "moved to -1009" in caplog.text


def test_an_admin_chat_that_subscribed_itself_stays_a_chat_row(store, caplog) -> None:
    settings = _settings([], admins={"telegram": [42]}, delivery={"console": "off"})
    sync_destinations(store, settings)
    with store.transaction() as s:  # what /subscribe does in the admin's private chat
        row = s.scalars(select(DestinationRow)).one()
        row.origin, row.admin_only, row.rules = "chat", False, ["a"]
    sync_destinations(store, settings)
    row = _dest(store, "42")
    assert (row.origin, row.admin, row.admin_only, row.rules) == ("chat", True, False, ["a"])
    assert "ignored" not in caplog.text
    sync_destinations(store, _settings([], delivery={"console": "off"}))  # no longer an admin
    row = _dest(store, "42")
    assert (row.admin, row.enabled, row.rules) == (False, True, ["a"])


def _dest(store: Store, chat_id: str) -> DestinationRow:
    with store.transaction() as s:
        return s.scalars(select(DestinationRow).where(DestinationRow.chat_id == chat_id)).one()


def test_console_is_the_default_destination(store) -> None:
    sync_destinations(store, Settings())
    _enqueue(store, _group(_item("a")))
    assert set(_rows(store)) == {"stdout"}
    # once a chat is configured the console stops (auto), unless asked for
    sync_destinations(store, _settings([{"platform": "slack", "channel": "C1"}]))
    with store.transaction() as s:
        console = s.scalars(select(DestinationRow).where(DestinationRow.platform == "console"))
        assert not console.one().enabled
    sync_destinations(
        store,
        _settings([{"platform": "slack", "channel": "C1"}], delivery={"console": "on"}),
    )
    with store.transaction() as s:
        assert (
            s.scalars(select(DestinationRow).where(DestinationRow.platform == "console"))
            .one()
            .enabled
        )


# --- settings -----------------------------------------------------------------------------


def test_telegram_ids_may_be_numbers_and_are_stored_as_strings() -> None:
    s = _settings(
        [{"platform": "telegram", "chat_id": -1001234567890, "message_thread_id": 7}],
        admins={"telegram": [12345678], "slack": ["U0123ABC"]},
    )
    assert s.destinations[0].chat_id == "-1001234567890"
    assert s.destinations[0].message_thread_id == "7"
    assert s.admins.telegram == ("12345678",)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"platform": "slack", "channel": 123}, "must be a string"),
        ({"platform": "slack", "channel": "#general"}, "slack needs channel"),
        ({"platform": "telegram", "chat_id": 1.5}, "must be a string"),
        ({"platform": "telegram"}, "telegram needs chat_id"),
        ({"platform": "telegram", "chat_id": "-1", "channel": "C1"}, "not channel"),
        ({"platform": "slack", "channel": "C1", "message_thread_id": 3}, "only for telegram"),
        ({"platform": "telegram", "chat_id": "-1", "kinds": {"alert": "loud"}}, "kinds.alert"),
        ({"platform": "telegram", "chat_id": "-1", "colour": "red"}, "colour"),
    ],
)
def test_bad_destinations_are_named(tmp_path, entry, message) -> None:
    import yaml

    path = tmp_path / "rotation.yaml"
    path.write_text(yaml.safe_dump({"destinations": [entry]}))
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    assert "destinations.0" in str(err.value) and message in str(err.value)


def test_duplicate_destinations_are_rejected(tmp_path) -> None:
    path = tmp_path / "rotation.yaml"
    path.write_text(
        "destinations:\n"
        "  - {platform: telegram, chat_id: '-1'}\n"
        "  - {platform: telegram, chat_id: -1}\n"
    )
    with pytest.raises(ConfigError, match="destination 1 repeats destination 0"):
        load_settings(path)


def test_shipped_config_is_valid_and_documents_delivery() -> None:
    from pathlib import Path

    path = Path(__file__).resolve().parents[3] / "config" / "rotation.yaml"
    settings = load_settings(path)
    assert settings.delivery.max_age == timedelta(hours=24)
    text = path.read_text()
    for key in ("destinations:", "admins:", "delivery:", "max_age", "headroom", "per_group"):
        assert key in text
