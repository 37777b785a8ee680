"""Forward returns and base rates, checked against hand-computed numbers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from signals.forward_returns import at_sessions, forward_return_panel, summarize


@pytest.fixture()
def closes() -> pd.DataFrame:
    idx = pd.date_range("2024-01-01", periods=6, freq="D", name="date")
    return pd.DataFrame(
        {"SPY": [100, 110, 99, 121, 100, 90], "RSP": [10, 10, 10, 10, 10, np.nan]},
        index=idx,
        dtype=float,
    )


def test_forward_returns_by_hand(closes: pd.DataFrame) -> None:
    panel = forward_return_panel(closes, ("SPY", "RSP", "IWM"), (1, 2))
    spy1 = panel[("SPY", 1)]
    assert spy1.iloc[0] == pytest.approx(10.0)  # 110/100 - 1
    assert spy1.iloc[1] == pytest.approx(-10.0)  # 99/110 - 1
    assert math.isnan(spy1.iloc[-1])  # nothing after the last session
    assert panel[("SPY", 2)].iloc[1] == pytest.approx(10.0)  # 121/110 - 1
    assert math.isnan(panel[("RSP", 1)].iloc[4])  # NaN close ahead
    assert panel[("IWM", 1)].isna().all()  # unknown ticker: all missing, not an error


def test_at_sessions_gives_none_not_nan(closes: pd.DataFrame) -> None:
    panel = forward_return_panel(closes, ("SPY",), (2,))
    rows = at_sessions(panel, [closes.index[0], closes.index[5]])
    assert rows[0]["SPY_2"] == pytest.approx(-1.0)  # 99/100 - 1
    assert rows[1]["SPY_2"] is None


def test_summary_events_beside_base_rate(closes: pd.DataFrame) -> None:
    panel = forward_return_panel(closes, ("SPY",), (1,))
    out = summarize(panel, [closes.index[0], closes.index[2]], closes.index[0], closes.index[-1])
    ev, base = out["SPY_1"]["events"], out["SPY_1"]["base_rate"]
    # events: +10 % and 121/99-1 = +22.2 %
    assert ev["n"] == 2 and ev["share_positive"] == 1.0
    assert ev["median"] == pytest.approx((10.0 + (121 / 99 - 1) * 100) / 2)
    # base: 5 known returns: +10, -10, +22.2, -17.4, -10 -> 2 of 5 positive, median -10
    assert base["n"] == 5 and base["share_positive"] == pytest.approx(0.4)
    assert base["median"] == pytest.approx(-10.0)


def test_summary_without_events(closes: pd.DataFrame) -> None:
    out = summarize(
        forward_return_panel(closes, ("SPY",), (1,)), [], closes.index[0], closes.index[-1]
    )
    assert out["SPY_1"]["events"] == {"n": 0, "median": None, "share_positive": None}
