"""Tests for signals/snapshot.py: freshness, coverage, changes and the `evaluate --json` object."""

from __future__ import annotations

import json
import math
from datetime import date

import numpy as np
import pandas as pd
import pytest

from signals import calendar
from signals.errors import DataSourceError
from signals.indicators import SignalParams, compute_signals
from signals.market import MarketData
from signals.snapshot import build_snapshot, freshness
from signals.universe import Universe

NAN = float("nan")


def make_data(
    closes: dict[str, list[float]],
    start: str = "2024-03-04",
    membership: pd.DataFrame | None = None,
    **kw: object,
) -> MarketData:
    n = len(next(iter(closes.values())))
    days = calendar.sessions(start, pd.Timestamp(start) + pd.Timedelta(days=3 * n + 10))[:n]
    members = [t for t in closes if t not in ("SPY", "RSP", "IWM")]
    table = pd.DataFrame(
        {"name": members, "sector": "Energy", "company": members},
        index=pd.Index(members, name="ticker"),
    )
    return MarketData(
        closes=pd.DataFrame(closes, index=days, dtype=np.float64),
        universe=Universe(table=table, membership=membership),
        **kw,  # type: ignore[arg-type]
    )


# --- freshness ----------------------------------------------------------------------------


def test_fresh_complete_data() -> None:
    data = make_data({"A": [1.0] * 8, "B": [2.0] * 8})
    f = freshness(data)
    assert f == freshness(data, "2024-03-13")
    assert f.last_session == date(2024, 3, 13)
    assert f.stale_sessions == 0
    assert f.coverage == 1.0


def test_a_nan_last_row_is_a_stale_session() -> None:
    # the source delivered a row for Wed 03-13 but no member has a close in it (only SPY)
    data = make_data({"A": [1.0] * 7 + [NAN], "B": [2.0] * 7 + [NAN], "SPY": [1.0] * 8})
    f = freshness(data)
    assert f.last_session == date(2024, 3, 12)
    assert f.stale_sessions == 1
    assert f.coverage == 0.0


def test_as_of_after_the_data_counts_nyse_sessions() -> None:
    data = make_data({"A": [1.0] * 8})  # ends Wed 2024-03-13
    # Mon 03-18: Thu, Fri, Mon are missing -> 3 sessions stale; Sat 03-16 maps to Fri 03-15
    assert freshness(data, "2024-03-18").stale_sessions == 3
    assert freshness(data, "2024-03-16").stale_sessions == 2
    # Good Friday 2024-03-29 is a holiday: Mar 28 -> Apr 1 is one session
    data = make_data({"A": [1.0] * 19})  # Mar 4 .. Mar 28
    assert data.closes.index[-1] == pd.Timestamp("2024-03-28")
    assert freshness(data, "2024-04-01").stale_sessions == 1
    assert freshness(data, "2024-03-29").stale_sessions == 0  # maps to Thu 03-28


def test_thin_coverage_counts_every_member_of_the_universe() -> None:
    closes = {f"T{i}": [1.0] * 8 for i in range(10)}
    for i in (7, 8, 9):
        closes[f"T{i}"][-1] = NAN  # three of ten missing today
    closes["NEW"] = [NAN] * 7 + [5.0]  # listed today: a member with a close
    closes["GONE"] = [1.0, 1.0] + [NAN] * 6  # still listed, no close for 6 sessions: missing
    f = freshness(make_data(closes))
    assert f.coverage == pytest.approx(8 / 12)
    assert f.stale_sessions == 0


def test_coverage_uses_members_on_the_as_of_session() -> None:
    days = calendar.sessions("2024-03-04", "2024-03-13")
    membership = pd.DataFrame(
        {
            "ticker": ["A", "B", "C"],
            "start_date": [days[0], days[0], days[0]],
            "end_date": [pd.NaT, days[-1], pd.NaT],  # B left before the as-of session
        }
    )
    data = make_data(
        {"A": [1.0] * 8, "B": [1.0] * 7 + [NAN], "C": [1.0] * 7 + [NAN]}, membership=membership
    )
    assert freshness(data).coverage == pytest.approx(0.5)  # A of A, C


def test_no_data_at_all() -> None:
    data = make_data({"A": [NAN] * 3})
    f = freshness(data)
    assert f.last_session is None
    assert f.stale_sessions == 3
    assert f.coverage == 0.0
    empty = MarketData(
        closes=pd.DataFrame({"A": []}, index=pd.DatetimeIndex([], name="date"), dtype=float),
        universe=data.universe,
    )
    with pytest.raises(DataSourceError, match="no closes"):
        freshness(empty)


# --- snapshots ----------------------------------------------------------------------------

PARAMS = SignalParams(breadth_windows=(2,), return_window=1, sector_windows=(1,), vol_window=2)


def snapshot_data() -> MarketData:
    n = 30
    rising = list(np.linspace(10, 40, n))
    closes = {
        "A": rising,
        "B": [10.0 + (i % 2) for i in range(n)],  # above its 2-day mean on odd sessions
        "SPY": list(np.linspace(100, 130, n)),
        "RSP": list(np.linspace(100, 110, n)),
        "IWM": [100.0] * (n - 1) + [NAN],
    }
    caps = pd.DataFrame(
        {"date": pd.to_datetime(["2024-03-04"] * 2), "ticker": ["A", "B"], "market_cap": 1e9}
    )
    return make_data(closes, caps=caps, source="demo", simulated=True)


def test_snapshot_values_and_changes() -> None:
    data = snapshot_data()
    history = compute_signals(data, PARAMS)
    snap = build_snapshot(history, data)
    last = data.closes.index[-1]
    assert snap.as_of == last.date()
    breadth = history.series("breadth_2d")
    reading = snap.signals["breadth_2d"]
    # t29 (odd): A and B above -> 100; t24 (even): A only -> 50; t8: 50
    assert reading.value == 100.0
    assert reading.change_1w == breadth.iloc[-1] - breadth.iloc[-6] == 50.0
    assert reading.change_1m == breadth.iloc[-1] - breadth.iloc[-22] == 50.0
    assert reading.details == {"above": 2, "used": 2}
    # smallcap_rs is NaN on the last session (IWM missing): value and changes None
    assert snap.signals["smallcap_rs"].value is None
    assert snap.signals["smallcap_rs"].change_1w is None
    # IWM's last close and the top ten 63 sessions ago are missing: two inputs -> unknown
    assert snap.signals["rotation_regime"].details["label"] == "unknown"
    assert snap.source == "demo" and snap.simulated is True


def test_changes_are_none_near_the_start() -> None:
    data = snapshot_data()
    history = compute_signals(data, PARAMS)
    snap = build_snapshot(history, data, as_of=data.closes.index[7])
    reading = snap.signals["ew_vs_cw"]
    assert reading.change_1w is not None
    assert reading.change_1m is None  # only 7 sessions before


def test_as_of_on_a_weekend_maps_to_friday_and_ignores_later_data() -> None:
    data = snapshot_data()
    history = compute_signals(data, PARAMS)
    snap = build_snapshot(history, data, as_of="2024-03-09")  # Saturday
    assert snap.as_of == date(2024, 3, 8)
    friday = history.position("2024-03-08")
    assert snap.signals["ew_vs_cw"].value == pytest.approx(history.series("ew_vs_cw").iloc[friday])
    assert snap.freshness.stale_sessions == 0
    with pytest.raises(ValueError, match="before the first session"):
        build_snapshot(history, data, as_of="2020-01-02")


def test_json_has_the_design_shape_and_no_nan() -> None:
    data = snapshot_data()
    history = compute_signals(data, PARAMS)
    out = build_snapshot(history, data).to_json()
    text = json.dumps(out, allow_nan=False)  # raises on any NaN / inf
    assert json.loads(text) == out
    assert set(out) == {"as_of", "source", "simulated", "freshness", "signals"}
    assert out["as_of"] == "2024-04-15"  # 30 sessions from 2024-03-04
    assert out["simulated"] is True
    assert out["freshness"] == {"last_session": "2024-04-15", "stale_sessions": 0, "coverage": 1.0}
    assert list(out["signals"]) == history.ids()
    for signal_id, body in out["signals"].items():
        assert list(body)[:3] == ["value", "change_1w", "change_1m"], signal_id
    assert out["signals"]["smallcap_rs"]["value"] is None
    top = out["signals"]["top10_share"]
    assert top["value"] == 100.0
    assert [c["company"] for c in top["companies"]] == ["A", "B"]
    regime = out["signals"]["rotation_regime"]
    assert isinstance(regime["label"], str) and len(regime["reasons"]) == 4
    assert not any(isinstance(v, float) and math.isnan(v) for v in regime.values())


def test_json_of_a_stale_snapshot() -> None:
    data = snapshot_data()
    history = compute_signals(data, PARAMS)
    snap = build_snapshot(history, data, as_of="2024-04-17")  # two sessions after the data
    out = snap.to_json()
    assert out["as_of"] == "2024-04-17"
    assert out["freshness"]["stale_sessions"] == 2
    assert out["freshness"]["last_session"] == "2024-04-15"
    assert out["freshness"]["coverage"] == 0.0
    # values are those of the last session with data
    assert out["signals"]["breadth_2d"]["value"] == 100.0
