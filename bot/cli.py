"""`rotation-bot` command line: every command takes the same data flags.

stdout carries results only (`--json` prints exactly one JSON object); logs and progress go
to stderr. Errors print one line (never a traceback) and exit 1: `main` is the one place that
turns any exception into that line, with every registered secret masked, and `Parser` does
the same for a bad argument (argparse's own way is a usage block and exit 2).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

import pandas as pd

from bot.config import Settings, load_settings
from bot.model import ConfigError, StorageError, redact
from signals.errors import SignalsError
from signals.sources import SOURCE_NAMES

log = logging.getLogger("rotation_bot")

PROG = "rotation-bot"


class Parser(argparse.ArgumentParser):
    """argparse with the command line's error contract: a bad argument is one line on stderr,
    `rotation-bot: error: ...` with where to read the usage, and exit code 1. Subcommands'
    parsers are of this class too (`add_subparsers` uses the parent's class)."""

    def error(self, message: str) -> NoReturn:
        self.exit(1, f"{PROG}: error: {message} (see `{self.prog} --help`)\n")


def package_version() -> str:
    """The installed distribution's version; "unknown" when run from a tree never installed."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(PROG)
    except PackageNotFoundError:
        return "unknown"


def _date(text: str) -> pd.Timestamp:
    from signals.calendar import FIRST_SESSION

    try:
        day = pd.Timestamp(pd.to_datetime(text, format="%Y-%m-%d"))
    except (ValueError, TypeError) as exc:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from exc
    if day < FIRST_SESSION:
        raise argparse.ArgumentTypeError(
            f"{text} is before {FIRST_SESSION:%Y-%m-%d}, the first session the calendar knows"
        )
    return day


def _check_period(args: argparse.Namespace) -> None:
    """`--from` after `--to` is the user's slip, said in their own dates."""
    if args.start is not None and args.to is not None and args.start > args.to:
        raise ConfigError(f"--from {args.start:%Y-%m-%d} is after --to {args.to:%Y-%m-%d}")


def _data_flags() -> Parser:
    p = Parser(add_help=False)
    g = p.add_argument_group("data (override the config file)")
    g.add_argument("--config", metavar="FILE", help="config file (default: see README)")
    g.add_argument("--source", choices=SOURCE_NAMES, help="price source")
    g.add_argument(
        "--prices", metavar="PATH", action="append", type=Path, help="price file (repeatable)"
    )
    g.add_argument("--members", metavar="PATH", type=Path, help="universe file")
    g.add_argument("--membership", metavar="PATH", type=Path, help="point-in-time membership")
    g.add_argument("--shares", metavar="PATH", type=Path, help="market-cap snapshot file")
    g.add_argument(
        "--fundamentals",
        metavar="PATH",
        action="append",
        type=Path,
        help="fundamentals file: date,series,value[,period_end] (repeatable)",
    )
    g.add_argument("-v", "--verbose", action="store_true", help="debug logging on stderr")
    return p


def settings_from_args(args: argparse.Namespace) -> Settings:
    """The config file with the command line's data flags on top."""
    overrides: dict[str, Any] = {
        "data.source": args.source,
        "data.prices": [str(p) for p in args.prices] if args.prices else None,
        "data.members": str(args.members) if args.members else None,
        "data.membership": str(args.membership) if args.membership else None,
        "data.shares": str(args.shares) if args.shares else None,
        "data.fundamentals": [str(p) for p in args.fundamentals] if args.fundamentals else None,
    }
    if args.prices and not args.source:
        overrides["data.source"] = "files"
    return load_settings(args.config, overrides)


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Compute every signal as of a session and print them."""
    from bot.alerts import build_market_state
    from bot.render import format_snapshot

    settings = settings_from_args(args)
    state = build_market_state(settings.data.spec(), as_of=args.as_of)
    snap = state.snapshot
    if args.json:
        sys.stdout.write(json.dumps(snap.to_json(), allow_nan=False) + "\n")
    else:
        sys.stdout.write(format_snapshot(snap) + "\n")
    return 0


def _database_url(url: str) -> str:
    """`chat --database URL`, checked like `database_url` (the error never repeats it)."""
    from bot.storage import check_database_url

    try:
        return check_database_url(url)
    except ValueError as exc:
        raise ConfigError(f"--database: {exc}") from None


def _load_rules(settings: Settings, rules_file: Path | None) -> list:
    """The configured rules, or those of `--rules FILE` (a `rules:` list) instead."""
    from bot.config import build_rules, read_yaml

    if rules_file is None:
        return build_rules(settings.rules, settings.config_path)
    _, raw = read_yaml(rules_file, "rules file")
    rules = raw.get("rules") if isinstance(raw, dict) else raw
    if not isinstance(rules, list):
        raise ConfigError(f"rules file {rules_file}: expected a `rules:` list")
    return build_rules(rules, str(rules_file))


def cmd_backtest(args: argparse.Namespace) -> int:
    """Replay the rules over history on a throwaway in-memory store."""
    from bot.alerts import build_market_state, run_backtest
    from bot.render import format_backtest

    _check_period(args)
    settings = settings_from_args(args)
    rules = _load_rules(settings, args.rules)
    state = build_market_state(settings.data.spec(), as_of=args.to)
    try:
        result = run_backtest(state.data, state.history, rules, args.start, args.to, settings.guard)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    if args.json:
        sys.stdout.write(json.dumps(result.to_json(), allow_nan=False) + "\n")
    else:
        sys.stdout.write(format_backtest(result) + "\n")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """The bot: the daemon (one per SQLite file), or one refresh-evaluate-deliver pass with
    --once (several may share a database)."""
    import asyncio

    from bot.runtime import run_daemon, run_once
    from bot.runtime.off_loop import exit_if_abandoned
    from bot.storage import DATABASE_ERRORS, daemon_lock, storage_error

    settings = settings_from_args(args)
    try:
        if args.once:
            return asyncio.run(run_once(settings, as_of=args.as_of))
        with daemon_lock(settings.database_url):
            code = asyncio.run(run_daemon(settings, as_of=args.as_of))
        return exit_if_abandoned(code)  # the stop did not wait for an evaluation's thread
    except DATABASE_ERRORS as exc:  # the database failed after it opened
        raise storage_error(exc, settings.database_url) from exc


def cmd_demo(args: argparse.Namespace) -> int:
    """Replay the simulated market session by session, alerts on the console."""
    import asyncio

    from bot.runtime import run_demo

    _check_period(args)
    settings = settings_from_args(args)
    if not args.verbose:  # the replay's per-session log lines would drown the alerts
        logging.getLogger().setLevel(logging.WARNING)
    try:
        return asyncio.run(run_demo(settings, start=args.start, end=args.to))
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def cmd_chat(args: argparse.Namespace) -> int:
    """Answer chat commands typed on stdin, one per line, on a throwaway in-memory store,
    or with `--database URL` on that database: the console chat's own alerts and
    subscriptions are kept there (nothing else is written: no config sync, no evaluation)."""
    from bot.alerts import build_market_state, replay_history
    from bot.runtime import chat_context, chat_dispatcher, run_chat
    from bot.storage import MEMORY_URL, Store

    settings = settings_from_args(args)
    if not args.verbose:  # the audit log's line per command would interleave the answers
        logging.getLogger().setLevel(logging.WARNING)
    state = build_market_state(settings.data.spec(), as_of=args.as_of)
    store = Store(MEMORY_URL if args.database is None else _database_url(args.database))
    try:
        rules = _load_rules(settings, None)
        # the throwaway store holds what a bot running over this history would: rule states
        # and firings agree with `history`; a real database is left as the bot wrote it
        if args.database is None:
            replay_history(store, state, rules, settings.guard, settings.alerts)
        ctx = chat_context(settings, state, store, rules, charts=not args.no_charts)
        return run_chat(
            ctx.for_caller,
            sys.stdin,
            sys.stdout,
            charts_dir=args.charts_dir,
            dispatcher=chat_dispatcher(settings),
        )
    finally:
        store.close()


def cmd_check_config(args: argparse.Namespace) -> int:
    """Validate config and environment; print what would start (never a secret)."""
    from bot.runtime import check_config

    if args.file and args.config:
        raise ConfigError("give the config file once: as FILE or with --config")
    if args.file:
        args.config = str(args.file)
    settings = settings_from_args(args)
    report = check_config(settings)
    print(report.text())
    return 0


def cmd_universe(args: argparse.Namespace) -> int:
    """Rebuild the members file from Wikipedia's S&P 500 list (needs internet)."""
    from signals.universe_refresh import WIKIPEDIA_URL, refresh_universe

    if not args.refresh:
        print("rotation-bot universe: nothing to do (use --refresh)", file=sys.stderr)
        return 1
    out = args.output or args.members or Path("config/sp500_universe.csv")
    out.parent.mkdir(parents=True, exist_ok=True)
    df = refresh_universe(out, url=args.url or WIKIPEDIA_URL)
    print(
        f"wrote {len(df)} members to {out}; use it with --members {out} "
        "or `data.members` in the config"
    )
    return 0


def cmd_healthcheck(args: argparse.Namespace) -> int:
    """GET the running bot's /healthz (Docker's HEALTHCHECK): exit 0 on 200, else 1 with the
    reasons on one stderr line. stdlib only, 5 s timeout, never through an HTTP proxy."""
    import urllib.error
    import urllib.request

    url = args.url
    if url is None:
        health = settings_from_args(args).health
        if not health.enabled or health.port == 0:
            why = "disabled (health.enabled)" if not health.enabled else "on a random port"
            print(f"rotation-bot: unhealthy: the health endpoint is {why}", file=sys.stderr)
            return 1
        host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(health.host, health.host)
        host = f"[{host}]" if ":" in host else host  # an IPv6 literal
        url = f"http://{host}:{health.port}/healthz"
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"--url must be an http(s) URL, not {url!r}")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=5) as resp:
            status, body = resp.status, resp.read(65536)
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read(65536)
    except OSError as exc:  # refused, timed out, unknown host (URLError is an OSError)
        print(f"rotation-bot: unhealthy: {url}: {getattr(exc, 'reason', exc)}", file=sys.stderr)
        return 1
    if status == 200:
        print(f"healthy: {url}")
        return 0
    try:
        reasons = [str(r) for r in json.loads(body).get("reasons") or ()]
    except (ValueError, AttributeError, TypeError):
        reasons = [body.decode("utf-8", "replace").strip()[:200]] if body.strip() else []
    why = "; ".join(reasons) or "no reason given"
    print(f"rotation-bot: unhealthy ({status}): {why}", file=sys.stderr)
    return 1


def cmd_dead_letters(args: argparse.Namespace) -> int:
    """List the outbox's dead letters; with --retry or --drop, act on them (all, or --id)."""
    from bot.model import utcnow
    from bot.storage import DeadLetters, Store

    settings = settings_from_args(args)
    store = Store(settings.database_url)
    try:
        letters = DeadLetters(store)
        ids = tuple(args.id or ())
        if args.retry:
            print(f"{letters.retry(utcnow(), ids)} dead letter(s) pending again")
        elif args.drop:
            print(f"{letters.drop(ids)} dead letter(s) dropped")
        else:
            listed = letters.list()
            for d in listed:
                error = " ".join((d.last_error or "no error recorded").split())[:160]
                print(f"{d.id}\t{d.platform}:{d.chat_id}\t{error}")
            print(f"{len(listed)} dead letter(s)", file=sys.stderr)
    finally:
        store.close()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog=PROG,
        description="Watch the US market for rotation out of the mega-caps; alert chats.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {package_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    common = _data_flags()

    ev = sub.add_parser("evaluate", parents=[common], help="compute every signal as of a session")
    ev.add_argument("--as-of", type=_date, metavar="DATE", help="use data up to this session")
    ev.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    ev.set_defaults(func=cmd_evaluate)

    bt = sub.add_parser("backtest", parents=[common], help="replay the rules over history")
    bt.add_argument("--from", dest="start", type=_date, metavar="DATE", help="first session")
    bt.add_argument("--to", type=_date, metavar="DATE", help="last session")
    bt.add_argument("--rules", type=Path, metavar="FILE", help="rules YAML instead of config")
    bt.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    bt.set_defaults(func=cmd_backtest)

    run = sub.add_parser("run", parents=[common], help="run the bot (daemon, or --once)")
    run.add_argument("--once", action="store_true", help="refresh, evaluate, deliver, exit")
    run.add_argument("--as-of", type=_date, metavar="DATE", help="evaluate this session")
    run.set_defaults(func=cmd_run)

    dm = sub.add_parser("demo", parents=[common], help="replay the simulated market")
    dm.add_argument("--from", dest="start", type=_date, metavar="DATE", help="first session")
    dm.add_argument("--to", type=_date, metavar="DATE", help="last session")
    dm.set_defaults(func=cmd_demo)

    ch = sub.add_parser("chat", parents=[common], help="answer chat commands typed on stdin")
    ch.add_argument("--as-of", type=_date, metavar="DATE", help="use data up to this session")
    ch.add_argument("--charts-dir", type=Path, metavar="DIR", help="save charts here")
    ch.add_argument("--no-charts", action="store_true", help="text answers only")
    ch.add_argument(
        "--database", metavar="URL", help="keep the console chat's alerts in this database"
    )
    ch.set_defaults(func=cmd_chat)

    cc = sub.add_parser("check-config", parents=[common], help="validate the configuration")
    cc.add_argument("file", nargs="?", type=Path, metavar="FILE", help="config file")
    cc.set_defaults(func=cmd_check_config)

    un = sub.add_parser("universe", parents=[common], help="rebuild the members file")
    un.add_argument("--refresh", action="store_true", help="fetch the S&P 500 list anew")
    un.add_argument("--output", type=Path, metavar="PATH", help="file to write")
    un.add_argument("--url", metavar="URL", help="page to read (default: Wikipedia)")
    un.set_defaults(func=cmd_universe)

    dl = sub.add_parser("dead-letters", parents=[common], help="list, retry or drop dead letters")
    act = dl.add_mutually_exclusive_group()
    act.add_argument("--retry", action="store_true", help="make them pending again, from now")
    act.add_argument("--drop", action="store_true", help="cancel them for good (rows are kept)")
    dl.add_argument("--id", type=int, action="append", metavar="N", help="only this row (repeat)")
    dl.set_defaults(func=cmd_dead_letters)

    hc = sub.add_parser("healthcheck", parents=[common], help="ask the running bot's /healthz")
    hc.add_argument("--url", metavar="URL", help="default: health.host and health.port")
    hc.set_defaults(func=cmd_healthcheck)
    for cmd_parser in sub.choices.values():  # so that an unknown flag names its command's help
        cmd_parser.set_defaults(parser=cmd_parser)
    return parser


def parse_args(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """`parser.parse_args`, except that an unknown argument is reported by the command's own
    parser (its `--help` is the one to read)."""
    args, extra = parser.parse_known_args(argv)
    if extra:
        owner: argparse.ArgumentParser = getattr(args, "parser", parser)
        owner.error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def _guard_secrets() -> None:
    """Mask every token of the environment in every log line, from any library (httpx logs
    Telegram URLs, which hold the token), and in whatever else reaches stderr."""
    from bot.config import Secrets
    from bot.model import install, install_hooks, register_secret

    install()
    install_hooks()
    for value in Secrets().model_dump().values():
        if hasattr(value, "get_secret_value"):
            register_secret(value.get_secret_value())


def _known_error(exc: Exception) -> str | None:
    """What a failure the operator can act on says, in one line; None for a bug."""
    from bot.storage import DATABASE_ERRORS, storage_error

    if isinstance(exc, ConfigError | SignalsError | StorageError):
        return str(exc)
    if isinstance(exc, DATABASE_ERRORS):
        return str(storage_error(exc))
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.filename}: {exc.strerror}" if exc.filename else exc.strerror
    return None


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parse_args(parser, argv)
    except SystemExit as exc:  # --help, --version (0) or a bad argument (1, one line printed)
        return exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    logging.basicConfig(
        level=logging.DEBUG if getattr(args, "verbose", False) else logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    _guard_secrets()
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except KeyboardInterrupt:
        print("rotation-bot: interrupted", file=sys.stderr)
        off_loop = sys.modules.get("bot.runtime.off_loop")  # not loaded: nothing left running
        return 130 if off_loop is None else int(off_loop.exit_if_abandoned(130))
    except Exception as exc:  # broad on purpose: the one way out for every failure
        text = _known_error(exc)
        if text is None:  # a bug: what and where to look; with -v the (masked) traceback
            log.debug("the unexpected error in full", exc_info=True)
            first = (str(exc).strip().splitlines() or [""])[0]
            text = f"unexpected {type(exc).__name__}: {first} (run with -v for the traceback)"
        print(redact(f"rotation-bot: error: {text}"), file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
