"""`rotation-bot check-config` refuses what would fail at start: an unparsable database URL,
missing data files, admin ids that cannot be ids. Each is exit 1 with a line naming the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main

BASE = "database_url: sqlite:///{db}\n"


@pytest.fixture
def check(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    """Run check-config on a config of `text` (plus a usable database_url unless `text`
    sets one): exit code, stdout, stderr and the config's path."""

    def run(text: str, *flags: str) -> tuple[int, str, str, Path]:
        path = tmp_path / "rotation.yaml"
        base = "" if "database_url" in text else BASE.format(db=tmp_path / "bot.db")
        path.write_text(base + text, encoding="utf-8")
        code = main(["check-config", str(path), *flags])
        out = capsys.readouterr()
        return code, out.out, out.err, path

    return run


def _problem_lines(err: str) -> list[str]:
    """The lines under "invalid configuration:"."""
    return [line.strip() for line in err.splitlines()[1:]]


@pytest.mark.parametrize("url", ["not a url", "://nothing", "mysql://user@host/db"])
def test_a_database_url_that_cannot_be_used_is_an_error(check, url: str) -> None:
    code, out, err, path = check(f"data: {{source: demo}}\ndatabase_url: '{url}'\n")
    assert code == 1 and "configuration is valid" not in out
    (line,) = _problem_lines(err)
    assert line.startswith(f"{path}:2: database_url: ") and "sqlite:///" in line, err


def test_a_postgres_url_without_a_driver_is_fine(check) -> None:
    code, out, _, _ = check("database_url: postgres://u:pw123xyz@db:5432/rotation\n")
    assert code == 0 and "configuration is valid" in out and "pw123xyz" not in out


def test_missing_data_files_are_errors(check, tmp_path: Path) -> None:
    there = tmp_path / "there.csv"
    there.write_text("date,SPY\n2024-01-02,470\n", encoding="utf-8")
    text = (
        f"data:\n  source: files\n  prices: ['{there}', '{tmp_path / 'gone.csv'}']\n"
        f"  members: '{tmp_path / 'members.csv'}'\n"
        f"  membership: '{tmp_path}'\n"  # a directory is not a file either
        f"  shares: '{tmp_path / 'shares.csv'}'\n"
    )
    code, out, err, _ = check(text)
    assert code == 1 and "configuration is valid" not in out
    assert _problem_lines(err) == [
        f"data.prices: file not found: {tmp_path / 'gone.csv'}",
        f"data.members: file not found: {tmp_path / 'members.csv'}",
        f"data.membership: not a file: {tmp_path}",
        f"data.shares: file not found: {tmp_path / 'shares.csv'}",
    ]


def test_a_missing_price_file_given_as_a_flag_is_an_error(check, tmp_path: Path) -> None:
    code, _, err, _ = check("", "--prices", str(tmp_path / "flag.csv"))
    assert code == 1
    assert _problem_lines(err) == [f"data.prices: file not found: {tmp_path / 'flag.csv'}"]


def test_the_files_source_without_price_files_is_an_error(check) -> None:
    code, _, err, _ = check("data: {source: files}\n")
    assert code == 1
    (line,) = _problem_lines(err)
    assert line.startswith("data.prices: ") and "source 'files'" in line


def test_price_files_are_not_checked_for_another_source(check) -> None:
    code, out, _, _ = check("data: {source: demo, prices: [gone.csv]}\n")
    assert code == 0 and "configuration is valid" in out


@pytest.mark.parametrize(
    ("admins", "field"),
    [
        ("{telegram: [alice]}", "admins.telegram.0"),
        ("{telegram: [42, '@alice']}", "admins.telegram.1"),
        ("{telegram: ['-1001234']}", "admins.telegram.0"),  # a group, not a user
        ("{slack: ['#ops']}", "admins.slack.0"),
    ],
)
def test_admin_ids_that_cannot_be_ids_are_errors(check, admins: str, field: str) -> None:
    code, out, err, path = check(f"admins: {admins}\n")
    assert code == 1 and "configuration is valid" not in out
    (line,) = _problem_lines(err)
    assert line.startswith(f"{path}:2: {field}: "), err


def test_numeric_admin_ids_are_fine(check) -> None:
    code, out, _, _ = check("admins: {telegram: [42, '43'], slack: [U0123ABC]}\n")
    assert code == 0 and "configuration is valid" in out
