"""Smoke tests of the benchmark tooling on a tiny panel (no timing assertions).

The baselines are only worth comparing against if they compute the same 200-day breadth as
`compute_signals`, so both are checked against its ``above`` / ``used`` details, and against a
plain per-ticker numpy loop written here, on a 50-member x 300-session simulated panel.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from benchmarks import signals as bench
from benchmarks.baselines import floor_breadth, member_closes, naive_breadth
from benchmarks.measure import measure
from benchmarks.synthetic import synthetic_market
from signals import calendar
from signals.indicators import compute_signals
from signals.market import ETF_TICKERS, SECTOR_ETFS, MarketData

N_MEMBERS, N_SESSIONS = 50, 300


@pytest.fixture(scope="module")
def small() -> MarketData:
    return synthetic_market(N_MEMBERS, N_SESSIONS, seed=3)


def per_ticker_breadth(closes: np.ndarray, n: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """(above, used) per session by the definition, one ticker and one session at a time."""
    t_count, m = closes.shape
    above, used = np.zeros(t_count, np.int64), np.zeros(t_count, np.int64)
    for j in range(m):
        for t in range(n - 1, t_count):
            window = closes[t - n + 1 : t + 1, j]
            if not np.isnan(window).any():
                used[t] += 1
                above[t] += closes[t, j] > window.mean()
    return above, used


def test_synthetic_panel_has_the_shapes_real_data_has(small: MarketData) -> None:
    closes = small.closes
    assert closes.shape == (N_SESSIONS, N_MEMBERS + len(ETF_TICKERS))
    assert closes.index.equals(calendar.sessions(closes.index[0], closes.index[-1]))
    assert closes.to_numpy().flags.f_contiguous  # the files source's layout
    members = member_closes(small).to_numpy()
    first_close = np.argmax(~np.isnan(members), axis=0)
    assert (first_close > 0).sum() >= N_MEMBERS // 10  # late starters
    inner = np.isnan(members) & (np.arange(N_SESSIONS)[:, None] > first_close[None, :])
    assert inner.any()  # NaN gaps after a member's start
    assert not closes[list(ETF_TICKERS)].isna().any().any()  # every ETF, complete
    table = small.universe.table
    assert set(table["sector"]) <= set(SECTOR_ETFS.values())
    assert table["company"].duplicated().any()  # a share-class pair
    caps = small.caps
    assert caps is not None and (caps["market_cap"] > 0).all()
    months = pd.DatetimeIndex(caps["date"].unique()).to_period("M")
    assert months.is_unique and len(months) >= 13


def test_floor_and_naive_loop_equal_the_signals_breadth(small: MarketData) -> None:
    frame = compute_signals(small).frame("breadth_200d")
    closes = member_closes(small)
    expected_above, expected_used = per_ticker_breadth(closes.to_numpy())
    assert expected_used[-1] > 0 and 0 < expected_above[-1] < expected_used[-1]
    for above, used in (floor_breadth(closes.to_numpy()), naive_breadth(closes)):
        np.testing.assert_array_equal(used, expected_used)
        np.testing.assert_array_equal(above, expected_above)
    np.testing.assert_array_equal(frame["above"].fillna(0).to_numpy(), expected_above)
    np.testing.assert_array_equal(frame["used"].fillna(0).to_numpy(), expected_used)


def test_floor_with_fewer_sessions_than_the_window_counts_nothing() -> None:
    above, used = floor_breadth(np.ones((10, 3)), n=200)
    assert not above.any() and not used.any()


def test_measure_reports_the_best_call_and_a_traced_peak() -> None:
    m = measure(lambda: np.ones(1_000_000), repeat=2)
    assert len(m.times) == 2 and m.best == min(m.times) and m.first == m.times[0]
    assert m.traced_peak >= 8_000_000  # the array's buffer is traced
    assert m.rss_peak > 0


def test_worker_prints_one_json_line_per_case(capsys: pytest.CaptureFixture[str]) -> None:
    for case in bench.CASES:
        bench.run_worker("synthetic", case, 1, N_MEMBERS, N_SESSIONS)
        out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        assert out["case"] == case and out["members"] == N_MEMBERS and out["best"] > 0


def fake(best: float, rss_peak: int) -> dict[str, object]:
    return {"best": best, "rss_peak": rss_peak, "rss_growth": rss_peak // 2}


def test_verdicts_apply_the_issue_targets() -> None:
    gb = 1024 * 1024 * 1024
    ok = {"all": fake(1.0, gb - 1), "floor": fake(0.4, 0), "naive": fake(5.0, 0)}
    assert all(v.passed for v in bench.verdicts("x", ok))
    slow = {"all": fake(1.6, gb), "floor": fake(0.5, 0), "naive": fake(5.0, 0)}
    failed = [v.text for v in bench.verdicts("x", slow) if not v.passed]
    assert len(failed) == 3  # 3.2 x the floor, 1.6 s, 1 GB (the naive ratio has no target)
