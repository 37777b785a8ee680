"""The `rules:` section takes resolve_confirm and a clear per condition, and names the YAML line
of a bad one."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from bot.config.rules import build_rules
from bot.config.settings import load_settings
from bot.model.errors import ConfigError
from signals.rules import Condition


def _rules(tmp_path: Path, text: str) -> tuple[Path, list[dict]]:
    path = tmp_path / "rotation.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path, load_settings(path).rules


def test_resolve_confirm_and_condition_clear_are_read(tmp_path) -> None:
    path, raw = _rules(
        tmp_path,
        """\
        rules:
          - id: up
            signal: breadth_200d
            op: crosses_above
            threshold: 65
            clear: 60
            resolve_confirm: 4
          - id: both
            all:
              - {signal: breadth_200d, op: at_least, threshold: 65, clear: 60}
              - signal: ew_vs_cw
                op: above
                threshold: 0
            resolve_confirm: 2
        """,
    )
    up, both = build_rules(raw, str(path))
    assert (up.resolve_confirm, up.clear) == (4, 60.0)
    assert both.resolve_confirm == 2
    assert both.all == (
        Condition("breadth_200d", "at_least", 65.0, 60.0),
        Condition("ew_vs_cw", "above", 0.0, 0.0),
    )


def test_shipped_rules_use_the_new_keys() -> None:
    s = load_settings()
    rules = {r.id: r for r in build_rules(s.rules, s.config_path)}
    assert rules["broad_rotation"].all[1].clear == -2.0
    assert all(r.resolve_confirm >= 1 for r in rules.values())


@pytest.mark.parametrize(
    ("body", "line", "field"),
    [
        (
            """\
            rules:
              - id: both
                all:
                  - signal: breadth_200d
                    op: at_least
                    threshold: 65
                    clear: 70
            """,
            7,
            "all[0].clear",
        ),
        (
            """\
            rules:
              - id: up
                signal: breadth_200d
                op: crosses_above
                threshold: 65
                resolve_confirm: 0
            """,
            6,
            "resolve_confirm",
        ),
    ],
)
def test_a_bad_new_key_names_rule_field_and_line(tmp_path, body, line, field) -> None:
    path, raw = _rules(tmp_path, body)
    with pytest.raises(ConfigError) as info:
        build_rules(raw, str(path))
    msg = str(info.value)
    assert msg.startswith(f"{path}:{line}: ") and field in msg and "rule" in msg
