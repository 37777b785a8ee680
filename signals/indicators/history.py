"""Every rotation signal (docs/signals.md) as a session-indexed history, from one `MarketData`.

`compute_signals` is pure and computes the whole history at once, so a snapshot, a chart, an
alert and a backtest read the same numbers. All signals are causal: the row for session t
uses only data dated on or before t, so the history of `data` read at t equals the history
of `data.up_to(t)`. The numeric kernels live in `breadth` (moving-average breadth),
`caps` (caps, top ten, mega seven) and `prices` (ETF returns,
volatility, valuation); this module wires them to the signal ids and their detail columns.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from signals import calendar
from signals.indicators.breadth import (
    above_and_used,
    count_true,
    group_counts,
    percent,
    prefix_sums,
)
from signals.indicators.caps import (
    base_rows,
    cap_panel,
    mega_contribution,
    member_companies,
    top_share,
)
from signals.indicators.fundamentals import COUNT_DETAILS, fundamental_frames
from signals.indicators.json_values import json_safe
from signals.indicators.members import Members
from signals.indicators.params import SignalParams
from signals.indicators.prices import column_or_nan, returns_pct, valuation_columns, volatility_pct
from signals.indicators.regime import regime_columns, regime_reasons
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
#: Panels up to this many cells compute the cap half on a second thread (see compute_signals).
PARALLEL_CELLS = 6_000_000
#: Details that are counts: reported as integers.
_COUNT_DETAILS = (
    frozenset({"above", "used", "companies_used", "missing_caps", "caps_used", "member_companies"})
    | COUNT_DETAILS
)


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
        return pd.DatetimeIndex(self.company_caps.index)

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


def _frame(sessions: pd.DatetimeIndex, columns: Mapping[str, Any]) -> pd.DataFrame:
    """A float frame indexed by session from equal-length columns."""
    data = np.empty((len(sessions), len(columns)), order="F")
    for i, v in enumerate(columns.values()):
        data[:, i] = v
    # an object Index: building pandas' Arrow-backed str Index costs more than the frame
    names = pd.Index(list(columns), dtype=object)
    return pd.DataFrame(data, index=sessions, columns=names, copy=False)


def _on_sessions(closes: pd.DataFrame) -> tuple[pd.DatetimeIndex, pd.DataFrame]:
    """The panel on every NYSE session from its first to its last date (missing rows NaN)."""
    if len(closes.index) == 0:
        return pd.DatetimeIndex([], name="date").as_unit("ns"), closes
    index = pd.DatetimeIndex(closes.index)
    sessions = calendar.sessions(index.min(), index.max())
    if index.equals(sessions):
        return sessions, closes
    return sessions, closes.reindex(sessions)


def compute_signals(data: MarketData, params: SignalParams = SignalParams()) -> SignalHistory:
    """Every signal on every session of `data.closes` (see the module doc).

    The cap half (caps, top ten, mega seven) does not depend on the breadth half; on panels
    small enough that both working sets fit easily (PARALLEL_CELLS) it runs on a second
    thread (numpy releases the GIL in its loops). Results are identical either way.
    """
    sessions, panel = _on_sessions(data.closes)
    columns = pd.Index(panel.columns)
    closes = panel.to_numpy(dtype=np.float64)
    members = Members.build(data.universe, sessions, columns, closes)
    seven = set(data.universe.company_of(list(MEGA_SEVEN_TICKERS)))

    def other_half() -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame], pd.DataFrame]:
        etf = _etf_signals(sessions, closes, columns, params)
        cap_frames, company_caps = _cap_signals(
            sessions, closes, columns, data.caps, members, seven, params, data.universe
        )
        return etf, cap_frames, company_caps

    if closes.size <= PARALLEL_CELLS:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="signals") as pool:
            other = pool.submit(other_half)
            breadth, sector_breadth = _breadth_signals(sessions, closes, members, params)
            etf, cap_frames, company_caps = other.result()
    else:  # large panels: one working set at a time keeps the peak memory down
        breadth, sector_breadth = _breadth_signals(sessions, closes, members, params)
        etf, cap_frames, company_caps = other_half()
    for i, sector_etf in enumerate(SECTOR_ETFS):
        etf[f"sector_{sector_etf}"][params.breadth_id] = sector_breadth[:, i]

    frames: dict[str, pd.DataFrame] = {
        **breadth,
        "ew_vs_cw": etf.pop("ew_vs_cw"),
        "smallcap_rs": etf.pop("smallcap_rs"),
        **cap_frames,
        **etf,
        "valuation": _frame(sessions, valuation_columns(sessions, data.valuations)),
    }
    fundamentals, bottom_up_pe = fundamental_frames(
        sessions,
        company_caps,
        frames["top10_share"]["member_companies"].to_numpy(),
        data.universe,
        data.fundamentals,
    )
    frames["valuation"] = pd.concat([frames["valuation"], bottom_up_pe], axis=1)
    frames.update(fundamentals)
    frames["rotation_regime"] = regime_columns(sessions, frames, params)
    return SignalHistory(frames=frames, company_caps=company_caps, params=params)


def _breadth_signals(
    sessions: pd.DatetimeIndex, closes: np.ndarray, members: Members, params: SignalParams
) -> tuple[dict[str, pd.DataFrame], np.ndarray]:
    """breadth_<N>d frames, and the sector breadth (first window) per SECTOR_ETFS column."""
    frames: dict[str, pd.DataFrame] = {}
    sector_breadth = np.full((len(sessions), len(SECTOR_ETFS)), np.nan)
    prefix = prefix_sums(closes)
    for n in params.breadth_windows:
        above, used = above_and_used(closes, prefix, n, members.mask)
        total_a, total_u = count_true(above), count_true(used)
        frames[f"breadth_{n}d"] = _frame(
            sessions, {"value": percent(total_a, total_u), "above": total_a, "used": total_u}
        )
        if n == params.breadth_windows[0]:
            sector_breadth = percent(
                group_counts(above, members.groups), group_counts(used, members.groups)
            )
    return frames, sector_breadth


def _cap_signals(
    sessions: pd.DatetimeIndex,
    closes: np.ndarray,
    columns: pd.Index,
    caps_snapshots: pd.DataFrame | None,
    members: Members,
    seven: set[str],
    params: SignalParams,
    universe: Universe,
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """top10_share and mega7_contribution frames, and the company caps behind them.

    Both carry the cap coverage behind them: ``caps_used`` companies with a cap of
    ``member_companies``, their ratio ``cap_coverage`` (0..1) and ``oldest_cap_snapshot``;
    the top ten's on the session, the mega seven's on its base session (the weights' day,
    ``cap_base_session``).
    """
    caps = cap_panel(
        sessions,
        closes,
        caps_snapshots,
        columns,
        members.eligible,
        members.company,
        members.mask if members.pit else None,
    )
    share, companies_used = top_share(caps.company_caps)
    missing = members.count - caps.with_cap
    value, pp, ytd = mega_contribution(sessions, closes, caps, seven, params.mega7_min_pp)
    companies = member_companies(universe, sessions, members.count).astype(np.float64)
    used = companies_used.astype(np.float64)
    coverage = np.full(len(sessions), np.nan)
    np.divide(used, companies, out=coverage, where=companies > 0)
    oldest = caps.oldest_snapshot
    base = base_rows(sessions)
    has_base = base >= 0
    at_base = np.maximum(base, 0)

    def on_base(values: np.ndarray) -> np.ndarray:
        return np.where(has_base, values[at_base], np.nan)

    top = _frame(
        sessions,
        {
            "value": share,
            "companies_used": companies_used,
            "missing_caps": missing,
            "cap_coverage": coverage,
            "caps_used": used,
            "member_companies": companies,
        },
    )
    top["oldest_cap_snapshot"] = oldest
    mega = _frame(
        sessions,
        {
            "value": value,
            "pp": pp,
            "index_ytd": ytd,
            "cap_coverage": on_base(coverage),
            "caps_used": on_base(used),
            "member_companies": on_base(companies),
        },
    )
    mega["oldest_cap_snapshot"] = np.where(has_base, oldest[at_base], np.datetime64("NaT"))
    days = sessions.to_numpy(dtype="datetime64[ns]")
    mega["cap_base_session"] = np.where(has_base, days[at_base], np.datetime64("NaT"))
    frames = {"top10_share": top, "mega7_contribution": mega}
    company_caps = pd.DataFrame(
        caps.company_caps, index=sessions, columns=caps.companies, copy=False
    )
    return frames, company_caps


def _etf_signals(
    sessions: pd.DatetimeIndex,
    closes: np.ndarray,
    columns: pd.Index,
    params: SignalParams,
) -> dict[str, pd.DataFrame]:
    """ew_vs_cw, smallcap_rs and the 13 sector_<ETF> frames from the ETF closes (the
    sector breadth column is NaN here; the caller fills it for the 11 sector SPDRs)."""
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
    for etf in SECTOR_SIGNAL_ETFS:
        own = etf == "XLK"
        cols: dict[str, np.ndarray] = {"value": nan if own else vs(r, etf, "XLK")}
        cols |= {name: m[:, col[etf]] for name, m in metrics.items()}
        cols |= {f"{name}_vs_xlk": nan if own else vs(m, etf, "XLK") for name, m in metrics.items()}
        cols |= {f"{name}_vs_spy": vs(m, etf, "SPY") for name, m in metrics.items()}
        cols[params.breadth_id] = nan
        out[f"sector_{etf}"] = _frame(sessions, cols)
    return out
