"""A backtest's outcome: the value the history command and the CLI present.

`to_json` is the `rotation-bot backtest --json` contract: its keys and their order are fixed,
so each value writes its own part.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from bot.model.messages import AlertTransition


@dataclass(frozen=True)
class ReturnStats:
    """Forward returns over a set of sessions: how many are known, their median and the
    share above zero (both None when none is known)."""

    n: int
    median: float | None
    share_positive: float | None

    def to_json(self) -> dict[str, Any]:
        return {"n": self.n, "median": self.median, "share_positive": self.share_positive}


@dataclass(frozen=True)
class ForwardStats:
    """One ticker and horizon: the returns after a rule's firings beside those after every
    session of the period (the base rate), since the first means little without the second."""

    events: ReturnStats
    base_rate: ReturnStats

    def to_json(self) -> dict[str, Any]:
        return {"events": self.events.to_json(), "base_rate": self.base_rate.to_json()}


@dataclass(frozen=True)
class BacktestEvent:
    """One transition of a rule in the replay."""

    session: date
    kind: AlertTransition
    value: float | None
    #: for `changes` rules: the new label
    label: str | None = None
    #: on firings only: "SPY_21" -> percent return over the 21 sessions after (None when the
    #: data ends earlier)
    forward_returns: Mapping[str, float | None] | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "date": self.session.isoformat(),
            "kind": str(self.kind),
            "value": self.value,
        }
        if self.label is not None:
            out["label"] = self.label
        if self.forward_returns is not None:
            out["forward_returns"] = dict(self.forward_returns)
        return out


@dataclass(frozen=True)
class BacktestSummary:
    """A rule's counts over the period, and its forward returns by "TICKER_k"."""

    fired: int
    resolved: int
    per_year: float
    forward_returns: Mapping[str, ForwardStats]

    def to_json(self) -> dict[str, Any]:
        return {
            "fired": self.fired,
            "resolved": self.resolved,
            "per_year": self.per_year,
            "forward_returns": {k: v.to_json() for k, v in self.forward_returns.items()},
        }


@dataclass(frozen=True)
class RuleBacktest:
    """One rule's replay: its events in session order and their summary."""

    events: tuple[BacktestEvent, ...]
    summary: BacktestSummary

    @property
    def fired(self) -> tuple[BacktestEvent, ...]:
        return tuple(e for e in self.events if e.kind == AlertTransition.FIRED)

    def to_json(self) -> dict[str, Any]:
        return {"events": [e.to_json() for e in self.events], "summary": self.summary.to_json()}


@dataclass(frozen=True)
class BacktestResult:
    start: date
    end: date
    source: str
    simulated: bool
    #: rule id -> its replay, in the order the rules were given
    rules: Mapping[str, RuleBacktest]
    guarded_sessions: int

    def to_json(self) -> dict[str, Any]:
        return {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "source": self.source,
            "simulated": self.simulated,
            "guarded_sessions": self.guarded_sessions,
            "rules": {rule_id: r.to_json() for rule_id, r in self.rules.items()},
        }
