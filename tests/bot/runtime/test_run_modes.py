"""The run modes end to end in-process: `run --once` against the fake Telegram and Slack
servers (exit codes, exactly-once across re-runs), the demo replay, and check-config."""

from __future__ import annotations

import asyncio
import textwrap
from datetime import timedelta
from pathlib import Path

import pandas as pd
from sqlalchemy import update

from bot.cli import main
from bot.config.settings import Settings, load_settings
from bot.delivery.destinations import sync_destinations
from bot.runtime.run_modes import EXIT_DEAD_LETTERS, EXIT_OK, run_demo, run_once
from bot.storage.store import Store
from bot.storage.tables import DeliveryRow
from tests.bot.outbox_helpers import enqueue
from tests.fakes.slack_api import FakeSlack
from tests.fakes.telegram_api import FakeTelegram

CONFIG = """\
data: {{source: demo, demo_end: "2026-10-30"}}
database_url: sqlite:///{db}
destinations:
  - {{platform: telegram, chat_id: "-1001"}}
  - {{platform: telegram, chat_id: "42"}}
  - {{platform: slack, channel: "C0001"}}
delivery:
  backoff_base: 0.05
  backoff_max: 0.2
  timeout: 1.0
  connect_timeout: 1.0
"""


def _config(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "rotation.yaml"
    base = CONFIG.format(db=tmp_path / "bot.db")
    rules = (Path(__file__).resolve().parents[3] / "config" / "rotation.yaml").read_text()
    rules = rules[rules.index("\nrules:") :]
    path.write_text(base + textwrap.dedent(extra) + rules, encoding="utf-8")
    return path


def _messages(fake, chat_id: str) -> list:
    return [r for r in fake.delivered(chat_id)]


# two sessions of the demo (seed 7, ending 2026-10-30) with alerts between them
D1, D2 = pd.Timestamp("2026-06-01"), pd.Timestamp("2026-07-16")


def test_run_once_delivers_each_alert_once(tmp_path, telegram_env, slack_env):
    settings = load_settings(_config(tmp_path))
    # first start: silent
    assert asyncio.run(run_once(settings, as_of=D1)) == EXIT_OK
    assert telegram_env.delivered() == [] and slack_env.delivered() == []
    # the next run catches up to D2: alerts fire and reach every destination once
    assert asyncio.run(run_once(settings, as_of=D2)) == EXIT_OK
    group, private = _messages(telegram_env, "-1001"), _messages(telegram_env, "42")
    slack = _messages(slack_env, "C0001")
    assert len(group) >= 1 and len(private) == len(group) and len(slack) >= 1
    assert "SIMULATED" in group[0].text and "as of 2026-07-16" in group[0].text
    # running it again sends nothing twice
    assert asyncio.run(run_once(settings, as_of=D2)) == EXIT_OK
    assert len(_messages(telegram_env, "-1001")) == len(group)
    assert len(_messages(slack_env, "C0001")) == len(slack)


def test_run_once_exit_2_when_a_delivery_stays_failed(tmp_path, telegram_env, slack_env):
    settings = load_settings(_config(tmp_path))
    assert asyncio.run(run_once(settings, as_of=D1)) == EXIT_OK
    telegram_env.inject("server_error", chat_id="42")  # always 500 for this chat
    code = asyncio.run(run_once(settings, as_of=D2, max_age=1.5))
    assert code == EXIT_DEAD_LETTERS
    # the healthy destinations got it anyway
    assert _messages(telegram_env, "-1001") and _messages(slack_env, "C0001")
    assert _messages(telegram_env, "42") == []


def _queue_for_every_destination(settings: Settings) -> Store:
    """The config's destinations synced and one alert group queued for each."""
    store = Store(settings.database_url)
    sync_destinations(store, settings)
    enqueue(store, "run:earlier")
    return store


def test_run_once_exit_0_when_another_run_still_holds_the_rows(
    tmp_path: Path, telegram_env: FakeTelegram, slack_env: FakeSlack
) -> None:
    """Another `run --once` claimed the rows (and will deliver them): they are pending for
    this run, never dead letters, so this one exits 0."""
    settings = load_settings(_config(tmp_path))
    store = _queue_for_every_destination(settings)
    held = store.claim_deliveries("another-run", limit=10, lease=timedelta(minutes=5))
    assert len(held) == 3
    try:
        assert asyncio.run(run_once(settings, as_of=D1, max_age=0.5)) == EXIT_OK
        assert store.queue_counts().sending == 3 and telegram_env.delivered() == []
    finally:
        store.close()


def test_run_once_exit_2_while_dead_letters_from_an_earlier_run_remain(
    tmp_path: Path, telegram_env: FakeTelegram, slack_env: FakeSlack
) -> None:
    settings = load_settings(_config(tmp_path))
    store = _queue_for_every_destination(settings)
    try:
        with store.transaction() as s:
            s.execute(update(DeliveryRow).values(status="dead", last_error="500 boom"))
        assert asyncio.run(run_once(settings, as_of=D1)) == EXIT_DEAD_LETTERS
    finally:
        store.close()


def test_dead_letters_are_listed_retried_or_dropped_and_run_once_exits_0_again(
    tmp_path: Path, telegram_env: FakeTelegram, slack_env: FakeSlack, capsys
) -> None:
    """The operator's way out of exit 2: `dead-letters` lists them, `--retry` sends them on
    the next run, `--drop` gives them up; either way `run --once` exits 0 again."""
    config = _config(tmp_path)
    settings = load_settings(config)
    store = _queue_for_every_destination(settings)
    try:
        with store.transaction() as s:
            s.execute(update(DeliveryRow).values(status="dead", last_error="500\nboom"))
        rows = store.queue_counts().dead
        assert rows >= 2
        capsys.readouterr()
        assert main(["dead-letters", "--config", str(config)]) == 0
        listed = capsys.readouterr()
        assert len(listed.out.splitlines()) == rows and "500 boom" in listed.out
        assert f"{rows} dead letter(s)" in listed.err
        first = int(listed.out.split("\t", 1)[0])
        assert main(["dead-letters", "--config", str(config), "--drop", "--id", str(first)]) == 0
        assert capsys.readouterr().out.strip() == "1 dead letter(s) dropped"
        assert main(["dead-letters", "--config", str(config), "--retry"]) == 0
        assert capsys.readouterr().out.strip() == f"{rows - 1} dead letter(s) pending again"
        assert store.queue_counts().dead == 0
        assert asyncio.run(run_once(settings, as_of=D1)) == EXIT_OK
        assert store.queue_counts().dead == 0 and store.queue_counts().pending == 0
        assert telegram_env.delivered() or slack_env.delivered()  # the retried ones went out
    finally:
        store.close()


def test_run_once_stale_data_is_reported_not_an_error(tmp_path, telegram_env, slack_env):
    settings = load_settings(_config(tmp_path))
    assert asyncio.run(run_once(settings, as_of=pd.Timestamp("2026-10-30"))) == EXIT_OK
    # an as-of two weeks past the data: stale, nothing fires, still exit 0
    assert asyncio.run(run_once(settings, as_of=pd.Timestamp("2026-11-13"))) == EXIT_OK
    assert telegram_env.delivered() == []


def test_demo_replay_prints_alerts_and_a_snapshot(capsys) -> None:
    settings = load_settings(None, {"data.demo_end": "2026-10-30"})
    code = asyncio.run(
        run_demo(settings, start=pd.Timestamp("2025-01-02"), end=pd.Timestamp("2026-10-30"))
    )
    out = capsys.readouterr().out
    assert code == EXIT_OK
    assert "SIMULATED" in out.splitlines()[0]
    alerts = [line for line in out.splitlines() if line.startswith("[alert]")]
    resolved = [line for line in out.splitlines() if line.startswith("[resolved]")]
    assert len(alerts) >= 5 and resolved
    assert "as of 2026-10-30" in out and "breadth_200d" in out  # the final snapshot


def test_cli_demo_rejects_an_empty_period(capsys) -> None:
    code = main(["demo", "--from", "2026-10-30", "--to", "2026-10-01"])
    assert code == 1
    assert "--from 2026-10-30 is after --to 2026-10-01" in capsys.readouterr().err
    # a weekend holds no session
    assert main(["demo", "--from", "2026-10-03", "--to", "2026-10-04"]) == 1
    assert "no sessions" in capsys.readouterr().err


def test_check_config_warns_about_missing_tokens(tmp_path, capsys, monkeypatch) -> None:
    for var in ("TELEGRAM_BOT_TOKEN", "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-secret-value-123")
    assert main(["check-config", str(_config(tmp_path))]) == 0
    out = capsys.readouterr().out
    assert "configuration is valid" in out
    assert "warning: destination telegram -1001" in out
    assert "slack_bot_token set" in out and "xoxb-secret-value-123" not in out


def test_check_config_names_the_bad_field_and_line(tmp_path, capsys) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("data:\n  source: demo\nguard:\n  min_coverage: lots\n", encoding="utf-8")
    assert main(["check-config", str(path)]) == 1
    err = capsys.readouterr().err
    assert "guard.min_coverage" in err and f"{path}:4" in err
