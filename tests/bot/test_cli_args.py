"""The command line's promises (README, Commands): a bad argument and any data that cannot be
reported on are one line on stderr, `rotation-bot: error: ...`, and exit code 1, never a usage
block, exit 2 or a traceback; `--version` prints the version and exits 0.

Most cases call `main()` in this process (the same code as the console script); one case per
kind runs the real entry point in a subprocess.
"""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from bot.cli import main
from tests.bot.conftest import SHARED_DATA
from tests.bot.test_cli import error_line

ROOT = Path(__file__).resolve().parents[2]
ETFS = SHARED_DATA / "etfs_daily.csv.gz"
CONSTITUENTS = SHARED_DATA / "sp500_constituents.csv"

needs_real_data = pytest.mark.skipif(
    not ETFS.is_file(), reason=f"real market data not found at {SHARED_DATA.resolve()}"
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("TELEGRAM_BOT_TOKEN", "SLACK_BOT_TOKEN", "DATABASE_URL", "ROTATION_BOT_CONFIG"):
        monkeypatch.delenv(var, raising=False)


def _config(tmp_path: Path) -> Path:
    """A config that writes nothing outside `tmp_path` (run --once opens its database)."""
    path = tmp_path / "rotation.yaml"
    path.write_text(
        f'database_url: "sqlite:///{tmp_path / "bot.db"}"\n'
        f'data: {{cache_dir: "{tmp_path / "cache"}"}}\n'
        "health: {enabled: false}\nchat: {console: false, startup_message: false}\n",
        encoding="utf-8",
    )
    return path


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for var in ("TELEGRAM_BOT_TOKEN", "SLACK_BOT_TOKEN", "DATABASE_URL", "ROTATION_BOT_CONFIG"):
        env.pop(var, None)
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=240,
    )


# --- bad arguments: one line and exit 1, not argparse's usage block and exit 2 --------------


@pytest.mark.parametrize(
    ("argv", "expected", "help_of"),
    [
        ([], "required: COMMAND", "rotation-bot"),
        (["frobnicate"], "invalid choice: 'frobnicate'", "rotation-bot"),
        (["evaluate", "--bogus"], "unrecognized arguments: --bogus", "rotation-bot evaluate"),
        (["evaluate", "extra"], "unrecognized arguments: extra", "rotation-bot evaluate"),
        (["evaluate", "--source", "bogus"], "invalid choice: 'bogus'", "rotation-bot evaluate"),
        (["evaluate", "--as-of", "2025-02-30"], "not a date", "rotation-bot evaluate"),
        (["chat", "--as-of", "yesterday"], "not a date", "rotation-bot chat"),
        (["evaluate", "--as-of"], "expected one argument", "rotation-bot evaluate"),
        (["backtest", "--from", "1980-01-01"], "before 1990-01-02", "rotation-bot backtest"),
        (["run", "--once", "--as-of", "1989-12-29"], "before 1990-01-02", "rotation-bot run"),
    ],
)
def test_a_bad_argument_is_one_line_and_exit_1(
    capsys: pytest.CaptureFixture[str], argv: list[str], expected: str, help_of: str
) -> None:
    assert main(argv) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert len(err.strip().splitlines()) == 1, err  # no usage block
    line = error_line(err)
    assert expected in line, line
    assert f"`{help_of} --help`" in line, line


def test_a_bad_argument_exits_1_from_the_real_entry_point(tmp_path: Path) -> None:
    done = _run(["evaluate", "--as-of", "31.12.2025"], tmp_path)
    assert done.returncode == 1, done.stderr
    assert done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "not a date (YYYY-MM-DD): '31.12.2025'" in error_line(done.stderr)


def test_help_still_prints_the_usage_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", "--help"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("usage: rotation-bot evaluate") and err == ""


# --- --version -------------------------------------------------------------------------------


def test_version_prints_the_package_version_and_exits_0(tmp_path: Path) -> None:
    done = _run(["--version"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"rotation-bot {version('rotation-bot')}\n"
    assert done.stderr == ""


# --- the other promises: dates, files, sources -------------------------------------------


@pytest.mark.parametrize("command", ["backtest", "demo"])
def test_from_after_to_is_one_line_in_the_users_dates(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, command: str
) -> None:
    argv = [command, "--config", str(_config(tmp_path)), "--from", "2025-06-01"]
    assert main([*argv, "--to", "2025-01-01"]) == 1
    line = error_line(capsys.readouterr().err)
    assert line == "rotation-bot: error: --from 2025-06-01 is after --to 2025-01-01"


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--prices", "{tmp}/nope.csv"], "{tmp}/nope.csv: file not found"),
        (["--source", "files"], "source 'files' needs at least one --prices PATH"),
        (["--members", "{tmp}/nope.csv", "--prices", "{tmp}/nope.csv"], "not found"),
        (["--config", "{tmp}/nope.yaml"], "config file not found: {tmp}/nope.yaml"),
    ],
)
def test_missing_data_is_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, flags: list[str], expected: str
) -> None:
    argv = [f.format(tmp=tmp_path) for f in flags]
    if "--config" not in flags:
        argv += ["--config", str(_config(tmp_path))]
    assert main(["evaluate", *argv]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert expected.format(tmp=tmp_path) in error_line(err)


def test_an_unknown_source_in_the_config_file_is_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "rotation.yaml"
    path.write_text("data: {source: bloomberg}\n", encoding="utf-8")
    assert main(["evaluate", "--config", str(path)]) == 1
    err = capsys.readouterr().err
    # config errors are the one designed exception: a line per problem under the error line
    assert "Traceback" not in err
    first, *problems = err.strip().splitlines()
    assert first == "rotation-bot: error: invalid configuration:"
    assert [p.strip() for p in problems] == [
        f"{path}:1: data.source: Input should be 'demo', 'yahoo' or 'files'"
    ]


# --- data that leaves no member priced ---------------------------------------------------

NO_MEMBER = "rotation-bot: error: no member of the universe ({universe}) has prices in {files}"


@needs_real_data
@pytest.mark.realdata
@pytest.mark.parametrize(
    "argv",
    [
        ["evaluate"],
        ["evaluate", "--json"],
        ["evaluate", "--as-of", "2025-06-30"],
        ["backtest", "--from", "2025-01-02"],
        ["chat", "--no-charts"],
        ["demo"],
    ],
)
def test_etf_prices_alone_are_one_line_from_every_command(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str]
) -> None:
    """The ETFs' price file without the members' (the issue's case: a freshness traceback,
    or every member figure empty beside "coverage 0.0%" and exit 0)."""
    config = str(_config(tmp_path))
    assert main([*argv, "--config", config, "--prices", str(ETFS)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    line = error_line(err)
    assert line.startswith(NO_MEMBER.format(universe="the bundled S&P 500", files=ETFS)), line
    assert line.endswith("give the members' price file with --prices"), line
    if "--as-of" in argv:
        assert "on or before 2025-06-30" in line


@needs_real_data
@pytest.mark.realdata
def test_etf_prices_alone_with_a_members_file_name_it(tmp_path: Path) -> None:
    done = _run(
        ["evaluate", "--config", str(_config(tmp_path)), "--prices", str(ETFS)]
        + ["--members", str(CONSTITUENTS)],
        tmp_path,
    )
    assert done.returncode == 1, done.stderr
    assert done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    line = error_line(done.stderr)
    assert line.startswith(NO_MEMBER.format(universe=f"--members {CONSTITUENTS}", files=ETFS))


@needs_real_data
@pytest.mark.realdata
def test_etf_prices_alone_fail_run_once_with_one_error_line(tmp_path: Path) -> None:
    """run --once records a failed run and exits 1; its one error is a log line (the run's
    log goes to stderr), naming the cause."""
    done = _run(
        ["run", "--once", "--config", str(_config(tmp_path)), "--prices", str(ETFS)], tmp_path
    )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if " ERROR " in line or "error:" in line]
    assert len(errors) == 1, done.stderr
    assert "no member of the universe (the bundled S&P 500) has prices in" in errors[0]
