"""Subscription commands: subscribe, unsubscribe, mute, settings. They write the caller's
destination (platform + chat id + thread), origin "chat".

Rows from the config file are re-synced at every start (`bot.delivery.destinations`), so a change
made here to one of them would silently vanish; those are refused with a pointer to the config.
The one exception is an admin's private chat, which the config adds as an `admin_only` row
(no alerts): subscribing it turns it into a chat row. Who may write (admins only in groups
and channels) is checked by `dispatch`, not here.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, timedelta

from bot.alerts import conditions_now
from bot.commands.common import CommandError, find_rule
from bot.commands.conditions import in_force_lines
from bot.commands.context import CommandContext
from bot.commands.parse import CommandRequest
from bot.model import Level, MessageKind, Reply, Table, echo, levels_with
from bot.render import texts as T
from bot.storage import ChatKey, Destination, Destinations, RuleFilter

SEVERITY_FILTERS = ("info", "warning")
_DURATION = re.compile(r"(\d{1,4})\s*(m|min|mins|minutes?|h|hrs?|hours?|d|days?|w|weeks?)")
_UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400, "w": 604800}


def _destinations(ctx: CommandContext, command: str) -> Destinations:
    if ctx.store is None:
        raise CommandError(T.NO_STORE.format(command=command))
    return Destinations(ctx.store)


def _key(ctx: CommandContext) -> ChatKey:
    c = ctx.caller
    return (c.platform, c.chat_id, c.thread_id)


def _subscribed(row: Destination) -> bool:
    """Whether the row receives alerts (an admin-only row gets only what goes to admins)."""
    return row.enabled and not row.admin_only


def _writable(row: Destination) -> None:
    if row.origin == "config" and not row.admin_only:
        raise CommandError(T.FROM_CONFIG)


def _rule_filter(ctx: CommandContext, args: tuple[str, ...]) -> RuleFilter:
    """ "all", or the rule ids (and severities) named, each checked against the config."""
    if not args or [a.lower() for a in args] == ["all"]:
        return "all"
    chosen: list[str] = []
    for arg in args:
        word = arg.strip(",")
        value = word.lower() if word.lower() in SEVERITY_FILTERS else find_rule(ctx, word).id
        if value not in chosen:
            chosen.append(value)
    return tuple(chosen)


def subscribe(req: CommandRequest, ctx: CommandContext) -> Reply:
    """Alerts to this chat: for all rules, or the rules (or severities) named. The answer says
    which of those rules' conditions hold now and which fire, so a condition already true is
    not mistaken for one that will be announced."""
    destinations = _destinations(ctx, "subscribe")
    rules = _rule_filter(ctx, req.args)
    now = ctx.clock()
    with destinations.transaction() as tx:
        row = tx.find(_key(ctx))
        if row is None:
            platform, chat_id, thread_id = _key(ctx)
            tx.add(Destination(platform, chat_id, thread_id, "chat", now, rules=rules, kinds={}))
        else:
            _writable(row)
            tx.save(
                replace(
                    row,
                    origin="chat",
                    admin_only=False,
                    rules=rules,
                    enabled=True,
                    disabled_reason=None,
                )
            )
    text = T.SUBSCRIBED_ALL if rules == "all" else T.SUBSCRIBED_SOME.format(rules=", ".join(rules))
    covered = [r for r in ctx.rules if rules == "all" or r.id in rules or r.severity in rules]
    in_force = in_force_lines(conditions_now(ctx.state(), ctx.store, covered)) if covered else []
    return Reply(
        title=T.SUBSCRIBED_TITLE,
        blocks=(text, *in_force, T.SUBSCRIBED_HINTS),
        command=req.line,
    )


def unsubscribe(req: CommandRequest, ctx: CommandContext) -> Reply:
    """No more alerts to this chat (the row is disabled, not deleted: history keeps it)."""
    destinations = _destinations(ctx, "unsubscribe")
    with destinations.transaction() as tx:
        row = tx.find(_key(ctx))
        if row is None or not _subscribed(row):
            return Reply(title=T.UNSUBSCRIBED_TITLE, blocks=(T.NOT_SUBSCRIBED,))
        _writable(row)
        reason = f"unsubscribed in chat by user {echo(ctx.caller.user_id, 32)}"
        tx.save(replace(row, enabled=False, disabled_reason=reason))
    return Reply(title=T.UNSUBSCRIBED_TITLE, blocks=(T.UNSUBSCRIBED,))


def parse_duration(text: str) -> timedelta | None:
    """ "30m", "2h", "3d", "1w" (also "2 hours") -> a timedelta; "off"/"0" -> zero; else None."""
    t = text.strip().lower()
    if t in ("off", "0", "none", "unmute"):
        return timedelta(0)
    m = _DURATION.fullmatch(t)
    if m is None:
        return None
    return timedelta(seconds=int(m.group(1)) * _UNIT_SECONDS[m.group(2)[0]])


def mute(req: CommandRequest, ctx: CommandContext) -> Reply:
    """Pause alerts to this chat for a while (`mute 2h`, `mute 3d`, `mute off`)."""
    text = " ".join(req.args)
    duration = parse_duration(text)
    if duration is None:
        raise CommandError(T.BAD_DURATION.format(text=echo(text)), usage="mute 2h | 3d | 1w | off")
    if duration > timedelta(days=ctx.options.max_mute_days):
        raise CommandError(T.TOO_LONG.format(days=ctx.options.max_mute_days))
    destinations = _destinations(ctx, "mute")
    now = ctx.clock()
    until = now + duration if duration else None
    with destinations.transaction() as tx:
        row = tx.find(_key(ctx))
        if row is None or not _subscribed(row):
            raise CommandError(T.NOT_SUBSCRIBED)
        _writable(row)
        tx.save(replace(row, muted_until=until))
    if until is None:
        return Reply(title=T.UNMUTED_TITLE, blocks=(T.UNMUTED,))
    return Reply(title=T.MUTED_TITLE, blocks=(T.MUTED.format(until=_when(until)),))


def _when(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%d %H:%M UTC")


def settings_writes(args: tuple[str, ...]) -> bool:
    """`settings` with arguments changes the chat; without, it only shows (anyone may)."""
    return bool(args)


def _kind(text: str) -> MessageKind:
    try:
        return MessageKind(text.lower().replace("-", "_"))
    except ValueError:
        kinds = ", ".join(k.value for k in MessageKind)
        raise CommandError(T.SETTINGS_BAD_KIND.format(kind=echo(text), kinds=kinds)) from None


def _level(text: str) -> Level:
    try:
        return Level(text.lower())
    except ValueError:
        raise CommandError(T.SETTINGS_BAD_LEVEL.format(level=echo(text))) from None


def settings(req: CommandRequest, ctx: CommandContext) -> Reply:
    """Show this chat's levels per message kind, or set one: `settings resolved silent`."""
    destinations = _destinations(ctx, "settings")
    if len(req.args) not in (0, 2):
        raise CommandError(T.USAGE.format(usage="settings [KIND LEVEL]"))
    change = (_kind(req.args[0]), _level(req.args[1])) if req.args else None
    with destinations.transaction() as tx:
        row = tx.find(_key(ctx))
        if row is None or not _subscribed(row):
            raise CommandError(T.NOT_SUBSCRIBED)
        if change is not None:
            _writable(row)
            row = replace(row, kinds={**row.kinds, change[0].value: change[1].value})
            tx.save(row)
    kinds = dict(row.kinds)
    rules = row.rules
    muted = row.muted_until
    levels = levels_with(kinds)
    table = Table(T.SETTINGS_HEADER, tuple((k.value, v.value) for k, v in levels.items()))
    blocks = []
    if change is not None:
        blocks.append(T.SETTINGS_SET.format(kind=change[0].value, level=change[1].value))
    shown = T.ALL_RULES if rules == "all" else ", ".join(str(r) for r in rules)
    blocks.append(T.SETTINGS_RULES.format(rules=shown))
    if muted is not None and muted > ctx.clock():
        blocks.append(T.SETTINGS_MUTED.format(until=_when(muted)))
    blocks.append(T.SETTINGS_HINT)
    return Reply(title=T.SETTINGS_TITLE, blocks=tuple(blocks), table=table)
