"""return, compare and mega7 on the demo market: the numbers equal plain arithmetic on the
closes (and the mega7 signal on calendar years), the sessions are named, errors are one line."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
import pytest

from bot.commands import COMMANDS, menu
from bot.commands.table import WARM_COMMANDS
from bot.render.numbers import format_percent, format_return_pct, format_spread_pp
from signals.market import MarketData
from tests.bot.commands_helpers import all_text, ask, context, load_state, row

if TYPE_CHECKING:
    from bot.alerts.market_state import MarketState


@pytest.fixture(scope="module")
def state(demo_data: MarketData) -> MarketState:
    return load_state(demo_data)  # type: ignore[return-value]


@pytest.fixture(scope="module")
def closes(state: MarketState) -> pd.DataFrame:
    return state.data.closes.loc[: state.as_of]


def period_ret(closes: pd.DataFrame, ticker: str, first: str, last: str) -> float:
    """Close on the last session <= last over the close on the last session < first."""
    s = closes[ticker].dropna()
    return 100.0 * (s[s.index <= last].iloc[-1] / s[s.index < first].iloc[-1] - 1.0)


def test_formatters_print_signed_two_decimals():
    assert format_return_pct(12.6576) == "+12.66 %"
    assert format_return_pct(-0.004) == "0.00 %"
    assert format_return_pct(None) == "—"
    assert format_spread_pp(-1.5649) == "-1.56 pp"
    assert format_spread_pp(1.72) == "+1.72 pp"
    assert format_percent(42.981) == "42.98 %"


def test_return_of_one_ticker_over_a_year(state, closes):
    reply = ask(context(state), "return IWM 2025")
    assert not reply.is_error, reply
    want = period_ret(closes, "IWM", "2025-01-01", "2025-12-31")
    assert row(reply, "IWM") == ("IWM", format_return_pct(want), "2024-12-31", "2025-12-31")
    assert "2024-12-31 → 2025-12-31" in reply.title and "2025" in reply.title
    assert reply.command == "return IWM 2025"


@pytest.mark.parametrize(
    ("period", "first", "last"),
    [
        ("2025q2", "2025-04-01", "2025-06-30"),
        ("2025-11", "2025-11-01", "2025-11-30"),
        ("2025-03-03..2025-06-30", "2025-03-03", "2025-06-30"),
        ("ytd", "2026-01-01", "2026-10-30"),
        ("qtd", "2026-10-01", "2026-10-30"),
        ("mtd", "2026-10-01", "2026-10-30"),
    ],
)
def test_return_of_several_tickers_over_calendar_periods(state, closes, period, first, last):
    reply = ask(context(state), f"return iwm spy rsp {period}")
    assert not reply.is_error, reply
    for t in ("IWM", "SPY", "RSP"):
        assert row(reply, t)[1] == format_return_pct(period_ret(closes, t, first, last))


@pytest.mark.parametrize(("period", "k"), [("1w", 5), ("1m", 21), ("3m", 63), ("1y", 252)])
def test_lookbacks_count_sessions(state, closes, period, k):
    reply = ask(context(state), f"return XLF {period}")
    s = closes["XLF"]
    want = 100.0 * (s.iloc[-1] / s.iloc[-1 - k] - 1.0)
    assert row(reply, "XLF")[1] == format_return_pct(want)
    assert row(reply, "XLF")[2] == str(s.index[-1 - k].date())


def test_the_default_period_is_ytd(state):
    assert ask(context(state), "return IWM").table == ask(context(state), "return IWM ytd").table


def test_a_period_past_the_data_is_cut_and_the_answer_says_so(state, closes):
    reply = ask(context(state), "return SPY 2026")
    assert not reply.is_error
    assert "2026 runs past the data: cut at 2026-10-30." in reply.blocks
    want = period_ret(closes, "SPY", "2026-01-01", "2026-12-31")
    assert row(reply, "SPY")[1] == format_return_pct(want)


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("return SPY 2027", "2027 starts after the data, which ends 2026-10-30"),
        ("return SPY 2001", "2001 ends before the data"),
        ("return SPY 2025-13", "2025-13 is not a month"),
        ("return SPY 2025-09-30", "2025-09-30 is a date, not a period"),
        ("return SPY 10y", "10y needs 2520 sessions"),
        ("compare SPY 2025", "Name two tickers, e.g. compare RSP SPY 2025-11"),
        ("compare SPY SPY", "Name two tickers"),
        ("mega7 2025q7", "2025q7 is not a period. E.g. mega7 2025"),
        ("return 2025", "Name a ticker, e.g. return IWM 2025"),
    ],
)
def test_bad_periods_and_arguments_are_one_line_with_an_example(state, line, says):
    reply = ask(context(state), line)
    assert reply.is_error
    text = " ".join(reply.blocks)
    assert says in text and "\n" not in text, text
    assert "E.g." in text or "e.g." in text


def test_an_unknown_ticker_is_named_with_the_closest(state):
    reply = ask(context(state), "return IWMM 2025")
    assert reply.is_error and len(reply.blocks) == 1
    assert reply.blocks[0].startswith("Unknown ticker “IWMM”. Closest: IWM")
    assert reply.buttons[0].command == "return IWM"


def test_sector_words_and_share_class_spelling_work(state):
    reply = ask(context(state), "return banks 1m")
    assert row(reply, "XLF")


def test_compare_is_the_spread_in_pp(state, closes):
    reply = ask(context(state), "compare RSP vs SPY 2025-11")
    assert not reply.is_error, reply
    a = period_ret(closes, "RSP", "2025-11-01", "2025-11-30")
    b = period_ret(closes, "SPY", "2025-11-01", "2025-11-30")
    assert f"RSP vs SPY: {format_spread_pp(a - b)}" in reply.blocks[0]
    assert "2025-10-31 → 2025-11-28" in reply.title


def test_compare_max_starts_where_both_have_closes(state, closes):
    reply = ask(context(state), "compare IWM SPY max")
    first = max(closes["IWM"].first_valid_index(), closes["SPY"].first_valid_index())
    assert row(reply, "IWM")[2] == row(reply, "SPY")[2] == str(first.date())


def test_mega7_over_a_calendar_year_is_the_mega7_signal(state):
    reply = ask(context(state), "mega7 2025")
    assert not reply.is_error, reply
    signal = state.history.frame("mega7_contribution").loc["2025-12-31"]
    text = all_text(reply)
    assert format_percent(signal["value"]) in reply.blocks[0]
    assert format_return_pct(signal["index_ytd"]) in reply.blocks[0]
    assert format_spread_pp(signal["pp"]) in reply.blocks[0]
    assert [r[1] for r in reply.table.rows][:4] == ["AAPL", "MSFT", "NVDA", "AMZN"]
    assert len(reply.table.rows) == 7
    assert "caps: " in text and " companies (" in text and "oldest cap snapshot " in text
    assert "2024-12-31 → 2025-12-31" in reply.title


def test_mega7_contributions_add_up(state):
    reply = ask(context(state), "mega7 6m")
    assert not reply.is_error
    contrib = sum(float(r[4].removesuffix(" pp")) for r in reply.table.rows)
    pp = float(reply.blocks[0].split("The seven: ")[1].split(" pp")[0])
    assert contrib == pytest.approx(pp, abs=0.04)


def test_the_commands_are_in_the_table_help_and_menu(state):
    names = {c.name for c in COMMANDS}
    assert {"return", "compare", "mega7"} <= names
    assert {"return", "compare", "mega7"} <= {n for n, _ in menu()}
    help_text = all_text(ask(context(state), "help"))
    for usage in ("return TICKER... [PERIOD]", "compare A B [PERIOD]", "mega7 [PERIOD]"):
        assert usage in help_text
    assert "2025q4" in all_text(ask(context(state), "help return"))
    assert "mega7" in WARM_COMMANDS


def test_answers_reuse_what_one_state_computed(state):
    ctx = context(state)
    ask(ctx, "return IWM 2025")
    size = len(ctx.cache)
    for line in ("return SPY 1y", "compare RSP SPY ytd", "mega7 2025", "mega7 ytd"):
        ask(ctx, line)
    assert len(ctx.cache) == size  # one entry per state, whatever the question


def test_a_stale_answer_says_where_the_data_ends_in_its_first_line(demo_data):
    from bot.alerts.market_state import state_from_data

    stale = state_from_data(demo_data, pd.Timestamp("2026-11-20"))
    assert stale.snapshot.freshness.stale_sessions > 0
    for line in ("return IWM ytd", "compare RSP SPY 1m", "mega7 ytd"):
        reply = ask(context(stale), line)
        assert not reply.is_error, reply
        assert "data to 2026-10-30" in reply.title, reply.title
        assert "→ 2026-10-30" in reply.title
