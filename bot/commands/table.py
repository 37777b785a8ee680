"""The one command table, and `Dispatcher`: a parsed request + a context -> a neutral `Reply`.

The same `COMMANDS` table registers the handlers on every platform, builds `help` and
`help COMMAND`, and gives Telegram its command menu (`menu()` for setMyCommands), so they can
never drift apart. Commands know nothing of Telegram or Slack: they
return a `bot.model.reply.Reply` that each platform's renderer formats.

Threading: command functions and the `Dispatcher` are synchronous and thread-safe. They do
blocking work (SQLAlchemy queries, matplotlib rendering), so async adapters call them as
``await asyncio.to_thread(dispatcher.dispatch, request, ctx)``; the console may call them
directly.
Nothing is recomputed per request: market commands read `ctx.state()` (the cached state), and
charts are cached per state.

Order of checks in a `Dispatcher`: `ErrorBoundary` (always, outermost), its middleware
(audit log, allowlist, rate limit), then: parse errors, unknown commands (closest names
suggested), argument counts, access (admin-only commands; in groups and channels, commands
that change the chat's subscription need an admin), then the handler. A handler's
`CommandError` becomes an error reply with the usage line; any other exception is the
boundary's apology.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace

from bot.commands.chart import chart_command
from bot.commands.common import CommandError
from bot.commands.concentration import top10, valuation
from bot.commands.context import CommandContext
from bot.commands.history import history
from bot.commands.intents import intent_lines
from bot.commands.market import breadth, sector, sectors, snapshot
from bot.commands.middleware import ErrorBoundary, Middleware, Request, compose
from bot.commands.own_alerts import alert_command, alerts_command
from bot.commands.parse import CommandRequest, ParseError, parse_command
from bot.commands.returns import compare_command, mega7_command, return_command
from bot.commands.rotation import rotation
from bot.commands.sector_names import SECTORS
from bot.commands.status import signals, status
from bot.commands.subscriptions import mute, settings, settings_writes, subscribe, unsubscribe
from bot.model import MAX_BLOCK, MAX_BUTTON_COMMAND_BYTES, Button, Reply, echo
from bot.render import texts as T

log = logging.getLogger("rotation_bot.commands")

Handler = Callable[[CommandRequest, CommandContext], Reply]


@dataclass(frozen=True)
class Command:
    """One chat command.

    summary: one line for `help` and Telegram's menu (3-256 characters).
    usage: the syntax ("sector [NAME]").
    min_args / max_args: how many words may follow (None: any number).
    admin_only: only the platform's admins may run it, anywhere.
    writes_chat: the request changes this chat's subscription (True, or a test of the
        arguments); in groups and channels that needs an admin.
    needs_chart: the reply normally carries a chart (adapters may show "sending a photo").
    details: extra lines for `help COMMAND`.
    dry_run: may be run on trial to check a suggestion (False: it writes whatever the
        arguments, so it is never suggested with arguments).
    """

    name: str
    aliases: tuple[str, ...]
    summary: str
    usage: str
    handler: Handler
    admin_only: bool = False
    needs_chart: bool = False
    min_args: int = 0
    max_args: int | None = 0
    writes_chat: bool | Callable[[tuple[str, ...]], bool] = False
    details: str = ""
    in_menu: bool = True
    dry_run: bool = True

    def writes(self, args: tuple[str, ...]) -> bool:
        return self.writes_chat(args) if callable(self.writes_chat) else self.writes_chat


def help_command(req: CommandRequest, ctx: CommandContext) -> Reply:
    """The command list, or one command's usage and details."""
    visible = [c for c in COMMANDS if ctx.caller.is_admin or not c.admin_only]
    if not req.args:
        lines = [f"{c.usage} — {c.summary}" for c in visible]
        listing = (*_line_blocks(lines), T.HELP_FOOTER)
        return Reply(title=T.HELP_TITLE, blocks=listing, command="help")
    name = req.args[0].lower().lstrip("/")
    cmd = find_command(name)
    if cmd is None or cmd not in visible:
        raise _unknown(name, (), ctx)
    blocks = [T.USAGE.format(usage=cmd.usage), cmd.summary]
    if cmd.details:
        blocks.append(cmd.details)
    if cmd.aliases:
        blocks.append(T.HELP_ALIASES.format(aliases=", ".join(cmd.aliases)))
    if cmd.admin_only:
        blocks.append(T.HELP_ADMIN)
    elif cmd.writes_chat:
        blocks.append(T.HELP_ADMIN_GROUP)
    return Reply(title=T.HELP_ONE_TITLE.format(name=cmd.name), blocks=tuple(blocks))


def _line_blocks(lines: Sequence[str]) -> list[str]:
    """Lines joined into as few blocks as fit a reply's block size (a long list is not cut)."""
    blocks: list[str] = []
    for line in lines:
        if blocks and len(blocks[-1]) + 1 + len(line) <= MAX_BLOCK:
            blocks[-1] += "\n" + line
        else:
            blocks.append(line)
    return blocks


COMMANDS: tuple[Command, ...] = (
    Command("help", ("start", "h", "commands"), "What the bot can do", "help [COMMAND]",
            help_command, max_args=1),
    Command("snapshot", ("snap", "market", "now"),
            "Breadth, equal vs cap weight, small caps, top-10 share, regime",
            "snapshot [DATE]", snapshot, needs_chart=True, max_args=1,
            details="Each number with its change over 1 week and 1 month. " + T.DATE_HELP),
    Command("sector", ("sec",), "One sector vs tech and the S&P 500", "sector [NAME] [DATE]",
            sector, needs_chart=True, max_args=5,
            details="NAME: an ETF (XLF), a GICS sector (health care) or a word such as banks, "
                    "tech, energy, small caps, value. Without NAME: pick from a list. "
                    "Financials add the banks' net interest margin, energy the FCF yield. "
                    + T.DATE_HELP),
    Command("sectors", ("ranking", "rank"), "All 13 sectors ranked vs tech", "sectors [DATE]",
            sectors, needs_chart=True, max_args=1, details=T.DATE_HELP),
    Command("breadth", (), "Members above their 200- and 50-day averages",
            "breadth [WINDOW] [DATE]", breadth, needs_chart=True, max_args=2,
            details="WINDOW of the chart (breadth above SPY's price): 3m 6m 1y 3y 5y 10y max, "
                    "default 1y. " + T.DATE_HELP),
    Command("rotation", ("rrg",), "Relative rotation graph: sectors, IWM, RSP vs SPY",
            "rotation [DATE]", rotation, needs_chart=True, max_args=1,
            details="RS-ratio and RS-momentum against SPY with 5-week tails, by quadrant. "
                    + T.DATE_HELP),
    Command("chart", ("ratio",), "Price, ratio or signal chart, e.g. chart RSP vs SPY 5y",
            "chart SUBJECT [vs SUBJECT] [WINDOW] [log]",
            chart_command, needs_chart=True, min_args=1, max_args=6,
            details="SUBJECT: a ticker (price with 50/200-day averages; A vs B = ratio A/B) or "
                    "a signal: breadth, breadth50, top10 (concentration), mega7, ew, smallcaps, "
                    "regime. WINDOW: 3m 6m 1y 3y 5y 10y max (default 1y). log: log price axis. "
                    "Sector names work too (chart banks)."),
    Command("top10", ("concentration", "top"),
            "The ten largest companies, their share of cap, and the caps behind it",
            "top10 [DATE]", top10, max_args=None,
            details="DATE: YYYY-MM-DD, the session on or before it (e.g. top10 2025-09-30). "
                    "Shows how many companies have a cap and the oldest cap snapshot used, "
                    "and warns when caps are partial (under 90 %) or over a year old."),
    Command("valuation", ("pe", "valuations"),
            "Trailing and forward P/E of the S&P 500 and Russell 2000", "valuation [DATE]",
            valuation, max_args=None,
            details="P/E of SPY and IWM with source and date, or why there is none, and "
                    "the bottom-up S&P 500 P/E with the members it covers "
                    "(e.g. valuation 2025-09-30)."),
    Command("return", ("ret", "returns", "perf"),
            "Returns over a period, e.g. return IWM 2025",
            "return TICKER... [PERIOD]", return_command, min_args=1, max_args=13,
            details="TICKER: any ticker with prices (ETFs and members), up to 12. "
                    + T.PERIOD_HELP),
    Command("compare", ("cmp", "versus"),
            "Two returns apart, e.g. compare RSP SPY 2025-11",
            "compare A B [PERIOD]", compare_command, min_args=2, max_args=4,
            details="The spread is in percentage points: 100 × (return A − return B). "
                    + T.PERIOD_HELP),
    Command("mega7", ("mega", "mag7", "magnificent7"),
            "Mega-7 weights, returns, share of the index",
            "mega7 [PERIOD]", mega7_command, max_args=1,
            details="Apple, Microsoft, Nvidia, Amazon, Alphabet (one company), Meta, Tesla: "
                    "weight (company caps on the session before the period), return, "
                    "contribution in pp; the cap-weighted return of the members; the seven's "
                    "share of it (none when it moved under 0.5 pp); the caps behind it. "
                    + T.PERIOD_HELP),
    Command("signals", ("rules",), "Alert rules: state, value, trigger", "signals",
            signals),
    Command("alert", (), "An alert of this chat's own, e.g. alert breadth crosses above 70",
            "alert SUBJECT OP VALUE [confirm N] [clear V] [cooldown N]", alert_command,
            min_args=1, max_args=16, dry_run=False,
            details="SUBJECT: a signal (breadth, top10, ew, smallcaps, ...), a ticker's close "
                    "(NVDA) or A vs B [WINDOW] (return spread in pp, default 3m). OP: above, "
                    "below (fires while it holds), crosses above, crosses below. E.g. alert "
                    "XLE vs XLK above 5, alert top10 below 35 clear 36. Also: alert delete ID, "
                    "alert pause ID, alert resume ID."),
    Command("alerts", ("myalerts",), "This chat's own alerts and their state", "alerts",
            alerts_command),
    Command("history", (), "Past firings of a rule with forward returns", "history RULE",
            history, min_args=1, max_args=1),
    Command("subscribe", ("sub",), "Get alerts in this chat", "subscribe [RULE ...]", subscribe,
            max_args=20, writes_chat=True,
            details="Without RULE: all rules. RULE may also be a severity (info, warning)."),
    Command("unsubscribe", ("unsub", "stop"), "Stop alerts in this chat", "unsubscribe",
            unsubscribe, writes_chat=True),
    Command("mute", (), "Pause alerts for a while", "mute DURATION", mute, min_args=1,
            max_args=2, writes_chat=True, details="DURATION: 30m, 2h, 3d, 1w, or off."),
    Command("settings", ("levels",), "This chat's message levels", "settings [KIND LEVEL]",
            settings, max_args=2, writes_chat=settings_writes,
            details="KIND: alert, resolved, data_health, digest, heartbeat, startup. "
                    "LEVEL: on, silent (no notification sound), off."),
    Command("status", (), "Last evaluation, next run, delivery queue", "status", status),
)  # fmt: skip

_BY_NAME: dict[str, Command] = {key: c for c in COMMANDS for key in (c.name, *c.aliases)}
_NAMES: frozenset[str] = frozenset(c.name for c in COMMANDS)


def find_command(name: str) -> Command | None:
    return _BY_NAME.get(name.lower())


def menu(*, admin: bool = False) -> list[tuple[str, str]]:
    """(name, summary) for Telegram's setMyCommands; admin-only commands only for admins."""
    return [(c.name, c.summary) for c in COMMANDS if c.in_menu and (admin or not c.admin_only)]


def closest_commands(name: str, n: int = 3) -> list[str]:
    """Command names (not aliases) closest to a mistyped `name`."""
    names = list(_BY_NAME)
    seen: list[str] = []
    for match in difflib.get_close_matches(name.lower()[:32], names, n=n * 2, cutoff=0.5):
        canonical = _BY_NAME[match].name
        if canonical not in seen:
            seen.append(canonical)
    return seen[:n]


def _unknown(name: str, args: tuple[str, ...], ctx: CommandContext, raw: str = "") -> CommandError:
    """Unknown `name`: what the whole text may mean (`intents`), then the closest command
    names, each only as a line that runs (with the user's arguments, or without any)."""
    text = raw.strip()
    close = [c for c in closest_commands(name) if _likeness(name, c) >= TYPO_LIKENESS]
    typed = _runnable([" ".join((c, *args)) for c in close], ctx) if args else []
    meant = _runnable(intent_lines(text, ctx) if text else [], ctx, taken=typed)
    if meant and not typed and len(text.split()) > 1:
        message = T.NOT_A_COMMAND_MEANT.format(text=echo(text), lines=", ".join(meant))
        return CommandError(message, buttons=_buttons(meant))
    lines = typed + meant
    if not typed:  # bare names only when the user's words did not run with any
        lines += _runnable(close, ctx, taken=lines)
    message = T.UNKNOWN_COMMAND.format(name=echo(name))
    message += " " + (T.DID_YOU_MEAN.format(names=", ".join(lines)) if lines else T.SEND_HELP)
    return CommandError(message, buttons=_buttons(lines))


#: most suggestions offered
MAX_SUGGESTIONS = 3
#: how alike a typo and a command's name or alias must be to offer it ("topten" is not "stop")
TYPO_LIKENESS = 0.65


def _likeness(typed: str, command: str) -> float:
    cmd = _BY_NAME[command]
    return max(
        difflib.SequenceMatcher(None, typed.lower()[:32], key).ratio()
        for key in (cmd.name, *cmd.aliases)
    )


def _buttons(lines: Sequence[str]) -> list[Button]:
    return [Button(line, line) for line in lines]


def _runnable(lines: Sequence[str], ctx: CommandContext, taken: Sequence[str] = ()) -> list[str]:
    """The first `MAX_SUGGESTIONS` (less `taken`) new distinct `lines` that run as written:
    dry-run through the table without middleware or charts; a command that changes the chat
    only bare, with a database and when this caller may run it (it is never dry-run)."""
    kept: list[str] = []
    for line in lines:
        if len(kept) + len(taken) >= MAX_SUGGESTIONS:
            break
        if line in kept or line in taken or len(line.encode()) > MAX_BUTTON_COMMAND_BYTES:
            continue
        if _runs(line, ctx):
            kept.append(line)
    return kept


def _runs(line: str, ctx: CommandContext) -> bool:
    request = parse_command(line)
    if not isinstance(request, CommandRequest):
        return False
    cmd = find_command(request.name)
    if cmd is None:
        return False
    if cmd.admin_only and not ctx.caller.is_admin:
        return False
    if not cmd.dry_run and request.args:
        return False
    if cmd.writes(request.args) or cmd.writes(()):
        allowed = not ctx.caller.shared_chat or ctx.caller.is_admin
        return not request.args and cmd.min_args == 0 and ctx.store is not None and allowed
    quiet = replace(ctx, options=replace(ctx.options, charts=False))
    try:
        return not _run(request, quiet, suggest=False).is_error
    except Exception:  # broad on purpose: a suggestion that fails is not offered
        log.debug("suggestion %r does not run", line, exc_info=True)
        return False


def _refusal(message: str) -> Reply:
    return Reply(title=T.ERROR_TITLE, blocks=(message,), is_error=True)


#: words that make a command line a sentence ("compare apple and microsoft")
_FILLER_WORDS = "and of over the for in with to me a an from since years months"
_FILLER = frozenset(_FILLER_WORDS.split())


def _run(request: Request, ctx: CommandContext, *, suggest: bool = True) -> Reply:
    """Match, check, handle: the innermost step of `dispatch`. `suggest`: a refusal of a
    command in a sentence ("top ten") offers what the text may mean (off for dry runs)."""
    if isinstance(request, ParseError):
        token = request.token or echo(request.raw)
        text = request.raw.strip()
        meant = _runnable(intent_lines(text, ctx), ctx)
        if meant:  # "what's the market doing?" -> snapshot
            message = T.NOT_A_COMMAND_MEANT.format(text=echo(text), lines=", ".join(meant))
            buttons = tuple(_buttons(meant))
            return Reply(title=T.ERROR_TITLE, blocks=(message,), buttons=buttons, is_error=True)
        return _refusal(T.NOT_A_COMMAND.format(token=token))
    try:
        cmd = find_command(request.name)
        if cmd is None:
            raise _unknown(request.name, request.args, ctx, request.line)
        n = len(request.args)
        if n < cmd.min_args:
            raise CommandError(T.TOO_FEW_ARGS.format(command=cmd.name, usage=cmd.usage))
        if cmd.max_args is not None and n > cmd.max_args:
            raise CommandError(
                T.TOO_MANY_ARGS.format(command=cmd.name, n=cmd.max_args, usage=cmd.usage)
            )
        if cmd.admin_only and not ctx.caller.is_admin:
            log.warning("refused %s: user %s is not an admin", cmd.name, echo(ctx.caller.user_id))
            return _refusal(T.ADMIN_ONLY.format(command=cmd.name))
        if ctx.caller.shared_chat and not ctx.caller.is_admin and cmd.writes(request.args):
            log.warning(
                "refused %s in %s chat %s: user %s is not an admin",
                cmd.name,
                ctx.caller.chat_type,
                echo(ctx.caller.chat_id),
                echo(ctx.caller.user_id),
            )
            return _refusal(T.ADMIN_ONLY_GROUP.format(command=cmd.name))
        return cmd.handler(request, ctx)
    except CommandError as exc:
        blocks = [exc.message]
        buttons = exc.buttons
        # an alias as an everyday word in a sentence ("market breadth", "top ten", "stop
        # alerts please"): offer what the text means, if that is another command
        # or a sentence that starts with a command word ("compare apple and microsoft")
        # a name where a ticker goes ("return costco") gets the same command on its ticker
        alias = find_command(request.name)
        sentence = request.name not in _NAMES or bool(_FILLER & {a.lower() for a in request.args})
        if suggest and alias is not None and request.args and (sentence or buttons):
            same = " ".join((alias.name, *request.args))
            asked = intent_lines(request.line, ctx, named=bool(buttons))
            lines = [x for x in asked if x not in (request.line, same)]
            if buttons:
                lines = [x for x in lines if x.split()[0] == alias.name]
            meant = _runnable(lines, ctx)
            if meant:
                blocks = [f"{exc.message} {T.DID_YOU_MEAN.format(names=', '.join(meant))}"]
                buttons = tuple(_buttons(meant))
        if exc.usage:
            blocks.append(T.USAGE.format(usage=exc.usage))
        return Reply(title=exc.title, blocks=tuple(blocks), buttons=buttons, is_error=True)


class Dispatcher:
    """Runs requests through a middleware chain and the command table.

    The chain (audit log, allowlist, rate limit, ...) belongs to the dispatcher, which whoever
    wires the bot builds once, not to the request's context, which only says who asks and
    what a command may read. `ErrorBoundary` always wraps the whole chain, outermost, so
    neither method raises an `Exception`: a failure is a short apology reply.
    """

    def __init__(self, middleware: Sequence[Middleware] = ()) -> None:
        self.middleware: tuple[Middleware, ...] = tuple(middleware)
        self._chain = compose((ErrorBoundary(), *self.middleware), _run)

    def dispatch(self, request: Request, ctx: CommandContext) -> Reply:
        """One parsed request through the chain and the command table."""
        return self._chain(request, ctx)

    def dispatch_text(
        self, text: str | None, ctx: CommandContext, *, bot_names: Collection[str] = ()
    ) -> Reply | None:
        """Parse `text` and dispatch it; None when the bot should stay silent (empty text,
        or a command addressed to another bot)."""
        request = parse_command(text, bot_names=bot_names)
        if isinstance(request, ParseError) and request.ignore:
            return None
        return self.dispatch(request, ctx)


#: no middleware: the error boundary around the command table only
BARE = Dispatcher()


def dispatch(request: Request, ctx: CommandContext) -> Reply:
    """`request` through the command table with no middleware (see `Dispatcher`)."""
    return BARE.dispatch(request, ctx)


#: What `warm_cache` computes after a refresh: the replies people ask for most.
WARM_COMMANDS: tuple[str, ...] = (
    "snapshot",
    "breadth",
    "sectors",
    *(f"sector {etf}" for etf in SECTORS),
    "chart RSP vs SPY",
    "chart IWM vs SPY",
    "mega7",
    "rotation",
    "top10",
)


def warm_cache(ctx: CommandContext, commands: Sequence[str] = WARM_COMMANDS) -> int:
    """Render the common charts of the current state into `ctx.cache` (run it in a worker
    thread after each refresh), so the first person to ask does not wait ~0.15 s a chart.
    Bypasses the middleware; a failure is logged and skipped. Returns the replies warmed."""
    warmed = 0
    for line in commands:
        request = parse_command(line)
        cmd = find_command(request.name) if isinstance(request, CommandRequest) else None
        if cmd is None or not isinstance(request, CommandRequest):
            continue
        try:
            reply = cmd.handler(request, ctx)
        except Exception:  # broad on purpose: warming is optional, a bug here must not
            # stop the refresh that called it; the same command will report it when asked
            log.exception("warming %r failed", line)
            continue
        warmed += not reply.is_error
    return warmed


def dispatch_text(
    text: str | None, ctx: CommandContext, *, bot_names: Collection[str] = ()
) -> Reply | None:
    """`text` parsed and dispatched with no middleware (see `Dispatcher.dispatch_text`)."""
    return BARE.dispatch_text(text, ctx, bot_names=bot_names)
