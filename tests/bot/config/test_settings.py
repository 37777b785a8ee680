"""Settings and rule config: lookup order, overrides, and errors that name field and line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from bot.config.rules import build_rules
from bot.config.settings import find_config, load_settings
from bot.model.errors import ConfigError


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "rotation.yaml"
    p.write_text(textwrap.dedent(text), encoding="utf-8")
    return p


def test_shipped_config_is_valid_and_offline() -> None:
    s = load_settings()
    assert s.data.source == "demo"
    rules = build_rules(s.rules, s.config_path)
    assert len(rules) >= 14


def test_lookup_order(tmp_path, monkeypatch) -> None:
    explicit = _write(tmp_path, "data: {source: files}\n")
    env = tmp_path / "env.yaml"
    env.write_text("data: {source: yahoo}\n", encoding="utf-8")
    monkeypatch.setenv("ROTATION_BOT_CONFIG", str(env))
    assert find_config(explicit) == explicit
    assert find_config() == env
    monkeypatch.delenv("ROTATION_BOT_CONFIG")
    monkeypatch.chdir(tmp_path)  # no ./config/rotation.yaml here: the packaged copy
    packaged = find_config()
    assert packaged.name == "rotation.yaml" and "defaults" in str(packaged)
    with pytest.raises(ConfigError, match="not found"):
        find_config(tmp_path / "missing.yaml")


def test_flags_and_environment_override_the_file(tmp_path, monkeypatch) -> None:
    path = _write(tmp_path, "data: {source: demo}\ndatabase_url: sqlite:///a.db\n")
    monkeypatch.setenv("DATABASE_URL", "sqlite:///from-env.db")
    s = load_settings(path, {"data.source": "files", "data.prices": ["x.csv"]})
    assert s.data.source == "files" and [str(p) for p in s.data.prices] == ["x.csv"]
    assert s.database_url == "sqlite:///from-env.db"


def test_bad_field_is_named_with_its_line(tmp_path) -> None:
    path = _write(
        tmp_path,
        """\
        data:
          source: demo
        guard:
          min_coverage: 1.5
        """,
    )
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    msg = str(info.value)
    assert "guard.min_coverage" in msg and f"{path}:4" in msg


def test_unknown_key_and_bad_yaml(tmp_path) -> None:
    with pytest.raises(ConfigError, match=r"datta"):
        load_settings(_write(tmp_path, "datta: {}\n"))
    with pytest.raises(ConfigError, match=r"rotation.yaml:3: not valid YAML: .* starts on line 2"):
        load_settings(_write(tmp_path, "data:\n  source: [demo\n"))


def test_a_config_file_that_is_not_utf8_names_file_and_line(tmp_path) -> None:
    path = tmp_path / "rotation.yaml"
    path.write_bytes("data:\n  source: demo\n# Zürich\n".encode("latin-1"))
    with pytest.raises(ConfigError, match=rf"^{path}:3: not UTF-8 text") as info:
        load_settings(path)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "text",
    [
        "[" * 5000 + "]" * 5000,
        "- " * 5000 + "x\n",
        "data:\n" + "".join("  " * i + "a:\n" for i in range(1, 200)) + "  " * 200 + "1\n",
    ],
    ids=["flow", "block sequence", "block mapping"],
)
def test_deep_nesting_is_refused_before_python_recurses(tmp_path, text: str) -> None:
    path = tmp_path / "rotation.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=rf"^{path}:\d+: nested more than \d+ levels deep"):
        load_settings(path)


def test_an_unreadable_config_file_is_a_config_error(tmp_path, monkeypatch) -> None:
    path = _write(tmp_path, "data: {source: demo}\n")

    def refuse(self: Path, *args: object, **kwargs: object) -> bytes:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", refuse)
    with pytest.raises(ConfigError, match=rf"^config file {path}: Permission denied$"):
        load_settings(path)


def test_rule_error_names_rule_field_and_line(tmp_path) -> None:
    path = _write(
        tmp_path,
        """\
        rules:
          - id: ok_rule
            signal: breadth_200d
            op: crosses_above
            threshold: 65
          - id: broken
            signal: breadth_200d
            op: crosses_sideways
            threshold: 65
        """,
    )
    s = load_settings(path)
    with pytest.raises(ConfigError) as info:
        build_rules(s.rules, s.config_path)
    msg = str(info.value)
    assert "broken" in msg and "op" in msg and f"{path}:8" in msg


def test_unknown_signal_and_duplicate_id(tmp_path) -> None:
    path = _write(
        tmp_path,
        """\
        rules:
          - {id: a, signal: breadth_300d, op: crosses_above, threshold: 1}
        """,
    )
    s = load_settings(path)
    with pytest.raises(ConfigError, match=r"rule 'a'.*unknown signal 'breadth_300d'"):
        build_rules(s.rules, s.config_path)
    dup = [
        {"id": "a", "signal": "breadth_200d", "op": "crosses_above", "threshold": 1},
        {"id": "a", "signal": "breadth_50d", "op": "crosses_above", "threshold": 1},
    ]
    with pytest.raises(ConfigError, match="duplicate"):
        build_rules(dup)
    # a combined rule's conditions are checked too
    bad = [{"id": "c", "all": [{"signal": "nope", "op": "above", "threshold": 0}]}]
    with pytest.raises(ConfigError, match="all.0.signal"):
        build_rules(bad)


def test_unquoted_yaml_on_and_off_are_levels(tmp_path) -> None:
    """YAML 1.1 turns `on`/`off` into booleans; a kind level written that way still works."""
    path = _write(
        tmp_path,
        """\
        destinations:
          - platform: telegram
            chat_id: "-1001"
            kinds: {digest: on, resolved: off, alert: silent}
        """,
    )
    (dest,) = load_settings(path).destinations
    assert {k.value: v.value for k, v in dest.kinds.items()} == {
        "digest": "on",
        "resolved": "off",
        "alert": "silent",
    }
