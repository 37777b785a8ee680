"""The `rules:` section of the config -> validated `RuleSpec`s.

`signals.rules.step.RuleSpec.from_dict` checks each rule's shape; this adds what only the bot
knows: unique ids, signal ids that exist, and the YAML line of a bad field in the message.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot.config.yaml_lines import locate
from bot.model import ConfigError
from signals.market import SECTOR_SIGNAL_ETFS
from signals.rules import RuleConfigError, RuleSpec

#: every signal id a rule may name (a dotted path adds a detail of one of them)
SIGNAL_IDS: frozenset[str] = frozenset(
    {
        "breadth_200d",
        "breadth_50d",
        "ew_vs_cw",
        "smallcap_rs",
        "top10_share",
        "mega7_contribution",
        "valuation",
        "rotation_regime",
        "bank_nim",
        "energy_fcf_yield",
        *(f"sector_{etf}" for etf in SECTOR_SIGNAL_ETFS),
    }
)


def _where(config_path: str | None, loc: list[str | int]) -> str:
    if not config_path:
        return "rules"
    path = Path(config_path)
    try:
        line = locate(path.read_text(encoding="utf-8"), loc)
    except OSError:
        line = None
    return f"{path}:{line}" if line else str(path)


def _signal_paths(raw: dict[str, Any]) -> list[tuple[str, list[str | int]]]:
    out: list[tuple[str, list[str | int]]] = []
    if isinstance(raw.get("signal"), str):
        out.append((raw["signal"], ["signal"]))
    for key in ("all", "any"):
        for i, cond in enumerate(raw.get(key) or ()):
            if isinstance(cond, dict) and isinstance(cond.get("signal"), str):
                out.append((cond["signal"], [key, i, "signal"]))
    return out


def build_rules(
    raw_rules: Sequence[dict[str, Any]], config_path: str | None = None
) -> list[RuleSpec]:
    """Validate every rule; the first problem raises ConfigError naming rule, field and line."""
    rules: list[RuleSpec] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(raw_rules):
        rid = raw.get("id") if isinstance(raw, dict) else None
        if not isinstance(raw, dict):
            raise ConfigError(f"{_where(config_path, ['rules', i])}: rules[{i}]: must be a mapping")
        for path, where_in_rule in _signal_paths(raw):
            if path.split(".", 1)[0] not in SIGNAL_IDS:
                where = _where(config_path, ["rules", i, *where_in_rule])
                raise ConfigError(
                    f"{where}: rule {rid!r}: {'.'.join(map(str, where_in_rule))}: unknown signal "
                    f"{path!r} (known: {', '.join(sorted(SIGNAL_IDS))})"
                )
        try:
            rule = RuleSpec.from_dict(raw)
        except RuleConfigError as exc:
            field = str(getattr(exc, "field", "") or "")
            loc: list[str | int] = ["rules", i]
            for part in field.replace("]", "").replace("[", ".").split("."):
                if part:
                    loc.append(int(part) if part.isdigit() else part)
            raise ConfigError(f"{_where(config_path, loc)}: {exc}") from None
        if rule.id in seen:
            raise ConfigError(
                f"{_where(config_path, ['rules', i, 'id'])}: rule {rule.id!r}: id: "
                f"duplicate of rules[{seen[rule.id]}]"
            )
        seen[rule.id] = i
        rules.append(rule)
    return rules
