"""What a database failure means for the operator: one line, the database named without its
password, and what to do about it.

SQLAlchemy's own messages carry the SQL, its parameters and a link, and SQLite's are terse
("unable to open database file" for a missing folder, a directory and a read-only volume
alike), so `storage_error` reads the driver's error code, looks at the file where one is
involved, and says which of these it is. The store raises its result when it cannot open the
database; the command line uses it for a failure later in a run.

`daemon_lock` keeps a second daemon off a SQLite file that one already serves: two would
both poll the same chat tokens and evaluate twice.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from bot.model import StorageError, redact
from bot.storage.url import normalize_database_url

try:  # POSIX only; elsewhere a second daemon is not detected
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

#: seconds a SQLite connection waits for another process's write before giving up
BUSY_TIMEOUT = 30.0
#: what to do when the database URL itself is wrong
FIX_URL = "fix database_url in the config, or DATABASE_URL (which replaces it)"
#: what a database failure raises, from SQLAlchemy or straight from the SQLite driver: the
#: exceptions `storage_error` turns into one line
DATABASE_ERRORS: tuple[type[Exception], ...] = (SQLAlchemyError, sqlite3.Error)


def _parse(url: str) -> URL | None:
    try:
        return make_url(normalize_database_url(url))
    except (ArgumentError, ValueError):
        return None


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (absolute, as the operator should look for it); None for an
    in-memory database, another database, or a URL that does not parse."""
    parsed = _parse(url)
    if parsed is None or parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database or ""
    if parsed.query.get("uri") in ("true", "1") and database.startswith("file:"):
        database = database[len("file:") :]
    if database in ("", ":memory:") or parsed.query.get("mode") == "memory":
        return None
    return Path(os.path.abspath(database))


def describe_database(url: str | None) -> str:
    """The database as a message names it: the SQLite file, or the URL without password."""
    if url is None:
        return "the database"
    path = sqlite_path(url)
    if path is not None:
        return f"the database {path}"
    parsed = _parse(url)
    if parsed is None:
        return "the database (its URL does not parse)"
    if parsed.get_backend_name() == "sqlite":
        return "the in-memory database"
    return f"the database {parsed.render_as_string(hide_password=True)}"


def storage_error(exc: BaseException, url: str | None = None) -> StorageError:
    """`exc` (a SQLAlchemy, driver or OS error about the database at `url`) as one line."""
    orig = getattr(exc, "orig", None) or exc  # SQLAlchemy wraps the driver's error
    path = sqlite_path(url) if url is not None else None
    if isinstance(orig, sqlite3.Error):
        message = _sqlite_message(orig, path, describe_database(url))
    elif isinstance(orig, OSError) and path is not None:
        message = _cannot_open(path, orig.strerror)
    else:
        detail = _first_line(orig)
        message = f"cannot use {describe_database(url)}: {detail}"
    return StorageError(redact(message))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    return first.removeprefix("connection failed: ")


def _sqlite_message(exc: sqlite3.Error, path: Path | None, where: str) -> str:
    name = getattr(exc, "sqlite_errorname", "") or ""
    shown = str(path) if path is not None else where.removeprefix("the database ")
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return (
            f"{where} is locked by another process (waited up to {BUSY_TIMEOUT:g} s): another "
            "rotation-bot on the same file? stop it, or give each its own database"
        )
    if name.startswith("SQLITE_READONLY"):
        return (
            f"{where} is read-only (file permissions, or a read-only filesystem or volume): "
            "the bot must be able to write the file and its folder"
        )
    if name.startswith(("SQLITE_NOTADB", "SQLITE_CORRUPT")):
        return (
            f"{shown} is not a SQLite database or is damaged ({exc}): restore it from a "
            "backup, or move it aside to start with an empty one"
        )
    if name.startswith("SQLITE_FULL") or (name.startswith("SQLITE_IOERR") and _disk_full(path)):
        return f"the disk holding {where} is full: free some space, then start again"
    if name.startswith("SQLITE_IOERR"):
        return f"disk I/O error on {where} ({exc}): check the disk or volume it is on"
    if name.startswith(("SQLITE_CANTOPEN", "SQLITE_PERM", "SQLITE_AUTH")) and path is not None:
        return _cannot_open(path, None)
    return f"cannot use {where}: {_first_line(exc)}"


def _disk_full(path: Path | None) -> bool:
    if path is None:
        return False
    try:
        return shutil.disk_usage(path.parent).free == 0
    except OSError:
        return False


def _read_only_fs(folder: Path) -> bool:
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):  # AttributeError: no statvfs (Windows)
        return False


def _cannot_open(path: Path, reason: str | None) -> str:
    """Why a SQLite file cannot be opened, from what is (not) there."""
    parent = path.parent
    if path.is_dir():
        return f"{path} is a directory, not a database file: {FIX_URL}"
    if not parent.is_dir():
        return f"cannot create the database {path}: the folder {parent} does not exist"
    if _read_only_fs(parent):
        return (
            f"the database {path} is on a read-only filesystem: the bot must be able to write "
            "the file and its folder (mount the volume read-write)"
        )
    if not path.exists() and not os.access(parent, os.W_OK):
        return (
            f"cannot create the database {path}: its folder is not writable (permissions, "
            "or a read-only filesystem or volume)"
        )
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        return f"cannot open the database {path}: no permission to read and write it"
    return f"cannot open the database {path}" + (f": {reason}" if reason else "")


@contextlib.contextmanager
def daemon_lock(url: str) -> Iterator[None]:
    """Hold `<database>.lock` beside a SQLite file while one daemon serves it; a second one
    gets a StorageError at once. The operating system drops the lock when the process ends,
    however it ends. Nothing to hold for other databases."""
    path = sqlite_path(url)
    if path is None or fcntl is None:
        yield
        return
    if path.is_dir() or not path.parent.is_dir():
        raise StorageError(_cannot_open(path, None))
    lock = path.with_name(path.name + ".lock")
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise StorageError(_cannot_open(path, exc.strerror)) from exc
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
            pid = f" (pid {holder})" if holder.isdigit() else ""
            raise StorageError(
                f"another rotation-bot process{pid} holds the database {path}: stop it first, "
                "or give this one its own database"
            ) from None
        except OSError as exc:  # a filesystem without locks (some network volumes)
            log.warning("cannot lock %s (%s): a second daemon would go unnoticed", lock, exc)
        else:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        yield
    finally:
        os.close(fd)  # releases the lock
