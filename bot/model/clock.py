"""The one clock: `utcnow`, and the `Clock` type of whatever stands in for it.

Everything that asks for the time takes a `Clock` (default `utcnow`), so a test, the demo or
the scheduler's virtual clock can run the whole bot at a time of its choosing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeAlias

#: a source of "now": tz-aware, in UTC
Clock: TypeAlias = Callable[[], datetime]


def utcnow() -> datetime:
    """The wall clock, tz-aware in UTC."""
    return datetime.now(UTC)
