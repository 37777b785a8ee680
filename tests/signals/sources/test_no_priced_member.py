"""`load_market` refuses data on which no member of the universe has a close: one message
for every caller (each command, the daemon's refresh), instead of empty member signals beside
"coverage 0.0%" or a failure deep in the freshness table."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from signals.errors import DataSourceError
from signals.sources import DataSpec, load_market

ETF_ONLY = "date,ticker,close\n2025-01-02,SPY,500\n2025-01-03,SPY,501\n2025-01-06,SPY,502\n"


def _files(tmp_path: Path, prices: str) -> tuple[Path, Path]:
    price_file = tmp_path / "etfs.csv"
    price_file.write_text(prices, encoding="utf-8")
    members = tmp_path / "members.csv"
    members.write_text("ticker,name,sector\nAAA,Aaa,Energy\nBBB,Bbb,Financials\n")
    return price_file, members


def test_etf_prices_alone_name_the_files_and_the_fix(tmp_path: Path) -> None:
    prices, members = _files(tmp_path, ETF_ONLY)
    with pytest.raises(DataSourceError) as err:
        load_market(DataSpec(source="files", prices=(prices,), members=members))
    assert str(err.value) == (
        f"no member of the universe (--members {members}) has prices in {prices}: "
        "give the members' price file with --prices"
    )


def test_the_bundled_universe_is_named_as_such(tmp_path: Path) -> None:
    prices, _ = _files(tmp_path, ETF_ONLY)
    with pytest.raises(DataSourceError, match=r"\(the bundled S&P 500\) has prices in"):
        load_market(DataSpec(source="files", prices=(prices,)))


def test_members_priced_only_after_the_end_name_the_end(tmp_path: Path) -> None:
    prices, members = _files(tmp_path, ETF_ONLY + "2025-01-06,AAA,10\n")
    with pytest.raises(DataSourceError, match=r"has prices in .* on or before 2025-01-03: "):
        load_market(
            DataSpec(source="files", prices=(prices,), members=members),
            end=pd.Timestamp("2025-01-03"),
        )
    # up to the session with AAA's close the data loads
    data = load_market(DataSpec(source="files", prices=(prices,), members=members))
    assert data.closes["AAA"].notna().sum() == 1


def test_a_member_column_without_a_single_close_counts_as_unpriced(tmp_path: Path) -> None:
    wide = tmp_path / "wide.csv"
    wide.write_text("date,SPY,AAA\n2025-01-02,500,\n2025-01-03,501,\n", encoding="utf-8")
    _, members = _files(tmp_path, ETF_ONLY)
    with pytest.raises(DataSourceError, match="no member of the universe"):
        load_market(DataSpec(source="files", prices=(wide,), members=members))


def test_the_demo_is_priced() -> None:
    data = load_market(DataSpec(source="demo", demo_end=pd.Timestamp("2026-10-30")))
    assert len(data.universe.all_tickers()) > 0
