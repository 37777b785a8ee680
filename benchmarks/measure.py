"""Wall time and peak memory of one callable, the way the benchmarks report them.

Time: best of N calls, more for fast cases (the first, cold call is kept too: it pays page
faults and lazy imports that a long-running bot pays once). Memory, two views:
- Python allocations: `tracemalloc`'s peak over one extra, untimed call (numpy reports its
  array buffers to tracemalloc, so this is the arrays' high-water mark);
- the process: peak resident set size (`resource.getrusage().ru_maxrss`) during the timed
  calls, minus the resident size just before them. On Linux the kernel's high-water mark is
  reset first (``/proc/self/clear_refs``), so the peak is this case's own and not the data
  generation's; where that is impossible the growth is a lower bound and flagged as such.
"""

from __future__ import annotations

import gc
import os
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

MB = 1024 * 1024


@dataclass(frozen=True)
class Measurement:
    """One case's figures (seconds and bytes)."""

    best: float
    first: float
    times: tuple[float, ...]
    traced_peak: int
    rss_before: int
    rss_peak: int
    peak_is_own: bool

    @property
    def rss_growth(self) -> int:
        return max(self.rss_peak - self.rss_before, 0)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _maxrss_bytes() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # Linux reports KiB


def current_rss() -> int:
    """Resident set size now (bytes); the peak so far where /proc is unavailable."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return _maxrss_bytes()


def reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark to the current RSS (Linux >= 4.0); False if not."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        return False
    return True


def measure(
    fn: Callable[[], object], repeat: int, min_time: float = 0.0, max_calls: int = 100
) -> Measurement:
    """Time `repeat` calls of `fn` (results dropped between calls), then trace one more.

    Fast cases keep going until their calls add up to `min_time` seconds (at most
    `max_calls`): the best of three 10 ms calls on a shared machine is mostly noise.
    """
    gc.collect()
    own = reset_peak_rss()
    before = current_rss() if own else _maxrss_bytes()
    times: list[float] = []
    while len(times) < max(repeat, 1) or (sum(times) < min_time and len(times) < max_calls):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
        del result  # so the next call does not hold two results at once
    peak = _maxrss_bytes()
    gc.collect()
    tracemalloc.start()
    try:
        fn()
        traced = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return Measurement(min(times), times[0], tuple(times), traced, before, peak, own)
