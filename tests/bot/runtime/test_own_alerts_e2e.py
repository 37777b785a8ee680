"""Alerts of one's own, black-box on real prices (January 2026), the console way and through
the fake Telegram and Slack servers.

The data is the real panel cut to 2025-01 .. 2026-01 (a 200-session average needs only that
much), so each `run --once` is quick. Which sessions must fire is computed here: breadth from
the closes with a rolling window, and the crossing (confirm 2, clear = threshold) by
`tests.bot.own_helpers`, not by the bot's code.
"""

from __future__ import annotations

import asyncio
import io
import sys
from pathlib import Path

import pandas as pd
import pytest

from bot.alerts import build_market_state
from bot.cli import main
from bot.commands import Caller, ChatOptions, CommandContext, Dispatcher
from bot.config.delivery import DeliverySettings
from bot.platforms.telegram.chat import TelegramChat
from bot.storage import Store
from signals import calendar
from signals.sources import DataSpec
from tests.bot.own_helpers import breadth_200d, crossing_events
from tests.fakes.telegram_api import TEST_TOKEN, FakeTelegram, visible_text

SHARED = Path(__file__).resolve().parents[3] / ".." / "shared" / "data"
RULE = "alert breadth crosses above 70 confirm 2"
JANUARY = [d.date().isoformat() for d in calendar.sessions("2026-01-02", "2026-01-30")]


@pytest.fixture(scope="module")
def prices(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (SHARED / "sp500_members_daily.csv.gz").is_file():
        pytest.skip(f"real market data not found at {SHARED.resolve()}")
    frames = [
        pd.read_csv(SHARED / name, parse_dates=["date"])
        for name in ("sp500_members_daily.csv.gz", "etfs_daily.csv.gz")
    ]
    panel = pd.concat(frames)
    panel = panel[(panel["date"] >= "2025-01-01") & (panel["date"] <= "2026-01-31")]
    path = tmp_path_factory.mktemp("real") / "prices.csv"
    panel.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def want(prices: Path) -> list[tuple[str, str]]:
    """(transition, session) of the rule over January, the first run being its silent start."""
    long = pd.read_csv(prices, parse_dates=["date"])
    closes = long.pivot(index="date", columns="ticker", values="close").sort_index()
    members = pd.read_csv(SHARED / "sp500_constituents.csv")["ticker"].tolist()
    breadth = breadth_200d(closes, members).loc[JANUARY[0] : JANUARY[-1]]
    events = crossing_events(breadth.items(), 70.0, 2)
    assert [k for k, _ in events][:2] == ["fired", "resolved"]  # the check means something
    return [(k, d.isoformat()) for k, d in events]


def config(tmp_path: Path, prices: Path, extra: str = "") -> Path:
    path = tmp_path / "rotation.yaml"
    path.write_text(
        f"""\
data:
  source: files
  prices: ["{prices}"]
  members: "{SHARED / "sp500_constituents.csv"}"
database_url: sqlite:///{tmp_path / "bot.db"}
rules: []
health: {{enabled: false}}
delivery: {{console: "off", backoff_base: 0.05, timeout: 2.0, connect_timeout: 1.0}}
{extra}""",
        encoding="utf-8",
    )
    return path


def run_once(cfg: Path, day: str, capsys: pytest.CaptureFixture[str]) -> str:
    code = main(["run", "--once", "--config", str(cfg), "--as-of", day])
    out, err = capsys.readouterr()
    assert code == 0, err[-2000:]
    return out


def chat(cfg: Path, lines: str, capsys, monkeypatch) -> str:
    monkeypatch.setattr(sys, "stdin", io.StringIO(lines))
    url = f"sqlite:///{cfg.parent / 'bot.db'}"
    code = main(["chat", "--config", str(cfg), "--database", url, "--no-charts",
                 "--as-of", JANUARY[0]])  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0, err[-2000:]
    return out


def test_the_console_way(tmp_path, prices, want, capsys, monkeypatch, clean_env) -> None:
    cfg = config(tmp_path, prices)
    assert "Alert #1 set" in chat(cfg, RULE + "\n", capsys, monkeypatch)
    printed: list[tuple[str, str]] = []
    for day in JANUARY:
        out = run_once(cfg, day, capsys)
        for line in out.splitlines():
            if line.startswith(("[alert]", "[resolved]")):
                assert "your alert #1: breadth_200d crosses above 70 confirm 2" in line
                kind = "fired" if line.startswith("[alert]") else "resolved"
                printed.append((kind, day))
    assert printed == want
    assert run_once(cfg, JANUARY[-1], capsys) == ""  # a re-run prints nothing
    listed = chat(cfg, "alerts\nalert delete 1\nalerts\n", capsys, monkeypatch)
    assert "breadth_200d crosses above 70 confirm 2" in listed and "Alert #1 deleted" in listed


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("TELEGRAM_BOT_TOKEN", "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN",
                "SLACK_SIGNING_SECRET", "DATABASE_URL", "ROTATION_BOT_CONFIG"):  # fmt: skip
        monkeypatch.delenv(var, raising=False)


# --- the chats: Telegram through its real adapter, Slack through the command table ---------------

TELEGRAM_CHAT, USER = 4242, 7
CONFIGURED_TG, CONFIGURED_SLACK, OWN_SLACK = "-1001", "C0001", "C0042"


def _telegram_says(fake: FakeTelegram, chat: int | str) -> list[str]:
    out = []
    for rec in fake.delivered(chat):
        text, error = visible_text(rec.text or "", rec.params.get("parse_mode"))
        assert error is None, error
        out.append(text)
    return out


async def _telegram_chat(fake: FakeTelegram, store: Store, state, lines: list[str]) -> None:
    """Each line typed in the private chat, answered by the real adapter over the fake."""

    def context_for(caller: Caller) -> CommandContext:
        return CommandContext(caller=caller, state=lambda: state, store=store,
                              options=ChatOptions(charts=False))  # fmt: skip

    adapter = TelegramChat.create(TEST_TOKEN, context_for, DeliverySettings(timeout=3.0),
                                  base_url=fake.base_url, poll_timeout=1.0)  # fmt: skip
    await adapter.start()
    try:
        for i, line in enumerate(lines):
            before = len(fake.delivered(TELEGRAM_CHAT))
            fake.push_command(TELEGRAM_CHAT, USER, "/" + line)
            await fake.await_until(
                lambda n=before: len(fake.delivered(TELEGRAM_CHAT)) > n, 10.0, f"answer {i}"
            )
            await asyncio.sleep(1.05)  # the chat's cap: one message a second
    finally:
        await adapter.stop()


def test_telegram_and_slack_chats(tmp_path, prices, want, capsys, telegram_env, slack_env) -> None:
    extra = f"""destinations:
  - {{platform: telegram, chat_id: "{CONFIGURED_TG}"}}
  - {{platform: slack, channel: "{CONFIGURED_SLACK}"}}
"""
    cfg = config(tmp_path, prices, extra)
    store = Store(f"sqlite:///{tmp_path / 'bot.db'}")
    spec = DataSpec(source="files", prices=(prices,), members=SHARED / "sp500_constituents.csv")
    state = build_market_state(spec, as_of=pd.Timestamp(JANUARY[0]))
    asyncio.run(_telegram_chat(telegram_env, store, state, [RULE]))
    assert "Alert #1 set" in _telegram_says(telegram_env, TELEGRAM_CHAT)[-1]
    slack = Caller("slack", "U1", OWN_SLACK, "group", is_admin=True)
    ctx = CommandContext(caller=slack, state=lambda: state, store=store)
    reply = Dispatcher().dispatch_text(RULE, ctx)  # the same rule, in a Slack channel
    assert reply is not None and not reply.is_error
    first_fire = next(day for kind, day in want if kind == "fired")
    days = [d for d in JANUARY if d <= first_fire]
    before = len(_telegram_says(telegram_env, TELEGRAM_CHAT))
    for day in days:
        run_once(cfg, day, capsys)
    said = _telegram_says(telegram_env, TELEGRAM_CHAT)[before:]
    assert len(said) == 1 and "your alert #1: breadth_200d crosses above 70" in said[0]
    assert first_fire in said[0]
    in_slack = [r.text or "" for r in slack_env.delivered(OWN_SLACK)]
    assert len(in_slack) == 1 and "your alert #1: breadth_200d" in in_slack[0]
    assert first_fire in in_slack[0]
    sent = len(telegram_env.requests()) + len(slack_env.requests())
    run_once(cfg, days[-1], capsys)  # a re-run sends nothing
    assert len(telegram_env.requests()) + len(slack_env.requests()) == sent
    # each chat got its own rule's alert once; the configured destinations none
    mine = [r for fake in (telegram_env, slack_env) for r in fake.requests()
            if "your alert" in (r.text or "")]  # fmt: skip
    assert sorted(str(r.chat_id) for r in mine) == sorted([OWN_SLACK, str(TELEGRAM_CHAT)])
    asyncio.run(_telegram_chat(telegram_env, store, state, ["alerts", "alert delete 1"]))
    listing, deleted = _telegram_says(telegram_env, TELEGRAM_CHAT)[-2:]
    assert f"firing since {first_fire}" in listing
    assert "Alert #1 deleted" in deleted
    before = len(_telegram_says(telegram_env, TELEGRAM_CHAT))
    resolve = next(day for kind, day in want if kind == "resolved")
    for day in [d for d in JANUARY if first_fire < d <= resolve]:  # it would resolve: gone
        run_once(cfg, day, capsys)
    assert len(_telegram_says(telegram_env, TELEGRAM_CHAT)) == before
    store.close()
