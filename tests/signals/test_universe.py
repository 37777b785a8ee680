"""Tests for signals/universe.py and the bundled S&P 500 list.

The bundled list is compared with the independent list in ../shared/data (as of 2026-08-08);
index changes since the bundled file's date are expected and printed (`pytest -s`).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from signals.errors import DataFileError
from signals.universe import (
    BUNDLED_AS_OF,
    Universe,
    company_key,
    load_members,
    load_membership,
    load_universe,
)

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
BUNDLED = Path(__file__).resolve().parents[2] / "signals" / "data" / "sp500_universe.csv"

GICS_SECTORS = {
    "Information Technology",
    "Financials",
    "Health Care",
    "Industrials",
    "Materials",
    "Energy",
    "Consumer Discretionary",
    "Consumer Staples",
    "Utilities",
    "Real Estate",
    "Communication Services",
}


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _shared(name: str) -> Path:
    path = SHARED / name
    if not path.exists():
        pytest.skip(f"real data absent: {path} (see ../shared/data/README.md)")
    return path


# --- the bundled file ---------------------------------------------------------------------


def test_bundled_file_states_its_date_in_a_leading_comment() -> None:
    first = BUNDLED.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# ")
    assert f"as of {BUNDLED_AS_OF}" in first


def test_bundled_universe_shape_and_sectors() -> None:
    u = load_universe()
    t = u.table
    assert u.as_of == BUNDLED_AS_OF
    assert 495 <= len(t) <= 510
    assert set(t["sector"]) == GICS_SECTORS
    assert not t.index.str.contains(r"\.", regex=True).any()  # Yahoo spelling
    assert {"BRK-B", "BF-B", "AAPL", "MSFT", "NVDA"} <= set(t.index)
    # three dual-class companies -> 3 fewer companies than tickers
    assert t["company"].nunique() == len(t) - 3
    for a, b in (("GOOGL", "GOOG"), ("FOXA", "FOX"), ("NWSA", "NWS")):
        assert t.loc[a, "company"] == t.loc[b, "company"]
    assert t.loc["BRK-B", "company"] == "Berkshire Hathaway"


def test_bundled_sectors_after_2023_gics_change() -> None:
    t = load_members()
    expected = {
        "V": "Financials",
        "MA": "Financials",
        "PYPL": "Financials",
        "AMZN": "Consumer Discretionary",
        "TSLA": "Consumer Discretionary",
        "GOOGL": "Communication Services",
        "META": "Communication Services",
        "NFLX": "Communication Services",
        "COST": "Consumer Staples",
        "ADP": "Industrials",
    }
    got = t.loc[list(expected), "sector"].to_dict()
    assert got == expected


@pytest.mark.realdata
def test_bundled_matches_shared_constituents() -> None:
    ref_path = _shared("sp500_constituents.csv")
    # independent read: the csv module, not the loader under test
    with ref_path.open(newline="", encoding="utf-8") as fh:
        ref = {
            r["ticker"].strip().replace(".", "-"): r["sector"].strip() for r in csv.DictReader(fh)
        }
    with BUNDLED.open(newline="", encoding="utf-8") as fh:
        lines = (line for line in fh if not line.startswith("#"))
        ours = {r["ticker"]: r["sector"] for r in csv.DictReader(lines)}

    common = sorted(set(ours) & set(ref))
    added = sorted(set(ref) - set(ours))
    removed = sorted(set(ours) - set(ref))
    mismatched = [(t, ours[t], ref[t]) for t in common if ours[t] != ref[t]]
    pct_common = 100 * len(common) / len(ref)
    pct_sector = 100 * (len(common) - len(mismatched)) / len(common)

    print(f"\nbundled ({BUNDLED_AS_OF}): {len(ours)} tickers; shared list: {len(ref)} tickers")
    print(f"in common: {len(common)} = {pct_common:.1f} % of the shared list")
    print(f"in the shared list only (added since?): {len(added)}: {' '.join(added)}")
    print(f"in the bundled list only (removed since?): {len(removed)}: {' '.join(removed)}")
    print(f"sector agreement on common tickers: {pct_sector:.1f} %")
    for t, a, b in mismatched:
        print(f"  sector differs: {t}: bundled {a!r}, shared {b!r}")

    assert pct_common >= 90
    assert 100 * len(common) / len(ours) >= 90
    assert pct_sector >= 98


# --- load_members -------------------------------------------------------------------------


def test_load_members_requires_ticker_column(tmp_path: Path) -> None:
    p = _write(tmp_path / "m.csv", "symbol,sector\nAAA,Energy\n")
    with pytest.raises(DataFileError, match=r"m\.csv.*missing column 'ticker'"):
        load_members(p)


def test_load_members_duplicate_ticker_names_line(tmp_path: Path) -> None:
    p = _write(tmp_path / "m.csv", "ticker,sector\nAAA,Energy\nBBB,Energy\naaa,Utilities\n")
    with pytest.raises(DataFileError, match=r"duplicate ticker AAA on line 4"):
        load_members(p)


def test_load_members_duplicate_after_dot_normalisation(tmp_path: Path) -> None:
    p = _write(tmp_path / "m.csv", "ticker\nBRK.B\nBRK-B\n")
    with pytest.raises(DataFileError, match=r"duplicate ticker BRK-B on line 3"):
        load_members(p)


def test_load_members_empty_ticker(tmp_path: Path) -> None:
    p = _write(tmp_path / "m.csv", "ticker,sector\nAAA,Energy\n ,Energy\n")
    with pytest.raises(DataFileError, match=r"empty ticker on line 3"):
        load_members(p)


def test_load_members_line_numbers_count_leading_comments(tmp_path: Path) -> None:
    p = _write(tmp_path / "m.csv", "# a header comment\n# another\nticker\nAAA\nAAA\n")
    with pytest.raises(DataFileError, match=r"duplicate ticker AAA on line 5"):
        load_members(p)


def test_load_members_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="not found"):
        load_members(tmp_path / "nope.csv")


def test_load_members_normalises_and_defaults(tmp_path: Path) -> None:
    p = _write(
        tmp_path / "m.csv",
        "Ticker,Sector,Extra\n brk.b ,Financials,x\nbf.b,Consumer Staples,y\nmsft,,z\n",
    )
    t = load_members(p)
    assert list(t.index) == ["BRK-B", "BF-B", "MSFT"]
    assert list(t.columns) == ["name", "sector", "company"]
    assert t.loc["MSFT", "sector"] == ""
    # no name: each ticker is its own company
    assert list(t["company"]) == ["BRK-B", "BF-B", "MSFT"]


def test_company_grouping_by_class_suffix_and_explicit_column(tmp_path: Path) -> None:
    p = _write(
        tmp_path / "m.csv",
        "ticker,name,company\n"
        "GOOGL,Alphabet Inc. (Class A),\n"
        "GOOG,Alphabet Inc. (class C),\n"
        "FOXA,Fox Corporation (Class A),\n"
        "FOX,Fox Corp Class B shares,Fox Corporation\n"
        "HEI,HEICO,\n"
        "HEI-A,HEICO (Series A),\n"
        "XYZ,Block Inc.,\n",
    )
    c = load_members(p)["company"]
    assert c["GOOGL"] == c["GOOG"] == "Alphabet Inc."
    assert c["FOXA"] == c["FOX"] == "Fox Corporation"
    assert c["HEI"] == c["HEI-A"] == "HEICO"
    assert c["XYZ"] == "Block Inc."
    assert c.nunique() == 4


def test_company_key_edge_cases() -> None:
    assert company_key(None, "AAA") == "AAA"
    assert company_key(float("nan"), "AAA") == "AAA"
    assert company_key("  ", "AAA") == "AAA"
    assert company_key("Class Act Inc.", "AAA") == "Class Act Inc."
    assert company_key("News Corp (Class B) ", "NWS") == "News Corp"


def test_company_of_unknown_ticker_is_its_own_company(tmp_path: Path) -> None:
    p = _write(
        tmp_path / "m.csv", "ticker,name\nGOOGL,Alphabet (Class A)\nGOOG,Alphabet (Class C)\n"
    )
    u = load_universe(p)
    assert list(u.company_of(["GOOG", "ZZZ", "GOOGL"])) == ["Alphabet", "ZZZ", "Alphabet"]


# --- member_mask --------------------------------------------------------------------------

SESSIONS = pd.DatetimeIndex(
    ["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05", "2024-01-08"], name="date"
)


def _universe(tmp_path: Path, membership: str | None = None) -> Universe:
    members = _write(tmp_path / "m.csv", "ticker,sector\nAAA,Energy\nBBB,Utilities\n")
    pit = None if membership is None else _write(tmp_path / "pit.csv", membership)
    return load_universe(members, pit)


def test_member_mask_without_membership(tmp_path: Path) -> None:
    u = _universe(tmp_path)
    mask = u.member_mask(SESSIONS, ["BBB", "CCC", "AAA"])
    assert mask.index.equals(SESSIONS)
    assert list(mask.columns) == ["BBB", "CCC", "AAA"]
    assert mask.to_numpy().tolist() == [[True, False, True]] * len(SESSIONS)
    mask.iloc[0, 0] = False  # writable, independent rows
    assert bool(mask.iloc[1, 0])


def test_member_mask_with_membership(tmp_path: Path) -> None:
    u = _universe(
        tmp_path,
        "ticker,start_date,end_date\n"
        "AAA,2024-01-03,2024-01-05\n"  # member on 01-03, 01-04 (end exclusive)
        "AAA,2024-01-08,\n"  # rejoins, still a member
        "CCC,2023-06-01,\n"  # only in the membership file
        "DDD,2024-01-04,2024-01-04\n"  # empty interval
        "EEE,2020-01-01,2024-01-01\n",  # left before the sessions
    )
    tickers = ["AAA", "BBB", "CCC", "DDD", "EEE"]
    mask = u.member_mask(SESSIONS, tickers)
    # independent computation: a loop over sessions and intervals
    pit = pd.read_csv(tmp_path / "pit.csv", parse_dates=["start_date", "end_date"])
    expected = np.zeros((len(SESSIONS), len(tickers)), dtype=bool)
    for i, t in enumerate(SESSIONS):
        for j, tk in enumerate(tickers):
            rows = pit[pit["ticker"] == tk]
            expected[i, j] = any(
                s <= t and (pd.isna(e) or t < e)
                for s, e in zip(rows["start_date"], rows["end_date"], strict=True)
            )
    assert mask.to_numpy().tolist() == expected.tolist()
    assert mask["AAA"].tolist() == [False, True, True, False, True]
    assert not mask["BBB"].any()  # in the universe file but not in the membership file
    assert mask["CCC"].all()
    assert u.all_tickers() == ["AAA", "BBB", "CCC", "DDD", "EEE"]


# --- load_membership ----------------------------------------------------------------------


def test_load_membership_parses_and_normalises(tmp_path: Path) -> None:
    p = _write(tmp_path / "pit.csv", "ticker,start_date,end_date\nbrk.b,2010-02-16,\n")
    m = load_membership(p)
    assert m["ticker"].tolist() == ["BRK-B"]
    assert m["start_date"].iloc[0] == pd.Timestamp("2010-02-16")
    assert pd.isna(m["end_date"].iloc[0])


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("ticker,start_date\nAAA,2020-01-01\n", r"missing column\(s\) \['end_date'\]"),
        ("ticker,start_date,end_date\nAAA,2020-01-01,\nBBB,01/02/2020,\n", r"line 3.*start_date"),
        ("ticker,start_date,end_date\nAAA,,2020-01-01\n", r"line 2.*start_date"),
        ("ticker,start_date,end_date\nAAA,2020-01-01,soon\n", r"line 2.*end_date 'soon'"),
    ],
)
def test_load_membership_errors(tmp_path: Path, text: str, pattern: str) -> None:
    p = _write(tmp_path / "pit.csv", text)
    with pytest.raises(DataFileError, match=pattern):
        load_membership(p)


def test_load_membership_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="membership file not found"):
        load_membership(tmp_path / "none.csv")


@pytest.mark.realdata
def test_shared_membership_file() -> None:
    path = _shared("sp500_membership.csv")
    m = load_membership(path)
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert len(m) == len(raw)
    assert (m["start_date"].notna()).all()
    closed = m["end_date"].notna()
    assert (m.loc[closed, "start_date"] <= m.loc[closed, "end_date"]).all()
    assert int((~closed).sum()) == int((raw["end_date"] == "").sum())

    u = Universe(table=load_members(), membership=m)
    sessions = pd.DatetimeIndex(["2015-06-30", "2020-06-30", "2025-06-30"])
    tickers = u.all_tickers()
    mask = u.member_mask(sessions, tickers)
    counts = mask.sum(axis=1)
    # the index has ~500 companies, ~503-505 share lines
    assert ((counts >= 495) & (counts <= 510)).all(), counts.to_dict()
    # independent count for one date, straight from the raw strings
    day = "2025-06-30"
    alive = (raw["start_date"] <= day) & ((raw["end_date"] == "") | (raw["end_date"] > day))
    assert counts.iloc[-1] == raw.loc[alive, "ticker"].str.replace(".", "-").nunique()
