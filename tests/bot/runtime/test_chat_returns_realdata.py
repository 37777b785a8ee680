"""`rotation-bot chat` on the real panel answers return, compare and mega7 with the figures
of an independent computation written here with pandas on the raw CSV files (sharing no code
with signals/ or bot/). Data: ../shared/data (see its README); skipped where absent."""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bot.alerts.market_state import state_from_data
from bot.commands.context import CommandContext
from bot.runtime.chat_console import run_chat
from signals.market import MarketData

pytestmark = pytest.mark.realdata

DATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "data"
SEVEN = ("AAPL", "MSFT", "NVDA", "AMZN", "GOOGL", "GOOG", "META", "TSLA")


@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    """The raw closes, wide, straight from the two CSV files."""
    files = ("etfs_daily.csv.gz", "sp500_members_daily.csv.gz")
    frames = [pd.read_csv(DATA / f, parse_dates=["date"]) for f in files]
    return pd.concat(frames).pivot(index="date", columns="ticker", values="close")


@pytest.fixture(scope="module")
def answers(real_data: MarketData, tmp_path_factory) -> dict[str, str]:
    """Each line's answer from its own `rotation-bot chat` session on the real panel."""
    state = state_from_data(real_data)

    def context_for(caller):
        return CommandContext(caller=caller, state=lambda: state)

    lines = [
        "return IWM 2025",
        "return IWC 2025",
        "mega7 2025",
        "compare RSP SPY 2025-11",
        "return XLE XLK 2024q3",
        "mega7 2025-03-01..2025-06-30",
        "return NOSUCH 2025",
        "return IWM XLC 2018",
    ]
    folder = tmp_path_factory.mktemp("charts")
    answers = {}
    for line in lines:  # one session per line: each answer on its own
        out = io.StringIO()
        assert run_chat(context_for, io.StringIO(line + "\n"), out, charts_dir=folder) == 0
        answers[line] = out.getvalue().strip()
    return answers


def period_return(raw: pd.DataFrame, ticker: str, first: str, last: str) -> float:
    s = raw[ticker].dropna()
    return 100.0 * (s[s.index <= last].iloc[-1] / s[s.index < first].iloc[-1] - 1.0)


def mega7_share(raw: pd.DataFrame, first: str, last: str) -> tuple[float, str]:
    """The seven's share of the members' cap-weighted return, and the caps line: companies
    weighed of member companies, the oldest snapshot behind a cap.

    Caps on the base session (the last before `first`): the latest snapshot on or before it
    carried with the adjusted closes (cap_s / close_s * close_base); one company per name
    (share classes' "(Class A)" dropped), its largest class; returns of that class, a
    missing end close counting zero."""
    members = pd.read_csv(DATA / "sp500_constituents.csv", keep_default_na=False)
    members["company"] = members["name"].str.replace(
        r"\s*\((?:class|series)\s+[a-z0-9]+\)\s*$", "", regex=True, flags=re.IGNORECASE
    )
    shares = pd.read_csv(DATA / "sp500_shares.csv.gz", parse_dates=["date"])
    sessions = raw.index
    base = sessions[sessions < first][-1]
    end = sessions[sessions <= last][-1]
    snaps = shares[(shares["date"] <= base) & (shares["market_cap"] > 0)]
    snaps = snaps[snaps["ticker"].isin(members["ticker"]) & snaps["ticker"].isin(raw.columns)]
    rows = []
    for ticker, group in snaps.groupby("ticker"):
        closes = raw[ticker]
        for _, snap in group.sort_values("date", ascending=False).iterrows():
            at = closes[closes.index <= snap["date"]].dropna()
            if len(at):  # the close of the snapshot's session (or the last before it)
                cap = snap["market_cap"] / at.iloc[-1] * closes[base]
                if np.isfinite(cap):
                    rows.append((ticker, cap, snap["date"]))
                break
    caps = pd.DataFrame(rows, columns=["ticker", "cap", "snap"]).merge(members, on="ticker")
    oldest = caps["snap"].min().date()
    caps = caps.sort_values("cap", ascending=False).drop_duplicates("company")
    caps["w"] = caps["cap"] / caps["cap"].sum()
    caps["r"] = [
        0.0 if np.isnan(raw.at[end, t]) else raw.at[end, t] / raw.at[base, t] - 1.0
        for t in caps["ticker"]
    ]
    total = (caps["w"] * caps["r"]).sum()
    seven = members.loc[members["ticker"].isin(SEVEN), "company"].unique()
    part = (caps["w"] * caps["r"])[caps["company"].isin(seven)].sum()
    n, m = len(caps), members["company"].nunique()
    line = f"caps: {n} of {m} companies ({100 * n / m:.1f}%), oldest cap snapshot {oldest}"
    return 100.0 * part / total, line


def test_return_iwm_2025(answers, raw):
    want = period_return(raw, "IWM", "2025-01-01", "2025-12-31")
    assert f"{want:+.2f} %" == "+12.66 %"
    assert "IWM     +12.66 %  2024-12-31  2025-12-31" in answers["return IWM 2025"]
    assert answers["return IWM 2025"].startswith("Return · 2025 · 2024-12-31 → 2025-12-31")


def test_return_iwc_2025(answers, raw):
    want = period_return(raw, "IWC", "2025-01-01", "2025-12-31")
    assert f"{want:+.2f} %" == "+22.45 %"
    assert "+22.45 %" in answers["return IWC 2025"]


def test_compare_rsp_spy_november_2025(answers, raw):
    a = period_return(raw, "RSP", "2025-11-01", "2025-11-30")
    b = period_return(raw, "SPY", "2025-11-01", "2025-11-30")
    assert f"{a - b:+.2f} pp" == "+1.72 pp"
    text = answers["compare RSP SPY 2025-11"]
    assert "RSP vs SPY: +1.72 pp" in text
    assert text.startswith("RSP vs SPY · 2025-11 · 2025-10-31 → 2025-11-28")


def test_mega7_2025(answers, raw):
    share, caps_line = mega7_share(raw, "2025-01-01", "2025-12-31")
    assert f"{share:.2f} %" == "42.98 %"
    text = answers["mega7 2025"]
    assert "42.98 % of it" in text
    assert caps_line == "caps: 463 of 500 companies (92.6%), oldest cap snapshot 2018-02-08"
    assert caps_line in text
    assert text.startswith("Mega-7 · 2025 · 2024-12-31 → 2025-12-31")


def test_other_periods_match_the_independent_computation(answers, raw):
    text = answers["return XLE XLK 2024q3"]
    for t in ("XLE", "XLK"):
        assert f"{period_return(raw, t, '2024-07-01', '2024-09-30'):+.2f} %" in text
    share, _ = mega7_share(raw, "2025-03-01", "2025-06-30")
    assert f"{share:.2f} % of it" in answers["mega7 2025-03-01..2025-06-30"]


def test_an_unknown_ticker_is_one_line(answers):
    text = answers["return NOSUCH 2025"]
    assert text.startswith("Sorry: Unknown ticker “NOSUCH”") and "\n" not in text


def test_a_ticker_without_a_base_close_is_named_beside_the_others(answers, raw):
    text = answers["return IWM XLC 2018"]
    assert f"{period_return(raw, 'IWM', '2018-01-01', '2018-12-31'):+.2f} %" in text
    first = raw["XLC"].first_valid_index().date()
    assert f"XLC has no close on 2017-12-29 (its data starts {first})." in text
