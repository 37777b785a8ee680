"""Exceptions that tell the operator what to do."""


class SignalsError(Exception):
    """Base class for errors raised by the signals library."""


class DataFileError(SignalsError):
    """A user-supplied data file is unusable; the message names the file and line or column."""


class DataSourceError(SignalsError):
    """A price source could not deliver data; the message says why and what to try."""


class TransientDataError(DataSourceError):
    """A source failed in a way that may succeed on retry (rate limit, network)."""
