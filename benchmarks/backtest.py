"""Benchmark: `rotation-bot backtest` on the real data against its 10 s budget.

    python -m benchmarks.backtest [--repeat N] [--no-cli] [--check]

Runs the command's work in-process, phase by phase, as `bot.cli.cmd_backtest` does: imports,
config and default rules, load (the files source over ../shared/data, members and cap
snapshots), compute signals, snapshot, `run_backtest` from 2016-01-04 to 2026-07-31, and the
text table. Each phase is timed (best of N; the first run keeps the cold imports); the total
is compared with the 10 s budget. Then, unless --no-cli, the real command runs once end to end
in a fresh interpreter (wall time including start-up). Prints the firings per rule. Exit 0
unless --check and the budget is missed; exit 0 with a message when the data is absent.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

# Nothing heavy at module level: the first run's "imports" phase then holds the cold import
# of pandas, numpy, SQLAlchemy and pydantic, as the command pays it.
ROOT = Path(__file__).resolve().parents[1]
START, END = "2016-01-04", "2026-07-31"
BUDGET_S = 10.0


def _timed(times: dict[str, float], phase: str, fn: Callable[[], Any]) -> Any:
    start = time.perf_counter()
    out = fn()
    times[phase] = time.perf_counter() - start
    return out


def run_once() -> tuple[dict[str, float], Any]:
    """One backtest, phase by phase (the same calls as `rotation-bot backtest`)."""
    times: dict[str, float] = {}

    def imports() -> None:
        import benchmarks.realdata  # noqa: F401
        import bot.alerts.backtest  # noqa: F401
        import bot.alerts.market_state  # noqa: F401
        import bot.render.backtest_table  # noqa: F401

    _timed(times, "imports", imports)
    import pandas as pd

    from benchmarks.realdata import real_spec
    from bot.alerts.backtest import run_backtest
    from bot.alerts.market_state import as_of_session
    from bot.config.rules import build_rules
    from bot.config.settings import load_settings
    from bot.render.backtest_table import format_backtest
    from signals.indicators import compute_signals
    from signals.snapshot import build_snapshot
    from signals.sources import load_market

    settings = _timed(times, "config + rules", load_settings)
    rules = build_rules(settings.rules, settings.config_path)
    session = as_of_session(pd.Timestamp(END))
    data = _timed(times, "load (files)", lambda: load_market(real_spec(), end=session))
    history = _timed(times, "compute signals", lambda: compute_signals(data))
    _timed(times, "snapshot", lambda: build_snapshot(history, data, session))
    result = _timed(
        times,
        "run_backtest",
        lambda: run_backtest(
            data, history, rules, pd.Timestamp(START), pd.Timestamp(END), settings.guard
        ),
    )
    _timed(times, "render table", lambda: format_backtest(result))
    return times, (settings, rules, data, result)


def run_cli() -> float:
    """Wall time of the real command in a fresh interpreter (start-up included)."""
    from benchmarks.realdata import SHARED_DATA

    folder = Path(SHARED_DATA)
    cmd = [
        sys.executable,
        "-m",
        "bot.cli",
        "backtest",
        "--source",
        "files",
        "--prices",
        str(folder / "sp500_members_daily.csv.gz"),
        "--prices",
        str(folder / "etfs_daily.csv.gz"),
        "--members",
        str(folder / "sp500_constituents.csv"),
        "--shares",
        str(folder / "sp500_shares.csv.gz"),
        "--from",
        START,
        "--to",
        END,
    ]
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"rotation-bot backtest failed (exit {proc.returncode}):\n{proc.stderr}")
    return wall


def report(
    runs: list[dict[str, float]], context: tuple[Any, ...], cli_wall: float | None
) -> tuple[list[str], bool]:
    """The table; and whether the budget holds."""
    settings, rules, data, result = context
    phases = list(runs[0])
    best = {p: min(r[p] for r in runs) for p in phases}
    first = runs[0]
    total_best = sum(best.values())
    total_first = sum(first.values())
    lines = [
        f"rotation-bot backtest benchmark: {START} .. {END}, real data "
        f"(files source), {len(rules)} rules from {settings.config_path}; "
        f"best of {len(runs)}",
        f"panel: {len(data.closes.index):,} sessions x {len(data.closes.columns):,} tickers "
        f"({data.closes.index[0].date()} .. {data.closes.index[-1].date()})",
        "",
        f"  {'phase':<20}{'best s':>9}{'first s':>9}",
        *(f"  {p:<20}{best[p]:>9.3f}{first[p]:>9.3f}" for p in phases),
        f"  {'total':<20}{total_best:>9.3f}{total_first:>9.3f}",
    ]
    worst = max(total_first, cli_wall or 0.0)
    lines.append(
        f"  budget {BUDGET_S:g} s: total / budget = {total_best / BUDGET_S:.2f} (best), "
        f"{total_first / BUDGET_S:.2f} (first, cold imports)"
    )
    if cli_wall is not None:
        lines.append(
            f"  `rotation-bot backtest` end to end in a fresh interpreter: {cli_wall:.2f} s "
            f"= {cli_wall / BUDGET_S:.2f} of the budget"
        )
    ok = worst < BUDGET_S
    lines += ["", f"  [{'PASS' if ok else 'FAIL'}] slowest total {worst:.2f} s < {BUDGET_S:g} s"]
    years = (date.fromisoformat(END) - date.fromisoformat(START)).days / 365.25
    lines += ["", f"firings per rule ({years:.1f} years; default rules aim at <= 4 a year):"]
    lines.append(f"  {'rule':<28}{'fired':>7}{'per year':>10}{'resolved':>10}")
    for rule_id, body in result.rules.items():
        s = body["summary"]
        lines.append(f"  {rule_id:<28}{s['fired']:>7}{s['per_year']:>10.2f}{s['resolved']:>10}")
    if result.guarded_sessions:
        lines.append(f"  ({result.guarded_sessions} session(s) not evaluated: stale or thin data)")
    return lines, ok


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.backtest", description=__doc__)
    p.add_argument("--repeat", type=int, default=3, metavar="N", help="in-process runs")
    p.add_argument("--no-cli", action="store_true", help="skip the end-to-end command run")
    p.add_argument("--check", action="store_true", help="exit 1 when the budget is missed")
    args = p.parse_args(argv)
    from benchmarks.realdata import SHARED_DATA, missing_files

    missing = missing_files()
    if missing:
        print(f"backtest benchmark skipped: {SHARED_DATA.resolve()} lacks {', '.join(missing)}")
        return 0
    runs, context = [], None
    for _ in range(max(args.repeat, 1)):
        times, context = run_once()
        runs.append(times)
    cli_wall = None if args.no_cli else run_cli()
    lines, ok = report(runs, context, cli_wall)
    print("\n".join(lines))
    return 1 if args.check and not ok else 0


if __name__ == "__main__":
    raise SystemExit(main())
