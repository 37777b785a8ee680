"""Alert items carry a typed transition, stored in the outbox as the strings it always was."""

from __future__ import annotations

import json
from datetime import date

from bot.model.kinds import MessageKind
from bot.model.messages import AlertGroup, AlertItem, AlertTransition
from signals.rules import Transition

SESSION = date(2026, 3, 2)


def test_rule_transitions_keep_the_values_of_signals_transition() -> None:
    assert AlertTransition(Transition.FIRED) is AlertTransition.FIRED
    assert AlertTransition(Transition.RESOLVED) is AlertTransition.RESOLVED


def test_a_stored_payload_loads_with_typed_transitions_and_dumps_the_same_json() -> None:
    stored = {
        "as_of": "2026-03-02",
        "source": "demo",
        "simulated": True,
        "items": [
            {
                "rule_id": rule,
                "transition": transition,
                "session": "2026-03-02",
                "severity": "info",
                "message": "m",
                "value": None,
                "threshold": None,
                "label": None,
                "late": False,
            }
            for rule, transition in (("a", "fired"), ("b", "resolved"), ("c", "data_health"))
        ],
        "footer": "Not investment advice.",
        "kind": "alert",
    }
    group = AlertGroup.from_json(stored)
    assert [i.transition for i in group.items] == list(AlertTransition)
    assert [i.kind for i in group.items] == [
        MessageKind.ALERT,
        MessageKind.RESOLVED,
        MessageKind.DATA_HEALTH,
    ]
    assert json.dumps(group.to_json()) == json.dumps(stored)


def test_the_payload_holds_plain_strings() -> None:
    item = AlertItem("a", AlertTransition.DATA_HEALTH, SESSION, "warning", "m")
    (out,) = AlertGroup(SESSION, "demo", False, (item,)).to_json()["items"]
    assert type(out["transition"]) is str and out["transition"] == "data_health"
