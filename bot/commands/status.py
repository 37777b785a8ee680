"""Rule and bot status commands: signals and status. Read the store and the cached state."""

from __future__ import annotations

from datetime import datetime
from importlib import metadata

from bot.alerts import conditions_now
from bot.commands.common import (
    as_of_date,
    header_date,
    market_reply,
    number,
    session_used,
    trigger_text,
)
from bot.commands.conditions import holds_cell, holds_not_firing, phase_cell
from bot.commands.context import CommandContext
from bot.commands.parse import CommandRequest
from bot.model import Button, Reply, Table, echo
from bot.render import format_coverage
from bot.render import texts as T
from bot.storage import StatusQueries, as_utc
from signals.rules import Verdict

#: Dead letters and disabled destinations listed by name in an admin's status.
STATUS_ITEMS = 5


def _when(ts: datetime | None) -> str:
    ts = as_utc(ts)
    return "—" if ts is None else ts.strftime("%Y-%m-%d %H:%M UTC")


def signals(req: CommandRequest, ctx: CommandContext) -> Reply:
    """Each configured rule: whether its condition holds now (with the value), its firing
    state, its trigger and its last change; and which rules hold without firing."""
    if not ctx.rules:
        return Reply(title=T.SIGNALS_TITLE.format(date="—"), blocks=(T.NO_RULES,))
    state = ctx.state()
    conds = conditions_now(state, ctx.store, ctx.rules)
    rows = []
    counts = {"firing": 0, "pending": 0, "ok": 0}
    for cond in conds:
        if cond.state is not None:
            counts[cond.state.status.value] += 1
        last = cond.last_alert
        if last is not None:
            change = f"{last.transition} {last.session.isoformat()}"
        elif cond.state is not None and cond.state.last_fired is not None:
            change = f"fired {cond.state.last_fired.isoformat()}"
        else:
            change = "—"
        rows.append(
            (cond.rule.id, holds_cell(cond), phase_cell(cond), trigger_text(cond.rule), change)
        )
    known = any(c.state is not None for c in conds)
    blocks = [T.RULES_SUMMARY.format(**counts) if known else T.RULES_NO_STATE]
    sessions = [c.session for c in conds if c.session is not None]
    if sessions:
        held = sum(1 for c in conds if c.holding.holds)
        applicable = sum(1 for c in conds if c.holding.verdict != Verdict.NOT_APPLICABLE)
        blocks.append(T.RULES_HOLD.format(held=held, n=applicable, date=max(sessions).isoformat()))
    waiting = holds_not_firing(conds)
    if waiting is not None:
        blocks.append(waiting)
    table = Table(T.SIGNALS_HEADER, tuple(rows), ("l", "l", "l", "l", "l"))
    if state is None:
        return Reply(
            title=T.SIGNALS_TITLE.format(date="—"), blocks=(*blocks, T.NO_STATE), table=table
        )
    return market_reply(
        state, "signals", T.SIGNALS_TITLE.format(date=header_date(state)), blocks, table=table
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
