"""Shared pieces of the chat adapter tests: the market state, a command context factory,
and what each command's answer must say, computed independently of the command code.

The expected numbers come from the snapshot's own values formatted as people read them
(`f"{v:.1f}%"`), or from the closes with plain arithmetic (`ret_pct`), never from the
command modules, so an answer that shows a wrong number fails.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pandas as pd
import pytest

from bot.alerts.market_state import MarketState, state_from_data
from bot.commands.context import Caller, ChatOptions, CommandContext
from bot.storage.store import Store
from signals.market import MarketData
from tests.bot.commands_helpers import NOW, pct, ret_pct, signed_pct

#: one session before the demo's last, for "the state changed, refresh" tests
EARLIER = pd.Timestamp("2026-10-29")


@dataclass
class Holder:
    """The cached state the commands read; tests swap it to simulate a refresh."""

    state: MarketState | None
    store: Store | None = None
    rules: tuple = ()
    charts: bool = True
    contexts: list[CommandContext] = field(default_factory=list)

    def context_for(self, caller: Caller) -> CommandContext:
        """The adapters' `context_for`: a context per message, remembered for assertions."""
        ctx = CommandContext(
            caller=caller,
            state=lambda: self.state,
            store=self.store,
            rules=self.rules,
            options=ChatOptions(charts=self.charts),
            clock=lambda: NOW,
            version="9.9.9",
        )
        self.contexts.append(ctx)
        return ctx

    def callers(self) -> list[Caller]:
        return [c.caller for c in self.contexts]


@pytest.fixture(scope="module")
def chat_state(demo_data: MarketData) -> MarketState:
    return state_from_data(demo_data)


@pytest.fixture(scope="module")
def earlier_state(demo_data: MarketData) -> MarketState:
    return state_from_data(demo_data, EARLIER)


@pytest.fixture
def holder(chat_state: MarketState, default_rules, tmp_path) -> Iterator[Holder]:
    # a file, not `sqlite://`: the in-memory store shares one connection, which concurrent
    # commands (PTB runs updates concurrently) cannot use at once
    store = Store(f"sqlite:///{tmp_path / 'bot.db'}")
    yield Holder(chat_state, store, tuple(default_rules))
    store.close()


def expected(state: MarketState) -> dict[str, list[str]]:
    """Command line -> strings its answer must contain (as a user sees them)."""
    sig = state.snapshot.signals
    closes = state.data.closes
    day = pd.Timestamp(state.snapshot.as_of).date().isoformat()
    b200, b50 = sig["breadth_200d"].value, sig["breadth_50d"].value
    return {
        "snapshot": [f"Market snapshot · {day}", pct(b200), pct(b50), "SIMULATED"],
        "sector XLF": [
            f"XLF Financials · {day}",
            signed_pct(ret_pct(closes, "XLF", 63)),
            signed_pct(ret_pct(closes, "XLF", 21)),
        ],
        "sector banks": ["XLF Financials", signed_pct(ret_pct(closes, "XLF", 252))],
        "sectors": [f"Sectors vs tech · {day}", "XLF", "XLU", "Financials"],
        "breadth": [f"Breadth · {day}", pct(b200), pct(b50)],
        "chart RSP vs SPY": [f"RSP/SPY · {day}", "over 1 year"],
        "signals": [f"Alert rules · {day}", "breadth_broadening"],
        "history breadth_broadening": ["History: breadth_broadening"],
        "help": ["Commands", "snapshot", "sector [NAME]", "status"],
        "help sector": ["help: sector", "Usage: sector [NAME]"],
        "status": ["Status", "rotation-bot 9.9.9", f"as of {day}"],
        "subscribe": ["Subscribed", "all rules"],
        "settings": ["Settings for this chat", "alert"],
        "mute 2h": ["Muted", "paused until"],
        "unsubscribe": ["Unsubscribed"],
        "sector": ["Pick a sector"],
    }


#: commands about an existing subscription: the test subscribes the chat first
NEEDS_SUBSCRIPTION = frozenset({"settings", "mute 2h", "unsubscribe"})


def presubscribe(holder: Holder, platform: str, chat_id: str, chat_type: str = "private") -> None:
    """Subscribe a chat directly through dispatch (test setup, not the platform)."""
    from bot.commands.table import dispatch_text

    who = Caller(platform, chat_id, chat_id, chat_type, is_admin=True)  # type: ignore[arg-type]
    reply = dispatch_text("subscribe", holder.context_for(who))
    assert reply is not None and not reply.is_error, reply


#: hostile or broken input -> what the (escaped, well-formed) answer must show
BAD_INPUT: dict[str, list[str]] = {
    "frobnicate": ["Unknown command “frobnicate”"],
    "sector atlantis": ["Unknown sector “atlantis”", "Closest"],
    "chart ZZZZ": ["Unknown ticker or signal “ZZZZ”"],
    "history": ["history needs more"],
    "snapshot extra words": ["snapshot takes at most 1 argument(s)"],
    "sector " + "x" * 5000: ["Unknown sector", "…"],
    "sector <b>bold</b>": ["Unknown sector “<b>bold</b>”"],
    "sector <!channel> *bold*": ["Unknown sector “<!channel> *bold*”"],
    "chart 😀 vs SPY": ["Unknown ticker or signal “😀”"],
    "sector &amp; <i>": ["Unknown sector “&amp; <i>”"],
}
