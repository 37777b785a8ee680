"""Smoke test of `python -m benchmarks.replicas` at a tiny size (no timing assertions): one
replica, six commands, no failover; and the two measures its verdicts rest on. Skipped without
TEST_DATABASE_URL (CI sets it)."""

from __future__ import annotations

import re

import pytest

from benchmarks import replicas as bench
from tests.bot.db_helpers import pg_base_url
from tests.bot.runtime.replica_cluster import max_in_window, percentile


def test_max_in_window_counts_the_busiest_half_open_window() -> None:
    assert max_in_window([], 1.0) == 0
    assert max_in_window([0.0, 0.5, 0.99, 1.0], 1.0) == 3  # [0, 1) leaves 1.0 out
    assert max_in_window([0.0, 0.5, 0.99, 1.0, 1.2], 1.0) == 4  # [0.5, 1.5)
    assert max_in_window([0.0, 0.1, 0.2, 5.0], 0.15) == 2


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.95) == 95.0
    assert percentile(values, 0.5) == 50.0
    assert percentile([3.0], 0.95) == 3.0


def test_one_replica_answers_a_handful_of_commands(capsys: pytest.CaptureFixture[str]) -> None:
    url = pg_base_url()
    argv = ["--database-url", url, "--users", "3", "--rounds", "2", "--repeat", "1", "--pace", "20"]
    assert bench.main([*argv, "--replicas", "1", "--no-failover"]) == 0
    out = capsys.readouterr().out
    row = re.search(r"^1\s+([\d.]+)\s+(\d+)ms\s+(\d+)ms\s+(\d+)ms\s+(\d+)ms", out, re.M)
    assert row is not None, out
    assert float(row.group(1)) > 0
    assert "Failover" not in out
