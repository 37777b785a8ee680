"""The market as the bot currently sees it: data, signal history and the latest snapshot.

Computed once per refresh and then only read: commands, charts, alerts and backtests all use
the same `MarketState`, so nothing recomputes the panel per request. `MarketLoader` is the one
way a state is built: from the command line (`build_market_state`, one look) and by the
running bot (`MarketLoader.load` on every refresh, then `LoadedMarket.state` for the chat).
`MarketState.at` reads a state at another session (a chat command's DATE): the snapshot of
that session from the same signal history, built once per state and session.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date

import pandas as pd

from signals import calendar
from signals.indicators import SignalHistory, SignalParams, compute_signals
from signals.market import MarketData
from signals.snapshot import MarketSnapshot, build_snapshot
from signals.sources import DataSpec, load_market


class _PastStates:
    """A state read at other sessions, by session; the most recently used few are kept.
    Shared by a state and every state read from it (they share data and history)."""

    def __init__(self, size: int = 32) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._items: OrderedDict[pd.Timestamp, MarketState] = OrderedDict()

    def get(self, session: pd.Timestamp, build: Callable[[], MarketState]) -> MarketState:
        with self._lock:
            hit = self._items.get(session)
            if hit is not None:
                self._items.move_to_end(session)
                return hit
        state = build()  # outside the lock; a race builds the same snapshot twice, harmlessly
        with self._lock:
            state = self._items.setdefault(session, state)
            self._items.move_to_end(session)
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return state


@dataclass(frozen=True)
class MarketState:
    data: MarketData
    history: SignalHistory
    snapshot: MarketSnapshot
    _past: _PastStates = field(default_factory=_PastStates, compare=False, repr=False)

    @property
    def as_of(self) -> pd.Timestamp:
        return pd.Timestamp(self.snapshot.as_of)

    def at(self, day: date | pd.Timestamp) -> MarketState:
        """The market read at the session on or before `day`: the same data and signal
        history, the snapshot of that session (read from the history, never recomputed;
        built once per state and session). A day past the data gives a snapshot whose
        freshness says how stale it is. ValueError when `day` is before the history."""
        session = calendar.session_on_or_before(pd.Timestamp(day))
        if session == self.as_of:
            return self
        return self._past.get(
            session,
            lambda: replace(self, snapshot=build_snapshot(self.history, self.data, session)),
        )


def as_of_session(as_of: pd.Timestamp | None) -> pd.Timestamp | None:
    """A given date becomes the session on or before it."""
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


#: sources whose data does not change while the bot runs: loaded once, signals computed once
STATIC_SOURCES = ("demo", "files")


@dataclass(frozen=True)
class LoadedMarket:
    """What a refresh loaded: the data, every signal over it, and the session to read them
    at. A static source is loaded whole, so its data may run past `as_of` (signals are
    causal: a value at t reads nothing after t, and freshness looks at data up to the
    session only)."""

    data: MarketData
    history: SignalHistory
    as_of: pd.Timestamp
    params: SignalParams = SignalParams()

    def state(self) -> MarketState:
        """The market at `as_of`. A past session is cut and recomputed, so that charts and
        numbers see nothing after it."""
        if self.as_of < self.data.closes.index[-1]:
            return state_from_data(self.data, self.as_of, self.params)
        snap = build_snapshot(self.history, self.data, self.as_of)
        return MarketState(data=self.data, history=self.history, snapshot=snap)


class MarketLoader:
    """Loads `spec`'s data, computes every signal and takes the snapshot.

    `state` is one look (the command line). `load` serves a process that refreshes again
    and again: a static source is loaded once and reused, except that an unpinned demo grows
    with the clock and is loaded again once the asked session is past its end. Not
    thread-safe: one refresh at a time.
    """

    def __init__(self, spec: DataSpec, params: SignalParams | None = None) -> None:
        self.spec = spec
        self.params = params or SignalParams()
        self._last: LoadedMarket | None = None

    @property
    def static(self) -> bool:
        return self.spec.source in STATIC_SOURCES

    def state(self, as_of: pd.Timestamp | None = None) -> MarketState:
        """Data up to `as_of` (the session on or before it; default: all), every signal,
        and the snapshot at that session."""
        session = as_of_session(as_of)
        return state_from_data(load_market(self.spec, end=session), session, self.params)

    def load(self, as_of: pd.Timestamp) -> LoadedMarket:
        """The data and signals for the session `as_of`, for the engine; `.state()` of the
        result is what the chat shows."""
        last = self._last
        if self.static and last is not None:
            behind = as_of > last.data.closes.index[-1]
            grows = self.spec.source == "demo" and self.spec.demo_end is None
            if not (behind and grows):
                loaded = LoadedMarket(last.data, last.history, as_of, self.params)
                self._last = loaded
                return loaded
        data = load_market(self.spec, end=None if self.static else as_of)
        loaded = LoadedMarket(data, compute_signals(data, self.params), as_of, self.params)
        self._last = loaded
        return loaded


def build_market_state(
    spec: DataSpec, as_of: pd.Timestamp | None = None, params: SignalParams | None = None
) -> MarketState:
    """Load the data (up to `as_of` when given), compute every signal, take the snapshot."""
    return MarketLoader(spec, params).state(as_of)
