"""signals, status and history: rule states and runs from a store the real engine filled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pandas as pd
import pytest
from sqlalchemy import select

from bot.alerts.engine import Engine
from bot.storage.store import Store
from bot.storage.tables import AlertRow, DeliveryRow, DestinationRow, RuleStateRow, Run
from signals.indicators import SignalHistory
from signals.market import MarketData
from signals.rules import RuleSpec, RuleState
from tests.bot.commands_helpers import NOW, all_text, ask, caller, context, load_state, row

if TYPE_CHECKING:
    from bot.alerts.market_state import MarketState


@pytest.fixture(scope="module")
def state(demo_data: MarketData) -> MarketState:
    return load_state(demo_data)  # type: ignore[return-value]


@pytest.fixture(scope="module")
def evaluated(
    demo_data: MarketData, demo_history: SignalHistory, default_rules: list[RuleSpec]
) -> Store:
    """A store after a first start two years back and a catch-up to the last session."""
    store = Store()
    engine = Engine(store, default_rules, enqueue=False)
    engine.evaluate(demo_history, demo_data, demo_data.closes.index[-504])
    engine.evaluate(demo_history, demo_data)
    yield store
    store.close()


def _expected_state_cell(rule: RuleSpec, st: RuleState) -> str | None:
    """The state cell for firing and waiting rules, from the stored fields (None: others)."""
    if st.status.value == "firing":
        return f"firing since {st.last_fired.isoformat()}"
    if not st.armed and rule.kind == "crossing":
        op = "<" if rule.op == "crosses_above" else ">"
        return f"waiting to clear ({op} {rule.clear:g})"
    return None


def test_signals_show_each_rule_with_its_stored_state(
    state: MarketState, evaluated: Store, default_rules: list[RuleSpec]
) -> None:
    reply = ask(context(state, store=evaluated, rules=tuple(default_rules)), "signals")
    assert not reply.is_error and reply.table is not None
    assert reply.table.header == ("Rule", "Holds now", "State", "Trigger", "Last change")
    assert [r[0] for r in reply.table.rows] == [r.id for r in default_rules]
    with evaluated.transaction() as s:
        stored = {r.rule_id: RuleState.from_dict(r.state) for r in s.scalars(select(RuleStateRow))}
        alerts = s.scalars(select(AlertRow).order_by(AlertRow.session, AlertRow.id)).all()
        latest = {a.rule_id: a for a in alerts}
    assert alerts, "the demo should have produced some alerts in two years"
    counts = {"firing": 0, "pending": 0, "ok": 0}
    for rule in default_rules:
        cells = row(reply, rule.id)
        st = stored[rule.id]
        counts[st.status.value] += 1
        expected = _expected_state_cell(rule, st)
        if expected is not None:
            assert cells[2] == expected
        elif st.status.value == "pending":
            assert cells[2].startswith(("pending ", "cooling down"))
        else:
            assert cells[2] == "armed" or cells[2].startswith("cooling down, ")
        a = latest.get(rule.id)
        if a is not None:
            assert cells[4] == f"{a.transition} {a.session.isoformat()}"
            if a.transition == "fired" and rule.kind != "changes":
                assert cells[2] == f"firing since {a.session.isoformat()}"  # nothing resolved
                # it since (a label change is an event of its own: that rule is ok at once)
    assert counts["firing"] > 0
    assert reply.blocks[0] == (
        f"{counts['firing']} firing · {counts['pending']} pending · {counts['ok']} ok"
    )


def _demo_breadth(data: MarketData, n: int = 200) -> float:
    """% of members whose last close is above the mean of their last n closes (all present)."""
    window = data.closes[[t for t in data.universe.tickers if t in data.closes]].iloc[-n:]
    used = window.loc[:, window.notna().all()]
    return 100.0 * float((used.iloc[-1] > used.mean()).sum()) / used.shape[1]


def _ret(data: MarketData, ticker: str, k: int = 63) -> float:
    col = data.closes[ticker].to_numpy(dtype=float)
    return 100.0 * (col[-1] / col[-1 - k] - 1.0)


def test_signals_holds_now_against_an_independent_computation(
    state: MarketState, evaluated: Store, default_rules: list[RuleSpec], demo_data: MarketData
) -> None:
    reply = ask(context(state, store=evaluated, rules=tuple(default_rules)), "signals")
    breadth = _demo_breadth(demo_data)
    spread = _ret(demo_data, "RSP") - _ret(demo_data, "SPY")
    small = _ret(demo_data, "IWM") - _ret(demo_data, "SPY")

    def yes(flag: bool) -> str:
        return "yes" if flag else "no"

    assert row(reply, "breadth_broadening")[1:4:2] == (
        f"{yes(breadth >= 65)} · {breadth:.1f}%",
        "≥ 65 (clears < 55)",
    )
    assert row(reply, "breadth_narrowing")[1] == f"{yes(breadth <= 50)} · {breadth:.1f}%"
    assert row(reply, "breadth_narrowing")[3] == "≤ 50 (clears > 58)"
    assert row(reply, "equal_weight_leading")[1] == f"{yes(spread >= 0)} · {spread:+.1f} pp"
    assert row(reply, "small_caps_leading")[1] == f"{yes(small >= 0)} · {small:+.1f} pp"
    label = state.snapshot.signals["rotation_regime"].details["label"]
    assert row(reply, "regime_change")[1:4:2] == (f"n/a · {label}", "label changes")
    held = int(breadth >= 65) + int(spread > 0)
    assert row(reply, "broad_rotation")[1:4:2] == (
        f"{yes(held == 2)} · {held} of 2",
        "all 2 hold",
    )
    holding = sum(1 for r in reply.table.rows if r[1].startswith("yes"))
    assert reply.blocks[1] == f"{holding} of 13 conditions hold now ({state.as_of.date()})"


def test_signals_before_any_evaluation(state: MarketState, default_rules: list[RuleSpec]) -> None:
    reply = ask(context(state, store=Store(), rules=tuple(default_rules)), "signals")
    assert reply.blocks[0].startswith("No rule states stored yet")
    assert {r[2] for r in reply.table.rows} == {"—"}
    assert {r[1].split(" · ")[0] for r in reply.table.rows} <= {"yes", "no", "n/a"}
    assert reply.blocks[1].endswith(f"conditions hold now ({state.as_of.date()})")
    assert ask(context(state), "signals").blocks == ("No alert rules are configured.",)
    waiting = ask(context(None, rules=tuple(default_rules)), "signals")
    assert not waiting.is_error and {r[1] for r in waiting.table.rows} == {"no data"}
    assert waiting.blocks[-1] == "Market data is still loading. Try again in a minute."


def _dead_letter(store: Store) -> None:
    with store.transaction() as s:
        dest = DestinationRow(
            platform="slack", chat_id="C9", thread_id="", origin="chat", created_at=NOW, kinds={}
        )
        gone = DestinationRow(
            platform="telegram",
            chat_id="-100",
            thread_id="",
            origin="chat",
            created_at=NOW,
            kinds={},
            enabled=False,
            disabled_reason="bot was kicked <b>",
        )
        s.add_all([dest, gone])
        s.flush()
        s.add(
            DeliveryRow(
                destination_id=dest.id,
                group_key="run:x",
                kind="alert",
                status="dead",
                attempts=5,
                next_attempt_at=NOW,
                created_at=NOW,
                last_error="channel_not_found " + "z" * 500,
            )
        )


def test_status_for_everyone_and_for_admins(state: MarketState, evaluated: Store) -> None:
    _dead_letter(evaluated)
    when = datetime(2026, 11, 2, 21, 30, tzinfo=UTC)
    member = ask(context(state, store=evaluated, next_run=lambda: when), "status")
    text = all_text(member)
    assert "rotation-bot 9.9.9" in member.blocks
    assert f"Market data: as of {state.as_of.date()}, source demo (SIMULATED)." in text
    with evaluated.transaction() as s:
        run = s.scalars(select(Run).order_by(Run.id.desc())).first()
    assert f"Last evaluation: {run.as_of.isoformat()}, {run.outcome}" in text
    assert f"coverage {run.coverage * 100:.1f}%" in text
    assert "Next run: 2026-11-02 21:30 UTC." in member.blocks
    q = evaluated.queue_counts()
    assert dict(member.table.rows) == {f: str(getattr(q, f)) for f in dict(member.table.rows)}
    assert dict(member.table.rows)["dead"] == "1"
    assert "Dead letters" not in text and "C9" not in text
    admin = ask(context(state, store=evaluated, who=caller(admin=True)), "status")
    admin_text = all_text(admin)
    assert "Dead letters: 1." in admin_text and "slack C9: channel_not_found" in admin_text
    assert "z" * 100 not in admin_text
    assert "Disabled destinations: 1." in admin_text
    assert "telegram -100: bot was kicked <b>" in admin_text
    assert "Next run: not scheduled in this mode." in admin.blocks


def test_status_without_data_or_database() -> None:
    reply = ask(context(None), "status")
    assert not reply.is_error
    assert "Market data: still loading." in reply.blocks and reply.table is None


def test_status_before_the_first_evaluation(state: MarketState) -> None:
    store = Store()
    assert "Last evaluation: none yet." in ask(context(state, store=store), "status").blocks


def test_the_run_shown_is_the_latest(state: MarketState) -> None:
    store = Store()
    with store.transaction() as s:
        for i, outcome in enumerate(("evaluated", "guarded")):
            s.add(
                Run(
                    as_of=pd.Timestamp("2026-10-29").date() + timedelta(days=i),
                    started_at=NOW + timedelta(minutes=i),
                    finished_at=NOW + timedelta(minutes=i, seconds=3),
                    source="demo",
                    outcome=outcome,
                    reason="data is 2 session(s) old" if outcome == "guarded" else None,
                    stale_sessions=2 if outcome == "guarded" else 0,
                    coverage=0.5,
                )
            )
    text = all_text(ask(context(state, store=store), "status"))
    assert "Last evaluation: 2026-10-30, guarded (data is 2 session(s) old)" in text
    assert "2 stale session(s), coverage 50.0%" in text
