"""A backtest's JSON: the keys and their order `rotation-bot backtest --json` has always had."""

from __future__ import annotations

import json
from datetime import date

from bot.model.backtest import (
    BacktestEvent,
    BacktestResult,
    BacktestSummary,
    ForwardStats,
    ReturnStats,
    RuleBacktest,
)
from bot.model.messages import AlertTransition


def test_to_json_keeps_the_documented_shape() -> None:
    fired = BacktestEvent(
        date(2021, 4, 19), AlertTransition.FIRED, 68.5, "broad", {"SPY_21": -3.4, "SPY_63": None}
    )
    resolved = BacktestEvent(date(2021, 5, 3), AlertTransition.RESOLVED, 59.0)
    stats = ForwardStats(ReturnStats(1, -3.4, 0.0), ReturnStats(0, None, None))
    summary = BacktestSummary(1, 1, 0.5, {"SPY_21": stats})
    result = BacktestResult(
        date(2020, 1, 2),
        date(2022, 1, 3),
        "demo",
        True,
        {"breadth": RuleBacktest((fired, resolved), summary)},
        2,
    )
    assert json.dumps(result.to_json()) == json.dumps(
        {
            "from": "2020-01-02",
            "to": "2022-01-03",
            "source": "demo",
            "simulated": True,
            "guarded_sessions": 2,
            "rules": {
                "breadth": {
                    "events": [
                        {
                            "date": "2021-04-19",
                            "kind": "fired",
                            "value": 68.5,
                            "label": "broad",
                            "forward_returns": {"SPY_21": -3.4, "SPY_63": None},
                        },
                        {"date": "2021-05-03", "kind": "resolved", "value": 59.0},
                    ],
                    "summary": {
                        "fired": 1,
                        "resolved": 1,
                        "per_year": 0.5,
                        "forward_returns": {
                            "SPY_21": {
                                "events": {"n": 1, "median": -3.4, "share_positive": 0.0},
                                "base_rate": {"n": 0, "median": None, "share_positive": None},
                            }
                        },
                    },
                }
            },
        }
    )
    assert result.rules["breadth"].fired == (fired,)
