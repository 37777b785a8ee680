"""Market commands at any date, and stale data named in the first line.

`snapshot|breadth|sectors [DATE]` and `sector NAME [DATE]` read the session on or before DATE
from the stored signal history; the header names the session used, and when the data ends
before the session asked for (or the one the bot runs at) it says where the data ends and how
many sessions stale it is. Stale counts are computed here with exchange_calendars directly.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import exchange_calendars as xcals
import pandas as pd
import pytest

from bot.alerts import market_state
from bot.alerts.market_state import LoadedMarket, MarketState, state_from_data
from bot.commands.context import ChatOptions, CommandContext
from bot.platforms.console.chat import CONSOLE_CALLER
from bot.render import format_change, format_value, render_reply
from bot.render.snapshot_text import format_snapshot
from bot.runtime.chat_console import run_chat
from signals.indicators import SignalHistory
from signals.market import MarketData
from signals.snapshot import build_snapshot
from tests.bot.commands_helpers import all_text, ask, context, row

if TYPE_CHECKING:
    from bot.model import Reply

DATA_END = pd.Timestamp("2026-07-31")  # a Friday
LATER = "2026-09-15"  # asked after the data's end (before the tests' clock, 2026-11-02)


def nyse_sessions_after(end: str | pd.Timestamp, until: str | pd.Timestamp) -> int:
    """NYSE sessions after `end` up to and including `until`, from exchange_calendars."""
    cal = xcals.get_calendar("XNYS", start="2000-01-03", end="2031-12-31")
    start = pd.Timestamp(end) + pd.Timedelta(days=1)
    return len(cal.sessions_in_range(start, pd.Timestamp(until)))


def first_line(reply: Reply) -> str:
    return render_reply(reply).split("\n", 1)[0]


@pytest.fixture(scope="module")
def state(demo_data: MarketData) -> MarketState:
    return state_from_data(demo_data)


@pytest.fixture(scope="module")
def short_state(demo_data: MarketData) -> MarketState:
    """The demo market with data to 2026-07-31 only."""
    return state_from_data(demo_data.up_to(DATA_END))


# --- any date ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "title"),
    [
        ("snapshot 2026-06-30", "Market snapshot · 2026-06-30"),
        ("breadth 2026-06-30", "Breadth · 2026-06-30"),
        ("sectors 2026-06-30", "Sectors vs tech · 2026-06-30"),
        ("sector XLF 2026-06-30", "XLF Financials · 2026-06-30"),
        ("sector health care 2026-06-30", "XLV Health Care · 2026-06-30"),
        # a Saturday: the Friday before
        ("snapshot 2026-10-03", "Market snapshot · 2026-10-02"),
        ("breadth 2026-10-03", "Breadth · 2026-10-02"),
        ("sectors 2026-10-03", "Sectors vs tech · 2026-10-02"),
        ("sector banks 2026-10-03", "XLF Financials · 2026-10-02"),
        # a holiday (Independence Day observed, Friday 2026-07-03): the Thursday before
        ("snapshot 2026-07-03", "Market snapshot · 2026-07-02"),
    ],
)
def test_a_date_names_the_session_used(state: MarketState, line: str, title: str) -> None:
    reply = ask(context(state), line)
    assert not reply.is_error, all_text(reply)
    assert first_line(reply).startswith(title + " [SIMULATED]")
    assert reply.as_of == date.fromisoformat(title[-10:])
    assert reply.command.endswith(line[-10:])  # refresh asks the same date again


def test_a_past_snapshot_equals_one_computed_on_data_cut_there(
    state: MarketState, demo_data: MarketData
) -> None:
    """The dated answer reads the stored history; signals are causal, so it must equal the
    answer of a state whose data ends on that session."""
    day = pd.Timestamp("2026-06-30")
    cut = state_from_data(demo_data.up_to(day))
    for command in ("snapshot", "breadth", "sectors", "sector XLE"):
        dated = ask(context(state), f"{command} {day.date()}")
        plain = ask(context(cut), command)
        assert dated.title == plain.title
        assert dated.table == plain.table
        assert dated.blocks == plain.blocks


def test_the_dated_numbers_are_the_history_at_that_session(state: MarketState) -> None:
    reply = ask(context(state), "breadth 2026-03-13")
    series = state.history.series("breadth_200d")
    pos = state.history.position("2026-03-13")
    assert row(reply, "200-day")[1:4] == (
        format_value(series.iloc[pos], "%"),
        format_change(series.iloc[pos] - series.iloc[pos - 5], "%"),
        format_change(series.iloc[pos] - series.iloc[pos - 21], "%"),
    )


def test_past_snapshots_come_from_the_history_once_per_state_and_session(
    state: MarketState, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_recompute(*a: object, **k: object) -> SignalHistory:
        raise AssertionError("signals recomputed for a question")

    calls: list[object] = []
    real = market_state.build_snapshot

    def counting(history: SignalHistory, data: MarketData, as_of: object = None) -> object:
        calls.append(as_of)
        return real(history, data, as_of)

    monkeypatch.setattr(market_state, "compute_signals", no_recompute)
    monkeypatch.setattr(market_state, "build_snapshot", counting)
    ctx = context(state)
    for line in ("snapshot 2025-05-14", "breadth 2025-05-14", "sectors 2025-05-16"):
        assert not ask(ctx, line).is_error
    assert len(calls) == 2  # 2025-05-14 once, 2025-05-16 once
    assert state.at(date(2025, 5, 17)) is state.at(date(2025, 5, 16))  # Saturday -> Friday
    assert state.at(state.snapshot.as_of) is state


def test_a_dated_chart_is_its_own(state: MarketState) -> None:
    ctx = context(state, charts=True)
    latest = ask(ctx, "breadth")
    past = ask(ctx, "breadth 2025-06-30")
    again = ask(ctx, "breadth 2025-06-30")
    assert latest.chart is not None and past.chart is not None and again.chart is not None
    assert past.chart.png != latest.chart.png
    assert again.chart.png is past.chart.png  # cached per state and session


def test_sector_with_only_a_date_offers_the_list_for_that_date(state: MarketState) -> None:
    reply = ask(context(state), "sector 2026-06-30")
    assert not reply.is_error
    assert any(b.command == "sector XLF 2026-06-30" for b in reply.buttons)
    sectors = ask(context(state), "sectors 2026-06-30")
    assert any(b.command == "sector XLK 2026-06-30" for b in sectors.buttons)


@pytest.mark.parametrize(
    ("line", "pieces"),
    [
        ("snapshot 2026-13-01", ["“2026-13-01” is not a date: use YYYY-MM-DD, e.g. snapshot "]),
        ("snapshot yesterday", ["“yesterday” is not a date", "e.g. snapshot 2026-10-30"]),
        ("breadth 30/06/2026", ["“30/06/2026” is not a date", "e.g. breadth 2026-10-30"]),
        ("sectors 2026-6-30", ["“2026-6-30” is not a date", "e.g. sectors 2026-10-30"]),
        ("sector XLF 2026-02-30", ["“2026-02-30” is not a date", "e.g. sector XLF 2026-10-30"]),
        ("sector 2026-02-30", ["“2026-02-30” is not a date"]),
        ("snapshot 1999-12-31", ["No data on or before 1999-12-31: the data starts 2019-12-0"]),
        ("snapshot 2031-01-02", ["2031-01-02 is in the future. E.g. snapshot 2026-10-30"]),
    ],
)
def test_a_bad_date_is_one_line_with_a_valid_example(
    state: MarketState, line: str, pieces: list[str]
) -> None:
    reply = ask(context(state), line)
    assert reply.is_error and len(reply.blocks) == 1 and "\n" not in reply.blocks[0]
    for piece in pieces:
        assert piece in reply.blocks[0]
    example = reply.blocks[0].rsplit("e.g. ", 1)[-1].rsplit("E.g. ", 1)[-1]
    assert not ask(context(state), example).is_error, example


def test_help_shows_the_date(state: MarketState) -> None:
    text = all_text(ask(context(state), "help"))
    usages = ("snapshot [DATE]", "breadth [WINDOW] [DATE]", "sectors [DATE]")
    usages += ("sector [NAME] [DATE]",)
    for usage in usages:
        assert usage in text
    assert "YYYY-MM-DD" in all_text(ask(context(state), "help snapshot"))


# --- stale data in the first line ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "title"),
    [
        (f"snapshot {LATER}", "Market snapshot"),
        (f"breadth {LATER}", "Breadth"),
        (f"sectors {LATER}", "Sectors vs tech"),
        (f"sector XLF {LATER}", "XLF Financials"),
    ],
)
def test_a_date_after_the_data_says_where_it_ends(
    short_state: MarketState, line: str, title: str
) -> None:
    n = nyse_sessions_after(DATA_END, LATER)
    reply = ask(context(short_state), line)
    head = first_line(reply)
    assert head == f"{title} · data to 2026-07-31, {n} sessions stale [SIMULATED]"
    assert LATER not in head  # never the asked date over older numbers
    assert reply.as_of == DATA_END.date()


def test_the_bot_running_past_the_data_says_so(demo_data: MarketData, default_rules: list) -> None:
    """`chat --as-of 2026-09-15` on data to 2026-07-31: every market answer's first line."""
    data = demo_data.up_to(DATA_END)
    running = state_from_data(data, pd.Timestamp(LATER))
    n = nyse_sessions_after(DATA_END, LATER)
    want = f"data to 2026-07-31, {n} sessions stale"
    for line in ("snapshot", "breadth", "sectors", "sector XLK", "chart RSP", "signals", "status"):
        head = first_line(ask(context(running, rules=tuple(default_rules)), line))
        assert want in head and LATER not in head, (line, head)
    one = state_from_data(data, pd.Timestamp("2026-08-03"))  # the next session
    assert first_line(ask(context(one), "snapshot")).startswith(
        "Market snapshot · data to 2026-07-31, 1 session stale"
    )
    # a fresh state, or a date within the data: the session alone
    assert first_line(ask(context(running), "snapshot 2026-07-30")).startswith(
        "Market snapshot · 2026-07-30 ["
    )


def test_evaluate_text_names_the_stale_data_first(demo_data: MarketData) -> None:
    data = demo_data.up_to(DATA_END)
    state = state_from_data(data, pd.Timestamp(LATER))
    n = nyse_sessions_after(DATA_END, LATER)
    head = format_snapshot(state.snapshot).split("\n", 1)[0]
    assert f"data to 2026-07-31, {n} sessions stale" in head
    fresh = format_snapshot(state_from_data(data).snapshot).split("\n", 1)[0]
    assert "as of 2026-07-31" in fresh and "stale" not in fresh


# --- the console --------------------------------------------------------------------------------


def test_console_from_a_pipe_has_no_banner_and_one_blank_line_between_answers(
    state: MarketState, tmp_path: Path
) -> None:
    ctx = context(state)
    out = io.StringIO()
    lines = ["snapshot 2026-06-30", "bogus", "breadth 2026-06-30", "", "sector XLF 2026-06-30"]
    code = run_chat(ctx.for_caller, io.StringIO("\n".join(lines) + "\n"), out)
    assert code == 0
    text = out.getvalue()
    assert text.startswith("Market snapshot · 2026-06-30")  # no banner, no prompt
    assert "\n\n\n" not in text and text.endswith("\n\n") and not text.endswith("\n\n\n")
    answers = text.removesuffix("\n\n").split("\n\n")
    heads = [a.split("\n", 1)[0] for a in answers if a.split("\n", 1)[0] != ""]
    assert heads[0].startswith("Market snapshot")
    assert sum(h.startswith("Sorry: ") for h in heads) == 1
    assert any(h.startswith("Breadth · 2026-06-30") for h in heads)
    assert any(h.startswith("XLF Financials · 2026-06-30") for h in heads)


# --- real data ------------------------------------------------------------------------------------

SHARED = Path(__file__).resolve().parents[3] / ".." / "shared" / "data"
CLOCK = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def real_state(real_data: MarketData, real_history: SignalHistory) -> MarketState:
    return MarketState(real_data, real_history, build_snapshot(real_history, real_data))


def console(state: MarketState, text: str) -> str:
    ctx = CommandContext(
        caller=CONSOLE_CALLER,
        state=lambda: state,
        options=ChatOptions(charts=False),
        clock=lambda: CLOCK,
    )
    out = io.StringIO()
    assert run_chat(ctx.for_caller, io.StringIO(text), out) == 0
    return out.getvalue()


def evaluate(as_of: str, capsys: pytest.CaptureFixture[str], *flags: str) -> str:
    """`rotation-bot evaluate --as-of AS_OF FLAGS` on the real files (as the fixture loads
    them); its stdout."""
    from bot.cli import main

    files = [("--prices", "sp500_members_daily.csv.gz"), ("--prices", "etfs_daily.csv.gz")]
    files += [("--members", "sp500_constituents.csv"), ("--shares", "sp500_shares.csv.gz")]
    argv = ["evaluate", "--as-of", as_of, *flags]
    for flag, name in files:
        argv += [flag, str(SHARED / name)]
    capsys.readouterr()
    assert main(argv) == 0
    return capsys.readouterr().out


@pytest.mark.realdata
def test_real_snapshot_at_a_date_equals_evaluate(
    real_state: MarketState, capsys: pytest.CaptureFixture[str]
) -> None:
    out = console(real_state, "snapshot 2025-09-30\n")
    assert out.startswith("Market snapshot · 2025-09-30\n")
    want = json.loads(evaluate("2025-09-30", capsys, "--json"))
    assert want["as_of"] == "2025-09-30"
    b = want["signals"]["breadth_200d"]
    line = next(x for x in out.splitlines() if x.startswith("Above 200-day avg"))
    assert line.split()[3:] == [
        format_value(b["value"], "%"),
        *format_change(b["change_1w"], "%").split(),
        *format_change(b["change_1m"], "%").split(),
    ]
    assert format_value(b["value"], "%") == "68.1%"


@pytest.mark.realdata
def test_real_snapshot_after_the_data_says_it_is_stale(
    real_state: MarketState, real_data: MarketData, real_history: SignalHistory
) -> None:
    n = nyse_sessions_after("2026-07-31", "2026-09-15")
    assert n == 31
    want = f"Market snapshot · data to 2026-07-31, {n} sessions stale"
    assert console(real_state, "snapshot 2026-09-15\n").split("\n", 1)[0] == want
    # the bot run at 2026-09-15 (`chat --as-of 2026-09-15`): plain `snapshot`
    running = LoadedMarket(real_data, real_history, pd.Timestamp("2026-09-15")).state()
    assert console(running, "snapshot\n").split("\n", 1)[0] == want


@pytest.mark.realdata
def test_real_evaluate_far_past_the_data_names_the_end_first(
    capsys: pytest.CaptureFixture[str],
) -> None:
    head = evaluate("2030-01-01", capsys).split("\n", 1)[0]
    n = nyse_sessions_after("2026-07-31", "2030-01-01")
    assert f"data to 2026-07-31, {n} sessions stale" in head
