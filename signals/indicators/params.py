"""The windows and thresholds every signal is computed with."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SignalParams:
    """Windows and thresholds of the signals; the defaults are the documented definitions."""

    breadth_windows: tuple[int, ...] = (200, 50)
    return_window: int = 63
    sector_windows: tuple[int, ...] = (21, 63, 252)
    vol_window: int = 252
    regime_breadth: float = 65.0
    top10_lookback: int = 63
    mega7_min_pp: float = 0.5

    @property
    def breadth_id(self) -> str:
        """The breadth signal the regime and the sectors use (the first window)."""
        return f"breadth_{self.breadth_windows[0]}d"
