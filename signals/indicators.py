"""Every rotation signal of DESIGN §1 as a session-indexed history, from one `MarketData`.

`compute_signals` is pure and computes the whole history at once, so a snapshot, a chart, an
alert and a backtest read the same numbers. All signals are causal: the row for session t
uses only data dated on or before t, so the history of `data` read at t equals the history
of `data.up_to(t)`. The numeric kernels live in `indicators_breadth` (moving-average breadth),
`indicators_caps` (caps, top ten, mega seven) and `indicators_prices` (ETF returns,
volatility, valuation); this module wires them to the signal ids and their detail columns.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from signals import calendar
from signals.indicators_breadth import (
    above_and_used,
    count_true,
    group_counts,
    percent,
    prefix_sums,
)
from signals.indicators_caps import cap_panel, mega_contribution, top_share
from signals.indicators_json import json_safe
from signals.indicators_prices import (
    column_or_nan,
    returns_pct,
    valuation_columns,
    volatility_pct,
)
from signals.indicators_regime import regime_columns, regime_reasons
from signals.market import SECTOR_ETFS, SECTOR_SIGNAL_ETFS, MarketData
from signals.universe import Universe

#: Tickers whose companies are "the seven" (Alphabet's two classes are one company).
MEGA_SEVEN_TICKERS: tuple[str, ...] = (
    "AAPL",
    "MSFT",
    "NVDA",
    "AMZN",
    "GOOGL",
    "GOOG",
    "META",
    "TSLA",
)
#: Details that are counts: reported as integers.
_COUNT_DETAILS = frozenset({"above", "used", "companies_used", "missing_caps"})


@dataclass(frozen=True)
class SignalParams:
    """Windows and thresholds of the signals (defaults = DESIGN §1)."""

    breadth_windows: tuple[int, ...] = (200, 50)
    return_window: int = 63
    sector_windows: tuple[int, ...] = (21, 63, 252)
    vol_window: int = 252
    regime_breadth: float = 65.0
    top10_lookback: int = 63
    mega7_min_pp: float = 0.5

    @property
    def breadth_id(self) -> str:
        """The breadth signal the regime and the sectors use (the first window)."""
        return f"breadth_{self.breadth_windows[0]}d"


@dataclass(frozen=True)
class SignalHistory:
    """Every signal on every session of the panel.

    frames: signal id -> frame indexed by session, column ``value`` plus detail columns.
    company_caps: sessions x companies, the member company caps behind the top ten.
    """

    frames: Mapping[str, pd.DataFrame]
    company_caps: pd.DataFrame
    params: SignalParams = field(default_factory=SignalParams)

    @property
    def sessions(self) -> pd.DatetimeIndex:
        return self.company_caps.index

    def ids(self) -> list[str]:
        return list(self.frames)

    def frame(self, signal_id: str) -> pd.DataFrame:
        try:
            return self.frames[signal_id]
        except KeyError:
            raise KeyError(
                f"unknown signal {signal_id!r}; valid ids: {', '.join(self.frames)}"
            ) from None

    def series(self, path: str) -> pd.Series:
        """A signal's value (``breadth_200d``) or one detail (``smallcap_rs.iwm_qqq``)."""
        signal_id, _, detail = path.partition(".")
        frame = self.frame(signal_id)
        column = detail or "value"
        if column not in frame.columns or (detail and column == "value"):
            details = [c for c in frame.columns if c != "value"]
            raise KeyError(
                f"signal {signal_id!r} has no detail {detail!r}; details: {', '.join(details)}"
            )
        return frame[column].rename(path)

    def position(self, session: Any) -> int:
        """Row of the last session on or before `session` (KeyError before the first)."""
        ts = pd.Timestamp(session).normalize()
        pos = int(self.sessions.searchsorted(ts, side="right")) - 1
        if pos < 0:
            raise KeyError(f"{ts.date()} is before the first session of the history")
        return pos

    def details_at(self, signal_id: str, session: Any) -> dict[str, Any]:
        """The detail columns at a session (on or before), JSON-safe, plus the extras:
        ``companies`` (the ten) for top10_share, ``reasons`` for rotation_regime."""
        frame = self.frame(signal_id)
        pos = self.position(session)
        row = frame.iloc[pos]
        out: dict[str, Any] = {}
        for column in frame.columns:
            if column == "value":
                continue
            v = row[column]
            if column in _COUNT_DETAILS and pd.notna(v):
                v = int(v)
            out[column] = v
        if signal_id == "top10_share":
            out["companies"] = self.top_companies(pos)
        if signal_id == "rotation_regime":
            out["reasons"] = regime_reasons(self.frames, self.params, pos)
        return json_safe(out)

    def top_companies(self, pos: int, n: int = 10) -> list[dict[str, Any]]:
        """The n largest member companies at row `pos`; weight in % of all company cap."""
        row = self.company_caps.iloc[pos].dropna()
        total = float(row.sum())
        top = row.nlargest(n)
        return [
            {"company": str(c), "cap": float(v), "weight": 100.0 * float(v) / total}
            for c, v in top.items()
        ]


@dataclass(frozen=True)
class _Members:
    """Who is a member, per panel column.

    eligible: per panel column, a member on at least one session.
    mask: sessions x panel columns, or one row (1 x columns) when membership never changes.
    pit: whether `mask` is point-in-time (sessions x columns).
    count: members per session, including members without a price column.
    groups: panel columns per SECTOR_ETFS sector, in its order (by the universe's sector).
    company: company key per panel column (the ticker itself where not a member).
    """

    eligible: np.ndarray
    mask: np.ndarray
    pit: bool
    count: np.ndarray
    groups: list[np.ndarray]
    company: np.ndarray

    @staticmethod
    def build(universe: Universe, sessions: pd.DatetimeIndex, columns: pd.Index) -> _Members:
        n_sessions = len(sessions)
        eligible = np.zeros(len(columns), dtype=bool)
        if universe.membership is None:
            listed = pd.Index(universe.table.index)
            pos = columns.get_indexer(listed)
            eligible[pos[pos >= 0]] = True
            mask = eligible[None, :]
            count = np.full(n_sessions, len(listed), dtype=np.int64)
        else:
            listed = pd.Index(universe.membership["ticker"].unique())
            pos = columns.get_indexer(listed)
            eligible[pos[pos >= 0]] = True
            listed_mask = universe.member_mask(sessions, list(listed)).to_numpy(dtype=bool)
            count = listed_mask.sum(axis=1).astype(np.int64)
            mask = np.zeros((n_sessions, len(columns)), dtype=bool, order="F")
            mask[:, pos[pos >= 0]] = listed_mask[:, pos >= 0]
        sector = universe.table["sector"].reindex(columns).to_numpy(dtype=object)
        groups = [np.flatnonzero(eligible & (sector == s)) for s in SECTOR_ETFS.values()]
        company = columns.to_numpy(dtype=object).copy()
        idx = np.flatnonzero(eligible)
        company[idx] = universe.company_of(list(columns[idx])).to_numpy(dtype=object)
        pit = universe.membership is not None
        return _Members(eligible, mask, pit, count, groups, company)


def _frame(sessions: pd.DatetimeIndex, columns: Mapping[str, Any]) -> pd.DataFrame:
    """A float frame indexed by session from equal-length columns."""
    data = np.empty((len(sessions), len(columns)), order="F")
    for i, v in enumerate(columns.values()):
        data[:, i] = v
    return pd.DataFrame(data, index=sessions, columns=list(columns), copy=False)


def _on_sessions(closes: pd.DataFrame) -> tuple[pd.DatetimeIndex, pd.DataFrame]:
    """The panel on every NYSE session from its first to its last date (missing rows NaN)."""
    if closes.empty and len(closes.index) == 0:
        return pd.DatetimeIndex([], name="date").as_unit("ns"), closes
    index = pd.DatetimeIndex(closes.index)
    sessions = calendar.sessions(index.min(), index.max())
    if index.equals(sessions):
        return sessions, closes
    return sessions, closes.reindex(sessions)


def compute_signals(data: MarketData, params: SignalParams = SignalParams()) -> SignalHistory:
    """Every signal of DESIGN §1 on every session of `data.closes` (see the module doc)."""
    sessions, panel = _on_sessions(data.closes)
    columns = pd.Index(panel.columns)
    closes = panel.to_numpy(dtype=np.float64)
    members = _Members.build(data.universe, sessions, columns)
    breadth: dict[str, pd.DataFrame] = {}

    prefix = prefix_sums(closes)
    sector_breadth = np.full((len(sessions), len(SECTOR_ETFS)), np.nan)
    for n in params.breadth_windows:
        above, used = above_and_used(closes, prefix, n, members.mask)
        total_a, total_u = count_true(above), count_true(used)
        breadth[f"breadth_{n}d"] = _frame(
            sessions, {"value": percent(total_a, total_u), "above": total_a, "used": total_u}
        )
        if n == params.breadth_windows[0]:
            sector_breadth = percent(
                group_counts(above, members.groups), group_counts(used, members.groups)
            )
        del above, used

    etf = _etf_signals(sessions, closes, columns, params, sector_breadth)

    caps = cap_panel(
        sessions,
        closes,
        prefix.gaps,
        data.caps,
        columns,
        members.eligible,
        members.company,
        members.mask if members.pit else None,
    )
    del prefix
    share, companies_used = top_share(caps.company_caps)
    with_cap = np.count_nonzero(~np.isnan(caps.caps), axis=1)
    top10 = _frame(
        sessions,
        {
            "value": share,
            "companies_used": companies_used,
            "missing_caps": members.count - with_cap,
        },
    )
    seven = set(data.universe.company_of(list(MEGA_SEVEN_TICKERS)))
    value, pp, ytd = mega_contribution(sessions, closes, caps, seven, params.mega7_min_pp)
    mega7 = _frame(sessions, {"value": value, "pp": pp, "index_ytd": ytd})

    frames: dict[str, pd.DataFrame] = {
        **breadth,
        "ew_vs_cw": etf.pop("ew_vs_cw"),
        "smallcap_rs": etf.pop("smallcap_rs"),
        "top10_share": top10,
        "mega7_contribution": mega7,
        **etf,
        "valuation": _frame(sessions, valuation_columns(sessions, data.valuations)),
    }
    frames["rotation_regime"] = regime_columns(sessions, frames, params)
    company_caps = pd.DataFrame(caps.company_caps, index=sessions, columns=caps.companies)
    return SignalHistory(frames=frames, company_caps=company_caps, params=params)


def _etf_signals(
    sessions: pd.DatetimeIndex,
    closes: np.ndarray,
    columns: pd.Index,
    params: SignalParams,
    sector_breadth: np.ndarray,
) -> dict[str, pd.DataFrame]:
    """ew_vs_cw, smallcap_rs and the 13 sector_<ETF> frames from the ETF closes."""
    tickers = list(dict.fromkeys(("SPY", "RSP", "QQQ", "IWM", "IWC", *SECTOR_SIGNAL_ETFS)))
    col = {t: i for i, t in enumerate(tickers)}
    prices = column_or_nan(closes, columns, tickers)
    rw = params.return_window
    windows = list(dict.fromkeys(params.sector_windows))
    ret = {k: returns_pct(prices, k) for k in dict.fromkeys((*windows, rw))}
    vol = volatility_pct(prices, params.vol_window)
    r = ret[rw]

    def vs(a: np.ndarray, x: str, y: str) -> np.ndarray:
        return a[:, col[x]] - a[:, col[y]]

    out: dict[str, pd.DataFrame] = {
        "ew_vs_cw": _frame(
            sessions,
            {
                "value": vs(r, "RSP", "SPY"),
                "rsp_return": r[:, col["RSP"]],
                "spy_return": r[:, col["SPY"]],
            },
        ),
        "smallcap_rs": _frame(
            sessions,
            {
                "value": vs(r, "IWM", "SPY"),
                "iwm_qqq": vs(r, "IWM", "QQQ"),
                "iwc_spy": vs(r, "IWC", "SPY"),
                "iwm_return": r[:, col["IWM"]],
                "spy_return": r[:, col["SPY"]],
            },
        ),
    }
    nan = np.full(len(sessions), np.nan)
    vname = f"vol_{params.vol_window}"
    metrics = {**{f"ret_{k}": ret[k] for k in windows}, vname: vol}
    sector_names = list(SECTOR_ETFS)
    for etf in SECTOR_SIGNAL_ETFS:
        own = etf == "XLK"
        cols: dict[str, np.ndarray] = {"value": nan if own else vs(r, etf, "XLK")}
        cols |= {name: m[:, col[etf]] for name, m in metrics.items()}
        cols |= {f"{name}_vs_xlk": nan if own else vs(m, etf, "XLK") for name, m in metrics.items()}
        cols |= {f"{name}_vs_spy": vs(m, etf, "SPY") for name, m in metrics.items()}
        breadth = sector_breadth[:, sector_names.index(etf)] if etf in SECTOR_ETFS else nan
        cols[params.breadth_id] = breadth
        out[f"sector_{etf}"] = _frame(sessions, cols)
    return out
