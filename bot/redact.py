"""Keep tokens out of logs and stored errors.

The Bot API puts the token in every URL (`/bot<token>/sendMessage`): httpx logs those URLs at
INFO, python-telegram-bot repeats a rejected token in its `InvalidToken` message, and any
library may log a URL at DEBUG. Rather than trusting each library's log level, the senders
register their tokens here and `install()` wraps the log-record factory so every record, from
any logger and whatever handler prints it, has them replaced by "***" before it is formatted.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

MASK = "***"
_secrets: set[str] = set()
_lock = threading.Lock()
_installed = False
#: libraries that log request URLs (which hold the Telegram token) at INFO
_NOISY = ("httpx", "httpcore")


def register_secret(value: str | None) -> None:
    """Mask `value` in every log record and in `redact()` from now on."""
    if value and len(value) >= 8:  # a short value would mask ordinary words
        with _lock:
            _secrets.add(value)


def redact(text: str) -> str:
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def install() -> None:
    """Mask registered secrets in all log records; quiet httpx's per-request INFO lines.
    Idempotent."""
    global _installed
    with _lock:
        if _installed:
            return
        _installed = True
    for name in _NOISY:
        if logging.getLogger(name).level < logging.WARNING:
            logging.getLogger(name).setLevel(logging.WARNING)
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if _secrets:
            _mask(record)
        return record

    logging.setLogRecordFactory(factory)


def _mask(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except (TypeError, ValueError):  # a malformed record: leave it for logging to report
        return
    clean = redact(message)
    if clean != message:
        record.msg, record.args = clean, None
    if record.exc_info and record.exc_info[1] is not None:
        text = logging.Formatter().formatException(record.exc_info)
        clean = redact(text)
        if clean != text:
            record.exc_text = clean
