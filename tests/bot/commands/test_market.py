"""Market commands against the demo market: numbers equal the snapshot's and independent
computations from the closes, formatted as the tables show them."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pytest

from bot.commands.context import ChatOptions
from bot.commands.sector_names import SECTORS
from bot.model.reply import MAX_BUTTON_COMMAND_BYTES, MAX_ECHO
from bot.render import format_value
from signals.market import SECTOR_ETFS, MarketData
from tests.bot.commands_helpers import (
    all_text,
    ask,
    context,
    load_state,
    pct,
    pp,
    pp_change,
    ret_pct,
    row,
    sector_breadth,
    signed_pct,
    vol_pct,
)

if TYPE_CHECKING:
    from bot.alerts.market_state import MarketState


@pytest.fixture(scope="module")
def state(demo_data: MarketData) -> MarketState:
    return load_state(demo_data)  # type: ignore[return-value]


@pytest.fixture(scope="module")
def closes(state: MarketState) -> pd.DataFrame:
    return state.data.closes.loc[: state.as_of]


# --- snapshot ---------------------------------------------------------------------------------


def test_snapshot_rows_are_the_snapshots_numbers(state: MarketState) -> None:
    reply = ask(context(state), "snapshot")
    assert not reply.is_error
    snap = state.snapshot
    for sid, label, unit in [
        ("breadth_200d", "Above 200-day avg", "%"),
        ("breadth_50d", "Above 50-day avg", "%"),
        ("ew_vs_cw", "Equal vs cap wt, 3m", "pp"),
        ("smallcap_rs", "Small caps vs SPY, 3m", "pp"),
        ("top10_share", "Top-10 share of cap", "%"),
    ]:
        r = snap.signals[sid]
        assert row(reply, label) == (
            label,
            format_value(r.value, unit),
            pp_change(r.change_1w),
            pp_change(r.change_1m),
        )
    regime = snap.signals["rotation_regime"]
    assert row(reply, "Broadening (of 4)")[1] == f"{regime.value:.0f}"
    label = regime.details["label"]
    assert any(b.startswith(f"Regime: {label}") for b in reply.blocks)
    for reason in regime.details["reasons"]:
        assert f"• {reason}" in all_text(reply)


def test_snapshot_numbers_match_the_closes(state: MarketState, closes: pd.DataFrame) -> None:
    """Independent of the signal code: 63-session returns straight from the closes."""
    reply = ask(context(state), "snapshot")
    ew = ret_pct(closes, "RSP", 63) - ret_pct(closes, "SPY", 63)
    assert row(reply, "Equal vs cap wt, 3m")[1] == pp(ew)

    def iwm_qqq(pos: int) -> float:
        return ret_pct(closes, "IWM", 63, pos) - ret_pct(closes, "QQQ", 63, pos)

    now, week, month = iwm_qqq(-1), iwm_qqq(-6), iwm_qqq(-22)
    assert row(reply, "Small caps vs QQQ, 3m") == (
        "Small caps vs QQQ, 3m",
        pp(now),
        pp_change(now - week),
        pp_change(now - month),
    )


def test_snapshot_says_when_simulated_and_how_fresh(state: MarketState) -> None:
    reply = ask(context(state), "/snapshot")
    assert reply.simulated and reply.as_of == state.as_of.date()
    assert str(state.as_of.date()) in reply.title
    text = all_text(reply)
    assert "SIMULATED" in text and "Data: last session" in text and "source demo" in text
    assert [(b.kind, b.command) for b in reply.buttons] == [("refresh", "snapshot")]
    assert reply.command == "snapshot"


def test_a_real_market_is_not_labelled_simulated(state: MarketState) -> None:
    snap = replace(state.snapshot, simulated=False, source="files")
    real = replace(state, snapshot=snap)
    reply = ask(context(real), "snapshot")
    assert not reply.simulated and "SIMULATED" not in all_text(reply)


def test_snapshot_chart_is_cached_per_state(state: MarketState) -> None:
    ctx = context(state, charts=True)
    first = ask(ctx, "snapshot")
    assert first.chart is not None and first.chart.png[:4] == b"\x89PNG"
    assert first.chart.alt
    again = ask(ctx, "snapshot")
    assert again.chart is not None and again.chart.png is first.chart.png
    refreshed = replace(state, snapshot=replace(state.snapshot))  # a new state object
    other = ask(replace(ctx, state=lambda: refreshed), "snapshot")
    assert other.chart is not None and other.chart.png is not first.chart.png


def test_market_commands_wait_for_the_first_state() -> None:
    for text in ("snapshot", "breadth", "sectors", "sector XLF", "chart RSP"):
        reply = ask(context(None), text)
        assert reply.is_error and "still loading" in reply.blocks[0], text


# --- breadth ----------------------------------------------------------------------------------


def test_breadth_counts_match_the_closes(state: MarketState, closes: pd.DataFrame) -> None:
    reply = ask(context(state), "breadth")
    members = list(state.data.universe.table.index)
    for n, label in ((200, "200-day"), (50, "50-day")):
        window = closes[[m for m in members if m in closes.columns]].iloc[-n:]
        used = window.notna().all()
        w = window.loc[:, used]
        above = int((w.iloc[-1] > w.mean()).sum())
        r = state.snapshot.signals[f"breadth_{n}d"]
        assert row(reply, label) == (
            label,
            pct(100.0 * above / int(used.sum())),
            pp_change(r.change_1w),
            pp_change(r.change_1m),
            f"{above}/{int(used.sum())}",
        )


# --- sector -----------------------------------------------------------------------------------


def test_sector_numbers_match_the_closes(state: MarketState, closes: pd.DataFrame) -> None:
    reply = ask(context(state), "sector XLF")
    assert reply.title.startswith("XLF Financials")
    assert reply.table is not None and reply.table.header == ("", "XLF", "vs XLK", "vs SPY")
    for label, k in (("1 m return", 21), ("3 m return", 63), ("12 m return", 252)):
        own = ret_pct(closes, "XLF", k)
        assert row(reply, label) == (
            label,
            signed_pct(own),
            pp(own - ret_pct(closes, "XLK", k)),
            pp(own - ret_pct(closes, "SPY", k)),
        )
    vol = vol_pct(closes, "XLF")
    assert row(reply, "Volatility 12 m") == (
        "Volatility 12 m",
        pct(vol),
        pp(vol - vol_pct(closes, "XLK")),
        pp(vol - vol_pct(closes, "SPY")),
    )
    fin = state.data.universe.sector_tickers("Financials")
    breadth = sector_breadth(closes, fin)
    assert f"Members above their 200-day average: {pct(breadth)} of {len(fin)} members." in (
        reply.blocks
    )
    assert reply.buttons[-1].command == "sector XLF"


@pytest.mark.parametrize("name", ["banks", "financials", "Financials", "xlf", "/sector XLF"])
def test_sector_names_give_the_same_answer(state: MarketState, name: str) -> None:
    expected = ask(context(state), "sector XLF")
    text = name if name.startswith("/") else f"sector {name}"
    assert ask(context(state), text) == expected


def test_health_care_in_two_words(state: MarketState) -> None:
    assert ask(context(state), "sector health care").title.startswith("XLV Health Care")


def test_small_caps_have_no_member_breadth(state: MarketState) -> None:
    reply = ask(context(state), "sector small caps")
    assert reply.title.startswith("IWM")
    assert any("not computed for IWM" in b for b in reply.blocks)


def test_sector_without_a_name_offers_a_picker(state: MarketState) -> None:
    reply = ask(context(state), "sector")
    assert not reply.is_error
    assert [b.command for b in reply.buttons] == [f"sector {e}" for e in SECTORS]
    assert all(b.kind == "choice" for b in reply.buttons)
    assert all(len(b.command.encode()) <= MAX_BUTTON_COMMAND_BYTES for b in reply.buttons)


def test_unknown_sector_suggests_three(state: MarketState) -> None:
    reply = ask(context(state), "sector fnancials")
    assert reply.is_error
    assert "Unknown sector “fnancials”" in reply.blocks[0]
    assert [b.command for b in reply.buttons][0] == "sector XLF"
    assert len(reply.buttons) == 3


def test_unknown_sector_echo_is_bounded_and_carried_unescaped(state: MarketState) -> None:
    reply = ask(context(state), "sector <b>" + "x" * 5000)
    assert reply.is_error
    assert "x" * (MAX_ECHO + 1) not in all_text(reply)
    assert "“<b>xxx" in reply.blocks[0]  # markup is the renderer's to escape
    emoji = ask(context(state), "sector 🚀 *bold* <!channel>")
    assert "“🚀 *bold* <!channel>”" in emoji.blocks[0]


# --- sectors ----------------------------------------------------------------------------------


def test_sectors_are_ranked_by_three_month_return_vs_xlk(
    state: MarketState, closes: pd.DataFrame
) -> None:
    reply = ask(context(state), "sectors")
    assert reply.table is not None and len(reply.table.rows) == 13
    spread = {e: ret_pct(closes, e, 63) - ret_pct(closes, "XLK", 63) for e in SECTORS}
    order = sorted(spread, key=lambda e: -spread[e])
    assert [r[1] for r in reply.table.rows] == order
    for rank, r in enumerate(reply.table.rows, start=1):
        etf = r[1]
        assert r[0] == str(rank)
        assert r[3] == pp(0.0 if etf == "XLK" else spread[etf])
    breadth = {r[1]: r[5] for r in reply.table.rows}
    for etf, sector in SECTOR_ETFS.items():
        members = state.data.universe.sector_tickers(sector)
        assert breadth[etf] == pct(sector_breadth(closes, members))
    assert breadth["IWM"] == breadth["VBR"] == "—"
    # a sector's own reply agrees with the ranking
    xlf = ask(context(state), "sector XLF")
    rank = [r[1] for r in reply.table.rows].index("XLF") + 1
    assert f"rank {rank} of 13" in " ".join(xlf.blocks)


def test_sectors_chart(state: MarketState) -> None:
    reply = ask(context(state, charts=True), "sectors")
    assert reply.chart is not None and reply.chart.png[:4] == b"\x89PNG"
    assert reply.chart.filename == "sectors.png"


# --- chart ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["chart RSP vs SPY", "chart rsp spy", "chart RSP/SPY", "chart RSP / SPY", "ratio rsp vs spy"],
)
def test_chart_forms(state: MarketState, closes: pd.DataFrame, text: str) -> None:
    reply = ask(context(state), text)
    assert not reply.is_error, reply
    assert reply.title.startswith("RSP/SPY")
    ratio = closes["RSP"].iloc[-252:] / closes["SPY"].iloc[-252:]
    r_all = 100 * (ratio.iloc[-1] / ratio.iloc[0] - 1)
    first, last = ratio.index[0].date(), ratio.index[-1].date()
    assert reply.blocks[0] == f"RSP/SPY: {signed_pct(r_all)} over 1 year ({first} to {last})."


def test_chart_one_symbol_is_its_price_and_sector_words_work(state: MarketState) -> None:
    assert ask(context(state), "chart IWM").title.startswith("IWM ·")
    assert ask(context(state), "chart banks").title.startswith("XLF ·")
    assert ask(context(state), "chart SPY").title.startswith("SPY ·")


def test_chart_renders_a_png(state: MarketState) -> None:
    reply = ask(context(state, charts=True), "chart RSP vs SPY")
    assert reply.chart is not None and reply.chart.png[:4] == b"\x89PNG"
    assert "RSP/SPY" in reply.chart.alt


def test_unknown_ticker_is_a_clear_error_with_suggestions(state: MarketState) -> None:
    reply = ask(context(state), "chart RPS vs SPY")
    assert reply.is_error and reply.blocks[0].startswith("Unknown ticker or signal “RPS”.")
    assert "RSP" in reply.blocks[0]
    assert all(b.command.startswith("chart ") for b in reply.buttons)
    long = ask(context(state), "chart " + "Q" * 5000)
    assert long.is_error and "Q" * (MAX_ECHO + 1) not in all_text(long)


def test_chart_argument_errors(state: MarketState) -> None:
    assert "different tickers" in ask(context(state), "chart SPY vs SPY").blocks[0]
    assert ask(context(state), "chart vs").is_error
    assert ask(context(state), "chart A B C").is_error


def test_chart_of_a_ticker_without_prices(state: MarketState) -> None:
    closes = state.data.closes.copy()
    closes["EMPTY"] = np.nan
    data = replace(state.data, closes=closes)
    reply = ask(context(replace(state, data=data)), "chart EMPTY")
    assert reply.is_error and "No prices for EMPTY" in reply.blocks[0]


def test_charts_can_be_switched_off(state: MarketState) -> None:
    ctx = replace(context(state), options=ChatOptions(charts=False))
    for text in ("snapshot", "breadth", "sectors", "sector XLF", "chart RSP"):
        reply = ask(ctx, text)
        assert not reply.is_error and reply.chart is None, text
