"""top10 and valuation: the ten with their weights, the share, the cap coverage line and the
warning line; P/E with source and date or the reason there is none. Hand-built details for
the warning rule, the demo market for the commands, and the real data (through the console
chat) checked against an independent pandas computation on the raw CSV files."""

from __future__ import annotations

import io
import re
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from bot.alerts.market_state import MarketState, state_from_data
from bot.render import cap_lines, cap_warning, caps_line, partial_caps_notes
from bot.runtime.chat_console import run_chat
from signals.market import MarketData
from tests.bot.commands_helpers import all_text, ask, context
from tests.bot.platforms.chat_helpers import Holder

SHARED = Path(__file__).resolve().parents[3] / ".." / "shared" / "data"


# --- the coverage line and the warning line, on hand-built details ------------------------


def details(used: int, companies: int, oldest: str | None) -> dict:
    return {
        "caps_used": used,
        "member_companies": companies,
        "cap_coverage": used / companies,
        "oldest_cap_snapshot": oldest,
    }


def test_caps_line_names_counts_coverage_and_oldest_snapshot() -> None:
    line = caps_line(details(463, 500, "2025-09-29"))
    assert line == "caps: 463 of 500 companies (92.6%), oldest cap snapshot 2025-09-29"


@pytest.mark.parametrize(
    ("used", "oldest", "warned", "pieces"),
    [
        (450, "2025-09-01", False, []),  # 90.0 %: not below 0.9
        (449, "2025-09-01", True, ["only 89.8% of companies have a cap"]),
        (463, "2024-09-30", False, []),  # 365 days: not over a year
        (463, "2024-09-29", True, ["(2024-09-29) is 366 days old"]),
        (355, "2013-11-03", True, ["only 71.0%", "(2013-11-03) is"]),
    ],
)
def test_warning_when_coverage_under_90_percent_or_snapshot_over_a_year_old(
    used: int, oldest: str, warned: bool, pieces: list[str]
) -> None:
    d = details(used, 500, oldest)
    warning = cap_warning(d, date(2025, 9, 30))
    assert (warning is not None) == warned
    lines = cap_lines(d, date(2025, 9, 30))
    assert len(lines) == 1 + warned and lines[0].startswith("caps: ")
    for piece in pieces:
        assert warning is not None and piece in warning and "\n" not in warning


def test_mega7_snapshot_age_is_measured_on_its_base_session() -> None:
    d = details(480, 500, "2024-12-20") | {"cap_base_session": "2024-12-31"}
    assert cap_warning(d, date(2025, 12, 30)) is None  # 11 days old on the weights' day
    d["oldest_cap_snapshot"] = "2023-12-29"
    assert "(2023-12-29) is 368 days old" in (cap_warning(d, date(2025, 12, 30)) or "")


def test_no_caps_at_all_is_said_and_warned() -> None:
    d = {"caps_used": 0, "member_companies": 12, "cap_coverage": 0.0, "oldest_cap_snapshot": None}
    assert caps_line(d) == "caps: none of 12 companies have a market cap"
    assert "only 0.0%" in (cap_warning(d, date(2025, 1, 2)) or "")


def test_snapshot_notes_only_figures_on_partial_caps() -> None:
    class R:
        def __init__(self, d: dict) -> None:
            self.details = d

    signals = {
        "top10_share": R(details(400, 500, "2025-09-01")),
        "mega7_contribution": R(details(480, 500, "2025-09-01")),
    }
    notes = partial_caps_notes(signals, date(2025, 9, 30))
    assert len(notes) == 1 and notes[0].startswith("Top-10 share: caps: 400 of 500")


# --- the commands on the demo market ---------------------------------------------------------


@pytest.fixture(scope="module")
def state(demo_data: MarketData) -> MarketState:
    return state_from_data(demo_data)


def test_top10_on_the_demo(state: MarketState) -> None:
    reply = ask(context(state), "top10")
    snap = state.snapshot.signals["top10_share"]
    text = all_text(reply)
    assert reply.title.startswith("Top-10 share · ") and not reply.is_error
    assert f"{snap.value:.2f} %" in text
    assert reply.table is not None and len(reply.table.rows) == 10
    top = snap.details["companies"]
    assert [r[1] for r in reply.table.rows] == [c["company"] for c in top]
    assert reply.table.rows[0][2] == f"{top[0]['weight']:.2f} %"
    d = snap.details
    assert f"caps: {d['caps_used']} of {d['member_companies']} companies" in text
    # the aliases reach the same answer
    assert all_text(ask(context(state), "concentration")) == text


def test_top10_with_a_date_names_the_session_used(state: MarketState) -> None:
    day = pd.Timestamp(state.history.sessions[-30])
    saturday = day + pd.offsets.Week(weekday=5)  # the next Saturday: its Friday is used
    friday = saturday - pd.Timedelta(days=1)
    if friday not in state.history.sessions:
        pytest.skip("that Friday is a holiday")
    reply = ask(context(state), f"top10 {saturday.date()}")
    assert reply.title == f"Top-10 share · {friday.date()}"
    want = state.history.frames["top10_share"]["value"].loc[friday]
    assert f"{want:.2f} %" in all_text(reply)


@pytest.mark.parametrize("line", ["top10 2025-02-30", "top10 yesterday", "top10 2025-01-02 x"])
def test_top10_bad_arguments_are_one_line_with_a_valid_example(
    state: MarketState, line: str
) -> None:
    reply = ask(context(state), line)
    assert reply.is_error
    message = reply.blocks[0]
    assert "\n" not in message and re.search(r"e\.g\. top10 \d{4}-\d{2}-\d{2}", message)


def test_valuation_on_the_demo_shows_pe_with_source_and_date(state: MarketState) -> None:
    reply = ask(context(state), "valuation")
    d = state.snapshot.signals["valuation"].details
    text = all_text(reply)
    assert reply.title.startswith("Valuation · ") and reply.table is not None
    spy = reply.table.rows[0]
    assert spy[0] == "S&P 500 (SPY)" and spy[1] == f"{d['spy_trailing_pe']:.2f}"
    assert reply.table.rows[1][2] == f"{d['iwm_forward_pe']:.2f}"
    vals = state.data.valuations
    assert vals is not None
    last = vals[vals["ticker"] == "SPY"]["date"].max().date().isoformat()
    assert spy[3] == last
    assert "Source: simulated demo data" in text


def test_valuation_without_snapshots_says_why_in_one_line(demo_data: MarketData) -> None:
    from dataclasses import replace

    bare = state_from_data(replace(demo_data, valuations=None, fundamentals=None))
    reply = ask(context(bare), "valuation")
    assert reply.table is None and not reply.is_error
    assert reply.blocks[0].startswith("No P/E on or before ") and "\n" not in reply.blocks[0]


def test_snapshot_shows_mega7_and_valuation_rows(state: MarketState) -> None:
    reply = ask(context(state), "snapshot")
    assert reply.table is not None
    labels = [r[0] for r in reply.table.rows]
    assert "Mega-7 share of YTD" in labels and "P/E gap SPY−IWM" in labels


# --- the real data, through the console chat ---------------------------------------------


_CLASS = re.compile(r"\s*\((?:class|series)\s+[a-z0-9]+\)\s*$", re.IGNORECASE)


def independent_top10(day: str) -> dict:
    """The top ten on `day` from the raw CSV files with pandas: cap_t = cap_s x close_t /
    close_s, s = the latest snapshot on or before t with a cap, close_s = the last close on
    or before s; one cap per company (the larger class); no close on t, no cap."""
    t = pd.Timestamp(day)
    members = pd.read_csv(SHARED / "sp500_constituents.csv", dtype=str, keep_default_na=False)
    company = {
        tk: (_CLASS.sub("", n).strip() or tk)
        for tk, n in zip(members["ticker"], members["name"], strict=True)
    }
    prices = pd.read_csv(SHARED / "sp500_members_daily.csv.gz", parse_dates=["date"])
    prices = prices[prices["ticker"].isin(company) & (prices["date"] <= t)]
    shares = pd.read_csv(SHARED / "sp500_shares.csv.gz", parse_dates=["date"])
    cap = shares["market_cap"].where(
        shares["market_cap"].notna(), shares["price"] * shares["shares"]
    )
    shares = shares.assign(cap=cap)
    shares = shares[shares["ticker"].isin(company) & (shares["cap"] > 0)]
    shares = shares[shares["date"].dt.normalize() <= t]
    rows = []
    for ticker, snaps in shares.groupby("ticker"):
        closes = prices[prices["ticker"] == ticker].set_index("date")["close"].dropna()
        if t not in closes.index:
            continue
        for s, c in sorted(zip(snaps["date"], snaps["cap"], strict=True), reverse=True):
            before = closes.loc[: s.normalize()]
            if len(before):  # the latest snapshot with a close on or before it
                cap_t = c * closes.loc[t] / before.iloc[-1]
                rows.append((company[ticker], cap_t, s.normalize()))
                break
    frame = pd.DataFrame(rows, columns=["company", "cap", "snapshot"])
    by_company = frame.groupby("company")["cap"].max()
    top = by_company.nlargest(10)
    return {
        "share": 100.0 * top.sum() / by_company.sum(),
        "top": [(c, 100.0 * v / by_company.sum()) for c, v in top.items()],
        "used": len(by_company),
        "companies": len(set(company.values())),
        "oldest": frame["snapshot"].min().date().isoformat(),
    }


@pytest.fixture(scope="module")
def real_state(real_data: MarketData) -> MarketState:
    return state_from_data(real_data)


@pytest.mark.realdata
def test_console_top10_on_real_data_matches_an_independent_computation(
    real_state: MarketState, tmp_path: Path
) -> None:
    want = independent_top10("2025-09-30")
    assert round(want["share"], 2) == 40.81 and want["used"] == 463
    holder = Holder(real_state, charts=False)
    out = io.StringIO()
    assert (
        run_chat(holder.context_for, io.StringIO("top10 2025-09-30\n"), out, charts_dir=tmp_path)
        == 0
    )
    text = out.getvalue()
    assert text.startswith("Top-10 share · 2025-09-30")
    assert f"{want['share']:.2f} %" in text and "40.81 %" in text
    for rank, (company, weight) in enumerate(want["top"], start=1):
        assert re.search(rf"^\s*{rank}\s+{re.escape(company)}\s+{weight:.2f} %$", text, re.M), (
            company
        )
    assert f"caps: 463 of {want['companies']} companies" in text
    assert f"oldest cap snapshot {want['oldest']}" in text
    # that snapshot is years old: the warning line says so
    assert "Warning: partial caps" in text and f"({want['oldest']}) is" in text


@pytest.mark.realdata
def test_real_data_partial_caps_in_2024_are_warned(real_state: MarketState) -> None:
    want = independent_top10("2024-10-09")
    reply = ask(context(real_state), "top10 2024-10-09")
    text = all_text(reply)
    assert f"{want['share']:.2f} %" in text
    assert f"caps: {want['used']} of {want['companies']} companies" in text
    assert "only 71.0% of companies have a cap" in text
    assert "Meta Platforms" not in text


@pytest.mark.realdata
def test_real_data_valuation_says_there_is_none(real_state: MarketState) -> None:
    reply = ask(context(real_state), "valuation")
    assert len(reply.blocks[0].splitlines()) == 1 and "no valuation snapshots" in reply.blocks[0]
    assert reply.table is None


@pytest.mark.realdata
def test_real_data_text_snapshot_and_json_carry_the_cap_coverage(real_state: MarketState) -> None:
    from bot.render import format_snapshot

    snap = real_state.at(date(2025, 9, 30)).snapshot
    text = format_snapshot(snap)
    assert "Top-10 share: caps: 463 of 500 companies" in text
    assert "Mega-7 share: caps: " in text and "[mega7_contribution]" in text
    top = snap.to_json()["signals"]["top10_share"]
    assert top["caps_used"] == 463 and top["member_companies"] == 500
    assert top["cap_coverage"] == pytest.approx(0.926)
    assert top["companies_used"] == 463 and len(top["companies"]) == 10  # unchanged keys
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", top["oldest_cap_snapshot"])
    mega = snap.to_json()["signals"]["mega7_contribution"]
    assert {"pp", "index_ytd", "cap_coverage", "caps_used", "oldest_cap_snapshot"} <= set(mega)
