"""`python -m bot.runtime.delivery_main --once` exits as `run --once` does: 2 exactly when the
database
holds dead letters at the end; rows another worker still holds are not a failure."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import update

from bot.config.settings import load_settings
from bot.delivery.destinations import sync_destinations
from bot.runtime.delivery_main import main
from bot.storage.store import Store
from bot.storage.tables import DeliveryRow
from tests.bot.outbox_helpers import enqueue


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    """Two Telegram destinations with one queued message each; no tokens set."""
    config = tmp_path / "rotation.yaml"
    chats = [{"platform": "telegram", "chat_id": c} for c in ("-1", "-2")]
    config.write_text(yaml.safe_dump({"destinations": chats}), encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    for var in ("TELEGRAM_BOT_TOKEN", "SLACK_BOT_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("ROTATION_BOT_CONFIG", str(config))
    monkeypatch.setenv("DATABASE_URL", url)
    s = Store(url)
    sync_destinations(s, load_settings(config))
    assert enqueue(s, "run:1") == 2
    yield s
    s.close()


def test_rows_another_worker_holds_exit_0(store: Store) -> None:
    assert len(store.claim_deliveries("other", lease=timedelta(minutes=5))) == 2
    assert main(["--once", "--max-age", "0.5"]) == 0


def test_dead_letters_in_the_database_exit_2(store: Store) -> None:
    with store.transaction() as s:
        s.execute(update(DeliveryRow).values(status="dead", last_error="500 boom"))
    assert main(["--once", "--max-age", "0.5"]) == 2


@pytest.mark.parametrize("age", ["-1", "0", "inf", "nan", "soon"])
def test_a_nonsense_max_age_is_refused(age: str) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--once", "--max-age", age])
    assert info.value.code == 2  # argparse's usage error
