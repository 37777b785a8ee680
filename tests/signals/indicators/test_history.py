"""Hand-computed panels for every signal of signals/indicators (docs/signals.md).

Each expected number is worked out in a comment next to its assertion; short windows
(SignalParams) keep the panels small enough to check by hand.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from signals import calendar
from signals.indicators import SignalHistory, SignalParams, compute_signals
from signals.indicators.breadth import RTOL
from signals.market import SECTOR_SIGNAL_ETFS, MarketData
from signals.universe import Universe

NAN = float("nan")


def sessions(start: str, n: int) -> pd.DatetimeIndex:
    days = calendar.sessions(start, pd.Timestamp(start) + pd.Timedelta(days=3 * n + 10))
    return days[:n]


def universe(rows: dict[str, tuple[str, str]], membership: pd.DataFrame | None = None) -> Universe:
    """rows: ticker -> (sector, company)."""
    table = pd.DataFrame(
        {
            "name": [c for _, c in rows.values()],
            "sector": [s for s, _ in rows.values()],
            "company": [c for _, c in rows.values()],
        },
        index=pd.Index(list(rows), name="ticker"),
    )
    return Universe(table=table, membership=membership)


def market(
    closes: dict[str, list[float]],
    start: str = "2024-03-04",
    members: dict[str, tuple[str, str]] | None = None,
    caps: list[tuple[str, str, float]] | None = None,
    membership: pd.DataFrame | None = None,
    valuations: pd.DataFrame | None = None,
) -> MarketData:
    n = len(next(iter(closes.values())))
    frame = pd.DataFrame(closes, index=sessions(start, n), dtype=np.float64)
    if members is None:
        members = {t: ("Industrials", t) for t in closes}
    cap_frame = None
    if caps is not None:
        cap_frame = pd.DataFrame(caps, columns=["date", "ticker", "market_cap"])
        cap_frame["date"] = pd.to_datetime(cap_frame["date"])
    return MarketData(
        closes=frame,
        universe=universe(members, membership),
        caps=cap_frame,
        valuations=valuations,
    )


def values(h: SignalHistory, path: str) -> list[float]:
    return h.series(path).tolist()


def assert_list(actual: list[float], expected: list[float]) -> None:
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected, strict=True):
        if math.isnan(e):
            assert math.isnan(a), (actual, expected)
        else:
            assert a == pytest.approx(e, rel=1e-12, abs=1e-12), (actual, expected)


# --- breadth ------------------------------------------------------------------------------

BREADTH3 = SignalParams(breadth_windows=(3, 2))


def test_breadth_counts_above_strictly_and_skips_incomplete_windows() -> None:
    data = market(
        {
            "A": [1, 2, 3, 4, 5],  # rising: above from t2 on
            "B": [5, 4, 3, 2, 1],  # falling: never above
            "C": [NAN, 1, 1, 1, 2],  # starts mid-history; t3 ties its mean (1 == 1)
        }
    )
    h = compute_signals(data, BREADTH3)
    # t2: used A, B (C lacks t0); above A -> 1/2. t3: used 3, above A only (C ties) -> 1/3.
    # t4: C's window 1, 1, 2 has mean 4/3 < 2 -> above A, C -> 2/3.
    assert_list(values(h, "breadth_3d"), [NAN, NAN, 50.0, 100 / 3, 200 / 3])
    assert_list(values(h, "breadth_3d.used"), [0, 0, 2, 3, 3])
    assert_list(values(h, "breadth_3d.above"), [0, 0, 1, 1, 2])
    # 2-session windows: t1: A (2 > 1.5) of A, B; t2..t4: A; C from t2 (1 == 1 tie at t2, t3;
    # at t4 2 > 1.5)
    assert_list(values(h, "breadth_2d"), [NAN, 50.0, 100 / 3, 100 / 3, 200 / 3])


def test_a_gap_makes_the_next_n_windows_incomplete() -> None:
    data = market({"A": [1, 2, NAN, 4, 5, 6, 7], "B": [1, 2, 3, 4, 5, 6, 7]})
    h = compute_signals(data, BREADTH3)
    # A's windows ending t2, t3, t4 contain the gap; from t5 both are used
    assert_list(values(h, "breadth_3d.used"), [0, 0, 1, 1, 1, 2, 2])


def test_member_with_fewer_closes_than_the_window_is_not_used() -> None:
    closes = {"A": list(np.linspace(10, 20, 220)), "B": [NAN] * 30 + list(np.linspace(5, 9, 190))}
    h = compute_signals(market(closes), SignalParams())
    # B has 190 closes: never 200 in a row, so only A is used (and rising: above)
    assert_list(values(h, "breadth_200d")[-3:], [100.0, 100.0, 100.0])
    assert_list(values(h, "breadth_200d.used")[-3:], [1, 1, 1])
    assert values(h, "breadth_50d.used")[-1] == 2


def test_close_equal_to_its_mean_is_not_above_despite_rounding() -> None:
    # 2,000 sessions near 50,000 make the prefix sums large (rounding ~1e-8 absolute), then
    # 260 sessions at 3.3 and at 0.1: each close equals the mean of its 200-day window.
    big = list(50_000 + np.sin(np.arange(2000)))
    closes = {"A": big + [3.3] * 260, "B": big + [0.1] * 260, "C": big + [0.7] * 259 + [0.7]}
    h = compute_signals(market(closes, start="2010-01-04"), SignalParams(breadth_windows=(200,)))
    assert_list(values(h, "breadth_200d.above")[-60:], [0] * 60)
    assert_list(values(h, "breadth_200d.used")[-60:], [3] * 60)


def test_close_just_above_its_mean_counts() -> None:
    # the last close exceeds the mean of 1 x 199 and itself by a relative 1e-6 >> RTOL
    bump = 1 + 1e-6 * 200 / 199
    h = compute_signals(
        market({"A": [1.0] * 250 + [bump]}, start="2010-01-04"),
        SignalParams(breadth_windows=(200,)),
    )
    assert values(h, "breadth_200d.above")[-2:] == [0, 1]
    assert 100 * RTOL < 1e-6


def test_sessions_missing_from_the_file_count_as_sessions() -> None:
    data = market(
        {"A": [1, 2, 3, 4, 5, 6], "SPY": [10, 11, 12, 13, 14, 15]}, members={"A": ("Energy", "A")}
    )
    data = MarketData(closes=data.closes.drop(data.closes.index[2]), universe=data.universe)
    h = compute_signals(data, BREADTH3)
    assert len(h.sessions) == 6  # the dropped day is back, as NaN
    # A's windows ending t2..t4 contain the missing day
    assert_list(values(h, "breadth_3d.used"), [0, 0, 0, 0, 0, 1])
    # returns count sessions too: t3 vs t1 = 13 / 11, t5 vs t3 = 15 / 13; t4 reaches back to
    # the missing t2 (NaN), not to t1
    spy = compute_signals(data, ETF_PARAMS).series("smallcap_rs.spy_return").tolist()
    assert_list(spy, [NAN, NAN, NAN, 100 * (13 / 11 - 1), NAN, 100 * (15 / 13 - 1)])


def test_non_session_rows_are_dropped() -> None:
    data = market({"A": [1, 2, 3, 4, 5, 6]})  # Mon 2024-03-04 .. Mon 03-11
    saturday = pd.Timestamp("2024-03-09")
    closes = pd.concat([data.closes, pd.DataFrame({"A": [9.0]}, index=[saturday])]).sort_index()
    h = compute_signals(MarketData(closes=closes, universe=data.universe), BREADTH3)
    assert saturday not in h.sessions
    assert list(h.sessions) == list(data.closes.index)


def test_membership_file_decides_members_even_outside_the_universe_file() -> None:
    days = sessions("2024-03-04", 6)
    membership = pd.DataFrame(
        {
            "ticker": ["A", "X", "B"],
            "start_date": [days[0], days[3], days[0]],
            "end_date": [pd.NaT, pd.NaT, days[4]],  # B leaves on t4 (end is exclusive)
        }
    )
    data = market(
        {"A": [1, 2, 3, 4, 5, 6], "B": [6, 5, 4, 3, 2, 1], "X": [1, 2, 3, 4, 5, 6], "Z": [1] * 6},
        members={"A": ("Energy", "A"), "B": ("Energy", "B"), "Z": ("Energy", "Z")},
        membership=membership,
    )
    h = compute_signals(data, BREADTH3)
    # Z is in the universe file but not in the membership file: never counted.
    # t2: A, B used. t3: A, B, X (member from t3, three closes). t4, t5: B gone -> A, X.
    assert_list(values(h, "breadth_3d.used"), [0, 0, 2, 3, 2, 2])
    assert_list(values(h, "breadth_3d"), [NAN, NAN, 50.0, 200 / 3, 100.0, 100.0])


# --- ETF spreads --------------------------------------------------------------------------

ETF_PARAMS = SignalParams(
    breadth_windows=(2,), return_window=2, sector_windows=(1, 2), vol_window=3
)


def etf_market() -> MarketData:
    closes = {
        "SPY": [100, 102, 102, 104, 103],
        "RSP": [100, 101, 103, 103, 106],
        "QQQ": [50, 52, 51, 50, 49],
        "IWM": [20, 20, 21, 21, 22],
        "IWC": [10, 10, 10, 11, 10],
        "XLK": [100, 104, 108, 110, 112],
        "XLF": [100, 110, 99, 108.9, 98.01],
        "F1": [1, 2, 3, 4, 5],
        "F2": [5, 4, 3, 2, 1],
        "T1": [1, 2, 3, 4, 5],
    }
    members = {
        "F1": ("Financials", "F1"),
        "F2": ("Financials", "F2"),
        "T1": ("Information Technology", "T1"),
    }
    return market(closes, members=members)


def test_equal_weight_and_small_caps_vs_spy_in_points() -> None:
    h = compute_signals(etf_market(), ETF_PARAMS)
    # t2: RSP 103/100 - 1 = 3 %, SPY 102/100 - 1 = 2 % -> 1 pp
    # t3: RSP 103/101 = 1.980198 %, SPY 104/102 = 1.960784 % -> 0.019414 pp
    # t4: RSP 106/103 = 2.912621 %, SPY 103/102 = 0.980392 % -> 1.932229 pp
    ew = [NAN, NAN, 1.0, 100 * (103 / 101 - 104 / 102), 100 * (106 / 103 - 103 / 102)]
    assert_list(values(h, "ew_vs_cw"), ew)
    assert_list(
        values(h, "ew_vs_cw.rsp_return"),
        [NAN, NAN, 3.0, 100 * (103 / 101 - 1), 100 * (106 / 103 - 1)],
    )
    # t4: IWM 22/21 - 1 = 4.761905 %, SPY 0.980392 % -> 3.781513 pp; QQQ 49/51 - 1 = -3.921569 %
    assert values(h, "smallcap_rs")[4] == pytest.approx(100 * (22 / 21 - 103 / 102), rel=1e-12)
    assert values(h, "smallcap_rs.iwm_qqq")[4] == pytest.approx(
        100 * (22 / 21 - 49 / 51), rel=1e-12
    )
    # IWC 10/10 - 1 = 0 at t4 (two sessions back is t2 = 10) -> 0 - 0.980392 pp
    assert values(h, "smallcap_rs.iwc_spy")[4] == pytest.approx(-100 * (103 / 102 - 1), rel=1e-12)
    assert values(h, "smallcap_rs.iwm_return")[2] == pytest.approx(5.0)  # 21/20 - 1


def test_sector_returns_volatility_and_breadth() -> None:
    h = compute_signals(etf_market(), ETF_PARAMS)
    f = h.frames["sector_XLF"]
    # value t4 = XLF 98.01/99 - 1 = -1 % minus XLK 112/108 - 1 = 3.703704 % -> -4.703704 pp
    assert f["value"].iloc[4] == pytest.approx(-1.0 - 100 * (112 / 108 - 1), rel=1e-9)
    assert f["ret_1"].iloc[4] == pytest.approx(-10.0, rel=1e-9)  # 98.01 / 108.9 - 1
    assert f["ret_2_vs_spy"].iloc[4] == pytest.approx(-1.0 - 100 * (103 / 102 - 1), rel=1e-9)
    # daily returns +10 %, -10 %, +10 %: mean 1/30, squared deviations 2 x (0.1 - 1/30)^2 +
    # (-0.1 - 1/30)^2 = 0.0266667; / 2 = 0.0133333; std 0.1154701; x sqrt(252) x 100 =
    # 183.3030 (t3, the first session with three returns); t4 holds -10 %, +10 %, -10 %: same
    vol = 0.11547005383792516 * math.sqrt(252) * 100
    assert_list(f["vol_3"].tolist(), [NAN, NAN, NAN, vol, vol])
    # XLK's daily returns 4 %, 3.846154 %, 1.851852 %, 1.818182 %: vol at t3 of the first three
    r = np.array([104 / 100, 108 / 104, 110 / 108]) - 1
    xlk_vol = np.std(r, ddof=1) * math.sqrt(252) * 100
    assert f["vol_3_vs_xlk"].iloc[3] == pytest.approx(vol - xlk_vol, rel=1e-9)
    # sector breadth (2-session window), Financials members F1 (rising) and F2 (falling): 50 %
    assert_list(f["breadth_2d"].tolist(), [NAN, 50.0, 50.0, 50.0, 50.0])
    assert_list(h.frames["sector_XLK"]["breadth_2d"].tolist(), [NAN, 100.0, 100.0, 100.0, 100.0])


def test_xlk_spread_is_null_and_iwm_vbr_have_no_breadth() -> None:
    h = compute_signals(etf_market(), ETF_PARAMS)
    xlk = h.frames["sector_XLK"]
    assert xlk["value"].isna().all()
    assert xlk[[c for c in xlk.columns if c.endswith("_vs_xlk")]].isna().all().all()
    assert xlk["ret_2_vs_spy"].iloc[4] == pytest.approx(100 * (112 / 108 - 103 / 102), rel=1e-12)
    for etf in ("IWM", "VBR"):
        assert h.frames[f"sector_{etf}"]["breadth_2d"].isna().all()
    assert h.frames["sector_IWM"]["ret_2"].iloc[4] == pytest.approx(100 * (22 / 21 - 1))
    assert h.frames["sector_VBR"]["value"].isna().all()  # VBR is absent from the panel
    assert [f"sector_{e}" for e in SECTOR_SIGNAL_ETFS] == [
        i for i in h.ids() if i.startswith("sector_")
    ]


# --- market caps, top ten -----------------------------------------------------------------


def twelve_companies(extra_caps: list[tuple[str, str, float]] | None = None) -> MarketData:
    singles = {f"T{i}": [10.0, 10.0, 20.0, 10.0] for i in range(1, 12)}
    closes = {**singles, "GOOGL": [10.0] * 4, "GOOG": [10.0] * 4, "NOCAP": [10.0] * 4}
    members = {t: ("Industrials", t) for t in singles}
    members |= {"GOOGL": ("Communication Services", "Alphabet Inc."), "NOCAP": ("Energy", "NoCap")}
    members["GOOG"] = ("Communication Services", "Alphabet Inc.")
    members["ABSENT"] = ("Energy", "Absent")  # a member with no price column at all
    caps = [("2024-03-04", f"T{i}", float(i)) for i in range(1, 12)]
    caps += [("2024-03-04", "GOOGL", 100.0), ("2024-03-04", "GOOG", 100.0)]
    return market(closes, members=members, caps=caps + (extra_caps or []))


def test_top10_counts_dual_class_companies_once() -> None:
    h = compute_signals(twelve_companies(), BREADTH3)
    # t0: Alphabet 100 (once, not 200) + T11..T3 = 11 + ... + 3 = 63 -> 163 of 100 + 66 = 166
    # t2: every T doubles its close: Alphabet 100 + 2 x 63 = 226 of 100 + 132 = 232
    expected = [100 * 163 / 166, 100 * 163 / 166, 100 * 226 / 232, 100 * 163 / 166]
    assert_list(values(h, "top10_share"), expected)
    assert_list(values(h, "top10_share.companies_used"), [12] * 4)
    # NOCAP (no snapshot) and ABSENT (no prices) are members without a cap
    assert_list(values(h, "top10_share.missing_caps"), [2] * 4)
    top = h.details_at("top10_share", h.sessions[0])["companies"]
    assert [c["company"] for c in top] == ["Alphabet Inc."] + [f"T{i}" for i in range(11, 2, -1)]
    assert top[0]["cap"] == 100.0
    assert top[0]["weight"] == pytest.approx(100 * 100 / 166)


def test_caps_carry_forward_with_adjusted_returns_not_raw_shares() -> None:
    # the loader already turned shares into market_cap = raw price 200 x 10 shares = 2,000
    # on a day the adjusted close is 100 (a later 2:1 split adjusted the history)
    closes = {"A": [100.0, 110.0, 99.0, 120.0], "B": [50.0, 50.0, 50.0, 50.0]}
    caps = [
        ("2024-03-04", "A", 2000.0),
        ("2024-03-04", "B", 500.0),
        ("2024-03-06", "A", NAN),  # a snapshot without A's cap: A keeps the earlier ratio
        ("2024-03-06", "B", 1000.0),  # B re-based: 1,000 / 50
    ]
    h = compute_signals(market(closes, caps=caps), BREADTH3)
    caps_a = h.company_caps["A"].tolist()
    caps_b = h.company_caps["B"].tolist()
    assert_list(caps_a, [2000.0, 2200.0, 1980.0, 2400.0])  # 2,000 x close / 100
    assert_list(caps_b, [500.0, 500.0, 1000.0, 1000.0])
    # both in the top ten: 100 % on every session
    assert_list(values(h, "top10_share"), [100.0] * 4)


def test_weekend_snapshot_uses_the_last_close_and_applies_from_the_next_session() -> None:
    # sessions Thu 2024-03-07, Fri 03-08, Mon 03-11, Tue 03-12; snapshot on Sun 03-10
    closes = {"A": [10.0, 20.0, 30.0, 15.0], "B": [NAN, NAN, 5.0, 5.0]}
    caps = [("2024-03-10", "A", 400.0), ("2024-03-10", "B", 50.0)]
    h = compute_signals(market(closes, start="2024-03-07", caps=caps), BREADTH3)
    # k_A = 400 / Friday's 20 = 20; Monday 20 x 30 = 600, Tuesday 300.
    # B has no close on or before Sunday: no usable cap (k unknown).
    assert_list(h.company_caps["A"].tolist(), [NAN, NAN, 600.0, 300.0])
    assert "B" not in h.company_caps.columns
    assert_list(values(h, "top10_share.missing_caps"), [2, 2, 1, 1])
    assert_list(values(h, "top10_share"), [NAN, NAN, 100.0, 100.0])


def test_snapshot_on_a_day_without_close_uses_the_last_close_before() -> None:
    closes = {"A": [10.0, NAN, NAN, 40.0]}
    caps = [("2024-03-06", "A", 1000.0)]  # A lacks t1, t2: k = 1000 / 10 (t0)
    h = compute_signals(market(closes, caps=caps), BREADTH3)
    assert_list(h.company_caps["A"].tolist(), [NAN, NAN, NAN, 4000.0])


def test_non_members_caps_are_left_out() -> None:
    days = sessions("2024-03-04", 3)
    membership = pd.DataFrame(
        {"ticker": ["A", "B"], "start_date": [days[0], days[1]], "end_date": [pd.NaT, pd.NaT]}
    )
    caps = [("2024-03-04", "A", 30.0), ("2024-03-04", "B", 10.0), ("2024-03-04", "C", 99.0)]
    data = market(
        {"A": [1.0] * 3, "B": [1.0] * 3, "C": [1.0] * 3}, caps=caps, membership=membership
    )
    h = compute_signals(data, SignalParams(breadth_windows=(2,)))
    assert_list(values(h, "top10_share.companies_used"), [1, 2, 2])
    assert_list(h.company_caps["B"].tolist(), [NAN, 10.0, 10.0])
    assert "C" not in h.company_caps.columns  # never a member


def test_no_caps_gives_null_share_and_counts_every_member_missing() -> None:
    h = compute_signals(market({"A": [1.0, 2.0], "B": [1.0, 2.0]}), BREADTH3)
    assert_list(values(h, "top10_share"), [NAN, NAN])
    assert_list(values(h, "top10_share.missing_caps"), [2, 2])
    assert h.details_at("top10_share", h.sessions[-1])["companies"] == []


# --- mega seven ---------------------------------------------------------------------------


def mega_market() -> MarketData:
    # 2023-12-28, 2023-12-29 (base of 2024), 2024-01-02, 01-03, 01-04
    closes = {
        "AAPL": [90.0, 100.0, 110.0, 101.0, 100.0],
        "MSFT": [50.0, 50.0, 50.0, 50.0, 50.0],
        "GOOGL": [20.0, 20.0, 22.0, 20.0, 20.0],
        "GOOG": [20.0, 20.0, 40.0, 40.0, 40.0],  # its cap is smaller on the base: not used
        "ONE": [10.0, 10.0, 10.5, 10.0, 10.0],
        "TWO": [10.0, 10.0, 9.0, 10.0, 10.1],
    }
    members = {
        "AAPL": ("Information Technology", "Apple"),
        "MSFT": ("Information Technology", "Microsoft"),
        "GOOGL": ("Communication Services", "Alphabet"),
        "GOOG": ("Communication Services", "Alphabet"),
        "ONE": ("Industrials", "One"),
        "TWO": ("Industrials", "Two"),
    }
    caps = [
        ("2023-12-29", "AAPL", 200.0),
        ("2023-12-29", "MSFT", 100.0),
        ("2023-12-29", "GOOGL", 100.0),
        ("2023-12-29", "GOOG", 90.0),
        ("2023-12-29", "ONE", 400.0),
        ("2023-12-29", "TWO", 200.0),
    ]
    return market(closes, start="2023-12-28", members=members, caps=caps)


def test_mega7_share_of_the_cap_weighted_ytd_return() -> None:
    h = compute_signals(mega_market(), BREADTH3)
    # base 2023-12-29, company weights: Apple 200, Microsoft 100, Alphabet 100 (GOOGL, the
    # larger class), One 400, Two 200 -> of 1,000: 0.2, 0.1, 0.1, 0.4, 0.2.
    # 01-02: Apple +10 %, MSFT 0, GOOGL +10 %, One +5 %, Two -10 %
    #   all = 0.02 + 0 + 0.01 + 0.02 - 0.02 = 0.03 -> 3 pp; seven = 0.03 -> 100 %
    # 01-03: Apple +1 %, others 0 except Two 0 -> all = 0.002 -> 0.2 pp < 0.5: null
    # 01-04: Apple 0, Two +1 % -> all = 0.002 -> 0.2 pp: null; seven 0 pp
    assert_list(values(h, "mega7_contribution"), [NAN, NAN, 100.0, NAN, NAN])
    assert_list(values(h, "mega7_contribution.pp"), [NAN, NAN, 3.0, 0.2, 0.0])
    assert_list(values(h, "mega7_contribution.index_ytd"), [NAN, NAN, 3.0, 0.2, 0.2])


def test_mega7_share_when_others_offset() -> None:
    data = mega_market()
    closes = data.closes.copy()
    closes.loc["2024-01-04", "ONE"] = 11.0  # One +10 % -> +0.04
    h = compute_signals(MarketData(closes=closes, universe=data.universe, caps=data.caps))
    # 01-04: seven 0 (Apple back at 100, GOOGL 20), Two +1 % x 0.2 = 0.002, One 0.04
    #   all = 0.042 -> 4.2 pp; seven 0 pp -> 0 %
    assert values(h, "mega7_contribution")[-1] == pytest.approx(0.0, abs=1e-12)
    assert values(h, "mega7_contribution.index_ytd")[-1] == pytest.approx(4.2, rel=1e-12)


# --- valuation and regime -----------------------------------------------------------------


def test_valuation_spread_latest_on_or_before_and_never_invented() -> None:
    valuations = pd.DataFrame(
        {
            "date": pd.to_datetime(["2024-03-05", "2024-03-05", "2024-03-07"]),
            "ticker": ["SPY", "IWM", "SPY"],
            "trailing_pe": [25.0, 15.0, 26.0],
            "forward_pe": [21.0, NAN, NAN],
        }
    )
    data = market({"A": [1.0] * 4}, valuations=valuations)
    h = compute_signals(data, BREADTH3)
    assert_list(values(h, "valuation"), [NAN, 10.0, 10.0, 11.0])
    assert_list(values(h, "valuation.iwm_forward_pe"), [NAN] * 4)
    assert_list(values(h, "valuation.spy_forward_pe"), [NAN, 21.0, 21.0, 21.0])
    no_vals = compute_signals(market({"A": [1.0] * 4}), BREADTH3)
    assert no_vals.series("valuation").isna().all()


def regime_market() -> MarketData:
    # 6 sessions; 2-session breadth of 4 members, return window 1, top-10 lookback 1
    closes = {
        "A": [1, 2, 3, 4, 5, 6],
        "B": [1, 2, 3, 4, 5, 6],
        "C": [1, 2, 3, 4, 5, 6],
        "D": [6, 5, 4, 3, 2, 1],  # breadth 75 % from t1 on
        "SPY": [100, 101, 102, 101, 100, 100],
        "RSP": [100, 102, 101, 102, 99, NAN],
        "IWM": [100, 102, 103, 100, 101, 100],
        "IWC": [100] * 6,
        "QQQ": [100] * 6,
    }
    members = {t: ("Industrials", t) for t in "ABCD"}
    caps = [("2024-03-04", t, c) for t, c in zip("ABCD", (10.0, 10.0, 10.0, 10.0), strict=True)]
    return market(closes, members=members, caps=caps)


REGIME_PARAMS = SignalParams(breadth_windows=(2,), return_window=1, top10_lookback=1)


def test_regime_counts_conditions_and_labels() -> None:
    h = compute_signals(regime_market(), REGIME_PARAMS)
    f = h.frames["rotation_regime"]
    # top-10 share: four companies, so always exactly 100 % -> "today < 1 session ago"
    # never holds (0 from t1; exactly 100, so no rounding noise can make it hold).
    # t0: breadth, ew, smallcap, top10 lag all missing -> unknown (value null)
    # t1: breadth 75 >= 65 (1), RSP +2 % vs SPY +1 % (1), IWM +2 % vs +1 % (1), top10 0 -> 3
    # t2: RSP -0.98 % vs SPY +0.99 % (0), IWM +0.98 % vs +0.99 % (0) -> 1: narrow
    # t3: RSP +0.99 % vs -0.98 % (1), IWM -2.9 % (0) -> 2: broadening
    # t4: RSP -2.94 % vs -0.99 % (0), IWM +1 % vs -0.99 % (1) -> 2
    # t5: RSP missing (NaN), IWM -0.99 % vs 0 % (0) -> 1 with one missing: narrow
    assert_list(f["value"].tolist(), [math.nan, 3, 1, 2, 2, 1])
    assert f["label"].tolist() == [
        "unknown",
        "broadening",
        "narrow",
        "broadening",
        "broadening",
        "narrow",
    ]
    assert_list(f["cond_ew"].tolist(), [NAN, 1, 0, 1, 0, NAN])
    assert_list(f["cond_top10"].tolist(), [NAN, 0, 0, 0, 0, 0])
    details = h.details_at("rotation_regime", h.sessions[5])
    assert details["label"] == "narrow"
    assert details["cond_ew"] is None
    assert len(details["reasons"]) == 4
    assert details["reasons"][0].startswith("breadth: 75.0% of members above their 2-day average")
    assert "no data" in details["reasons"][1]
    assert "trailed" in details["reasons"][2]


def test_regime_rotation_needs_all_four() -> None:
    closes = {
        "BIG": [10.0, 5.0, 5.0],  # cap 100 -> 50: the top ten's share falls
        **{f"S{i}": [1.0, 1.1, 1.2] for i in range(10)},  # caps 1 -> 1.1, all rising
        "SPY": [100.0, 101.0, 101.0],
        "RSP": [100.0, 102.0, 102.0],
        "IWM": [100.0, 102.0, 102.0],
    }
    members = {t: ("Industrials", t) for t in closes if t not in ("SPY", "RSP", "IWM")}
    caps = [("2024-03-04", "BIG", 100.0)] + [("2024-03-04", f"S{i}", 1.0) for i in range(10)]
    h = compute_signals(market(closes, members=members, caps=caps), REGIME_PARAMS)
    # t0: top ten = BIG 100 + nine S = 109 of 110 = 99.09 %
    # t1: 50 + 9 x 1.1 = 59.9 of 50 + 11 = 61 -> 98.20 % (down: 1); breadth: the ten S are
    #   above (1.1 > 1.05), BIG is not -> 10 / 11 = 90.9 % (1); RSP +2 % vs SPY +1 % (1);
    #   IWM +2 % vs +1 % (1) -> 4: rotation
    assert_list(values(h, "top10_share")[:2], [100 * 109 / 110, 100 * 59.9 / 61])
    assert values(h, "breadth_2d")[1] == pytest.approx(100 * 10 / 11)
    regime = h.frames["rotation_regime"]
    assert regime["value"].iloc[1] == 4
    assert regime["label"].iloc[1] == "rotation"
    reasons = h.details_at("rotation_regime", h.sessions[1])["reasons"]
    assert reasons[3] == "top-10 share 98.2% vs 99.1% 1 sessions ago (down)"


# --- the history object -------------------------------------------------------------------


def test_ids_in_design_order_and_series_errors_name_valid_ids() -> None:
    h = compute_signals(etf_market(), SignalParams())
    assert h.ids() == [
        "breadth_200d",
        "breadth_50d",
        "ew_vs_cw",
        "smallcap_rs",
        "top10_share",
        "mega7_contribution",
        *(f"sector_{e}" for e in SECTOR_SIGNAL_ETFS),
        "valuation",
        "bank_nim",
        "energy_fcf_yield",
        "rotation_regime",
    ]
    with pytest.raises(KeyError, match="valid ids: breadth_200d, breadth_50d"):
        h.series("breadth_100d")
    with pytest.raises(KeyError, match="details: rsp_return, spy_return"):
        h.series("ew_vs_cw.nope")
    assert h.series("smallcap_rs.iwm_qqq").name == "smallcap_rs.iwm_qqq"


def test_details_are_json_safe_for_every_signal() -> None:
    h = compute_signals(etf_market(), SignalParams())
    for signal_id in h.ids():
        for session in (h.sessions[0], h.sessions[-1]):
            d = h.details_at(signal_id, session)
            json.dumps(d, allow_nan=False)
            assert "value" not in d
    assert h.details_at("breadth_200d", h.sessions[-1]) == {"above": 0, "used": 0}
    with pytest.raises(KeyError, match="before the first session"):
        h.details_at("breadth_200d", "2000-01-03")


def test_history_at_t_equals_history_of_data_cut_at_t() -> None:
    data = mega_market()
    full = compute_signals(data, BREADTH3)
    cut = compute_signals(data.up_to(pd.Timestamp("2024-01-03")), BREADTH3)
    for signal_id in full.ids():
        pd.testing.assert_frame_equal(
            full.frames[signal_id].loc[:"2024-01-03"], cut.frames[signal_id], check_freq=False
        )


def test_empty_and_short_panels_do_not_fail() -> None:
    short = compute_signals(market({"A": [1.0], "SPY": [2.0]}))
    assert all(len(f) == 1 for f in short.frames.values())
    assert math.isnan(values(short, "breadth_200d")[0])
    empty = MarketData(
        closes=pd.DataFrame({"A": []}, index=pd.DatetimeIndex([], name="date"), dtype=float),
        universe=universe({"A": ("Energy", "A")}),
    )
    h = compute_signals(empty)
    assert all(len(f) == 0 for f in h.frames.values())


def random_market(seed: int = 7) -> MarketData:
    rng = np.random.default_rng(seed)
    n_days, tickers = 320, [f"R{i}" for i in range(40)]
    closes = 20 * np.exp(np.cumsum(rng.normal(0, 0.02, (n_days, len(tickers))), axis=0))
    closes[rng.random(closes.shape) < 0.02] = np.nan
    closes[:50, :5] = np.nan  # listed later
    frame = dict(zip(tickers, closes.T, strict=True))
    for etf in ("SPY", "RSP", "IWM", "XLK", "XLF"):
        frame[etf] = list(100 * np.exp(np.cumsum(rng.normal(0, 0.01, n_days))))
    days = sessions("2022-11-01", n_days)
    membership = pd.DataFrame(
        {
            "ticker": [*tickers, "R0", "GHOST"],
            "start_date": [days[0]] * 40 + [days[200], days[10]],
            "end_date": [days[150]] * 20 + [pd.NaT] * 20 + [pd.NaT, days[100]],
        }
    )
    members = {t: (("Financials", "Energy")[i % 2], f"Co{i // 2}") for i, t in enumerate(tickers)}
    caps = [(str(d.date()), t, float(rng.lognormal(20, 1))) for d in days[::60] for t in tickers]
    return market(
        {k: list(v) for k, v in frame.items()},
        start="2022-11-01",
        members=members,
        caps=caps,
        membership=membership,
    )


def test_sequential_and_threaded_paths_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    import signals.indicators.history as indicators

    data = random_market()
    threaded = compute_signals(data)
    monkeypatch.setattr(indicators, "PARALLEL_CELLS", 0)
    sequential = compute_signals(data)
    for signal_id in threaded.ids():
        pd.testing.assert_frame_equal(threaded.frames[signal_id], sequential.frames[signal_id])
    pd.testing.assert_frame_equal(threaded.company_caps, sequential.company_caps)
    assert threaded.series("top10_share").notna().sum() > 200
    assert threaded.series("mega7_contribution.index_ytd").notna().sum() > 200


def test_interval_mask_matches_a_plain_loop() -> None:
    from signals.universe import interval_mask

    data = random_market()
    days = pd.DatetimeIndex(data.closes.index)
    membership = pd.concat(
        [
            data.universe.membership,
            pd.DataFrame(  # overlapping, before the panel, empty, ending after the panel
                {
                    "ticker": ["R1", "R2", "R3", "R4"],
                    "start_date": [days[100], pd.Timestamp("2001-01-02"), days[5], days[300]],
                    "end_date": [days[200], days[3], days[5], pd.Timestamp("2030-01-02")],
                }
            ),
        ]
    )
    tickers = pd.Index([*data.closes.columns, "GHOST", "NOBODY"])
    expected = np.zeros((len(days), len(tickers)), dtype=bool)
    for ticker, start, end in membership.itertuples(index=False):  # docs/signals.md, literally
        if ticker in tickers:
            alive = (days >= start) & ((days < end) if pd.notna(end) else True)
            expected[:, tickers.get_loc(ticker)] |= np.asarray(alive)
    universe = Universe(table=data.universe.table, membership=membership)
    np.testing.assert_array_equal(universe.member_mask(days, list(tickers)).to_numpy(), expected)
    for order in ("C", "F"):
        np.testing.assert_array_equal(interval_mask(membership, days, tickers, order), expected)


@pytest.mark.parametrize("overlap", [False, True])
def test_members_without_prices_count_once_as_missing_caps(overlap: bool) -> None:
    days = sessions("2024-03-04", 4)
    ghost_start = days[1] if overlap else days[2]  # second interval overlaps the first or not
    membership = pd.DataFrame(
        {
            "ticker": ["A", "GHOST", "GHOST"],
            "start_date": [days[0], days[0], ghost_start],
            "end_date": [pd.NaT, days[2], pd.NaT],
        }
    )
    data = market({"A": [1.0] * 4}, caps=[("2024-03-04", "A", 5.0)], membership=membership)
    h = compute_signals(data, BREADTH3)
    # GHOST is a member on every session (its intervals cover t0 .. ) and never has a price
    assert_list(values(h, "top10_share.missing_caps"), [1, 1, 1, 1])
