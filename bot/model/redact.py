"""Keep tokens out of logs and stored errors.

The Bot API puts the token in every URL (`/bot<token>/sendMessage`): httpx logs those URLs at
INFO, python-telegram-bot repeats a rejected token in its `InvalidToken` message, and any
library may log a URL at DEBUG. Rather than trusting each library's log level, the senders
register their tokens here and `install()` wraps the log-record factory so every record, from
any logger and whatever handler prints it, has them replaced by "***" before it is formatted.
What never becomes a log record (an uncaught exception's traceback, in any thread, or one
Python can only report, from a finalizer) goes through `install_hooks()`; asyncio reports
through its logger, so the factory already covers it.
"""

from __future__ import annotations

import logging
import sys
import threading
import traceback
from types import TracebackType
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


def install_hooks() -> None:
    """Print uncaught exceptions, from the main thread, other threads and finalizers, with
    registered secrets masked, and send warnings through the (masked) logs. For a process's
    entry point: it replaces the interpreter's hooks for good."""
    sys.excepthook = _excepthook
    threading.excepthook = _thread_excepthook
    sys.unraisablehook = _unraisablehook
    logging.captureWarnings(True)


def _write_masked(header: str, exc: BaseException | None) -> None:
    text = header + ("".join(traceback.format_exception(exc)) if exc is not None else "\n")
    stream = sys.stderr
    if stream is not None:
        stream.write(redact(text))
        stream.flush()


def _excepthook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    _write_masked("", exc.with_traceback(tb))


def _thread_excepthook(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit:  # as the default hook: a thread's exit is no error
        return
    name = args.thread.name if args.thread is not None else threading.get_ident()
    _write_masked(f"Exception in thread {name}:\n", args.exc_value)


def _unraisablehook(args: Any) -> None:  # sys.UnraisableHookArgs, not importable by name
    header = args.err_msg or "Exception ignored in"
    if args.object is not None:
        try:
            header += f": {args.object!r}"
        except Exception:  # broad on purpose: a broken __repr__ must not hide the report
            header += ": <object repr() failed>"
    _write_masked(header + "\n", args.exc_value)
