"""The market as the bot currently sees it: data, signal history and the latest snapshot.

Computed once per refresh and then only read: commands, charts, alerts and backtests all use
the same `MarketState`, so nothing recomputes the panel per request.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from signals import calendar
from signals.indicators.history import SignalHistory, SignalParams, compute_signals
from signals.market import MarketData
from signals.snapshot import MarketSnapshot, build_snapshot
from signals.sources import DataSpec, load_market


@dataclass(frozen=True)
class MarketState:
    data: MarketData
    history: SignalHistory
    snapshot: MarketSnapshot

    @property
    def as_of(self) -> pd.Timestamp:
        return pd.Timestamp(self.snapshot.as_of)


def as_of_session(as_of: pd.Timestamp | None) -> pd.Timestamp | None:
    """A given date becomes the session on or before it (DESIGN §4)."""
    return None if as_of is None else calendar.session_on_or_before(as_of)


def state_from_data(
    data: MarketData, as_of: pd.Timestamp | None = None, params: SignalParams | None = None
) -> MarketState:
    session = as_of_session(as_of)
    if session is not None:
        data = data.up_to(session)
    history = compute_signals(data, params or SignalParams())
    snap = build_snapshot(history, data, session)
    return MarketState(data=data, history=history, snapshot=snap)


def build_market_state(
    spec: DataSpec, as_of: pd.Timestamp | None = None, params: SignalParams | None = None
) -> MarketState:
    """Load the data (up to `as_of` when given), compute every signal, take the snapshot."""
    session = as_of_session(as_of)
    return state_from_data(load_market(spec, end=session), session, params)
