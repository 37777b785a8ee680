"""`check-config` says how many processes the database allows."""

from __future__ import annotations

import pytest

from bot.cli import main


@pytest.mark.parametrize(
    ("url", "mode"),
    [
        ("sqlite:///./rotation-bot.db", "mode: single process (SQLite: one `rotation-bot run`"),
        ("postgresql://bot:pw@db.example:5432/rotation", "mode: replicas (PostgreSQL: several"),
    ],
)
def test_check_config_prints_the_mode(
    url: str, mode: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", url)
    for var in ("TELEGRAM_BOT_TOKEN", "SLACK_BOT_TOKEN", "ROTATION_BOT_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    assert main(["check-config"]) == 0
    out = capsys.readouterr().out
    (line,) = [x for x in out.splitlines() if x.startswith("mode: ")]
    assert line.startswith(mode), line
    assert "pw" not in out  # the password stays hidden
