"""Real market data from ../shared/data loaded straight into `MarketData` with pandas.

Independent of the project's file source on purpose: the indicator tests should not depend
on (or share bugs with) the loader. Tests skip with a clear reason where the folder is absent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from signals.market import MarketData
from signals.universe import Universe

SHARED_DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
_FILES = (
    "sp500_members_daily.csv.gz",
    "etfs_daily.csv.gz",
    "sp500_constituents.csv",
    "sp500_membership.csv",
    "sp500_shares.csv.gz",
)
_CLASS = re.compile(r"\s*\((?:class|series)\s+[a-z0-9]+\)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class RealFrames:
    """The shared files as plain frames (closes wide: sessions x tickers)."""

    closes: pd.DataFrame
    members: pd.DataFrame
    membership: pd.DataFrame
    caps: pd.DataFrame

    def market(self, membership: bool = False, since: str | None = None) -> MarketData:
        closes = self.closes if since is None else self.closes.loc[since:]
        universe = Universe(table=self.members, membership=self.membership if membership else None)
        return MarketData(closes=closes, universe=universe, caps=self.caps, source="files")


def load_real_frames(folder: Path = SHARED_DATA) -> RealFrames:
    """Read the five shared files (about 3 s)."""
    long = pd.concat(
        [
            pd.read_csv(folder / "sp500_members_daily.csv.gz", parse_dates=["date"]),
            pd.read_csv(folder / "etfs_daily.csv.gz", parse_dates=["date"]),
        ]
    )
    closes = long.pivot(index="date", columns="ticker", values="close").astype(np.float64)
    closes.index = pd.DatetimeIndex(closes.index, name="date").as_unit("ns")
    closes.columns = pd.Index([str(c) for c in closes.columns], name="ticker")

    raw = pd.read_csv(folder / "sp500_constituents.csv", dtype=str, keep_default_na=False)
    members = pd.DataFrame(
        {
            "name": raw["name"].to_numpy(),
            "sector": raw["sector"].to_numpy(),
            "company": [
                _CLASS.sub("", n).strip() or t
                for n, t in zip(raw["name"], raw["ticker"], strict=True)
            ],
        },
        index=pd.Index(raw["ticker"].to_numpy(), name="ticker"),
    )

    ms = pd.read_csv(folder / "sp500_membership.csv", dtype=str, keep_default_na=False)
    membership = pd.DataFrame(
        {
            "ticker": ms["ticker"],
            "start_date": pd.to_datetime(ms["start_date"]).astype("datetime64[ns]"),
            "end_date": pd.to_datetime(ms["end_date"].replace("", None)).astype("datetime64[ns]"),
        }
    )

    sh = pd.read_csv(folder / "sp500_shares.csv.gz", parse_dates=["date"])
    cap = sh["market_cap"].where(sh["market_cap"].notna(), sh["price"] * sh["shares"])
    caps = pd.DataFrame(
        {"date": sh["date"].astype("datetime64[ns]"), "ticker": sh["ticker"], "market_cap": cap}
    )
    return RealFrames(closes=closes, members=members, membership=membership, caps=caps)


@pytest.fixture(scope="session")
def real_frames() -> RealFrames:
    """The shared real data, loaded once per test session; skips where it is absent."""
    missing = [f for f in _FILES if not (SHARED_DATA / f).exists()]
    if missing:
        pytest.skip(f"real data absent: {SHARED_DATA} lacks {', '.join(missing)}")
    return load_real_frames()
