"""cap_coverage: companies with a cap of the member companies, and the oldest cap snapshot
behind them, on hand-built panels (top10_share on the session, mega7_contribution on its
base session)."""

from __future__ import annotations

import json
import math

import pandas as pd

from signals.indicators import compute_signals
from signals.snapshot import build_snapshot
from tests.signals.indicators.test_history import (
    BREADTH3,
    NAN,
    assert_list,
    market,
    sessions,
    twelve_companies,
    values,
)


def test_coverage_counts_companies_not_tickers() -> None:
    # members: T1..T11, GOOGL + GOOG (one company), NOCAP (no snapshot), ABSENT (no prices)
    # -> 14 companies; 12 with a cap (T1..T11 and Alphabet once)
    h = compute_signals(twelve_companies(), BREADTH3)
    assert_list(values(h, "top10_share.member_companies"), [14] * 4)
    assert_list(values(h, "top10_share.caps_used"), [12] * 4)
    assert_list(values(h, "top10_share.cap_coverage"), [12 / 14] * 4)
    d = h.details_at("top10_share", h.sessions[2])
    assert d["caps_used"] == 12 and d["member_companies"] == 14
    assert d["oldest_cap_snapshot"] == "2024-03-04"
    # existing details unchanged beside the new ones
    assert d["companies_used"] == 12 and d["missing_caps"] == 2 and len(d["companies"]) == 10


def test_oldest_snapshot_is_the_oldest_one_a_cap_is_carried_from() -> None:
    closes = {"A": [10.0] * 4, "B": [10.0] * 4, "C": [10.0] * 4}
    caps = [
        ("2024-03-04", "A", 100.0),
        ("2024-03-04", "B", 50.0),
        ("2024-03-06", "A", 120.0),  # A re-based on t2; B still carries the t0 snapshot
        ("2024-03-06", "B", NAN),
        ("2024-03-07", "B", 60.0),  # from t3 B's cap comes from t3 too
    ]
    h = compute_signals(market(closes, caps=caps), BREADTH3)
    oldest = [d.date().isoformat() for d in h.series("top10_share.oldest_cap_snapshot")]
    assert oldest == ["2024-03-04", "2024-03-04", "2024-03-04", "2024-03-06"]
    # C never has a cap: 2 of 3 companies
    assert_list(values(h, "top10_share.cap_coverage"), [2 / 3] * 4)


def test_no_caps_gives_zero_coverage_and_no_snapshot_date() -> None:
    h = compute_signals(market({"A": [1.0, 2.0], "B": [1.0, 2.0]}), BREADTH3)
    assert_list(values(h, "top10_share.cap_coverage"), [0.0, 0.0])
    d = h.details_at("top10_share", h.sessions[-1])
    assert d["oldest_cap_snapshot"] is None and d["member_companies"] == 2


def test_member_companies_follow_point_in_time_membership_with_share_classes() -> None:
    days = sessions("2024-03-04", 4)
    membership = pd.DataFrame(
        {
            "ticker": ["A", "GOOGL", "GOOG", "GHOST"],
            "start_date": [days[0], days[0], days[2], days[0]],
            "end_date": [pd.NaT, pd.NaT, pd.NaT, days[1]],
        }
    )
    members = {
        "A": ("Industrials", "A"),
        "GOOGL": ("Communication Services", "Alphabet"),
        "GOOG": ("Communication Services", "Alphabet"),
    }
    closes = {"A": [1.0] * 4, "GOOGL": [1.0] * 4, "GOOG": [1.0] * 4}
    caps = [("2024-03-04", "A", 5.0), ("2024-03-04", "GOOGL", 9.0), ("2024-03-04", "GOOG", 9.0)]
    h = compute_signals(market(closes, members=members, caps=caps, membership=membership), BREADTH3)
    # t0: A, Alphabet (GOOGL), GHOST (no prices) = 3; t1: A, Alphabet = 2;
    # t2, t3: A, Alphabet (GOOGL and GOOG: one company) = 2
    assert_list(values(h, "top10_share.member_companies"), [3, 2, 2, 2])
    assert_list(values(h, "top10_share.cap_coverage"), [2 / 3, 1.0, 1.0, 1.0])


def test_mega7_coverage_is_read_on_its_base_session_and_json_has_no_nan() -> None:
    start = "2024-12-27"
    days = sessions(start, 6)  # 12-27, 12-30, 12-31, 01-02, 01-03, 01-06
    closes = {"AAPL": [10.0] * 6, "X": [10.0] * 6, "Y": [10.0] * 6}
    caps = [("2024-12-27", "AAPL", 100.0), ("2024-12-27", "X", 50.0), ("2025-01-03", "Y", 10.0)]
    data = market(closes, start=start, caps=caps)
    h = compute_signals(data, BREADTH3)
    assert days[2] == pd.Timestamp("2024-12-31")
    # 2025's base is 2024-12-31: 2 of 3 companies had a cap there, from the 12-27 snapshot
    cov = values(h, "mega7_contribution.cap_coverage")
    assert all(math.isnan(v) for v in cov[:3])  # 2024 has no base in the panel
    assert cov[3:] == [2 / 3] * 3
    assert values(h, "top10_share.cap_coverage")[4:] == [1.0, 1.0]  # Y has a cap from 01-03
    d = h.details_at("mega7_contribution", days[5])
    assert d["oldest_cap_snapshot"] == "2024-12-27"
    assert d["caps_used"] == 2 and d["member_companies"] == 3
    assert d["cap_base_session"] == "2024-12-31"
    early = build_snapshot(h, data, days[1]).to_json()["signals"]["mega7_contribution"]
    assert early["cap_coverage"] is None and early["oldest_cap_snapshot"] is None
    json.dumps(early, allow_nan=False)
