"""Message kinds and the per-destination level of each (see docs/alerts.md)."""

from __future__ import annotations

from enum import StrEnum


class MessageKind(StrEnum):
    ALERT = "alert"
    RESOLVED = "resolved"
    DATA_HEALTH = "data_health"
    DIGEST = "digest"
    HEARTBEAT = "heartbeat"
    STARTUP = "startup"


class Level(StrEnum):
    ON = "on"
    SILENT = "silent"  # delivered without a notification sound
    OFF = "off"


DEFAULT_LEVELS: dict[MessageKind, Level] = {
    MessageKind.ALERT: Level.ON,
    MessageKind.RESOLVED: Level.ON,
    MessageKind.DATA_HEALTH: Level.ON,
    MessageKind.DIGEST: Level.OFF,
    MessageKind.HEARTBEAT: Level.OFF,
    MessageKind.STARTUP: Level.OFF,
}


def levels_with(overrides: dict[str, str] | None) -> dict[MessageKind, Level]:
    """Defaults with a destination's overrides applied; unknown kinds or levels raise
    ValueError naming them."""
    levels = dict(DEFAULT_LEVELS)
    for kind, level in (overrides or {}).items():
        try:
            levels[MessageKind(kind)] = Level(level)
        except ValueError:
            raise ValueError(
                f"unknown message kind or level {kind}: {level} "
                f"(kinds: {', '.join(k.value for k in MessageKind)}; levels: on, silent, off)"
            ) from None
    return levels
