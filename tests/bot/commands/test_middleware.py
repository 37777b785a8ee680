"""Middleware: order of the chain, rate limit, allowlist, audit log and the one error path."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from bot.commands.context import CommandContext
from bot.commands.middleware import (
    Allowlist,
    AuditLog,
    ErrorBoundary,
    RateLimit,
    Request,
    compose,
    standard_middleware,
)
from bot.commands.parse import CommandRequest, ParseError
from bot.model.reply import MAX_ECHO, Reply
from tests.bot.commands_helpers import caller, context

OK = Reply(title="ok")


def ok_handler(request: Request, ctx: CommandContext) -> Reply:
    return OK


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_compose_runs_middleware_outermost_first() -> None:
    calls: list[str] = []

    def mark(name: str):
        def m(request: Request, ctx: CommandContext, next) -> Reply:
            calls.append(f"{name}>")
            reply = next(request, ctx)
            calls.append(f"<{name}")
            return reply

        return m

    def handler(request: Request, ctx: CommandContext) -> Reply:
        calls.append("handler")
        return OK

    run = compose([mark("a"), mark("b")], handler)
    assert run(CommandRequest("x"), context(None)) is OK
    assert calls == ["a>", "b>", "handler", "<b", "<a"]


# --- rate limit -------------------------------------------------------------------------------


def test_rate_limit_allows_a_burst_then_one_per_interval(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    limit = RateLimit(10, clock=clock)
    ctx = context(None, who=caller(user_id="u1"))
    run = compose([limit], ok_handler)
    assert all(run(CommandRequest("snapshot"), ctx) is OK for _ in range(10))
    with caplog.at_level(logging.WARNING, "rotation_bot.commands"):
        refused = run(CommandRequest("snapshot"), ctx)
    assert refused.is_error and "10 commands a minute" in refused.blocks[0]
    assert "6 s" in refused.blocks[0]  # one token every 6 s
    assert any("rate limited snapshot" in r.getMessage() for r in caplog.records)
    clock.t += 5.9
    assert run(CommandRequest("snapshot"), ctx).is_error
    clock.t += 0.2
    assert run(CommandRequest("snapshot"), ctx) is OK
    assert run(CommandRequest("snapshot"), ctx).is_error


def test_rate_limit_is_per_user_and_admins_are_exempt() -> None:
    clock = Clock()
    run = compose([RateLimit(2, clock=clock)], ok_handler)
    a, b = context(None, who=caller(user_id="a")), context(None, who=caller(user_id="b"))
    admin = context(None, who=caller(user_id="root", admin=True))
    for _ in range(2):
        assert run(CommandRequest("x"), a) is OK
    assert run(CommandRequest("x"), a).is_error
    assert run(CommandRequest("x"), b) is OK
    assert all(run(CommandRequest("x"), admin) is OK for _ in range(50))
    # the same user id on another platform is another person
    slack_a = context(None, who=caller(user_id="a", platform="slack"))
    assert run(CommandRequest("x"), slack_a) is OK


def test_rate_limit_counts_garbage_too() -> None:
    run = compose([RateLimit(1, clock=Clock())], ok_handler)
    ctx = context(None)
    assert run(ParseError("bad_name", "🚀", "🚀"), ctx) is OK
    assert run(ParseError("bad_name", "🚀", "🚀"), ctx).is_error


def test_rate_limit_memory_is_bounded() -> None:
    clock = Clock()
    limit = RateLimit(10, clock=clock, max_users=3)
    for i in range(3):
        limit.take(("telegram", str(i)))
    clock.t += 3600  # everyone idle: their buckets are full again and may be dropped
    limit.take(("telegram", "new"))
    assert len(limit._buckets) <= 3


def test_rate_limit_is_exact_under_threads() -> None:
    limit = RateLimit(50, clock=lambda: 5.0)  # frozen clock: exactly the burst is allowed
    barrier = threading.Barrier(8)

    def worker() -> int:
        barrier.wait()
        return sum(limit.take(("telegram", "same")) == 0.0 for _ in range(100))

    with ThreadPoolExecutor(8) as pool:
        allowed = sum(pool.map(lambda _: worker(), range(8)))
    assert allowed == 50


def test_rate_limit_rejects_a_zero_rate() -> None:
    with pytest.raises(ValueError):
        RateLimit(0)


# --- allowlist --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "allowed"),
    [
        (caller("group", chat_id="-100"), True),
        (caller("group", chat_id="-200"), False),
        (caller("private", chat_id="7"), False),
        (caller("private", chat_id="7", admin=True), True),  # an admin's own chat
        (caller("group", chat_id="-200", admin=True), False),  # an admin in an unlisted group
        (caller("group", platform="slack", chat_id="C1"), True),
        (caller("group", platform="slack", chat_id="-100"), False),
        (caller("group", platform="discord", chat_id="-100"), False),  # no entry: refused
        (caller("private", platform="console", chat_id="stdout"), True),
    ],
)
def test_allowlist(who, allowed: bool, caplog: pytest.LogCaptureFixture) -> None:
    run = compose([Allowlist({"telegram": ["-100"], "slack": ["C1"]})], ok_handler)
    with caplog.at_level(logging.WARNING, "rotation_bot.commands"):
        reply = run(CommandRequest("snapshot"), context(None, who=who))
    assert (reply is OK) is allowed
    if not allowed:
        assert reply.is_error and len(reply.blocks[0]) < 100
        assert any("not on the allowlist" in r.getMessage() for r in caplog.records)


# --- audit log --------------------------------------------------------------------------------


def test_audit_logs_one_line_per_command_with_cut_arguments(
    caplog: pytest.LogCaptureFixture,
) -> None:
    run = compose([AuditLog()], ok_handler)
    req = CommandRequest("sector", ("x" * 5000, "line\nbreak"))
    with caplog.at_level(logging.INFO, "rotation_bot.audit"):
        run(req, context(None, who=caller("group", chat_id="-100", user_id="77")))
    (record,) = [r for r in caplog.records if r.name == "rotation_bot.audit"]
    line = record.getMessage()
    assert "command=sector" in line and "chat=-100" in line and "user=77" in line
    assert "outcome=ok" in line and "latency_ms=" in line
    assert "\n" not in line
    assert "x" * (MAX_ECHO + 1) not in line


def test_audit_logs_the_outcome_of_an_exception_and_lets_it_through(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def boom(request: Request, ctx: CommandContext) -> Reply:
        raise RuntimeError("boom")

    run = compose([AuditLog()], boom)
    with caplog.at_level(logging.INFO, "rotation_bot.audit"), pytest.raises(RuntimeError):
        run(CommandRequest("snapshot"), context(None))
    assert "outcome=exception" in caplog.records[-1].getMessage()


# --- the one error path -----------------------------------------------------------------------


def test_error_boundary_turns_an_exception_into_a_logged_apology(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def boom(request: Request, ctx: CommandContext) -> Reply:
        raise KeyError("secret detail")

    run = compose([ErrorBoundary()], boom)
    with caplog.at_level(logging.ERROR, "rotation_bot.commands"):
        reply = run(CommandRequest("snapshot"), context(None))
    assert reply.is_error and "Sorry" in reply.title
    assert "secret detail" not in "".join(reply.text_fields())
    (record,) = caplog.records
    assert record.exc_info is not None and "command snapshot failed" in record.getMessage()
    ref = record.getMessage().split("(ref ")[1][:8]
    assert ref in reply.blocks[0]  # the user can quote it to the operator


def test_error_boundary_refuses_a_non_reply() -> None:
    run = compose([ErrorBoundary()], lambda r, c: "text")  # type: ignore[arg-type,return-value]
    assert run(CommandRequest("x"), context(None)).is_error


def test_error_boundary_lets_base_exceptions_through() -> None:
    def interrupt(request: Request, ctx: CommandContext) -> Reply:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        compose([ErrorBoundary()], interrupt)(CommandRequest("x"), context(None))


def test_standard_middleware() -> None:
    chain = standard_middleware(allowlist={"telegram": ["1"]}, per_minute=5)
    assert [type(m) for m in chain] == [AuditLog, Allowlist, RateLimit]
    assert [type(m) for m in standard_middleware(per_minute=None)] == [AuditLog]
