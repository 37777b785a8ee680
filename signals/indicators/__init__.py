"""Every signal as a date-indexed series, computed once per panel for the whole history.

`compute_signals(data, params)` returns a `SignalHistory` that a snapshot, a chart, an alert
and a backtest all read, so they show the same numbers.
"""

from signals.indicators.history import SignalHistory, compute_signals
from signals.indicators.json_values import iso_day, json_safe
from signals.indicators.params import SignalParams

__all__ = ["SignalHistory", "SignalParams", "compute_signals", "iso_day", "json_safe"]
