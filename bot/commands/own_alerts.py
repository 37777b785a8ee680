"""`alert ...` and `alerts`: rules a chat makes for itself, and the list of them.

`alert SUBJECT OP VALUE [...]` stores a rule for the caller's chat (its grammar:
`bot.commands.own_grammar`) and answers whether the condition holds now and how the rule
would have done on the history the bot has; `alert delete|pause|resume ID` changes one;
`alerts` lists them with their state. Who may change a chat's rules is
`own_alerts.who` (`OwnAlertSettings.may_manage`); anyone may list them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from bot.alerts import OwnRule, own_rule, own_rule_backtest, subject_series
from bot.commands.common import CommandError, as_of_date, number, session_used
from bot.commands.context import CommandContext
from bot.commands.own_grammar import NewRule, parse_rule
from bot.commands.parse import CommandRequest
from bot.model import Reply, Table, echo
from bot.render import format_number, format_value
from bot.render import texts as T
from bot.storage import ChatKey, OwnAlert, OwnAlertLimit, OwnAlerts, Store
from signals.rules import RuleConfigError, Status

if TYPE_CHECKING:
    from bot.alerts import MarketState

_VERBS = {"delete": "delete", "del": "delete", "remove": "delete", "rm": "delete",
          "pause": "pause", "resume": "resume", "unpause": "resume"}  # fmt: skip


def _chat(ctx: CommandContext) -> ChatKey:
    c = ctx.caller
    return (c.platform, c.chat_id, c.thread_id)


def _store(ctx: CommandContext, command: str) -> Store:
    if ctx.store is None:
        raise CommandError(T.NO_STORE.format(command=command))
    return ctx.store


def _check_allowed(ctx: CommandContext) -> None:
    c = ctx.caller
    if not ctx.own_alerts.may_manage(
        c.platform, c.user_id, is_admin=c.is_admin, shared=c.shared_chat
    ):
        shared_default = ctx.own_alerts.who is None and c.shared_chat
        raise CommandError(T.OWN_NOT_ALLOWED_GROUP if shared_default else T.OWN_NOT_ALLOWED)


def _need_state(ctx: CommandContext) -> MarketState:
    state = ctx.state()
    if state is None:
        raise CommandError(T.NO_STATE)
    return state


def alert_command(req: CommandRequest, ctx: CommandContext) -> Reply:
    """`alert SUBJECT OP VALUE [confirm N] [clear V] [cooldown N]`, or `alert VERB ID`."""
    first = req.args[0].lower() if req.args else ""
    if first in _VERBS and len(req.args) <= 2:
        return _change(_VERBS[first], req.args[1:], ctx)
    if first in ("list", "ls"):
        return alerts_command(req, ctx)
    store = _store(ctx, "alert")
    _check_allowed(ctx)
    state = _need_state(ctx)
    new = parse_rule(state, req.args)
    try:
        saved = OwnAlerts(store).create(
            _chat(ctx),
            new.text,
            new.spec,
            created_by=ctx.caller.user_id,
            now=ctx.clock(),
            limit=ctx.own_alerts.max_per_chat,
        )
    except OwnAlertLimit as exc:
        raise CommandError(T.OWN_LIMIT.format(limit=exc.limit)) from None
    return _created_reply(saved, new, state)


def _value_text(value: float | None, own: OwnRule) -> str:
    if own.subject.kind == "relative":
        return format_value(value, "pp")
    return format_number(value)


def _now_line(own: OwnRule, series: pd.Series, state: MarketState) -> str:
    day = session_used(state) or as_of_date(state)
    value = number(series.get(pd.Timestamp(day)))
    subject = own.subject.text
    if value is None:
        return T.OWN_NO_DATA_NOW.format(date=day, subject=subject)
    shown = _value_text(value, own)
    if own.holds(value):
        when = T.OWN_HOLDS_WHEN_LEVEL if own.rule.conditions else T.OWN_HOLDS_WHEN_CROSS
        return T.OWN_HOLDS.format(date=day, subject=subject, value=shown, when=when)
    return T.OWN_NOT_HOLDS.format(date=day, subject=subject, value=shown)


def _pct(value: float | None) -> str:
    return format_value(value, "%", signed=True)


def _created_reply(saved: OwnAlert, new: NewRule, state: MarketState) -> Reply:
    """The new rule, whether it holds now, and its backtest on the bot's history."""
    series = subject_series(new.own.subject, state.history, state.data)
    end = pd.Timestamp(session_used(state) or as_of_date(state))
    series = series.loc[:end]
    blocks = [T.OWN_CREATED.format(text=new.text), _now_line(new.own, series, state)]
    result = own_rule_backtest(new.own, series, state.data.closes)
    n = len(result.fired)
    last = T.OWN_BACKTEST_LAST.format(date=result.fired[-1]) if result.fired else ""
    blocks.append(
        T.OWN_BACKTEST.format(
            start=result.start,
            end=result.end,
            n=n,
            s="" if n == 1 else "s",
            per_year=result.per_year,
            last=last,
        )  # fmt: skip
    )
    for horizon, (median, base) in result.forward.items():
        blocks.append(T.OWN_FORWARD.format(horizon=horizon, median=_pct(median), base=_pct(base)))
    blocks.append(T.OWN_CREATED_HINT.format(number=saved.number))
    return Reply(
        title=T.OWN_CREATED_TITLE.format(number=saved.number),
        blocks=tuple(blocks),
        simulated=bool(state.snapshot.simulated),
        as_of=end.date(),
        command=f"alert {new.text}",
    )


def _change(verb: str, args: tuple[str, ...], ctx: CommandContext) -> Reply:
    """`alert delete|pause|resume ID`."""
    store = _store(ctx, f"alert {verb}")
    word = args[0] if args else ""
    digits = word.removeprefix("#")
    if not digits.isdigit() or len(digits) > 9:
        raise CommandError(T.OWN_BAD_ID.format(word=echo(word or "(nothing)", 24), verb=verb))
    _check_allowed(ctx)
    number_ = int(digits)
    alerts = OwnAlerts(store)
    if verb == "delete":
        done = alerts.delete(_chat(ctx), number_)
        template = T.OWN_DELETED
    else:
        done = alerts.set_paused(_chat(ctx), number_, verb == "pause")
        template = T.OWN_PAUSED if verb == "pause" else T.OWN_RESUMED
    if done is None:
        raise CommandError(T.OWN_NO_SUCH.format(number=number_))
    return Reply(
        title=T.OWN_DONE_TITLE.format(number=number_),
        blocks=(template.format(number=number_, text=done.text),),
    )


def state_text(alert: OwnAlert, own: OwnRule) -> str:
    """The rule's place in its cycle: paused, new, firing since, pending, armed, waiting."""
    st = alert.state
    if alert.paused:
        return T.OWN_STATE_PAUSED
    if st is None or not st.started:
        return T.OWN_STATE_NEW
    if st.status == Status.FIRING:
        return T.OWN_STATE_FIRING.format(date=st.last_fired or "—")
    if st.status == Status.PENDING:
        return T.OWN_STATE_PENDING.format(streak=st.streak, confirm=own.rule.confirm)
    return T.OWN_STATE_ARMED if st.armed else T.OWN_STATE_WAITING


def alerts_command(req: CommandRequest, ctx: CommandContext) -> Reply:
    """This chat's own rules: id, rule, the value now (and whether it holds), state."""
    store = _store(ctx, "alerts")
    listed = OwnAlerts(store).of_chat(_chat(ctx))
    if not listed:
        return Reply(title=T.OWN_LIST_TITLE, blocks=(T.OWN_LIST_EMPTY,), command="alerts")
    state = ctx.state()
    rows = []
    for alert in listed:
        try:
            own = own_rule(alert.rule_id, alert.spec)
        except (KeyError, TypeError, ValueError, RuleConfigError):
            rows.append((f"#{alert.number}", echo(alert.text, 64), "—", "—"))
            continue
        now = "—"
        if state is not None:
            series = subject_series(own.subject, state.history, state.data)
            day = pd.Timestamp(session_used(state) or as_of_date(state))
            value = number(series.get(day))
            now = _value_text(value, own)
            if own.holds(value):
                now += f" · {T.OWN_HOLDS_MARK}"
        rows.append((f"#{alert.number}", alert.text, now, state_text(alert, own)))
    return Reply(
        title=T.OWN_LIST_TITLE,
        blocks=(T.OWN_LIST_HINT,),
        table=Table(T.OWN_LIST_HEADER, tuple(rows), align=("l", "l", "l", "l")),
        command="alerts",
    )
