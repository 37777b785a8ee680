"""The network guard: outside addresses are refused and fail the test; loopback passes."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from tests.fakes import netguard
from tests.fakes.netguard import NetworkBlocked, expect_blocked, is_local_host


@pytest.mark.parametrize(
    ("host", "local"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        ("0.0.0.0", True),
        ("localhost", True),
        ("10.255.255.1", False),
        ("2001:db8::1", False),
        ("api.telegram.org", False),
    ],
)
def test_what_counts_as_local(host: str, local: bool):
    assert is_local_host(host) is local


def test_connect_to_an_outside_address_fails_with_a_clear_message():
    with expect_blocked() as seen, socket.socket() as sock:
        with pytest.raises(NetworkBlocked, match=r"10\.255\.255\.1.*point the client at a fake"):
            sock.connect(("10.255.255.1", 9))
        with pytest.raises(NetworkBlocked):
            sock.connect_ex(("10.255.255.1", 9))
    assert len(seen) == 2 and "network guard" in seen[0]


def test_name_lookups_and_asyncio_connections_are_guarded():
    async def reach_out() -> None:
        await asyncio.open_connection("10.255.255.1", 9)

    with expect_blocked() as seen:
        with pytest.raises(NetworkBlocked, match="resolve 'api.telegram.org'"):
            socket.getaddrinfo("api.telegram.org", 443)
        with pytest.raises(NetworkBlocked):
            asyncio.run(reach_out())
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp, pytest.raises(NetworkBlocked):
            udp.sendto(b"x", ("8.8.8.8", 53))
    assert len(seen) == 3
    assert socket.getaddrinfo("localhost", 80)  # local names still resolve


def test_loopback_and_unix_sockets_pass(tmp_path: Path):
    with socket.create_server(("127.0.0.1", 0)) as server, socket.socket() as sock:
        sock.connect(server.getsockname())
    path = str(tmp_path / "s.sock")
    with socket.socket(socket.AF_UNIX) as server, socket.socket(socket.AF_UNIX) as sock:
        server.bind(path)
        server.listen()
        sock.connect(path)


def test_a_swallowed_violation_still_fails_the_test(pytester: pytest.Pytester):
    pytester.makepyfile(
        """
        import socket

        def test_library_that_hides_errors():
            try:
                socket.create_connection(("10.255.255.1", 9), timeout=0.1)
            except OSError:
                pass  # like yfinance: offline looks like "no data"
        """
    )
    result = pytester.runpytest("-p", netguard.__name__)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*network guard: a test tried to connect to*10.255.255.1*"])
