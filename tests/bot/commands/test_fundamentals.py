"""sector financials / sector energy / valuation show the fundamentals, through the dispatcher.

The figures the answers show are recomputed here from the demo's raw observations and cap
snapshots with plain pandas (the observation in force = the latest published on or before
the session; a cap carried by the close from its snapshot; a company once, at its largest
class cap), not through the signal code the commands read.
"""

from __future__ import annotations

import re
from dataclasses import replace

import pandas as pd
import pytest

from bot.alerts.market_state import MarketState, state_from_data
from signals.market import MarketData
from signals.sources.fundamentals import Fundamentals, Observation
from tests.bot.commands_helpers import all_text, ask, context, row

T = pd.Timestamp


@pytest.fixture(scope="module")
def state(demo_data: MarketData) -> MarketState:
    return state_from_data(demo_data)


def in_force(observations, session: pd.Timestamp) -> Observation | None:
    """The latest observation published on or before `session` (later period end on ties)."""
    seen = [o for o in observations if o.published <= session]
    if not seen:
        return None
    return max(seen, key=lambda o: (o.published, o.period_end))


def caps_on(data: MarketData, session: pd.Timestamp) -> pd.Series:
    """ticker -> cap on `session`: the latest snapshot's cap x close_t / close_s."""
    snaps = data.caps[data.caps["date"] <= session]
    last = snaps.sort_values("date").groupby("ticker").last()
    closes = data.closes.loc[:session]
    out = {}
    for ticker, snap in last.iterrows():
        close_s = closes.loc[: snap["date"], ticker].dropna().iloc[-1]
        out[ticker] = snap["market_cap"] * closes[ticker].iloc[-1] / close_s
    return pd.Series(out)


def bottom_up(data: MarketData, session: pd.Timestamp, sector: str | None, measures):
    """(sum of the figure, sum of caps, covered, member companies) over the sector's companies
    (all members when None) with a cap and every measure in force."""
    table = data.universe.table
    if sector is not None:
        table = table[table["sector"] == sector]
    caps = caps_on(data, session)
    companies = data.fundamentals.companies
    figure = cap_sum = 0.0
    covered = 0
    for _, group in table.groupby("company"):
        tickers = list(group.index)
        cap = max((caps.get(t, float("nan")) for t in tickers), default=float("nan"))
        facts = next((companies[t] for t in tickers if t in companies), None)
        if facts is None or pd.isna(cap):
            continue
        values = [in_force(facts.ttm.get(m, ()), session) for m in measures]
        if any(v is None for v in values):
            continue
        covered += 1
        cap_sum += cap
        figure += values[0].value - (values[1].value if len(values) > 1 else 0.0)
    return figure, cap_sum, covered, table["company"].nunique()


def test_sector_financials_shows_the_margin_with_its_quarter_and_publication(state) -> None:
    session = T(state.snapshot.as_of)
    o = in_force(state.data.fundamentals.series["bank_nim"], session)
    assert o is not None
    quarter = f"{o.period_end.year} Q{o.period_end.quarter}"
    text = all_text(ask(context(state), "sector financials"))
    expected = (
        f"Bank net interest margin: {o.value:.2f} % ({quarter}, "
        f"published {o.published.date().isoformat()}; simulated)."
    )
    assert expected in text
    assert 3.0 <= o.value <= 3.4


def test_sector_energy_shows_the_fcf_yield_with_members_covered(state) -> None:
    session = T(state.snapshot.as_of)
    fcf, caps, covered, members = bottom_up(state.data, session, "Energy", ("ocf", "capex"))
    value = 100 * fcf / caps
    text = all_text(ask(context(state), "sector energy"))
    assert f"Energy FCF yield: {value:.2f} %, {covered} of {members} Energy members" in text
    # the demo has an Energy member without capex: the partial coverage is said
    assert covered < members
    assert f"Partial: {members - covered} of the {members} members left out" in text
    assert "XLF" not in text and "net interest margin" not in text


def test_valuation_shows_the_bottom_up_pe_beside_the_etf_pes(state) -> None:
    session = T(state.snapshot.as_of)
    income, caps, covered, _ = bottom_up(state.data, session, None, ("net_income",))
    members = state.data.universe.table["company"].nunique()
    reply = ask(context(state), "valuation")
    pe_row = row(reply, "S&P 500 bottom-up")
    assert pe_row[1] == f"{caps / income:.2f}" and pe_row[2] == "—"
    assert 18 <= caps / income <= 28
    assert row(reply, "S&P 500 (SPY)")[1] != "—"  # the ETF P/Es stay
    text = all_text(reply)
    assert f"net income of {covered} of {members} members" in text
    assert re.search(r"latest filing \d{4}-\d\d-\d\d; simulated", text)
    assert f"Partial: {members - covered} of the {members} members left out" in text


def test_valuation_without_etf_pes_still_shows_the_bottom_up_figure(demo_data) -> None:
    bare = state_from_data(replace(demo_data, valuations=None))
    reply = ask(context(bare), "valuation")
    assert reply.table is not None and [r[0] for r in reply.table.rows] == ["S&P 500 bottom-up"]
    assert reply.blocks[0].startswith("No ETF P/E on or before ")


def test_without_fundamentals_each_answer_says_why_in_one_line(demo_data) -> None:
    bare = state_from_data(replace(demo_data, fundamentals=None))
    ctx = context(bare)
    fin = [b for b in ask(ctx, "sector financials").blocks if "interest margin" in b]
    assert len(fin) == 1 and "none published on or before" in fin[0] and "\n" not in fin[0]
    energy = [b for b in ask(ctx, "sector energy").blocks if "FCF yield" in b]
    assert len(energy) == 1 and "data.sec_user_agent" in energy[0]
    val = all_text(ask(ctx, "valuation"))
    assert "Bottom-up trailing P/E: none (no company earnings" in val


def test_an_old_publication_is_flagged(demo_data) -> None:
    old = Observation("bank_nim", 3.1, "%", "file", T("2024-12-31"), T("2025-03-01"))
    data = replace(demo_data, fundamentals=Fundamentals({"bank_nim": [old]}))
    text = all_text(ask(context(state_from_data(data)), "sector financials"))
    assert (
        "Bank net interest margin: 3.10 % (2024 Q4, published 2025-03-01; fundamentals file)"
        in (text)
    )
    days = (T(data.closes.index[-1]) - T("2025-03-01")).days
    assert f"Warning: the newest margin was published {days} days before this session." in text
