"""Cross-cutting concerns around every command: allowlist, rate limit, audit log, error path.

Each middleware is a callable `(request, ctx, next) -> Reply` (bolt-python's shape):
it may answer by itself (a refusal) or call `next`. A `Dispatcher` (`bot.commands.table`)
holds the chain, outermost first, around the command table and always wraps it in
`ErrorBoundary`, the one place where an unexpected exception becomes a logged traceback and a
short apology. Command code never checks chats, rates or exceptions itself.

Everything here is thread-safe: commands run in `asyncio.to_thread` workers.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.commands.context import CommandContext
from bot.commands.parse import CommandRequest, ParseError
from bot.model import Reply, echo
from bot.render import texts as T

log = logging.getLogger("rotation_bot.commands")
audit_log = logging.getLogger("rotation_bot.audit")

Request = CommandRequest | ParseError
Handler = Callable[[Request, CommandContext], Reply]


class Middleware(Protocol):
    def __call__(self, request: Request, ctx: CommandContext, next: Handler) -> Reply: ...


def compose(middleware: Sequence[Middleware], handler: Handler) -> Handler:
    """`handler` wrapped by `middleware`, the first one outermost."""
    wrapped = handler
    for m in reversed(middleware):
        wrapped = _bind(m, wrapped)
    return wrapped


def _bind(m: Middleware, nxt: Handler) -> Handler:
    def call(request: Request, ctx: CommandContext) -> Reply:
        return m(request, ctx, nxt)

    return call


def request_name(request: Request) -> str:
    return request.name if isinstance(request, CommandRequest) else f"({request.reason})"


def request_args(request: Request) -> str:
    """The arguments as a log may show them: one line, at most 50 characters."""
    if isinstance(request, CommandRequest):
        return echo(" ".join(request.args))
    return echo(request.raw)


class ErrorBoundary:
    """The one error path: an exception escaping a command or a middleware is
    logged with its traceback and a reference, and the user gets a short apology."""

    def __call__(self, request: Request, ctx: CommandContext, next: Handler) -> Reply:
        try:
            reply = next(request, ctx)
            if not isinstance(reply, Reply):
                raise TypeError(f"command returned {type(reply).__name__}, not a Reply")
            return reply
        # Broad on purpose: this is the chat loop's last line of defence. Any bug in any
        # command (a KeyError in a detail, a database hiccup) must cost one apology, never the
        # adapter's task. BaseException (KeyboardInterrupt, SystemExit, CancelledError) passes.
        except Exception:
            ref = secrets.token_hex(4)
            log.exception(
                "command %s failed (ref %s) platform=%s chat=%s user=%s args=%r",
                request_name(request),
                ref,
                ctx.caller.platform,
                echo(ctx.caller.chat_id),
                echo(ctx.caller.user_id),
                request_args(request),
            )
            return Reply(title=T.APOLOGY_TITLE, blocks=(T.APOLOGY.format(ref=ref),), is_error=True)


class AuditLog:
    """One log line per command: who, where, what (arguments cut to 50 characters), outcome
    and latency. No tokens or message bodies beyond that."""

    def __init__(
        self, logger: logging.Logger = audit_log, clock: Callable[[], float] = time.perf_counter
    ) -> None:
        self._log = logger
        self._clock = clock

    def __call__(self, request: Request, ctx: CommandContext, next: Handler) -> Reply:
        start = self._clock()
        outcome = "exception"
        try:
            reply = next(request, ctx)
            outcome = "refused_or_error" if reply.is_error else "ok"
            return reply
        finally:
            c = ctx.caller
            self._log.info(
                "command=%s args=%r platform=%s chat=%s chat_type=%s user=%s admin=%s "
                "outcome=%s latency_ms=%.1f",
                request_name(request),
                request_args(request),
                c.platform,
                echo(c.chat_id),
                c.chat_type,
                echo(c.user_id),
                c.is_admin,
                outcome,
                (self._clock() - start) * 1000.0,
            )


class Allowlist:
    """Only listed chats may use the bot.

    chats: platform -> chat ids. A platform without an entry is refused entirely (an
    allowlist is a deliberate restriction, so what it does not name is out). Always allowed:
    the console, and an admin's private chat with the bot.
    """

    def __init__(self, chats: Mapping[str, Collection[str]]) -> None:
        self._chats = {p: frozenset(str(c) for c in ids) for p, ids in chats.items()}

    def allows(self, ctx: CommandContext) -> bool:
        c = ctx.caller
        if c.platform == "console" or (c.is_admin and c.chat_type == "private"):
            return True
        return c.chat_id in self._chats.get(c.platform, frozenset())

    def __call__(self, request: Request, ctx: CommandContext, next: Handler) -> Reply:
        if self.allows(ctx):
            return next(request, ctx)
        log.warning(
            "refused %s: chat %s/%s is not on the allowlist (user %s)",
            request_name(request),
            ctx.caller.platform,
            echo(ctx.caller.chat_id),
            echo(ctx.caller.user_id),
        )
        return Reply(title=T.NOT_ALLOWED_TITLE, blocks=(T.NOT_ALLOWED,), is_error=True)


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class RateLimit:
    """Per-user token bucket: `per_minute` commands a minute, bursts up to `burst`.

    Keyed by (platform, user id), so one noisy user cannot starve a group. Admins are exempt
    (the console user is an admin and may pipe many commands). Memory is bounded: when more
    than `max_users` buckets exist, the full (idle) ones are dropped.
    """

    def __init__(
        self,
        per_minute: float = 10.0,
        burst: int | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        exempt_admins: bool = True,
        max_users: int = 10_000,
    ) -> None:
        if per_minute <= 0:
            raise ValueError("per_minute must be positive")
        self.per_minute = per_minute
        self.capacity = float(burst if burst is not None else max(1, int(per_minute)))
        self._rate = per_minute / 60.0
        self._clock = clock
        self._exempt_admins = exempt_admins
        self._max_users = max_users
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, str], _Bucket] = {}

    def take(self, key: tuple[str, str]) -> float:
        """Spend one token for `key`: 0.0 when allowed, else the seconds until one is free."""
        now = self._clock()
        with self._lock:
            b = self._buckets.get(key)
            if b is None:
                if len(self._buckets) >= self._max_users:
                    self._prune(now)
                b = self._buckets[key] = _Bucket(self.capacity, now)
            b.tokens = min(self.capacity, b.tokens + (now - b.stamp) * self._rate)
            b.stamp = now
            if b.tokens >= 1.0:
                b.tokens -= 1.0
                return 0.0
            return (1.0 - b.tokens) / self._rate

    def _prune(self, now: float) -> None:
        full = [
            k
            for k, b in self._buckets.items()
            if b.tokens + (now - b.stamp) * self._rate >= self.capacity
        ]
        for k in full:
            del self._buckets[k]

    def __call__(self, request: Request, ctx: CommandContext, next: Handler) -> Reply:
        c = ctx.caller
        if self._exempt_admins and c.is_admin:
            return next(request, ctx)
        wait = self.take((c.platform, c.user_id))
        if wait == 0.0:
            return next(request, ctx)
        log.warning(
            "rate limited %s: user %s/%s in chat %s (retry in %.0f s)",
            request_name(request),
            c.platform,
            echo(c.user_id),
            echo(c.chat_id),
            wait,
        )
        return Reply(
            title=T.RATE_LIMITED_TITLE,
            blocks=(T.RATE_LIMITED.format(n=f"{self.per_minute:g}", seconds=max(1, round(wait))),),
            is_error=True,
        )


def standard_middleware(
    *,
    allowlist: Mapping[str, Collection[str]] | None = None,
    per_minute: float | None = 10.0,
    clock: Callable[[], float] = time.monotonic,
) -> tuple[Middleware, ...]:
    """The usual chain: audit outermost (it times and logs refusals too), then the allowlist
    (when configured), then the rate limit (when `per_minute` is not None)."""
    chain: list[Middleware] = [AuditLog()]
    if allowlist is not None:
        chain.append(Allowlist(allowlist))
    if per_minute is not None:
        chain.append(RateLimit(per_minute, clock=clock))
    return tuple(chain)
