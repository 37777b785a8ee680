"""The universe's own check at load: members without prices are named once in the log."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from signals.sources import DataSpec, load_market, unpriced_members


def test_members_without_prices_are_named_once_at_load(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    prices = tmp_path / "prices.csv"
    prices.write_text(
        "date,ticker,close\n"
        "2025-01-02,AAA,10\n2025-01-02,SPY,500\n2025-01-03,AAA,11\n2025-01-03,SPY,501\n"
    )
    members = tmp_path / "members.csv"
    members.write_text("ticker,name,sector\nAAA,Aaa,Energy\nBK,Bank,Financials\nFI,Fi,Financials\n")
    with caplog.at_level(logging.WARNING, logger="signals.sources"):
        data = load_market(DataSpec(source="files", prices=(prices,), members=members))
    assert unpriced_members(data) == ["BK", "FI"]
    lines = [r.getMessage() for r in caplog.records if r.name == "signals.sources"]
    assert len(lines) == 1
    assert "2 member(s)" in lines[0] and lines[0].endswith(": BK, FI")


def test_no_line_when_every_member_is_priced(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    prices = tmp_path / "prices.csv"
    prices.write_text("date,ticker,close\n2025-01-02,AAA,10\n2025-01-03,AAA,11\n")
    members = tmp_path / "members.csv"
    members.write_text("ticker,name,sector\nAAA,Aaa,Energy\n")
    with caplog.at_level(logging.WARNING, logger="signals.sources"):
        load_market(DataSpec(source="files", prices=(prices,), members=members))
    assert not [r for r in caplog.records if r.name == "signals.sources"]


def test_with_membership_current_members_are_named_and_past_ones_counted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    prices = tmp_path / "prices.csv"
    prices.write_text("date,ticker,close\n2025-01-02,AAA,10\n2025-01-03,AAA,11\n")
    members = tmp_path / "members.csv"
    members.write_text("ticker,name,sector\nAAA,Aaa,Energy\nBK,Bank,Financials\n")
    membership = tmp_path / "membership.csv"
    membership.write_text(
        "ticker,start_date,end_date\n"
        "AAA,2000-01-03,\nBK,2000-01-03,\nOLD,2000-01-03,2010-01-04\nGONE,2001-01-02,2024-12-31\n"
    )
    spec = DataSpec(source="files", prices=(prices,), members=members, membership=membership)
    with caplog.at_level(logging.WARNING, logger="signals.sources"):
        data = load_market(spec)
    assert unpriced_members(data) == ["BK", "OLD", "GONE"]
    (line,) = [r.getMessage() for r in caplog.records if r.name == "signals.sources"]
    assert line.startswith("1 member(s)") and ": BK (and 2 past member(s) without prices)" in line
