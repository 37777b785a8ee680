"""Turn numpy / pandas values into plain JSON values (NaN -> None, dates -> 'YYYY-MM-DD').

Snapshots and details leave the library as JSON (`evaluate --json`, chat replies), where NaN
is not valid and numpy scalars do not serialise; this is the one place that converts them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd


def iso_day(value: Any) -> str | None:
    """'YYYY-MM-DD' for a date-like value, None for NaT / None."""
    if value is None or value is pd.NaT:
        return None
    ts = pd.Timestamp(value)
    return None if ts is pd.NaT else ts.strftime("%Y-%m-%d")


def finite_number(value: Any) -> float | None:
    """A finite float, or None for anything else (None, NaN, pd.NA, inf, bools, strings)."""
    if value is None or isinstance(value, bool | str):
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def json_safe(value: Any) -> Any:
    """A JSON-serialisable copy of `value` with every non-finite number as None."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        f = float(value)
        return f if math.isfinite(f) else None
    if isinstance(value, datetime | date | np.datetime64 | pd.Timestamp):
        return iso_day(value)
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray | pd.Series):
        return [json_safe(v) for v in value]
    raise TypeError(f"cannot convert {type(value).__name__} to JSON: {value!r}")
