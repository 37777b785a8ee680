"""A backtest's outcome: the value the history command and the CLI present."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any


@dataclass(frozen=True)
class BacktestResult:
    start: date
    end: date
    source: str
    simulated: bool
    rules: dict[str, dict[str, Any]]
    guarded_sessions: int

    def to_json(self) -> dict[str, Any]:
        return {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "source": self.source,
            "simulated": self.simulated,
            "guarded_sessions": self.guarded_sessions,
            "rules": self.rules,
        }
