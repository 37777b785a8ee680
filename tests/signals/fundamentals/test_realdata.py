"""The energy FCF yield on the real S&P 500 caps (../shared/data) as the signal history
carries them, with made-up company facts: the caps side checked against the snapshot file."""

from __future__ import annotations

import pandas as pd
import pytest

from signals.indicators import compute_signals
from signals.sources.fundamentals import company_ttm, fcf_yield, member_caps
from tests.signals.fundamentals.facts_data import full_company

pytestmark = pytest.mark.realdata

DAY = pd.Timestamp("2026-06-01")  # a session with a cap snapshot of that day


def test_energy_fcf_yield_on_the_real_caps(real_frames):
    data = real_frames.market(since="2025-06-02")
    history = compute_signals(data)
    energy = data.universe.sector_tickers("Energy")
    company_of = dict(zip(energy, data.universe.company_of(energy), strict=True))
    caps = member_caps(history.company_caps, company_of, energy)
    companies = {t: company_ttm(t, 1000 + i, full_company(1000 + i)) for i, t in enumerate(energy)}

    got = fcf_yield(caps, companies)
    value, covered = got.at(DAY)

    # independently: the snapshot file's caps of that day (cap_t = cap_s when s = t)
    snap = real_frames.caps[real_frames.caps["date"] == DAY].set_index("ticker")["market_cap"]
    priced = real_frames.closes.loc[DAY]
    have = [t for t in energy if t in snap.index and pd.notna(snap[t]) and pd.notna(priced.get(t))]
    fcf = (55_022 - 24_306) * 1e6  # FY2024 TTM of every made-up company
    assert len(energy) >= 20 and covered == len(have) >= 15
    assert value == pytest.approx(100 * fcf * len(have) / snap[have].sum(), rel=1e-9)
    assert got.companies == len(energy)
