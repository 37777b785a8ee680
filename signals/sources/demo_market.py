"""The simulated market behind the demo source: a vectorised factor model with a scenario.

Daily log returns of each company are

    r = beta * market + sector + mega * concentration + small * size + value * style + noise

where every factor's drift follows one regime path: +1 in a *narrow* phase (a few mega-caps
carry the index while most members fall: top-10 share rises above 35 %, 200-day breadth drops
under 50 %) and -1 in a *broadening* phase (most members rise, equal weight and small caps beat
the cap-weighted index, value sectors beat technology). Two narrow/broad cycles sit in the
last ~5 years so that every default alert rule fires, resolves and fires again in a backtest.

Everything derived from the member closes is exactly consistent with them: caps are a fixed
share count times the close (so carrying a monthly snapshot forward by the close reproduces
the cap), and every ETF is a basket of members (cap-weighted ones count a company once).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from signals.market import SECTOR_ETFS
from signals.sources.demo_names import VALUE_SECTORS, demo_members

TRADING_DAYS = 252

#: Scenario phases after the warm-up, oldest first: (sessions, regime level).
#: +1 = narrow (mega-cap led), -1 = broadening. The warm-up before them takes what is left.
PHASES: tuple[tuple[int, float], ...] = (
    (330, 1.0),  # narrow 1
    (300, -1.0),  # broadening 1
    (330, 1.0),  # narrow 2
    (280, -1.0),  # broadening 2, up to the last session
)
WARMUP_LEVEL = 0.0
RAMP_SESSIONS = 40

#: Total market cap on the first session, dollars, and the Zipf exponent of company sizes.
TOTAL_CAP0 = 30e12
ZIPF_ALPHA = 0.8
#: Companies whose idiosyncratic noise is bridged per phase (see `_idiosyncratic`).
LEADER_RANKS = 15


@dataclass(frozen=True)
class Drifts:
    """Annual drift of each factor as ``base + slope * regime`` (regime +1 narrow, -1 broad)."""

    market: tuple[float, float] = (0.06, -0.16)
    mega: tuple[float, float] = (0.0, 0.36)
    small: tuple[float, float] = (0.0, -0.08)
    value: tuple[float, float] = (0.0, -0.06)
    #: sector tilt slope per GICS sector (positive = leads in narrow phases)
    sector: tuple[tuple[str, float], ...] = (
        ("Information Technology", 0.08),
        ("Communication Services", 0.04),
        ("Consumer Discretionary", 0.02),
        ("Financials", -0.05),
        ("Industrials", -0.05),
        ("Materials", -0.05),
        ("Energy", -0.06),
        ("Health Care", -0.04),
        ("Consumer Staples", -0.02),
        ("Utilities", -0.02),
        ("Real Estate", -0.02),
    )


#: Daily volatility of each factor.
VOL = {"market": 0.009, "mega": 0.006, "small": 0.004, "value": 0.004, "sector": 0.006}

#: ETF -> first close (only the level; returns come from the members).
ETF_BASE: dict[str, float] = {
    "SPY": 280.0, "RSP": 105.0, "QQQ": 190.0, "IWM": 150.0, "IWC": 95.0, "VBR": 130.0,
    "XLK": 80.0, "XLF": 28.0, "XLV": 90.0, "XLI": 75.0, "XLB": 58.0, "XLE": 60.0,
    "XLY": 120.0, "XLP": 57.0, "XLU": 60.0, "XLRE": 35.0, "XLC": 50.0,
}  # fmt: skip


@dataclass(frozen=True)
class SimulatedMarket:
    """The generated frames; see `signals.market.MarketData` for their shapes."""

    closes: pd.DataFrame
    caps: pd.DataFrame
    valuations: pd.DataFrame
    members: pd.DataFrame  # ticker, name, sector, company


def _phase_lengths(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Length and regime level of each phase over `n` sessions, the warm-up first."""
    lengths = np.array([n_ for n_, _ in PHASES])
    levels = np.array([lv for _, lv in PHASES])
    warm = n - int(lengths.sum())
    if warm < 0:  # a short history keeps the most recent phases
        keep = int(np.searchsorted(np.cumsum(lengths[::-1]), n)) + 1
        lengths, levels = lengths[-keep:].copy(), levels[-keep:]
        lengths[0] -= int(lengths.sum()) - n
        return lengths, levels
    return np.append(warm, lengths), np.append(WARMUP_LEVEL, levels)


def regime_path(n: int) -> np.ndarray:
    """Regime level per session (+1 narrow, -1 broad), phases anchored at the last session,
    with linear-ish ramps of `RAMP_SESSIONS` between phases."""
    lengths, levels = _phase_lengths(n)
    raw = np.repeat(levels, lengths)
    pad = RAMP_SESSIONS // 2
    padded = np.concatenate([np.full(pad, raw[0]), raw, np.full(pad, raw[-1])])
    kernel = np.full(2 * pad + 1, 1.0 / (2 * pad + 1))
    return np.convolve(padded, kernel, mode="valid")


def _bridged_noise(
    rng: np.random.Generator, phase: np.ndarray, shape: tuple[int, ...], vol: float
) -> np.ndarray:
    """Gaussian daily noise whose sum over each phase is zero (a Brownian bridge per phase).

    Day-to-day the factors look random, but each phase's cumulative factor return is exactly
    its designed drift, so the scenario holds for every seed.
    """
    noise = rng.standard_normal(shape) * vol
    onehot = np.eye(int(phase.max()) + 1)[phase]  # (T, P)
    counts = np.maximum(onehot.sum(axis=0), 1.0)  # a phase cut to nothing has no sessions
    means = (onehot.T @ noise) / counts.reshape((-1,) + (1,) * (noise.ndim - 1))
    return noise - means[phase]


def _idiosyncratic(
    rng: np.random.Generator, phase: np.ndarray, rank: np.ndarray, vol: np.ndarray
) -> np.ndarray:
    """Company-specific daily noise. The leaders' noise is bridged per phase like the factors:
    ten names decide the top-10 share, and their luck must not undo the scenario."""
    noise = rng.standard_normal((len(phase), len(rank))) * vol
    leaders = rank <= LEADER_RANKS
    noise[:, leaders] = (
        _bridged_noise(rng, phase, (len(phase), int(leaders.sum())), 1.0) * vol[leaders]
    )
    return noise


def generate(
    seed: int, sessions: pd.DatetimeIndex, drifts: Drifts | None = None
) -> SimulatedMarket:
    """The simulated market on `sessions`, deterministic given (seed, sessions)."""
    drifts = drifts or Drifts()
    rng = np.random.default_rng(seed)
    members = demo_members()
    companies = members.drop_duplicates("company").reset_index(drop=True)
    n_t, n_c = len(sessions), len(companies)
    rank = companies["rank"].to_numpy(dtype=float)
    sector_names = list(SECTOR_ETFS.values())
    sector_idx = companies["sector"].map({s: i for i, s in enumerate(sector_names)}).to_numpy()

    # sizes: Zipf by rank with a little jitter; prices: log-normal around $80
    size_w = rank ** (-ZIPF_ALPHA) * np.exp(rng.normal(0.0, 0.08, n_c))
    cap0 = TOTAL_CAP0 * size_w / size_w.sum()
    price0 = np.exp(rng.normal(np.log(80.0), 0.7, n_c)).clip(8.0, 900.0)

    # loadings
    beta = rng.normal(1.0, 0.15, n_c).clip(0.6, 1.5)
    mega = 1.0 / (1.0 + np.exp((rank - 10.5) / 2.0))
    small = 2.0 * (rank - 1) / (n_c - 1) - 1.0  # -1 largest .. +1 smallest
    is_value = companies["sector"].isin(VALUE_SECTORS).to_numpy()
    value = np.where(is_value, 1.0, -0.4) + rng.normal(0.0, 0.3, n_c)
    idio = 0.011 + 0.008 * (rank - 1) / (n_c - 1)

    # factors: regime-dependent drift + bridged noise, shape (T,) or (T, 11)
    regime = regime_path(n_t)
    lengths, _ = _phase_lengths(n_t)
    phase = np.repeat(np.arange(len(lengths)), lengths)

    def factor(name: str) -> np.ndarray:
        base, slope = getattr(drifts, name)
        return (base + slope * regime) / TRADING_DAYS + _bridged_noise(
            rng, phase, (n_t,), VOL[name]
        )

    market, conc, size, style = (factor(k) for k in ("market", "mega", "small", "value"))
    tilt = dict(drifts.sector)
    slopes = np.array([tilt[s] for s in sector_names])
    sector_f = (regime[:, None] * slopes[None, :]) / TRADING_DAYS
    sector_f = sector_f + _bridged_noise(rng, phase, (n_t, len(sector_names)), VOL["sector"])

    log_r = (
        market[:, None] * beta
        + conc[:, None] * mega
        + size[:, None] * small
        + style[:, None] * value
        + sector_f[:, sector_idx]
        + _idiosyncratic(rng, phase, rank, idio)
    )
    log_r[0] = 0.0
    company_px = price0 * np.exp(np.cumsum(log_r, axis=0))

    # tickers: share classes of a company move together (a small, non-accumulating spread)
    col = members["company"].map(pd.Series(np.arange(n_c), index=companies["company"])).to_numpy()
    first_class = ~members["company"].duplicated().to_numpy()
    close = company_px[:, col]
    extra = ~first_class  # the second class of a dual-class company
    close[:, extra] *= rng.uniform(0.97, 1.01, int(extra.sum())) * np.exp(
        rng.normal(0.0, 0.0015, (n_t, int(extra.sum())))
    )
    n_classes = members.groupby("company")["ticker"].transform("size").to_numpy()
    company_shares = (cap0 / price0)[col]
    snap_cap = close * company_shares  # each class carries the whole company's cap
    index_cap = snap_cap / n_classes  # a company counts once in cap-weighted baskets

    etfs = _etf_closes(sessions, members, close, snap_cap, index_cap)
    closes = pd.DataFrame(
        np.concatenate([close, etfs.to_numpy()], axis=1),
        index=pd.DatetimeIndex(sessions, name="date"),
        columns=[*members["ticker"], *etfs.columns],
    )
    return SimulatedMarket(
        closes=closes,
        caps=_cap_snapshots(sessions, members["ticker"].to_numpy(), snap_cap),
        valuations=_valuations(sessions, etfs["SPY"].to_numpy(), etfs["IWM"].to_numpy(), rng),
        members=members[["ticker", "name", "sector", "company"]],
    )


def _rebalance_anchors(sessions: pd.DatetimeIndex) -> np.ndarray:
    """Index positions of the rebalancing sessions: the first, then each quarter's first."""
    quarter = sessions.year * 4 + sessions.quarter
    starts = np.flatnonzero(np.diff(quarter.to_numpy()) != 0) + 1
    return np.concatenate([[0], starts])


def _etf_closes(
    sessions: pd.DatetimeIndex,
    members: pd.DataFrame,
    close: np.ndarray,
    snap_cap: np.ndarray,
    index_cap: np.ndarray,
) -> pd.DataFrame:
    """Every ETF as a basket of members, reconstituted at the close of each anchor session.

    Between anchors a basket holds fixed share counts, so a cap-weighted basket is exactly
    the sum of its members' `index_cap` (a company counted once) scaled to its first close.
    """
    n_t = len(sessions)
    anchors = _rebalance_anchors(sessions)
    weight_cap = index_cap[anchors]  # (K, N)
    # size percentile of each ticker's company at each anchor (0 = largest, 1 = smallest)
    order = np.argsort(-snap_cap[anchors], axis=1, kind="stable")
    pct = np.empty_like(weight_cap)
    np.put_along_axis(pct, order, np.linspace(0.0, 1.0, weight_cap.shape[1])[None, :], axis=1)
    sector = members["sector"].to_numpy()
    non_fin = sector != "Financials"
    nf_rank = np.empty_like(weight_cap)
    np.put_along_axis(nf_rank, order, np.cumsum(non_fin[order], axis=1), axis=1)
    is_value = np.isin(sector, list(VALUE_SECTORS))

    ones = np.ones_like(weight_cap)
    weights: dict[str, np.ndarray] = {
        "SPY": weight_cap,
        "RSP": ones,
        "QQQ": weight_cap * (non_fin & (nf_rank <= 100)),
        "IWM": weight_cap * (pct >= 0.6),
        "IWC": ones * (pct >= 0.85),
        "VBR": weight_cap * ((pct >= 0.4) & is_value),
    }
    for etf, name in SECTOR_ETFS.items():
        weights[etf] = weight_cap * (sector == name)
    names = list(weights)
    w = np.stack([weights[e] for e in names], axis=0)  # (E, K, N)
    w /= w.sum(axis=2, keepdims=True)

    # each session's anchor: the latest one strictly before it (the first for session 0)
    k_of_t = np.maximum(np.searchsorted(anchors, np.arange(n_t), side="left") - 1, 0)
    rel = close / close[anchors[k_of_t]]
    growth = np.empty((n_t, len(names)))
    starts = np.append(anchors + 1, n_t)
    starts[0] = 0
    # one matrix product per quarter (about 30), not a loop over tickers
    for k in range(len(anchors)):
        block = slice(starts[k], starts[k + 1])
        growth[block] = rel[block] @ w[:, k, :].T
    level = np.cumprod(growth[anchors], axis=0)[k_of_t] * growth
    base = np.array([ETF_BASE[e] for e in names])
    return pd.DataFrame(level * base, columns=names)


def _cap_snapshots(
    sessions: pd.DatetimeIndex, tickers: np.ndarray, cap: np.ndarray
) -> pd.DataFrame:
    """Month-end snapshots (plus the first and the last session), long format."""
    month = sessions.year * 12 + sessions.month
    ends = np.flatnonzero(np.diff(month.to_numpy()) != 0)
    rows = np.unique(np.concatenate([[0], ends, [len(sessions) - 1]]))
    return pd.DataFrame(
        {
            "date": np.repeat(sessions[rows].to_numpy(), len(tickers)),
            "ticker": np.tile(tickers, len(rows)),
            "market_cap": cap[rows].ravel(),
        }
    )


def _valuations(
    sessions: pd.DatetimeIndex, spy: np.ndarray, iwm: np.ndarray, rng: np.random.Generator
) -> pd.DataFrame:
    """Monthly trailing/forward P/E for SPY and IWM: the price's deviation from its own trend
    (earnings are taken to grow steadily) squashed into a plausible band."""
    month = sessions.year * 12 + sessions.month
    rows = np.unique(np.append(np.flatnonzero(np.diff(month.to_numpy()) != 0), len(sessions) - 1))
    t = np.arange(len(sessions), dtype=float)

    def pe(px: np.ndarray, centre: float, half_width: float, scale: float) -> np.ndarray:
        y = np.log(px)
        slope, icpt = np.polyfit(t, y, 1)
        dev = (y - (icpt + slope * t))[rows]
        return centre + half_width * np.tanh(dev / scale)

    spy_pe = pe(spy, 22.0, 4.0, 0.15)
    iwm_pe = pe(iwm, 22.0, 7.5, 0.2)
    n = len(rows)
    dates = sessions[rows].to_numpy()
    return pd.DataFrame(
        {
            "date": np.concatenate([dates, dates]),
            "ticker": np.repeat(["SPY", "IWM"], n),
            "trailing_pe": np.round(np.concatenate([spy_pe, iwm_pe]), 2),
            "forward_pe": np.round(
                np.concatenate(
                    [spy_pe * rng.uniform(0.84, 0.9, n), iwm_pe * rng.uniform(0.74, 0.84, n)]
                ),
                2,
            ),
        }
    )
