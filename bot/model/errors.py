"""Exceptions of the application layer that tell the operator what to do."""

from __future__ import annotations


class ConfigError(Exception):
    """The configuration is unusable; fatal at start. The message names the field (and the
    line of the YAML file where one is known)."""


class StorageError(Exception):
    """The database cannot be used (locked, full, read-only, corrupt, unreachable). The
    message names the database, never its password, and says what to do; fatal at start."""


class DeliveryError(Exception):
    """A send failed. `retry_after` (seconds) is set when the platform said when to retry;
    `permanent` when retrying can never help (blocked, kicked, channel not found)."""

    def __init__(
        self, message: str, *, retry_after: float | None = None, permanent: bool = False
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.permanent = permanent
