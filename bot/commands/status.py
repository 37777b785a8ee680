"""Rule and bot status commands: signals and status. Read the store and the cached state."""

from __future__ import annotations

from datetime import datetime
from importlib import metadata
from typing import TYPE_CHECKING

from bot.commands.common import (
    as_of_date,
    header_date,
    history_position,
    market_reply,
    number,
    session_used,
    trigger_text,
    unit_of,
)
from bot.commands.context import CommandContext
from bot.commands.parse import CommandRequest
from bot.model import Button, Reply, Table, echo
from bot.render import format_coverage, format_value
from bot.render import texts as T
from bot.storage import StatusQueries, as_utc

if TYPE_CHECKING:
    from bot.alerts import MarketState
    from signals.rules import RuleSpec

#: Dead letters and disabled destinations listed by name in an admin's status.
STATUS_ITEMS = 5


def _when(ts: datetime | None) -> str:
    ts = as_utc(ts)
    return "—" if ts is None else ts.strftime("%Y-%m-%d %H:%M UTC")


def _value_at(state: MarketState, path: str, pos: int) -> object:
    series = state.history.series(path)
    return series.iloc[pos] if 0 <= pos < len(series) else None


def current_value(state: MarketState | None, rule: RuleSpec) -> str:
    """The rule's input now: the signal's value, the label, or how many conditions hold."""
    if state is None:
        return "—"
    pos = history_position(state)
    try:
        if rule.kind == "combined":
            values = [number(_value_at(state, c.signal, pos)) for c in rule.conditions]
            held = sum(
                1
                for c, v in zip(rule.conditions, values, strict=True)
                if v is not None and c.holds(v)
            )
            return T.CONDITIONS_HELD.format(held=held, n=len(rule.conditions))
        assert rule.signal is not None
        path = rule.signal
        if rule.kind == "changes" and "." not in path:
            path = f"{path}.label"  # as the engine reads a label rule
        raw = _value_at(state, path, pos)
    except KeyError:  # a signal path this data does not have (config checks the ids)
        return "—"
    if isinstance(raw, str):
        return echo(raw, 24)
    return format_value(number(raw), unit_of(rule.signal))


def _states(ctx: CommandContext) -> dict[str, tuple[str, str]]:
    """rule id -> (status, last change) from the store's rule state and alert log."""
    if ctx.store is None:
        return {}
    out: dict[str, tuple[str, str]] = {}
    records = StatusQueries(ctx.store).rule_records([rule.id for rule in ctx.rules])
    for rule_id, record in records.items():
        status = T.STATE_UNKNOWN
        last = "—"
        st = record.state
        if st is not None:
            status = st.status.value
            if st.last_fired is not None:
                last = f"fired {st.last_fired.isoformat()}"
        alert = record.last_alert
        if alert is not None:
            last = f"{alert.transition} {alert.session.isoformat()}"
        out[rule_id] = (status, last)
    return out


def signals(req: CommandRequest, ctx: CommandContext) -> Reply:
    """Each configured rule: its state, current value, trigger and last change."""
    if not ctx.rules:
        return Reply(title=T.SIGNALS_TITLE.format(date="—"), blocks=(T.NO_RULES,))
    state = ctx.state()
    states = _states(ctx)
    rows = []
    counts = {"firing": 0, "pending": 0, "ok": 0}
    for rule in ctx.rules:
        status, last = states.get(rule.id, (T.STATE_UNKNOWN, "—"))
        counts[status] = counts.get(status, 0) + 1
        rows.append((rule.id, status, current_value(state, rule), trigger_text(rule), last))
    known = sum(counts.get(k, 0) for k in ("firing", "pending", "ok"))
    summary = (
        T.RULES_SUMMARY.format(**{k: counts.get(k, 0) for k in ("firing", "pending", "ok")})
        if known
        else T.RULES_NO_STATE
    )
    table = Table(T.SIGNALS_HEADER, tuple(rows), ("l", "l", "r", "l", "l"))
    if state is None:
        return Reply(
            title=T.SIGNALS_TITLE.format(date="—"), blocks=(summary, T.NO_STATE), table=table
        )
    return market_reply(
        state, "signals", T.SIGNALS_TITLE.format(date=header_date(state)), [summary], table=table
    )


# --- rules by name --------------------------------------------------------------------------------


# --- status ---------------------------------------------------------------------------------


def _version(ctx: CommandContext) -> str:
    if ctx.version:
        return ctx.version
    try:
        return metadata.version("rotation-bot")
    except metadata.PackageNotFoundError:
        return "unknown"


def status(req: CommandRequest, ctx: CommandContext) -> Reply:
    """Last evaluation and its freshness, next run, delivery queue, version; admins also see
    dead letters and disabled destinations."""
    blocks = [T.STATUS_VERSION.format(version=_version(ctx))]
    state = ctx.state()
    if state is None:
        blocks.append(T.STATUS_NO_MARKET)
    else:
        snap = state.snapshot
        blocks.append(
            T.STATUS_MARKET.format(
                date=as_of_date(state),
                source=snap.source,
                simulated=" (SIMULATED)" if snap.simulated else "",
            )
        )
    table = None
    if ctx.store is not None:
        blocks.extend(_run_lines(ctx))
    next_run = ctx.next_run() if ctx.next_run is not None else None
    blocks.append(
        T.STATUS_NEXT.format(when=_when(next_run)) if next_run else T.STATUS_NOT_SCHEDULED
    )
    if ctx.store is not None:
        q = ctx.store.queue_counts()
        fields = ("pending", "retrying", "sending", "delivered", "dead", "cancelled")
        table = Table(T.STATUS_QUEUE_HEADER, tuple((f, str(getattr(q, f))) for f in fields))
        if ctx.caller.is_admin:
            blocks.extend(_admin_lines(ctx))
    title = T.STATUS_TITLE
    if state is not None and state.snapshot.freshness.stale_sessions > 0:
        title += T.SEP + header_date(state)  # stale data named in the first line
    return Reply(
        title=title,
        blocks=tuple(blocks),
        table=table,
        simulated=bool(state is not None and state.snapshot.simulated),
        as_of=None if state is None else session_used(state),
        command="status",
        buttons=(Button(T.REFRESH, "status", kind="refresh"),),
    )


def _run_lines(ctx: CommandContext) -> list[str]:
    assert ctx.store is not None
    run = StatusQueries(ctx.store).latest_run()
    if run is None:
        return [T.STATUS_NO_RUN]
    return [
        T.STATUS_RUN.format(
            as_of=run.as_of.isoformat(),
            outcome=run.outcome,
            reason=f" ({echo(run.reason, 200)})" if run.reason else "",
            finished=_when(run.finished_at),
        ),
        T.STATUS_RUN_DATA.format(
            last="—" if run.last_session is None else run.last_session.isoformat(),
            stale="—" if run.stale_sessions is None else run.stale_sessions,
            coverage=format_coverage(number(run.coverage)),
        ),
    ]


def _admin_lines(ctx: CommandContext) -> list[str]:
    assert ctx.store is not None
    problems = StatusQueries(ctx.store).admin_status(listed=STATUS_ITEMS)
    dead_lines = [
        T.STATUS_DEAD_ITEM.format(
            id=d.id,
            platform=d.platform,
            chat=echo(d.chat_id, 32),
            error=echo(d.last_error or "—", 80),
        )
        for d in problems.dead
    ]
    disabled_lines = [
        T.STATUS_DISABLED_ITEM.format(
            platform=d.platform, chat=echo(d.chat_id, 32), reason=echo(d.reason or "—", 80)
        )
        for d in problems.disabled[:STATUS_ITEMS]
    ]
    return [
        "\n".join([T.STATUS_DEAD.format(n=problems.dead_count), *dead_lines]),
        "\n".join([T.STATUS_DISABLED.format(n=len(problems.disabled)), *disabled_lines]),
    ]
