"""`rotation-bot check-config`: what would start, and what is missing, without secrets.

Errors (an invalid field, a bad rule) raise `ConfigError` naming the field and line before
this runs. Here the data files the source will read are looked for (a missing one is an
error naming the field); the rest are warnings: a destination whose platform has no token is
a warning, not an error, so a config can be checked on a laptop without production tokens.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bot.config import WEBHOOK_PATH, Secrets, Settings, build_rules, webhook_problems
from bot.delivery import console_wanted
from bot.model import ConfigError
from bot.storage import display_database_url, normalize_database_url


@dataclass
class ConfigReport:
    lines: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def text(self) -> str:
        out = ["configuration is valid", *self.lines]
        out += [f"warning: {w}" for w in self.warnings]
        return "\n".join(out)


def _missing_files(settings: Settings) -> list[str]:
    """One line per data file the configured source would fail to read, naming its field.
    Price files count only for the files source (the others never read them)."""
    data = settings.data
    wanted: list[tuple[str, Path | None]] = []
    if data.source == "files":
        if not data.prices:
            return ["data.prices: source 'files' needs at least one price file"]
        wanted += [("data.prices", p) for p in data.prices]
    wanted += [
        (f"data.{name}", getattr(data, name)) for name in ("members", "membership", "shares")
    ]
    wanted += [("data.fundamentals", p) for p in data.fundamentals]
    problems = []
    for name, path in wanted:
        if path is None or path.is_file():
            continue
        what = "not a file" if path.exists() else "file not found"
        problems.append(f"{name}: {what}: {path}")
    return problems


def _fundamentals_line(settings: Settings) -> str:
    """Where the fundamentals come from on this source (the SEC only with a contact)."""
    data = settings.data
    files = f" + {len(data.fundamentals)} file(s)" if data.fundamentals else ""
    if data.source == "demo":
        return "simulated" + files
    if data.source == "files":
        return f"{len(data.fundamentals)} file(s), no network" if files else "none (no file)"
    sec = (
        f"SEC as {data.sec_user_agent!r}"
        if data.sec_user_agent
        else "no SEC (set data.sec_user_agent)"
    )
    return f"FRED, {sec}{files}"


def _telegram_mode(settings: Settings, secrets: Secrets, r: ConfigReport) -> None:
    """How Telegram commands come in; what stops webhook mode is an error when the token
    is set (the bot would not start) and a warning when it is not."""
    tg = settings.telegram
    secret = secrets.telegram_webhook_secret
    if tg.mode == "webhook":
        r.lines.append(
            f"telegram mode: webhook to {tg.webhook_url}, received on {WEBHOOK_PATH} of the "
            f"health port (max_connections {tg.max_connections}, "
            f"secret {'set' if secret is not None else 'missing'})"
        )
    else:
        r.lines.append("telegram mode: polling (one process)")
    plain = None if secret is None else secret.get_secret_value()
    problems = webhook_problems(tg, settings.health, plain)
    if problems and secrets.telegram_bot_token is not None:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(problems))
    r.warnings += problems


def run_mode(database_url: str) -> str:
    """How many `rotation-bot run` processes the database allows."""
    if normalize_database_url(database_url).startswith("sqlite"):
        return "single process (SQLite: one `rotation-bot run` per database file)"
    return (
        "replicas (PostgreSQL: several `rotation-bot run` may share it; one leads and runs "
        "the schedule and delivery)"
    )


def check_config(settings: Settings, secrets: Secrets | None = None) -> ConfigReport:
    """What would start; `ConfigError` (a line per problem) when a data file is missing."""
    problems = _missing_files(settings)
    if problems:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(problems))
    secrets = secrets or Secrets()
    rules = build_rules(settings.rules, settings.config_path)
    r = ConfigReport()
    r.lines.append(f"config file: {settings.config_path}")
    src = settings.data.source + (" (simulated market)" if settings.data.source == "demo" else "")
    r.lines.append(f"data source: {src}")
    r.lines.append(f"fundamentals: {_fundamentals_line(settings)}")
    r.lines.append(f"database: {display_database_url(settings.database_url)}")
    r.lines.append(f"mode: {run_mode(settings.database_url)}")
    r.lines.append(f"rules: {len(rules)} ({', '.join(x.id for x in rules)})")
    have = {
        "telegram": secrets.telegram_bot_token is not None,
        "slack": secrets.slack_bot_token is not None,
    }
    r.lines.append(
        "tokens: "
        + ", ".join(
            f"{name} {'set' if getattr(secrets, name) is not None else 'missing'}"
            for name in (
                "telegram_bot_token",
                "slack_bot_token",
                "slack_app_token",
                "slack_signing_secret",
            )
        )
    )
    for d in settings.destinations:
        target = f"{d.platform} {d.address_id}"
        r.lines.append(f"destination: {target} (rules: {d.rules})")
        if d.platform in have and not have[d.platform]:
            r.warnings.append(
                f"destination {target}: no {d.platform.upper()} token in the environment; "
                "its alerts stay queued until one is set"
            )
    if console_wanted(settings):
        r.lines.append("destination: console (no chat configured)")
    starts = [p for p, ok in have.items() if ok]
    if have["slack"] and not (secrets.slack_app_token or secrets.slack_signing_secret):
        r.warnings.append(
            "SLACK_BOT_TOKEN without SLACK_APP_TOKEN or SLACK_SIGNING_SECRET: Slack gets "
            "alerts but cannot take commands"
        )
    r.lines.append("chat adapters: " + (", ".join(starts) if starts else "console only"))
    _telegram_mode(settings, secrets, r)
    h = settings.health
    r.lines.append(f"health: http://{h.host}:{h.port}/healthz" if h.enabled else "health: disabled")
    return r
