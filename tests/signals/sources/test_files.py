"""The files source: every layout, merging, every error message, cap snapshots, real files."""

from __future__ import annotations

import gzip
import logging
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from signals.errors import DataFileError, DataSourceError
from signals.sources.base import PriceSource
from signals.sources.files import (
    FilesSource,
    load_cap_snapshots,
    read_price_file,
    read_price_files,
)
from signals.universe import Universe

SHARED = Path(__file__).resolve().parents[3] / ".." / "shared" / "data"

LONG = """date,ticker,close,volume
2024-01-02,AAA,10.0,100
2024-01-02,brk.b,400.5,7
2024-01-03,AAA,11.0,120
2024-01-03,BRK.B,401.0,
2024-01-04,AAA,12.5,90
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    if name.endswith(".gz"):
        with gzip.open(path, "wt") as fh:
            fh.write(text)
    else:
        path.write_text(text)
    return path


def universe() -> Universe:
    table = pd.DataFrame(
        {"name": ["A Co", "Berkshire"], "sector": ["Energy", "Financials"]},
        index=pd.Index(["AAA", "BRK-B"], name="ticker"),
    )
    table["company"] = table["name"]
    return Universe(table=table)


def expected_long() -> pd.DataFrame:
    index = pd.DatetimeIndex(["2024-01-02", "2024-01-03", "2024-01-04"], name="date")
    return pd.DataFrame(
        {"AAA": [10.0, 11.0, 12.5], "BRK-B": [400.5, 401.0, np.nan]},
        index=index.as_unit("ns"),
    )


def assert_panel(frame: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert frame.index.name == "date" and frame.index.dtype == "datetime64[ns]"
    assert frame.index.tz is None and frame.index.is_monotonic_increasing
    assert list(frame.columns) == list(expected.columns)
    assert (frame.dtypes == "float64").all()
    np.testing.assert_array_equal(frame.index.to_numpy(), expected.index.to_numpy())
    np.testing.assert_array_equal(frame.to_numpy(), expected.to_numpy())


# --- layouts ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["p.csv", "p.csv.gz"])
def test_long_csv_and_csv_gz(tmp_path: Path, name: str) -> None:
    assert_panel(read_price_file(write(tmp_path, name, LONG)), expected_long())


def test_long_parquet(tmp_path: Path) -> None:
    path = tmp_path / "p.parquet"
    pd.DataFrame(
        {
            "date": pd.to_datetime(["2024-01-03", "2024-01-02", "2024-01-02", "2024-01-03"]),
            "ticker": ["AAA", "AAA", "BRK.B", "BRK-B"],
            "close": [11.0, 10.0, 400.5, 401.0],
        }
    ).to_parquet(path)
    expected = expected_long().iloc[:2]
    assert_panel(read_price_file(path), expected)


def test_wide_csv(tmp_path: Path) -> None:
    text = "Date,AAA,brk.b\n2024-01-04,12.5,\n2024-01-02,10,400.5\n2024-01-03,11,401\n"
    assert_panel(read_price_file(write(tmp_path, "w.csv", text)), expected_long())


def test_wide_parquet_with_a_date_index(tmp_path: Path) -> None:
    path = tmp_path / "w.parquet"
    expected_long().to_parquet(path)
    assert_panel(read_price_file(path), expected_long())


def test_dates_with_a_time_part_and_blank_lines(tmp_path: Path) -> None:
    text = "date,ticker,close\n\n2024-01-02 00:00:00-05:00,AAA,10\n2024-01-03,AAA,11\n\n"
    frame = read_price_file(write(tmp_path, "t.csv", text))
    assert list(frame.index.strftime("%Y-%m-%d")) == ["2024-01-02", "2024-01-03"]


def test_files_merge_into_one_panel(tmp_path: Path) -> None:
    a = write(tmp_path, "a.csv", "date,ticker,close\n2024-01-02,AAA,10\n2024-01-03,AAA,11\n")
    b = write(tmp_path, "b.csv", "date,SPY\n2024-01-03,470\n2024-01-04,471\n")
    merged = read_price_files([a, b])
    assert list(merged.columns) == ["AAA", "SPY"]
    assert merged.index.name == "date" and len(merged) == 3
    assert np.isnan(merged.loc["2024-01-04", "AAA"]) and np.isnan(merged.loc["2024-01-02", "SPY"])


def test_source_loads_universe_end_and_caps(tmp_path: Path) -> None:
    prices = write(tmp_path, "p.csv", LONG)
    shares = write(
        tmp_path, "s.csv", "as_of,ticker,market_cap\n2024-01-02,AAA,1e9\n2024-01-04,AAA,2e9\n"
    )
    source = FilesSource(prices=[prices], shares=shares)
    assert isinstance(source, PriceSource) and (source.name, source.simulated) == ("files", False)
    data = source.load(universe(), end=pd.Timestamp("2024-01-03"))
    assert data.source == "files" and data.simulated is False
    assert list(data.closes.index.strftime("%d")) == ["02", "03"]
    assert data.universe.tickers == ["AAA", "BRK-B"]
    assert data.caps["market_cap"].tolist() == [1e9]
    assert FilesSource(prices=[prices]).load(universe()).caps is None


def test_without_a_universe_the_bundled_list_is_used(tmp_path: Path) -> None:
    if not (
        Path(__file__).resolve().parents[3] / "signals" / "data" / "sp500_universe.csv"
    ).exists():
        pytest.skip("the bundled universe file is not written yet")
    data = FilesSource(prices=[write(tmp_path, "p.csv", LONG)]).load(None)
    assert len(data.universe.tickers) > 400 and "BRK-B" in data.universe.tickers


def test_source_refuses_an_end_before_all_data(tmp_path: Path) -> None:
    source = FilesSource(prices=[write(tmp_path, "p.csv", LONG)])
    with pytest.raises(DataSourceError, match="no closes on or before 2023-12-29"):
        source.load(universe(), end=pd.Timestamp("2023-12-29"))


#: 07:00 in New York on 2024-01-04: the last completed session is 2024-01-03
BEFORE_JAN_4_CLOSE = datetime(2024, 1, 4, 12, 0, tzinfo=UTC)


def test_sessions_after_the_last_completed_one_are_dropped_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    a = write(tmp_path, "a.csv", LONG)  # up to 2024-01-04, the session not yet closed
    b = write(tmp_path, "b.csv", "date,SPY\n2024-01-03,470\n2099-01-05,471\n2099-01-06,472\n")
    source = FilesSource(prices=[a, b], clock=lambda: BEFORE_JAN_4_CLOSE)
    with caplog.at_level(logging.WARNING):
        data = source.load(universe())
    assert list(data.closes.index.strftime("%Y-%m-%d")) == ["2024-01-02", "2024-01-03"]
    (record,) = caplog.records
    message = record.getMessage()
    assert "\n" not in message and "2024-01-03" in message, message
    assert f"{a} (1 session, 2024-01-04)" in message, message
    assert f"{b} (2 sessions, 2099-01-05 to 2099-01-06)" in message, message


def test_the_wall_clock_drops_a_far_future_row_and_as_of_still_cuts(tmp_path: Path) -> None:
    prices = write(tmp_path, "p.csv", LONG + "2099-01-05,AAA,13\n")
    data = FilesSource(prices=[prices]).load(universe())  # the real clock
    assert data.closes.index[-1] == pd.Timestamp("2024-01-04")
    cut = FilesSource(prices=[prices]).load(universe(), end=pd.Timestamp("2024-01-03"))
    assert cut.closes.index[-1] == pd.Timestamp("2024-01-03")


def test_a_file_with_only_future_sessions_is_an_error(tmp_path: Path) -> None:
    prices = write(tmp_path, "p.csv", "date,SPY\n2024-01-04,470\n")
    source = FilesSource(prices=[prices], clock=lambda: BEFORE_JAN_4_CLOSE)
    with pytest.raises(DataSourceError, match="no closes on or before 2024-01-03, the last comp"):
        source.load(universe())


# --- errors: each names the file and the line or column --------------------------------------

OK = "date,ticker,close\n2024-01-02,AAA,1\n"  # header (line 1) and a good line 2
WIDE = "date,AAA,BBB\n2024-01-02,1,2\n"
CAPS = "date,ticker,market_cap\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("date,ticker,volume\n2024-01-02,AAA,1\n", "missing column 'close'"),
        ("ticker,close\nAAA,1\n", "missing column 'date'"),
        ("date,close\n2024-01-02,1\n", "missing column 'ticker'"),
        (OK + "2024-13-01,AAA,2\n", "line 3: unparsable date '2024-13-01'"),
        (OK + "01/03/2024,AAA,2\n", "line 3: unparsable date '01/03/2024'"),
        (OK + ",AAA,2\n", "line 3: missing date"),
        (OK + "2024-01-03,AAA,abc\n", "line 3: non-numeric close 'abc'"),
        (OK + "2024-01-03,AAA,0\n", "line 3: non-positive close 0"),
        (OK + "2024-01-03,AAA,-2.5\n", "line 3: non-positive close -2.5"),
        (OK + "2024-01-03,AAA,\n", "line 3: missing close"),
        (OK + "2024-01-03,AAA,inf\n", "line 3: non-finite close"),
        (OK + "2024-01-02,BBB,2\n2024-01-02,aaa,3\n", "line 4: duplicate date and ticker"),
        ("date,ticker,close\n2024-01-02,BRK-B,1\n2024-01-02,BRK.B,2\n",
         "line 3: duplicate date and ticker (first on line 2)"),
        (OK + "2024-01-03,,2\n", "line 3: empty ticker"),
        ("date,ticker,close\n\n\n2024-01-02,AAA,1\n2024-01-0x,AAA,2\n", "line 5: unparsable date"),
        ("date,ticker,close\n", "no data rows"),
        ("", "empty file"),
        (WIDE + "2024-01-03,3,x\n", "line 3, column 'BBB': non-numeric close 'x'"),
        (WIDE + "2024-01-03,3,-1\n", "line 3, column 'BBB': non-positive"),
        (WIDE + "2024-01-02,3,4\n", "line 3: duplicate date (first on line 2)"),
        (WIDE + "yesterday,3,4\n", "line 3: unparsable date 'yesterday'"),
        ("date,AAA,aaa\n2024-01-02,1,2\n", "columns 'AAA' and 'aaa' are the same ticker"),
        ("date,AAA,,BBB\n2024-01-02,1,2,3\n", "column 3 has no ticker name"),
        ("date\n2024-01-02\n", "no ticker columns"),
        ("AAA,BBB\n1,2\n", "missing column 'date'"),
    ],
)  # fmt: skip
def test_bad_price_files_name_file_and_place(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, "bad.csv", text)
    with pytest.raises(DataFileError) as info:
        read_price_file(path)
    assert str(info.value).startswith(str(path)), info.value
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("wide.csv", "date,AAPL,MSFT,AAPL\n2024-01-02,1,2,3\n"),
        ("wide.csv.gz", "date,AAPL,MSFT,AAPL\n2024-01-02,1,2,3\n"),
        ("long.csv", "date,AAPL,close,AAPL,ticker\n2024-01-02,1,2,3,AAA\n"),
    ],
)
def test_a_repeated_column_is_refused_not_renamed(tmp_path: Path, name: str, text: str) -> None:
    """pandas renames a repeated column (AAPL, AAPL.1), which became a phantom AAPL-1."""
    path = write(tmp_path, name, text)
    with pytest.raises(DataFileError) as info:
        read_price_files([path])
    assert str(info.value) == f"{path}: column 'AAPL' appears twice (columns 2 and 4)"
    assert len(str(info.value).splitlines()) == 1


def test_a_repeated_parquet_column_is_refused(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "wide.parquet"
    columns = [pa.array(["2024-01-02"]), pa.array([1.0]), pa.array([2.0])]
    pq.write_table(pa.Table.from_arrays(columns, names=["date", "AAPL", "AAPL"]), path)
    with pytest.raises(DataFileError) as info:
        read_price_file(path)
    assert str(info.value) == f"{path}: column 'AAPL' appears twice (columns 2 and 3)"


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="nope.csv: file not found"):
        FilesSource(prices=[tmp_path / "nope.csv"]).load(universe())


def test_bad_parquet_rows_are_numbered_from_one(tmp_path: Path) -> None:
    path = tmp_path / "p.parquet"
    pd.DataFrame(
        {"date": ["2024-01-02", "2024-01-03"], "ticker": ["AAA", "AAA"], "close": [1.0, -1.0]}
    ).to_parquet(path)
    with pytest.raises(DataFileError, match=r"p\.parquet: row 2: non-positive close -1"):
        read_price_file(path)


def test_corrupt_parquet(tmp_path: Path) -> None:
    path = write(tmp_path, "p.parquet", "this is not parquet")
    with pytest.raises(DataFileError, match="cannot be read as Parquet"):
        read_price_file(path)


def test_a_ticker_in_two_files_names_both(tmp_path: Path) -> None:
    a = write(tmp_path, "a.csv", "date,ticker,close\n2024-01-02,BRK.B,10\n")
    b = write(tmp_path, "b.csv", "date,BRK-B,SPY\n2024-01-03,11,470\n")
    with pytest.raises(DataFileError) as info:
        read_price_files([a, b])
    assert "BRK-B" in str(info.value) and str(a) in str(info.value) and str(b) in str(info.value)


def test_no_price_files() -> None:
    with pytest.raises(DataSourceError, match="--prices"):
        read_price_files([])


# --- market-cap snapshots -----------------------------------------------------------------


def test_cap_snapshots_use_cap_then_price_times_shares(tmp_path: Path) -> None:
    text = (
        "date,ticker,price,market_cap,shares\n"
        "2024-01-05,ZZZ,10.0,,\n"  # no cap, no shares: NaN
        "2024-01-02,AAA,50.0,1000.0,20\n"  # cap given: used as is
        "2024-01-02,brk.b,400.0,,3\n"  # only shares: price x shares
        "2024-01-03,CCC,0.0,,5\n"  # 0.0 = no quote: NaN
    )
    caps = load_cap_snapshots(write(tmp_path, "s.csv", text))
    assert list(caps.columns) == ["date", "ticker", "market_cap"]
    assert caps["date"].dtype == "datetime64[ns]"
    assert caps["ticker"].tolist() == ["AAA", "BRK-B", "CCC", "ZZZ"]
    np.testing.assert_array_equal(caps["market_cap"], [1000.0, 1200.0, np.nan, np.nan])


def test_cap_snapshots_accept_as_of_and_parquet(tmp_path: Path) -> None:
    path = tmp_path / "s.parquet"
    pd.DataFrame({"as_of": ["2024-01-02"], "ticker": ["AAA"], "market_cap": [5e9]}).to_parquet(path)
    caps = load_cap_snapshots(path)
    assert caps["market_cap"].tolist() == [5e9] and caps["date"].iloc[0] == pd.Timestamp(
        "2024-01-02"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ticker,market_cap\nAAA,1\n", "missing column 'date' (or 'as_of')"),
        ("date,market_cap\n2024-01-02,1\n", "missing column 'ticker'"),
        ("date,ticker,price\n2024-01-02,AAA,1\n", "missing column 'market_cap'"),
        ("date,ticker,shares\n2024-01-02,AAA,1\n", "'shares' needs a 'price' column"),
        (CAPS + "2024-01-02,AAA,1\n2024-01-02,AAA,2\n", "line 3: duplicate date and ticker"),
        ("date,ticker,market_cap\n2024-01-02,AAA,big\n", "line 2: non-numeric market_cap 'big'"),
        (CAPS + "2024-01-02,AAA,1\nsoon,BBB,2\n", "line 3: unparsable date 'soon'"),
        ("date,ticker,market_cap,shares\n2024-01-02,AAA,,-5\n", "line 2: non-positive shares -5"),
        ("date,ticker,market_cap,price\n2024-01-02,AAA,,-5\n", "line 2: non-positive price -5"),
        ("date,ticker,market_cap\n2024-01-02,AAA,0\n", "line 2: non-positive market_cap 0"),
    ],
)  # fmt: skip
def test_bad_cap_snapshots(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, "s.csv", text)
    with pytest.raises(DataFileError) as info:
        load_cap_snapshots(path)
    assert str(info.value).startswith(str(path)) and message in str(info.value), info.value


# --- the real files in ../shared/data ---------------------------------------------------------


def need(name: str) -> Path:
    path = SHARED / name
    if not path.exists():
        pytest.skip(f"real data absent: {path}")
    return path


@pytest.fixture(scope="module")
def real_panel() -> tuple[pd.DataFrame, float]:
    members, etfs = need("sp500_members_daily.csv.gz"), need("etfs_daily.csv.gz")
    start = time.perf_counter()
    panel = read_price_files([members, etfs])
    return panel, time.perf_counter() - start


def test_real_price_files_read_fast_and_match_a_plain_pivot(
    real_panel: tuple[pd.DataFrame, float],
) -> None:
    panel, seconds = real_panel
    assert seconds < 5.0, f"reading the real panel took {seconds:.2f} s"
    raw = pd.read_csv(need("etfs_daily.csv.gz"))
    plain = raw.pivot(index="date", columns="ticker", values="close")
    ours = panel[plain.columns].dropna(how="all")
    np.testing.assert_array_equal(ours.index.strftime("%Y-%m-%d"), plain.index)
    np.testing.assert_array_equal(ours.to_numpy(), plain.to_numpy())
    assert "BRK-B" in panel.columns and {"SPY", "XLK", "AAPL"} <= set(panel.columns)
    rows = pd.read_csv(need("sp500_members_daily.csv.gz"), usecols=["ticker"])
    assert int(panel.notna().to_numpy().sum()) == len(rows) + len(raw)


def test_real_share_snapshots(tmp_path: Path) -> None:
    path = need("sp500_shares.csv.gz")
    caps = load_cap_snapshots(path)
    raw = pd.read_csv(path)
    assert len(caps) == len(raw)
    merged = caps.assign(d=caps["date"].dt.strftime("%Y-%m-%d")).merge(
        raw, left_on=["d", "ticker"], right_on=["date", "ticker"], suffixes=("", "_raw")
    )
    assert len(merged) == len(raw)
    has_cap = merged["market_cap_raw"].notna()
    np.testing.assert_array_equal(
        merged.loc[has_cap, "market_cap"], merged.loc[has_cap, "market_cap_raw"]
    )
    # the rows without a cap have no shares either (or no price): left out, never invented
    assert merged.loc[~has_cap, "market_cap"].isna().all()
    assert (~has_cap).sum() > 0
    assert {"GOOG", "GOOGL", "BRK-B"} <= set(caps["ticker"])
