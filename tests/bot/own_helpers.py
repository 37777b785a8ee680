"""An independent account of a crossing rule, for the own-alert tests to check the bot by.

Written from the rule's definition (crosses_above, clear = threshold, no cooldown), not from
`signals.rules.step`: the first value is the reference (armed only when below), a rule fires
on the confirm-th consecutive session at or above the threshold while armed, resolves on the
first session below it and is armed again at once; a missing value changes nothing.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import date

import pandas as pd


def crossing_events(
    values: Iterable[tuple[pd.Timestamp, float]], threshold: float, confirm: int
) -> list[tuple[str, date]]:
    """("fired" | "resolved", session) in order."""
    events: list[tuple[str, date]] = []
    started = armed = firing = False
    streak = 0
    for day, v in values:
        if v is None or math.isnan(v):
            continue
        if not started:
            started, armed = True, v < threshold
            continue
        if firing:
            if v < threshold:
                firing, armed = False, True
                events.append(("resolved", pd.Timestamp(day).date()))
            continue
        if not armed:
            armed = v < threshold
            continue
        streak = streak + 1 if v >= threshold else 0
        if streak >= confirm:
            events.append(("fired", pd.Timestamp(day).date()))
            firing, armed, streak = True, False, 0
    return events


def breadth_200d(closes: pd.DataFrame, members: list[str], n: int = 200) -> pd.Series:
    """% of `members` whose close is above the mean of their last `n` closes, counting only
    members with a close on each of those sessions (docs/signals.md), by a rolling window."""
    panel = closes[[m for m in members if m in closes.columns]]
    full = panel.rolling(n, min_periods=n).count() == n
    mean = panel.rolling(n, min_periods=n).mean()
    above = ((panel > mean) & full).sum(axis=1)
    used = full.sum(axis=1)
    return (100.0 * above / used).where(used > 0)


def level_events(
    values: Iterable[tuple[pd.Timestamp, float]], threshold: float, clear: float, confirm: int
) -> list[tuple[str, date]]:
    """An `above` level test with its own clear (<= threshold): it holds when the value is
    strictly above the threshold and is cleared strictly below `clear`; otherwise as
    `crossing_events` (reference first, confirm in a row, re-armed once cleared)."""
    events: list[tuple[str, date]] = []
    started = armed = firing = False
    streak = 0
    for day, v in values:
        if v is None or math.isnan(v):
            continue
        holds, cleared = v > threshold, v < clear
        if not started:
            started, armed = True, not holds
            continue
        if firing:
            if cleared:
                firing, armed = False, True
                events.append(("resolved", pd.Timestamp(day).date()))
            continue
        if not armed:
            armed = cleared
            continue
        streak = streak + 1 if holds else 0
        if streak >= confirm:
            events.append(("fired", pd.Timestamp(day).date()))
            firing, armed, streak = True, False, 0
    return events
