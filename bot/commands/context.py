"""What a command may use: the caller, the cached market state, the store, the rules, a clock.

One long-lived `CommandContext` is built by the app (state provider, store, rules, result
cache); each adapter derives a per-message copy with `for_caller`. Everything in it is safe to
share between threads: commands run in `asyncio.to_thread` workers. What runs around a command
(audit log, allowlist, rate limit) is not here: the `Dispatcher` owns that chain.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from bot.config import OwnAlertSettings
from bot.model import Clock, utcnow

if TYPE_CHECKING:
    from bot.alerts import MarketState
    from bot.storage import Store
    from signals.rules import RuleSpec

T = TypeVar("T")
ChatType = Literal["private", "group", "channel"]
CHAT_TYPES: tuple[str, ...] = ("private", "group", "channel")


@dataclass(frozen=True)
class Caller:
    """Who sent the command, and where. Ids are strings on every platform.

    chat_type: "private" (a direct chat with the bot), "group" (Telegram group or supergroup,
        Slack channel the user typed in) or "channel" (Telegram broadcast channel).
    is_admin: the user is in the config's admins for this platform (the console user always).
    thread_id: Telegram forum topic ("" when none); part of the destination's address.
    """

    platform: str
    user_id: str
    chat_id: str
    chat_type: ChatType = "private"
    is_admin: bool = False
    thread_id: str = ""

    @property
    def shared_chat(self) -> bool:
        """A group or channel: changing its subscription is for admins only."""
        return self.chat_type != "private"


@dataclass(frozen=True)
class ChatOptions:
    """Command behaviour the operator may tune (defaults suit a phone)."""

    #: render charts (off: text only, e.g. a console or a slow machine)
    charts: bool = True
    #: sessions shown on time charts (252 = one year)
    chart_sessions: int = 252
    #: longest `mute` accepted
    max_mute_days: int = 90
    #: how many past firings `history` lists
    history_rows: int = 10


class StateCache:
    """Results (chart PNGs, a rule's history) by key, for the current market state only;
    the least recently used are dropped.

    The state is cached and only replaced by a refresh, so a chart for (command, args) is the
    same until then: computing it once per refresh keeps replies fast under load. Entries
    remember the state object they came from and miss once it is replaced.
    """

    def __init__(self, size: int = 64) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._items: OrderedDict[Hashable, tuple[object, Any]] = OrderedDict()

    def get(self, key: Hashable, state: object, compute: Callable[[], T]) -> T:
        with self._lock:
            hit = self._items.get(key)
            if hit is not None and hit[0] is state:
                self._items.move_to_end(key)
                return hit[1]
        value = compute()  # outside the lock: two threads may compute the same key once each
        with self._lock:
            self._items[key] = (state, value)
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return value

    def __len__(self) -> int:
        return len(self._items)


@dataclass(frozen=True)
class CommandContext:
    """Everything a command handler may read or write.

    state: returns the cached latest `MarketState`, or None while the first refresh runs.
    store: the database (subscriptions, rule state, runs, outbox); None without one.
    rules: the configured alert rules (`signals.rules.spec.RuleSpec`).
    clock: the wall clock (UTC, tz-aware); tests pass a fixed one.
    next_run: when the scheduler evaluates next (None: not scheduled / no scheduler).
    cache: charts and rule histories of the current state (shared by every caller).
    version: the bot's version for `status` ("" = read the installed package's).
    own_alerts: who may make a chat's own rules, and how many (`alert`, `alerts`).
    """

    caller: Caller
    state: Callable[[], MarketState | None]
    store: Store | None = None
    rules: tuple[RuleSpec, ...] = ()
    options: ChatOptions = field(default_factory=ChatOptions)
    clock: Clock = utcnow
    next_run: Callable[[], datetime | None] | None = None
    cache: StateCache = field(default_factory=StateCache)
    version: str = ""
    own_alerts: OwnAlertSettings = field(default_factory=OwnAlertSettings)

    def for_caller(self, caller: Caller) -> CommandContext:
        """This context for one incoming message (shares the store and the cache)."""
        return replace(self, caller=caller)
