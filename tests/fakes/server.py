"""The runner under both fakes: an aiohttp application on 127.0.0.1 with an ephemeral port.

A fake runs either in the caller's event loop (`async with fake:`) or on its own loop in a
background thread (`with fake:`), which suits sync tests and keeps the client's loop free.
Control methods (`inject`, `push_*`, `refuse_connections`, ...) may be called from any thread.
The same controls are reachable over HTTP (`POST /_fake/control`, `GET /_fake/requests`) for a
fake in another process (`python -m tests.fakes.telegram_api --state-file X`, `RemoteFake`).
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import copy
import inspect
import itertools
import json
import math
import os
import signal
import socket
import struct
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar, Self, TypeVar

from aiohttp import web

from tests.fakes.common import (
    Answer,
    CapHit,
    Fault,
    FaultRule,
    Handler,
    Outcome,
    RateCaps,
    RecordedRequest,
    UploadedFile,
    hang,
    read_params,
    reset,
)

LOOPBACK = "127.0.0.1"
T = TypeVar("T")


def listen_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket (SO_REUSEADDR so the same port can be listened on again)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(512)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


def abort_connection(request: web.Request) -> None:
    """Hang up on the client with a TCP reset, without an HTTP answer."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


class FakeServer:
    """Base class of the fake APIs; see the module docstring and tests/fakes/README.md."""

    kind: ClassVar[str] = "fake"
    #: Named faults for `inject("name")` / `inject({"preset": "name", **kwargs})`.
    presets: ClassVar[Mapping[str, Callable[..., Fault]]] = {"hang": hang, "reset": reset}
    #: Methods callable through `POST /_fake/control`.
    control_calls: ClassVar[frozenset[str]] = frozenset(
        {"inject", "clear_faults", "reset", "clear_requests", "set_cap", "set_caps"}
    )

    def __init__(self, *, caps: RateCaps, host: str = LOOPBACK, port: int = 0) -> None:
        self.caps = caps
        self._host = host
        self._requested_port = port
        self._port: int | None = None
        self._lock = threading.RLock()
        self._records: list[RecordedRequest] = []
        self._tally: Counter[tuple[str, Outcome, bool]] = Counter()  # (method, outcome, delivered)
        self._last_seq = 0
        self._cleared_upto = 0  # records up to this seq were cleared
        self._seq = itertools.count(1)
        self._faults: list[FaultRule] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._runner: web.AppRunner | None = None
        self._listener: asyncio.AbstractServer | None = None
        self._stopping = False
        self._stop_event: asyncio.Event | None = None
        self._changed: asyncio.Event | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._thread: threading.Thread | None = None
        self._thread_stop: asyncio.Event | None = None

    # -- addresses ---------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError(f"fake {self.kind} is not started")
        return self._port

    @property
    def url(self) -> str:
        """Root URL, e.g. http://127.0.0.1:PORT (no trailing slash)."""
        return f"http://{self._host}:{self.port}"

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> Self:
        """Listen on the current event loop."""
        if self._runner is not None:
            raise RuntimeError(f"fake {self.kind} is already started")
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._stopping = False
        self._stop_event = asyncio.Event()
        self._changed = asyncio.Event()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/_fake/requests", self._h_requests)
        app.router.add_post("/_fake/control", self._h_control)
        self._add_routes(app)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        sock = listen_socket(self._host, self._port or self._requested_port)
        self._port = sock.getsockname()[1]
        self._runner = runner
        self._listener = await self._loop.create_server(runner.server, sock=sock)  # type: ignore[arg-type]
        return self

    async def stop(self) -> None:
        """Wake every hanging or long-polling request, hang up, and stop listening."""
        if self._runner is None:
            return
        self._stopping = True
        assert self._stop_event is not None
        self._stop_event.set()
        self._bump_now()
        await self._before_stop()
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        for task in list(self._tasks):
            task.cancel()
        await self._runner.cleanup()
        self._runner = None
        self._loop = None
        self._loop_thread = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def start_in_thread(self) -> Self:
        """Run on a fresh event loop in a daemon thread; returns once listening."""
        started: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._thread = threading.Thread(
            target=self._thread_main, args=(started,), name=f"fake-{self.kind}", daemon=True
        )
        self._thread.start()
        started.result(timeout=10)
        return self

    def stop_in_thread(self) -> None:
        loop, thread, stop = self._loop, self._thread, self._thread_stop
        if loop is None or thread is None or stop is None:
            return
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=10)
        self._thread = None

    def __enter__(self) -> Self:
        return self.start_in_thread()

    def __exit__(self, *exc: object) -> None:
        self.stop_in_thread()

    def _thread_main(self, started: concurrent.futures.Future[None]) -> None:
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(self._thread_body(started))
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            loop.close()

    async def _thread_body(self, started: concurrent.futures.Future[None]) -> None:
        self._thread_stop = asyncio.Event()
        try:
            await self.start()
        except BaseException as exc:  # hand any start failure to the waiting caller
            started.set_exception(exc)
            return
        started.set_result(None)
        await self._thread_stop.wait()
        await self.stop()

    # -- thread plumbing ---------------------------------------------------------------------

    def _on_loop(self) -> bool:
        return self._loop is None or self._loop_thread == threading.get_ident()

    def _in_loop(self, fn: Callable[[], T]) -> T:
        """Run `fn` on the fake's loop (directly when already there) and return its result."""
        loop = self._loop
        if loop is None or self._on_loop():
            return fn()
        done: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                done.set_result(fn())
            except BaseException as exc:  # relay to the calling thread
                done.set_exception(exc)

        loop.call_soon_threadsafe(run)
        return done.result(timeout=10)

    def _bump(self) -> None:
        """Wake everyone waiting for state to change (pushed updates, envelopes...)."""
        loop = self._loop
        if loop is None:
            return
        if self._on_loop():
            self._bump_now()
        else:
            loop.call_soon_threadsafe(self._bump_now)

    def _bump_now(self) -> None:
        if self._changed is not None:
            event, self._changed = self._changed, asyncio.Event()
            event.set()

    def _change_event(self) -> asyncio.Event:
        """Take this before looking at the state, then `_wait_change` on it: no lost wake-up."""
        assert self._changed is not None
        return self._changed

    async def _wait_change(self, event: asyncio.Event, timeout: float) -> None:
        if self._stopping or timeout <= 0:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)

    async def _sleep(self, seconds: float) -> None:
        """Sleep, cut short when the server stops."""
        assert self._stop_event is not None
        timeout = None if math.isinf(seconds) else seconds
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop_event.wait(), timeout)

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- records -----------------------------------------------------------------------------

    def requests(
        self,
        method: str | None = None,
        chat_id: str | int | None = None,
        *,
        outcome: Outcome | str | None = None,
    ) -> list[RecordedRequest]:
        """Snapshots of the recorded API requests, oldest first, optionally filtered."""
        chat = None if chat_id is None else str(chat_id)
        with self._lock:
            return [
                copy.copy(rec)
                for rec in self._records
                if (method is None or rec.method == method)
                and (chat is None or rec.chat_id == chat)
                and (outcome is None or rec.outcome == outcome)
            ]

    def delivered(self, chat_id: str | int | None = None) -> list[RecordedRequest]:
        """The requests that put a new message into a chat (never 429s, faults or errors)."""
        chat = None if chat_id is None else str(chat_id)
        with self._lock:
            return [
                copy.copy(rec)
                for rec in self._records
                if rec.delivered and (chat is None or rec.chat_id == chat)
            ]

    def count(
        self,
        method: str | None = None,
        *,
        outcome: Outcome | str | None = None,
        delivered: bool | None = None,
    ) -> int:
        """Count matching requests from a running tally: O(1) in the number of records,
        so polling it during a 10,000-message run costs nothing."""
        with self._lock:
            return sum(
                n
                for (m, o, d), n in self._tally.items()
                if (method is None or m == method)
                and (outcome is None or o == outcome)
                and (delivered is None or d == delivered)
            )

    def clear_requests(self) -> None:
        with self._lock:
            self._records.clear()
            self._tally.clear()
            self._cleared_upto = self._last_seq

    def _open_record(
        self,
        method: str,
        chat_id: str | None,
        params: dict[str, Any],
        files: dict[str, UploadedFile],
        token: str | None,
    ) -> RecordedRequest:
        rec = RecordedRequest(
            seq=0,
            at=time.monotonic(),
            wall=time.time(),
            method=method,
            chat_id=chat_id,
            params=params,
            files=files,
            token=token,
        )
        with self._lock:
            rec.seq = self._last_seq = next(self._seq)
            self._records.append(rec)
            self._tally[(method, Outcome.PENDING, False)] += 1
        return rec

    def _close_record(
        self,
        rec: RecordedRequest,
        request: web.Request | None,
        answer: Answer | None,
        outcome: Outcome,
        *,
        cap: str | None = None,
        fault: str | None = None,
    ) -> None:
        transport = None if request is None else request.transport
        with self._lock:
            tallied = rec.seq > self._cleared_upto  # not forgotten by clear_requests/reset
            if tallied:
                self._tally[(rec.method, rec.outcome, rec.delivered)] -= 1
            rec.outcome = outcome
            rec.http_status = 0 if answer is None else answer.status
            rec.response = None if answer is None else answer.body
            rec.delivered = answer is not None and answer.delivered and outcome is Outcome.OK
            rec.cap = cap
            rec.fault = fault
            rec.client_gone = request is not None and (transport is None or transport.is_closing())
            if tallied:
                self._tally[(rec.method, rec.outcome, rec.delivered)] += 1

    # -- faults and caps ---------------------------------------------------------------------

    def inject(
        self,
        fault: Fault | str | Mapping[str, Any],
        *,
        chat_id: str | int | None = None,
        method: str | None = None,
        times: int | None = None,
    ) -> FaultRule:
        """Misbehave for matching requests: `fault` is a `Fault`, a preset name
        (`"blocked"`), or a mapping (`{"preset": "migrated", "new_chat_id": -100123}` or
        the `Fault` fields). `times=None` means every matching request until cleared."""
        if times is not None and times < 1:
            raise ValueError("times must be >= 1 or None")
        rule = FaultRule(
            fault=self._resolve_fault(fault),
            chat_id=None if chat_id is None else str(chat_id),
            method=method,
            times=times,
        )
        with self._lock:
            self._faults.append(rule)
        return rule

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def _resolve_fault(self, fault: Fault | str | Mapping[str, Any]) -> Fault:
        if isinstance(fault, Fault):
            return fault
        if isinstance(fault, str):
            return self.presets[fault]()
        spec = dict(fault)
        preset = spec.pop("preset", None)
        if preset is not None:
            return self.presets[preset](**spec)
        if spec.get("delay") is None:
            spec["delay"] = 0.0
        return Fault(**spec)

    def _take_fault(self, method: str, chat_id: str | None) -> Fault | None:
        with self._lock:
            for rule in self._faults:
                if rule.matches(method, chat_id):
                    rule.hits += 1
                    return rule.fault
        return None

    def set_cap(
        self,
        name: str,
        *,
        limit: int | None = None,
        window: float | None = None,
        enabled: bool | None = None,
    ) -> dict[str, Any]:
        """Change one cap (`"global"`, `"chat"`, `"group"`, `"channel"`)."""
        with self._lock:
            cap = self.caps.set(name, limit=limit, window=window, enabled=enabled)
            return {"name": cap.name, "limit": cap.limit, "window": cap.window}

    def set_caps(self, *, enabled: bool | None = None, time_scale: float | None = None) -> None:
        """Switch all caps on or off, or change the time scale."""
        with self._lock:
            if enabled is not None:
                self.caps.enabled = enabled
            if time_scale is not None:
                if time_scale <= 0:
                    raise ValueError("time_scale must be > 0")
                self.caps.time_scale = time_scale

    def refuse_connections(self) -> None:
        """Stop listening (new connections get ECONNREFUSED) and close open connections."""

        def close() -> None:
            if self._listener is not None:
                self._listener.close()
                self._listener = None
            if self._runner is not None and self._runner.server is not None:
                for handler in self._runner.server.connections:
                    handler.force_close()

        self._in_loop(close)

    def accept_connections(self) -> None:
        """Listen again on the same port after `refuse_connections`."""
        sock = listen_socket(self._host, self.port)  # listening from here on (kernel backlog)

        def serve() -> None:
            assert self._loop is not None and self._runner is not None
            server = self._runner.server
            assert server is not None

            async def attach() -> None:
                self._listener = await self._loop.create_server(server, sock=sock)  # type: ignore[arg-type, union-attr]

            self._spawn(attach())

        self._in_loop(serve)

    def reset(self) -> None:
        """Forget requests, faults, cap windows and platform state (pushed updates...)."""
        with self._lock:
            self._records.clear()
            self._tally.clear()
            self._cleared_upto = self._last_seq
            self._faults.clear()
            self.caps.clear()
            self._reset_state()

    # -- waiting -----------------------------------------------------------------------------

    def wait_until(
        self, predicate: Callable[[], bool], timeout: float = 2.0, what: str = "condition"
    ) -> None:
        """Block until `predicate()` holds (sync tests; the fake must run in a thread)."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"fake {self.kind}: timed out after {timeout}s on {what}")
            time.sleep(0.005)

    async def await_until(
        self, predicate: Callable[[], bool], timeout: float = 2.0, what: str = "condition"
    ) -> None:
        """Like `wait_until` for async tests (yields to the loop between polls)."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"fake {self.kind}: timed out after {timeout}s on {what}")
            await asyncio.sleep(0.005)

    # -- request pipeline --------------------------------------------------------------------

    async def _serve_api(
        self,
        request: web.Request,
        method: str,
        token: str | None,
        path_params: Mapping[str, str] | None = None,
    ) -> web.StreamResponse:
        """Record, apply a fault, apply the caps, then let the platform handler answer.
        `path_params` (ids taken from the URL path) are merged into the params."""
        try:
            params, files = await read_params(request)
            params.update(path_params or {})
        except ValueError as exc:
            params, files = {}, {}
            rec = self._open_record(method, None, params, files, token)
            answer = self._bad_request(str(exc))
            self._close_record(rec, request, answer, Outcome.ERROR)
            return answer.to_response()
        method, handler = self._resolve_method(method)
        self._normalize(params)
        if token is None and isinstance(params.get("token"), str):
            token = params["token"]
        chat_id = self._chat_of(params)
        rec = self._open_record(method, chat_id, params, files, token)
        fault = self._take_fault(method, chat_id)
        if fault is not None:
            rec.fault = fault.name  # visible while the fault is still playing out (hang)
            if fault.delay > 0:
                await self._sleep(fault.delay)
            if fault.drop or self._stopping:
                self._close_record(rec, None, None, Outcome.DROPPED, fault=fault.name)
                abort_connection(request)
                return web.Response(status=499)
            if fault.status is not None:
                answer = Answer(fault.status, fault.body, fault.headers)
                self._close_record(rec, request, answer, Outcome.FAULT, fault=fault.name)
                return answer.to_response()
        if handler is None:
            answer = self._unknown_method(method)
            self._close_record(rec, request, answer, Outcome.ERROR)
            return answer.to_response()
        refused = self._check_auth(method, token)
        if refused is not None:
            self._close_record(rec, request, refused, Outcome.ERROR)
            return refused.to_response()
        # The caps judge the recorded arrival time, so `rec.at` reproduces every verdict
        # (a fault's delay moves the request to when it is finally handled).
        now = time.monotonic() if fault is not None and fault.delay > 0 else rec.at
        with self._lock:
            hit = self.caps.check(method, chat_id, now)
        if hit is not None:
            answer = self._rate_limited(hit)
            self._close_record(rec, request, answer, Outcome.RATE_LIMITED, cap=hit.cap.name)
            return answer.to_response()
        result = handler(params, files, rec)
        if inspect.isawaitable(result):
            result = await result
        answer = result
        if answer.delivered and answer.ok:
            with self._lock:
                self.caps.note(method, chat_id, now)
        self._close_record(rec, request, answer, Outcome.OK if answer.ok else Outcome.ERROR)
        return answer.to_response()

    # -- control over HTTP -------------------------------------------------------------------

    async def _h_requests(self, request: web.Request) -> web.Response:
        recs = self.requests(
            method=request.query.get("method"),
            chat_id=request.query.get("chat_id"),
            outcome=request.query.get("outcome"),
        )
        return web.json_response([r.to_json() for r in recs], dumps=_dumps)

    async def _h_control(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
            call = body["call"]
            if call not in self.control_calls:
                raise ValueError(f"unknown control call {call!r}")
            result = getattr(self, call)(**body.get("kwargs", {}))
        except Exception as exc:  # any bad control request is reported to the caller
            problem = f"{type(exc).__name__}: {exc}"
            return web.json_response({"ok": False, "error": problem}, status=400)
        if hasattr(result, "to_json"):
            result = result.to_json()
        elif isinstance(result, list):
            result = [r.to_json() if hasattr(r, "to_json") else r for r in result]
        return web.json_response({"ok": True, "result": result}, dumps=_dumps)

    # -- platform hooks ----------------------------------------------------------------------

    def endpoints(self) -> dict[str, str]:
        """The URLs a client needs (`base_url`...), for the CLI's state file."""
        return {}

    def _add_routes(self, app: web.Application) -> None:
        raise NotImplementedError

    def _resolve_method(self, method: str) -> tuple[str, Handler | None]:
        """Canonical method name and its handler (None: unknown)."""
        raise NotImplementedError

    def _normalize(self, params: dict[str, Any]) -> None:
        """Decode JSON-typed fields in place."""

    def _chat_of(self, params: dict[str, Any]) -> str | None:
        raise NotImplementedError

    def _check_auth(self, method: str, token: str | None) -> Answer | None:
        return None

    def _unknown_method(self, method: str) -> Answer:
        raise NotImplementedError

    def _bad_request(self, message: str) -> Answer:
        raise NotImplementedError

    def _rate_limited(self, hit: CapHit) -> Answer:
        raise NotImplementedError

    def _reset_state(self) -> None:
        """Forget platform state (messages, updates...)."""

    async def _before_stop(self) -> None:
        """Close long-lived connections (WebSockets) before the runner shuts down."""


def _dumps(value: Any) -> str:
    return json.dumps(value, default=str)


# -- another process -----------------------------------------------------------------------


class RemoteFake:
    """Reads records from, and controls, a fake running in another process (or thread) via
    its `/_fake/` endpoints. Records come back as dicts shaped like `RecordedRequest.to_json`."""

    def __init__(self, url: str, timeout: float = 5.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout

    def requests(self, **filters: str) -> list[dict[str, Any]]:
        query = "&".join(f"{k}={v}" for k, v in filters.items() if v is not None)
        with urllib.request.urlopen(  # noqa: S310 - loopback fake only
            f"{self.url}/_fake/requests?{query}", timeout=self.timeout
        ) as resp:
            return json.loads(resp.read())

    def control(self, call: str, **kwargs: Any) -> Any:
        request = urllib.request.Request(
            f"{self.url}/_fake/control",
            data=json.dumps({"call": call, "kwargs": kwargs}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as resp:  # noqa: S310
                return json.loads(resp.read())["result"]
        except urllib.error.HTTPError as exc:
            raise RuntimeError(json.loads(exc.read()).get("error", str(exc))) from exc


def run_cli(make: Callable[[argparse.Namespace], FakeServer], argv: list[str] | None) -> None:
    """`python -m tests.fakes.<platform> --port 0 --state-file X`: serve until SIGTERM/SIGINT.

    The state file (JSON) is written once listening: {"url", "base_url", ..., "pid"}; read it
    to find the port, then use `RemoteFake(url)`."""
    parser = argparse.ArgumentParser(description="Run a fake chat API on 127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--state-file", type=Path, required=True)
    parser.add_argument("--no-caps", action="store_true", help="switch the rate caps off")
    parser.add_argument("--time-scale", type=float, default=1.0)
    args = parser.parse_args(argv)

    async def serve() -> None:
        fake = make(args)
        fake.set_caps(enabled=not args.no_caps, time_scale=args.time_scale)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        async with fake:
            state = {"url": fake.url, "port": fake.port, "pid": os.getpid(), **fake.endpoints()}
            tmp = args.state_file.with_suffix(".tmp")
            tmp.write_text(json.dumps(state))
            tmp.replace(args.state_file)  # atomic: readers never see half a file
            await stop.wait()

    asyncio.run(serve())
