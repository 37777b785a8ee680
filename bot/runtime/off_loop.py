"""Blocking work off the event loop that a shutdown does not wait for.

`asyncio.to_thread` runs on the loop's default executor, whose threads `asyncio.run` and the
interpreter join at exit: a Yahoo download or a database statement still running there holds
the process up however long it takes. `off_loop` runs the call on a daemon thread of its own
instead and stops waiting for it when the app stops (`stop`) or the awaiting task is
cancelled: it then sets `cancel`, which the work checks before it commits anything, and
raises `Interrupted` (or the cancellation). The thread's late result is dropped; the process
exits without joining it.

Only work that may be abandoned belongs here: a read, or writes made in one transaction that
checks `cancel` before its commit (an evaluation's unit of work), so that what is abandoned
is rolled back and simply done again later.

The interpreter's teardown must not run under an abandoned thread that is still inside
native code (numpy, pyarrow, a database driver): that can abort or crash the process, so
`exit_if_abandoned` ends a process that still has one with `os._exit`, after flushing the
logs (the database rolls back the open transaction of a connection that goes away).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

#: threads whose work was abandoned and that have not finished yet
_abandoned: set[threading.Thread] = set()
_abandoned_lock = threading.Lock()


class Interrupted(Exception):
    """The app is stopping: the work was abandoned (and commits nothing)."""


async def off_loop(
    fn: Callable[..., T],
    /,
    *args: Any,
    stop: asyncio.Event,
    cancel: threading.Event | None = None,
    name: str = "rotation-bot work",
) -> T:
    """`fn(*args)` on a daemon thread; its result, or `Interrupted` as soon as `stop` is set
    (`cancel` is set then, and when the awaiting task is cancelled)."""
    if stop.is_set():
        _set(cancel)
        raise Interrupted(name)
    loop = asyncio.get_running_loop()
    done: asyncio.Future[T] = loop.create_future()
    context = contextvars.copy_context()

    def work() -> None:
        try:
            result = context.run(fn, *args)
        except BaseException as exc:  # handed to the awaiting task, whatever it is
            _post(loop, done, None, exc)
        else:
            _post(loop, done, result, None)
        finally:
            with _abandoned_lock:
                _abandoned.discard(thread)

    thread = threading.Thread(target=work, name=name, daemon=True)
    thread.start()
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait((done, stopping), return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        _abandon(thread, cancel, done)
        raise
    finally:
        stopping.cancel()
    if done.done():
        return done.result()
    _abandon(thread, cancel, done)
    raise Interrupted(name)


def _abandon(
    thread: threading.Thread, cancel: threading.Event | None, done: asyncio.Future[Any]
) -> None:
    _set(cancel)
    done.cancel()
    with _abandoned_lock:
        if thread.is_alive():
            _abandoned.add(thread)


def abandoned() -> list[threading.Thread]:
    """The threads of abandoned work still running."""
    with _abandoned_lock:
        return [t for t in _abandoned if t.is_alive()]


def exit_if_abandoned(code: int, grace: float = 1.0) -> int:
    """`code`, once abandoned work has ended (waiting up to `grace` seconds for it); else
    flush the logs and end the process here with `code` (see the module docstring)."""
    end = time.monotonic() + grace
    for thread in abandoned():
        thread.join(max(0.0, end - time.monotonic()))
    if not abandoned():
        return code
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # a closed or broken stream: nothing to flush
            stream.flush()
    os._exit(code)


def _set(cancel: threading.Event | None) -> None:
    if cancel is not None:
        cancel.set()


def _post(
    loop: asyncio.AbstractEventLoop,
    done: asyncio.Future[Any],
    result: Any,
    exc: BaseException | None,
) -> None:
    """Settle `done` on its loop, unless it was abandoned or the loop is gone."""

    def settle() -> None:
        if done.done():
            return
        if exc is not None:
            done.set_exception(exc)
        else:
            done.set_result(result)

    with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
        loop.call_soon_threadsafe(settle)
