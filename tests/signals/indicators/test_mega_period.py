"""The Mega-7 over any period: on calendar years it is `mega7_contribution` itself; on other
periods the same arithmetic from another base; the cap coverage on the base session."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from signals.indicators import compute_signals
from signals.indicators.caps import year_bases
from signals.indicators.mega_period import CapBases
from signals.market import MarketData
from signals.sources.demo import DemoSource


@pytest.fixture(scope="module")
def demo() -> MarketData:
    return DemoSource(seed=11).load(None, pd.Timestamp("2026-06-30"))


def test_calendar_years_equal_the_mega7_signal(demo):
    history = compute_signals(demo)
    bases = CapBases.build(demo, history.sessions)
    frame = history.frame("mega7_contribution")
    sessions = history.sessions
    years = sessions.year.to_numpy()
    checked = 0
    for base in year_bases(sessions):
        # every session of the year, as the signal has it (year to date)
        stop = int(np.searchsorted(years, years[base + 1], side="right"))
        for end in range(base + 1, stop, 37):
            m = bases.mega_seven(int(base), end, history.params.mega7_min_pp)
            row = frame.iloc[end]
            assert m.index_return == pytest.approx(row["index_ytd"], rel=1e-12, abs=1e-12)
            assert m.seven_pp == pytest.approx(row["pp"], rel=1e-12, abs=1e-12)
            if np.isnan(row["value"]):
                assert m.share is None
            else:
                assert m.share == pytest.approx(row["value"], rel=1e-12)
            checked += 1
    assert checked > 30


def test_parts_add_up_and_weights_are_cap_weights(demo):
    history = compute_signals(demo)
    bases = CapBases.build(demo, history.sessions)
    base = history.sessions.get_loc(pd.Timestamp("2025-06-30"))
    end = history.sessions.get_loc(pd.Timestamp("2025-09-30"))
    m = bases.mega_seven(base, end)
    assert [p.ticker for p in m.parts] == ["AAPL", "MSFT", "NVDA", "AMZN", m.parts[4].ticker,
                                          "META", "TSLA"]  # fmt: skip
    assert m.parts[4].ticker in ("GOOGL", "GOOG")  # Alphabet once
    assert m.seven_pp == pytest.approx(sum(p.contribution for p in m.parts))
    for p in m.parts:
        assert p.contribution == pytest.approx(p.weight * p.ret / 100.0)
    # weights: company caps on the base over all company caps there
    caps = history.company_caps.iloc[base].dropna()
    assert m.companies_with_cap == len(caps)
    for p in m.parts:
        assert p.weight == pytest.approx(100.0 * caps[p.company] / caps.sum())
    assert m.share == pytest.approx(100.0 * m.seven_pp / m.index_return)
    assert m.member_companies >= m.companies_with_cap
    assert m.oldest_snapshot is not None and m.oldest_snapshot <= m.base


def test_no_caps_on_the_base_means_no_parts(demo):
    history = compute_signals(demo)
    bases = CapBases.build(demo, history.sessions)
    m = bases.mega_seven(0, 10)  # before any cap snapshot? then nothing is weighed
    if m.companies_with_cap == 0:
        assert m.share is None and all(p.weight is None for p in m.parts)
    no_caps = CapBases.build(
        MarketData(demo.closes, demo.universe, caps=None, source="demo"), history.sessions
    )
    m = no_caps.mega_seven(100, 200)
    assert m.companies_with_cap == 0 and m.index_return is None and len(m.parts) == 7
