"""Shared machinery of the fake chat APIs: recorded requests, faults, rate caps, answers.

`server.FakeServer` puts these together: every API request is recorded (arrival first,
outcome once answered), may be answered by an injected `Fault`, and is checked against
`RateCaps` modelled on the platform's published limits before the platform handler runs.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any, Literal

from aiohttp import web


class Outcome(StrEnum):
    """How the fake answered a recorded request."""

    PENDING = "pending"  # arrived, not answered yet (hanging, long-polling, in flight)
    OK = "ok"  # answered with success
    ERROR = "error"  # the fake's own API error (unknown method, bad params, not found...)
    RATE_LIMITED = "rate_limited"  # refused by a rate cap with HTTP 429
    FAULT = "fault"  # answered by an injected fault
    DROPPED = "dropped"  # connection closed without an answer


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request (Telegram sendPhoto) or a raw upload (Slack)."""

    field: str
    filename: str | None
    content_type: str | None
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)

    def to_json(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "filename": self.filename,
            "content_type": self.content_type,
            "size": self.size,
            "sha256": hashlib.sha256(self.data).hexdigest(),
        }


@dataclass
class RecordedRequest:
    """One API request as the fake saw it.

    `at` is `time.monotonic()` at arrival (use it for rates); `chat_id` is the chat or channel
    as a string (None when the method has none); `params` merges query string, form fields
    and JSON body, with JSON-typed fields decoded; `delivered` is True only for a request that
    put a new message into a chat (429s, faults and errors never count).
    """

    seq: int
    at: float
    wall: float
    method: str
    chat_id: str | None
    params: dict[str, Any]
    files: dict[str, UploadedFile]
    token: str | None
    http_status: int = 0
    response: Any = None
    outcome: Outcome = Outcome.PENDING
    delivered: bool = False
    cap: str | None = None  # the cap that refused it (outcome rate_limited)
    fault: str | None = None  # the injected fault's name
    client_gone: bool = False  # the client had hung up before the answer was written

    @property
    def text(self) -> str | None:
        """The message text (Telegram `text`/`caption`, Slack `text`), if any."""
        value = self.params.get("text", self.params.get("caption"))
        return None if value is None else str(value)

    def to_json(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "files"}
        out["files"] = {k: v.to_json() for k, v in self.files.items()}
        return out


@dataclass(frozen=True)
class Fault:
    """How to misbehave for one request.

    Applied in this order: wait `delay` seconds (`math.inf`: until the server stops); then
    close the connection without an answer if `drop`; else answer `status` with `body` (JSON,
    or text when a str) and `headers` if `status` is set; else handle the request normally
    (it may then be delivered although the client gave up: see `client_gone`).
    """

    name: str = "custom"
    status: int | None = None
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False


def hang(seconds: float | None = None, *, then: Literal["drop", "answer"] = "drop") -> Fault:
    """Answer nothing for `seconds` (None: until the server stops), then hang up or answer
    normally. Pick `seconds` longer than the client's read timeout."""
    delay = math.inf if seconds is None else float(seconds)
    return Fault(name="hang", delay=delay, drop=then == "drop")


def reset() -> Fault:
    """Abort the connection (TCP RST) as soon as the request has arrived."""
    return Fault(name="reset", drop=True)


@dataclass
class FaultRule:
    """An injected fault and where it applies: a chat (None: any), a method (None: any), and
    the next `times` matching requests (None: every one until cleared)."""

    fault: Fault
    chat_id: str | None = None
    method: str | None = None
    times: int | None = None
    hits: int = 0

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.hits >= self.times

    def matches(self, method: str, chat_id: str | None) -> bool:
        if self.exhausted:
            return False
        if self.method is not None and self.method.lower() != method.lower():
            return False
        return self.chat_id is None or self.chat_id == chat_id

    def to_json(self) -> dict[str, Any]:
        fault = {f.name: getattr(self.fault, f.name) for f in fields(self.fault)}
        fault["headers"] = dict(self.fault.headers)
        fault["delay"] = None if math.isinf(self.fault.delay) else self.fault.delay
        return {
            "fault": fault,
            "chat_id": self.chat_id,
            "method": self.method,
            "times": self.times,
            "hits": self.hits,
        }


class CapScope(StrEnum):
    """Which requests share a cap's window."""

    GLOBAL = "global"  # every counted request
    CHAT = "chat"  # per chat / channel
    GROUP = "group"  # per chat, only chats the platform calls groups


@dataclass
class Cap:
    """At most `limit` accepted requests in any trailing `window` seconds (platform time)."""

    name: str
    limit: int
    window: float
    scope: CapScope
    enabled: bool = True


@dataclass(frozen=True)
class CapHit:
    """A refusal: the cap that was full and the real seconds until it has room again."""

    cap: Cap
    wait: float

    @property
    def retry_after(self) -> int:
        """Whole seconds, at least 1, as the platforms report it."""
        return max(1, math.ceil(self.wait))


class RateCaps:
    """Sliding-window rate caps over the requests that were accepted (delivered).

    Only `counted_methods` count and are checked. `time_scale` speeds platform time up:
    with 10, a 1-second window lasts 0.1 real seconds (for benchmarks). Rejected requests do
    not enter the windows, so a client pacing at exactly the cap never sees a 429.
    """

    def __init__(
        self,
        caps: Iterable[Cap],
        *,
        counted_methods: Iterable[str],
        is_group: Callable[[str], bool] = lambda _chat: False,
        enabled: bool = True,
        time_scale: float = 1.0,
    ) -> None:
        self._caps = {cap.name: cap for cap in caps}
        self.counted_methods = frozenset(counted_methods)
        self._is_group = is_group
        self.enabled = enabled
        self.time_scale = time_scale
        self._windows: dict[tuple[str, str | None], deque[float]] = {}

    def __getitem__(self, name: str) -> Cap:
        return self._caps[name]

    def __iter__(self):
        return iter(self._caps.values())

    def set(
        self,
        name: str,
        *,
        limit: int | None = None,
        window: float | None = None,
        enabled: bool | None = None,
    ) -> Cap:
        """Change one cap (`fake.set_cap` forwards here)."""
        cap = self._caps[name]
        if limit is not None:
            cap.limit = limit
        if window is not None:
            cap.window = window
        if enabled is not None:
            cap.enabled = enabled
        return cap

    def counts(self, method: str) -> bool:
        return self.enabled and method in self.counted_methods

    def _key(self, cap: Cap, chat_id: str | None) -> tuple[str, str | None] | None:
        if cap.scope is CapScope.GLOBAL:
            return (cap.name, None)
        if chat_id is None:
            return None
        if cap.scope is CapScope.GROUP and not self._is_group(chat_id):
            return None
        return (cap.name, chat_id)

    def check(self, method: str, chat_id: str | None, now: float) -> CapHit | None:
        """The first full cap this request would exceed, or None."""
        if not self.counts(method):
            return None
        for cap in self._caps.values():
            key = self._key(cap, chat_id)
            if not cap.enabled or key is None or key not in self._windows:
                continue
            window = cap.window / self.time_scale
            times = self._windows[key]
            while times and times[0] <= now - window:
                times.popleft()
            if len(times) >= cap.limit:
                oldest_blocking = times[len(times) - cap.limit]
                # never 0: at the window's edge the float sum can round to 0 while the
                # request still counts as inside it
                return CapHit(cap, max(oldest_blocking + window - now, 1e-9))
        return None

    def note(self, method: str, chat_id: str | None, now: float) -> None:
        """Count an accepted request in every window it belongs to."""
        if not self.counts(method):
            return
        for cap in self._caps.values():
            key = self._key(cap, chat_id)
            if key is not None:
                self._windows.setdefault(key, deque()).append(now)

    def clear(self) -> None:
        self._windows.clear()


@dataclass(frozen=True)
class Answer:
    """What a handler answers: HTTP status, body (JSON value, str for text, bytes, or None)
    and headers; `delivered` when a new message reached a chat."""

    status: int
    body: Any
    headers: Mapping[str, str] = field(default_factory=dict)
    delivered: bool = False

    @property
    def ok(self) -> bool:
        if self.status >= 400:
            return False
        return not (isinstance(self.body, dict) and self.body.get("ok") is False)

    def to_response(self) -> web.Response:
        headers = dict(self.headers)
        if self.body is None:
            return web.Response(status=self.status, headers=headers)
        if isinstance(self.body, bytes):
            return web.Response(status=self.status, body=self.body, headers=headers)
        if isinstance(self.body, str):
            return web.Response(status=self.status, text=self.body, headers=headers)
        return web.json_response(self.body, status=self.status, headers=headers)


Handler = Callable[[dict[str, Any], dict[str, UploadedFile], RecordedRequest], Any]


async def read_params(request: web.Request) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
    """Merge query string, urlencoded or multipart form, and JSON body (an empty body is
    fine), as the platforms do. Raises ValueError on a malformed JSON body."""
    params: dict[str, Any] = dict(request.query.items())
    files: dict[str, UploadedFile] = {}
    ctype = request.content_type
    if ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                with value.file:
                    data = value.file.read()
                files[key] = UploadedFile(key, value.filename, value.content_type, data)
            else:
                params[key] = value
    elif request.can_read_body:
        raw = await request.read()
        if ctype not in ("application/json", "text/json", "application/octet-stream", ""):
            raise ValueError(f"unsupported content type {ctype}")
        if ctype == "application/octet-stream":
            files["body"] = UploadedFile("body", None, ctype, raw)
        elif raw.strip():
            try:
                body = json.loads(raw)
            except ValueError as exc:
                raise ValueError(f"body is not JSON ({ctype})") from exc
            if not isinstance(body, dict):
                raise ValueError("JSON body is not an object")
            params.update(body)
    return params, files


def decode_json_fields(params: dict[str, Any], names: Iterable[str]) -> None:
    """Decode fields that clients send JSON-encoded inside form values (reply_markup,
    blocks...), in place; leave a value alone when it is not valid JSON."""
    for name in names:
        value = params.get(name)
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                params[name] = json.loads(value)
