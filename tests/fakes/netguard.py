"""A pytest plugin that fails any test trying to reach a non-loopback address.

It patches `socket.socket.connect`, `connect_ex` and `sendto` (asyncio's `create_connection`
and `sock_connect` end there) and `socket.getaddrinfo` (name lookups, also asyncio's
`loop.getaddrinfo`). Loopback (127.0.0.0/8, ::1, `localhost`), the unspecified address and
AF_UNIX sockets pass. A blocked call raises `NetworkBlocked` (an OSError, so client libraries
behave as if offline) and is also remembered: the test then fails even if a library swallowed
the error (yfinance does, delivery retries would). Not covered: C code that opens its own
sockets (curl_cffi, c-ares); inject a session or a fake into those instead.

Enabled for the whole suite from tests/conftest.py; `expect_blocked()` is for tests of the
guard itself.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

_LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})
_HINT = "tests may only use loopback; point the client at a fake from tests/fakes"


class NetworkBlocked(OSError):
    """Raised instead of contacting a non-loopback address during tests."""


_lock = threading.Lock()
_violations: list[str] = []
_originals: dict[str, Callable[..., Any]] = {}
_installs = 0


def is_local_host(host: Any) -> bool:
    """True for loopback and unspecified IPs and `localhost` names."""
    if host is None or host in ("", b""):
        return True
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    host = str(host)
    if host.lower() in _LOCAL_NAMES or host.lower().endswith(".localhost"):
        return True
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback or ip.is_unspecified


def is_local_address(family: int, address: Any) -> bool:
    """True when a connect/sendto target stays on this machine."""
    if getattr(socket, "AF_UNIX", None) == family or isinstance(address, str | bytes):
        return True
    if isinstance(address, tuple) and address:
        return is_local_host(address[0])
    return False


def _block(what: str) -> NetworkBlocked:
    message = f"network guard: a test tried to {what}; {_HINT}"
    with _lock:
        _violations.append(message)
    return NetworkBlocked(message)


def _guarded_connect(self: socket.socket, address: Any) -> Any:
    if not is_local_address(self.family, address):
        raise _block(f"connect to {address!r}")
    return _originals["connect"](self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> Any:
    if not is_local_address(self.family, address):
        raise _block(f"connect to {address!r}")
    return _originals["connect_ex"](self, address)


def _guarded_sendto(self: socket.socket, data: Any, *args: Any) -> Any:
    address = args[-1] if args else None
    if not is_local_address(self.family, address):
        raise _block(f"send a datagram to {address!r}")
    return _originals["sendto"](self, data, *args)


def _guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    if not is_local_host(host):
        try:
            ipaddress.ip_address(str(host).split("%", 1)[0])
        except ValueError:
            raise _block(f"resolve {host!r}") from None
    return _originals["getaddrinfo"](host, *args, **kwargs)


def install() -> None:
    """Patch the socket module (idempotent; counted, so nested sessions are safe)."""
    global _installs
    with _lock:
        _installs += 1
        if _installs > 1:
            return
        _originals.update(
            connect=socket.socket.connect,
            connect_ex=socket.socket.connect_ex,
            sendto=socket.socket.sendto,
            getaddrinfo=socket.getaddrinfo,
        )
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
    socket.socket.sendto = _guarded_sendto  # type: ignore[method-assign, assignment]
    socket.getaddrinfo = _guarded_getaddrinfo


def uninstall() -> None:
    global _installs
    with _lock:
        _installs -= 1
        if _installs > 0 or not _originals:
            return
        originals = dict(_originals)
        _originals.clear()
    socket.socket.connect = originals["connect"]  # type: ignore[method-assign]
    socket.socket.connect_ex = originals["connect_ex"]  # type: ignore[method-assign]
    socket.socket.sendto = originals["sendto"]  # type: ignore[method-assign]
    socket.getaddrinfo = originals["getaddrinfo"]


def violations_since(mark: int) -> list[str]:
    """Take (remove and return) the violations recorded after `mark`."""
    with _lock:
        taken = _violations[mark:]
        del _violations[mark:]
    return taken


def mark() -> int:
    with _lock:
        return len(_violations)


@contextlib.contextmanager
def expect_blocked() -> Iterator[list[str]]:
    """For tests of the guard: violations inside the block are handed to the caller instead
    of failing the test."""
    start = mark()
    seen: list[str] = []
    try:
        yield seen
    finally:
        seen.extend(violations_since(start))


# -- pytest hooks ------------------------------------------------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    install()


def pytest_unconfigure(config: pytest.Config) -> None:
    uninstall()


def _guard_phase() -> Iterator[None]:
    start = mark()
    try:
        yield
    finally:
        found = violations_since(start)
        if found:
            pytest.fail("\n".join(dict.fromkeys(found)), pytrace=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    with contextlib.contextmanager(_guard_phase)():
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    with contextlib.contextmanager(_guard_phase)():
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Iterator[None]:
    with contextlib.contextmanager(_guard_phase)():
        return (yield)
