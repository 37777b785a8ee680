"""The one builder of market state: one look for the command line, refreshes for the bot."""

from __future__ import annotations

import pandas as pd

from bot.alerts.market_state import MarketLoader, build_market_state, state_from_data
from signals.sources import DataSpec

END = pd.Timestamp("2026-10-30")
SPEC = DataSpec(source="demo", demo_end=END)


def test_a_static_source_is_loaded_once_and_read_at_each_session() -> None:
    loader = MarketLoader(SPEC)
    first = loader.load(END)
    again = loader.load(pd.Timestamp("2026-10-29"))
    assert again.data is first.data and again.history is first.history
    assert again.as_of == pd.Timestamp("2026-10-29")
    assert first.state().as_of == END


def test_a_past_session_sees_nothing_after_it() -> None:
    loaded = MarketLoader(SPEC).load(pd.Timestamp("2026-06-01"))
    state = loaded.state()
    assert state.data.closes.index[-1] == pd.Timestamp("2026-06-01")
    expected = state_from_data(loaded.data, pd.Timestamp("2026-06-01"))
    assert state.snapshot.to_json() == expected.snapshot.to_json()


def test_one_look_is_the_same_state_as_a_refresh_at_the_last_session() -> None:
    look = build_market_state(SPEC, as_of=END)
    refreshed = MarketLoader(SPEC).load(END).state()
    assert look.snapshot.to_json() == refreshed.snapshot.to_json()
