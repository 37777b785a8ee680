"""Shared pieces of the command tests: contexts, callers, reply text, independent numbers.

The market state comes from the `demo_data` fixture (tests/bot/conftest.py); the numbers the
tests compare replies against are computed here from the closes with plain pandas, not
through the signal code the commands read.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from bot.commands.context import Caller, ChatOptions, CommandContext
from bot.commands.table import Dispatcher, dispatch_text
from bot.model.reply import Reply

NOW = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)


def load_state(data: object) -> object:
    """`state_from_data(data)`; skips while signals/snapshot.py is not in the tree."""
    market_state = pytest.importorskip(
        "bot.alerts.market_state", reason="signals/snapshot.py has not landed yet"
    )
    return market_state.state_from_data(data)


ADMIN_ID = "1001"


def caller(
    chat_type: str = "private",
    *,
    admin: bool = False,
    platform: str = "telegram",
    chat_id: str = "42",
    user_id: str = "7",
    thread_id: str = "",
) -> Caller:
    return Caller(
        platform=platform,
        user_id=user_id,
        chat_id=chat_id,
        chat_type=chat_type,  # type: ignore[arg-type]
        is_admin=admin,
        thread_id=thread_id,
    )


def context(
    state: object | None,
    *,
    store: object | None = None,
    rules: tuple = (),
    who: Caller | None = None,
    charts: bool = False,
    next_run: Callable[[], datetime | None] | None = None,
) -> CommandContext:
    return CommandContext(
        caller=who or caller(),
        state=lambda: state,  # type: ignore[return-value]
        store=store,  # type: ignore[arg-type]
        rules=rules,
        options=ChatOptions(charts=charts),
        clock=lambda: NOW,
        next_run=next_run,
        version="9.9.9",
    )


def ask(ctx: CommandContext, text: str, dispatcher: Dispatcher | None = None) -> Reply:
    reply = dispatcher.dispatch_text(text, ctx) if dispatcher else dispatch_text(text, ctx)
    assert reply is not None, f"no reply to {text!r}"
    return reply


def all_text(reply: Reply) -> str:
    return "\n".join(reply.text_fields())


def row(reply: Reply, label: str) -> tuple[str, ...]:
    assert reply.table is not None, reply
    for r in reply.table.rows:
        if r[0] == label:
            return r
    raise AssertionError(f"no row {label!r} in {reply.table.rows}")


# --- independent numbers ----------------------------------------------------------------------


def ret_pct(closes: pd.DataFrame, ticker: str, k: int, pos: int = -1) -> float:
    """100 * (close_t / close_(t-k) - 1) by position."""
    col = closes[ticker].to_numpy(dtype=float)
    t = len(col) + pos if pos < 0 else pos
    return 100.0 * (col[t] / col[t - k] - 1.0)


def vol_pct(closes: pd.DataFrame, ticker: str, n: int = 252) -> float:
    col = closes[ticker].to_numpy(dtype=float)
    daily = col[-n:] / col[-n - 1 : -1] - 1.0
    return float(np.std(daily, ddof=1) * np.sqrt(252) * 100.0)


def sector_breadth(closes: pd.DataFrame, tickers: list[str], n: int = 200) -> float:
    """% of `tickers` with a close on each of the last n sessions whose last close is above
    the mean of those n closes."""
    window = closes[[t for t in tickers if t in closes.columns]].iloc[-n:]
    used = window.notna().all()
    w = window.loc[:, used]
    above = (w.iloc[-1] > w.mean()).sum()
    return 100.0 * above / used.sum()


def pct(value: float) -> str:
    """As the replies show a level: one decimal and %."""
    return f"{value:.1f}%"


def signed_pct(value: float) -> str:
    return f"{value:+.1f}%"


def pp(value: float) -> str:
    """A spread as the tables show a value ("+4.2 pp")."""
    return f"{value:+.1f} pp"


def pp_change(value: float) -> str:
    """A change in points ("-6.4 pp"; "0.0 pp" when it rounds to zero)."""
    text = f"{value:+.1f} pp"
    return "0.0 pp" if text in ("+0.0 pp", "-0.0 pp") else text


def numbers_in(text: str) -> list[str]:
    return re.findall(r"[+-−]?\d+(?:\.\d+)?", text)
