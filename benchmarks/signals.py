"""Benchmark: every signal over the whole history vs the 200-day-breadth floor and naive loop.

    python -m benchmarks.signals [--repeat N] [--min-time S] [--skip-real] [--skip-synthetic]
                                 [--check] [--profile real|synthetic]

Panels: (a) the real panel in ../shared/data since 2015 (loaded once per case, outside the
timing; skipped with a message where absent) and (b) a simulated 8,000-member x 2,520-session
panel (`benchmarks.synthetic`, generated outside the timing). Cases per panel, each in a fresh
interpreter so its peak RSS is its own: `compute_signals` (all signals), the numpy floor and
the pandas naive loop (`benchmarks.baselines`). Targets: all signals <= 3 x
the floor (stretch 2 x); all signals < 1.5 s and < 1 GB peak on 2 cores. The exit status is 0
(it is a report) unless --check is given and a target fails.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from benchmarks.measure import MB, measure
from benchmarks.realdata import ROOT, SHARED_DATA, missing_files

CASES: dict[str, str] = {
    "all": "all signals",
    "floor": "floor (200d, numpy)",
    "naive": "naive loop (200d, pandas)",
}
#: Targets (see the module docstring).
RATIO_TARGET, RATIO_STRETCH = 3.0, 2.0
SECONDS_TARGET, PEAK_TARGET = 1.5, 1024 * MB


def _load(panel: str, members: int, sessions: int) -> Any:
    """The panel's MarketData (imports kept here so the parent stays light)."""
    if panel == "real":
        from benchmarks.realdata import load_real_panel

        return load_real_panel()
    from benchmarks.synthetic import synthetic_market

    return synthetic_market(members, sessions)


def _case(case: str, data: Any) -> Callable[[], object]:
    """The callable to time; everything it does not need to redo is prepared here."""
    from benchmarks.baselines import floor_breadth, member_closes, naive_breadth
    from signals.indicators import compute_signals

    if case == "all":
        return lambda: compute_signals(data)
    closes = member_closes(data)
    if case == "floor":
        array = closes.to_numpy()
        return lambda: floor_breadth(array)
    return lambda: naive_breadth(closes)


def run_worker(
    panel: str, case: str, repeat: int, members: int, sessions: int, min_time: float = 0.0
) -> None:
    """Load, measure one case, print one JSON line (the parent reads the last line)."""
    data = _load(panel, members, sessions)
    fn = _case(case, data)
    n_members = int(data.closes.columns.isin(data.universe.table.index).sum())
    m = measure(fn, repeat, min_time)
    out = {
        "panel": panel,
        "case": case,
        "sessions": len(data.closes.index),
        "tickers": len(data.closes.columns),
        "members": n_members,
        "first_session": str(data.closes.index[0].date()),
        **m.to_json(),
        "rss_growth": m.rss_growth,
    }
    print(json.dumps(out))


def spawn(panel: str, case: str, args: argparse.Namespace) -> dict[str, Any]:
    """Run one case in a fresh interpreter (so peak RSS is per case)."""
    cmd = [
        sys.executable,
        "-m",
        "benchmarks.signals",
        "--worker",
        panel,
        case,
        "--repeat",
        str(args.repeat),
        "--members",
        str(args.members),
        "--sessions",
        str(args.sessions),
        "--min-time",
        str(args.min_time),
    ]
    print(f"  {panel}: {CASES[case]} ...", file=sys.stderr, flush=True)
    # cwd = the project root, so `-m benchmarks.signals` finds the packages as it did here
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{panel}/{case} failed (exit {proc.returncode}):\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def profile(panel: str, repeat: int, members: int, sessions: int, top: int = 30) -> None:
    """Where `compute_signals` spends its time: cProfile over `repeat` warm calls."""
    import cProfile
    import pstats

    from signals.indicators import compute_signals

    data = _load(panel, members, sessions)
    compute_signals(data)  # warm-up: lazy imports, calendar, first-touch page faults
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(max(repeat, 1)):
        compute_signals(data)
    prof.disable()
    stats = pstats.Stats(prof, stream=sys.stdout).strip_dirs()
    print(
        f"compute_signals on the {panel} panel, {repeat} warm call(s) (cProfile overhead in; "
        "it sees the calling thread only: work on a helper thread shows up as a wait)"
    )
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)


@dataclass(frozen=True)
class Verdict:
    passed: bool
    text: str

    def line(self) -> str:
        return f"  [{'PASS' if self.passed else 'FAIL'}] {self.text}"


def _mb(n: float) -> str:
    return f"{n / MB:,.1f}"


def panel_table(results: dict[str, dict[str, Any]]) -> list[str]:
    """One panel's rows: time and memory per case."""
    any_row = next(iter(results.values()))
    lines = [
        f"{any_row['panel']}: {any_row['sessions']:,} sessions x {any_row['tickers']:,} tickers "
        f"({any_row['members']:,} members) from {any_row['first_session']}",
        f"  {'case':<27}{'calls':>6}{'best s':>9}{'first s':>9}{'py peak MB':>12}"
        f"{'RSS peak MB':>13}{'RSS growth MB':>15}",
    ]
    for case, label in CASES.items():
        r = results[case]
        flag = "" if r["peak_is_own"] else " (lower bound)"
        lines.append(
            f"  {label:<27}{len(r['times']):>6}{r['best']:>9.3f}{r['first']:>9.3f}"
            f"{_mb(r['traced_peak']):>12}"
            f"{_mb(r['rss_peak']):>13}{_mb(r['rss_growth']):>15}{flag}"
        )
    return lines


def verdicts(panel: str, results: dict[str, dict[str, Any]]) -> list[Verdict]:
    """Ratios and the targets for one panel."""
    all_, floor, naive = results["all"], results["floor"], results["naive"]
    to_floor = all_["best"] / floor["best"]
    to_naive = all_["best"] / naive["best"]
    stretch = "PASS" if to_floor <= RATIO_STRETCH else "FAIL"
    return [
        Verdict(
            to_floor <= RATIO_TARGET,
            f"{panel}: all signals / floor = {to_floor:.2f} x  (target <= {RATIO_TARGET:g} x; "
            f"stretch <= {RATIO_STRETCH:g} x: {stretch})",
        ),
        Verdict(
            all_["best"] < SECONDS_TARGET,
            f"{panel}: all signals {all_['best']:.3f} s  (target < {SECONDS_TARGET:g} s)",
        ),
        Verdict(
            all_["rss_peak"] < PEAK_TARGET,
            f"{panel}: all signals process peak RSS {_mb(all_['rss_peak'])} MB, of which the "
            f"computation's growth {_mb(all_['rss_growth'])} MB  (target < 1 GB = 1,024 MB)",
        ),
        Verdict(
            True,
            f"{panel}: all signals / naive loop = {to_naive:.2f} x  "
            f"(the naive loop computes one breadth series only; report, no target)",
        ),
    ]


def _header(repeat: int, min_time: float) -> str:
    import numpy as np
    import pandas as pd

    return (
        f"rotation-bot signal benchmark: best of >= {repeat} calls (until {min_time:g} s); "
        f"{os.cpu_count()} CPUs; "
        f"Python {platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}"
    )


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks.signals", description=__doc__)
    p.add_argument("--repeat", type=int, default=3, metavar="N", help="timed calls per case")
    p.add_argument(
        "--min-time",
        type=float,
        default=1.0,
        metavar="S",
        help="fast cases repeat until their calls add up to S seconds (at most 100 calls)",
    )
    p.add_argument("--skip-real", action="store_true", help="skip the real panel")
    p.add_argument("--skip-synthetic", action="store_true", help="skip the simulated panel")
    p.add_argument("--check", action="store_true", help="exit 1 when a target fails")
    p.add_argument("--members", type=int, default=8000, help="simulated members (8000)")
    p.add_argument("--sessions", type=int, default=2520, help="simulated sessions (2520)")
    p.add_argument(
        "--profile",
        choices=("real", "synthetic"),
        help="instead: cProfile compute_signals on one panel (after a warm-up call)",
    )
    p.add_argument("--worker", nargs=2, metavar=("PANEL", "CASE"), help=argparse.SUPPRESS)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.worker:
        panel, case = args.worker
        run_worker(panel, case, args.repeat, args.members, args.sessions, args.min_time)
        return 0
    if args.profile:
        profile(args.profile, args.repeat, args.members, args.sessions)
        return 0
    panels = []
    if not args.skip_real:
        missing = missing_files()
        if missing:
            print(f"real panel skipped: {SHARED_DATA.resolve()} lacks {', '.join(missing)}")
        else:
            panels.append("real")
    if not args.skip_synthetic:
        panels.append("synthetic")
    lines = [_header(args.repeat, args.min_time), ""]
    checks: list[Verdict] = []
    for panel in panels:
        results = {case: spawn(panel, case, args) for case in CASES}
        lines += [*panel_table(results), ""]
        checks += verdicts(panel, results)
    lines += ["targets:", *(v.line() for v in checks)]
    print("\n".join(lines))
    failed = [v for v in checks if not v.passed]
    return 1 if args.check and failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
