"""What holds now and where each rule stands: the market's latest values beside stored state.

A rule fires on a change, so a condition already true when the bot first starts never fires
until it clears and comes back (docs/rules.md). `conditions_now` puts, per rule, whether its
condition holds on the market state's session (`signals.rules.holds_now`, on the same inputs
the engine steps) next to its stored state read as a phase (`signals.rules.phase_of`), so
`signals`, `subscribe` and the startup message can say both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import pandas as pd

from bot.alerts.engine import RuleInputs
from bot.alerts.market_state import MarketState
from bot.storage import LastAlert, StatusQueries, Store
from signals.rules import Holding, Phase, RuleSpec, RuleState, Verdict, holds_now, phase_of


@dataclass(frozen=True)
class RuleCondition:
    """One rule now: does its condition hold, and what does its stored state say.

    session: the session `holding` was read at (None: no market data yet).
    state / phase: the stored rule state and its phase (None: no state stored yet).
    last_alert: the rule's latest logged transition, if any.
    """

    rule: RuleSpec
    holding: Holding
    session: date | None
    state: RuleState | None
    phase: Phase | None
    last_alert: LastAlert | None = None

    @property
    def firing(self) -> bool:
        return self.phase == Phase.FIRING


def rule_value(market: MarketState, rule: RuleSpec, session: pd.Timestamp) -> object:
    """The rule's input on `session`, shaped as the engine steps it (a label for changes)."""
    return RuleInputs([rule], market.history).value(rule, session)


def holding_at(market: MarketState | None, rule: RuleSpec) -> tuple[Holding, date | None]:
    """Whether `rule` holds on the market state's session (the last one with data on or
    before its as-of), and that session; "no data" without a state or a known signal."""
    if market is None:
        return Holding(rule.id, Verdict.NO_DATA, None), None
    history = market.history
    try:
        session = pd.Timestamp(history.sessions[history.position(market.snapshot.as_of)])
        value = rule_value(market, rule, session)
    except KeyError:  # no session that early, or a signal path this data does not have
        return Holding(rule.id, Verdict.NO_DATA, None), None
    return holds_now(rule, value), session.date()


def conditions_now(
    market: MarketState | None, store: Store | None, rules: Sequence[RuleSpec]
) -> tuple[RuleCondition, ...]:
    """Each rule (in order): holds now on `market`, and its stored state from `store`."""
    records = StatusQueries(store).rule_records([r.id for r in rules]) if store else {}
    out = []
    for rule in rules:
        holding, session = holding_at(market, rule)
        record = records.get(rule.id)
        state = None if record is None else record.state
        out.append(
            RuleCondition(
                rule=rule,
                holding=holding,
                session=session,
                state=state,
                phase=None if state is None else phase_of(rule, state),
                last_alert=None if record is None else record.last_alert,
            )
        )
    return tuple(out)
