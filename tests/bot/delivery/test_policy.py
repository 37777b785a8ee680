"""RetryPolicy: what each failure leads to, computed by hand."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from bot.config.delivery import DeliverySettings
from bot.delivery.policy import RetryPolicy
from bot.model.errors import DeliveryError
from bot.model.redact import register_secret

T0 = datetime(2026, 3, 2, 21, 0, tzinfo=UTC)


def policy(max_age: float = 3600, seed: int = 3) -> RetryPolicy:
    cfg = DeliverySettings(backoff_base=2.0, backoff_max=30.0)
    return RetryPolicy(cfg, timedelta(seconds=max_age), random.Random(seed))


def test_backoff_doubles_from_the_base_with_jitter_and_a_cap() -> None:
    p, rng = policy(), random.Random(3)
    for n, cap in [(1, 2.0), (2, 4.0), (3, 8.0), (4, 16.0), (5, 30.0), (40, 30.0)]:
        assert p.backoff(n) == cap * rng.uniform(0.5, 1.0)


def test_plans() -> None:
    p = policy()
    now = T0 + timedelta(seconds=10)
    kw = {"attempts": 2, "created_at": T0, "now": now}
    refused = p.plan(DeliveryError("refused (403): blocked", permanent=True), **kw)
    assert (refused.action, refused.attempts, refused.at) == ("disable", 3, None)
    limited = p.plan(DeliveryError("429", retry_after=7), **kw)
    assert (limited.action, limited.attempts) == ("defer", 2)  # not counted
    assert limited.at == now + timedelta(seconds=7)
    failed = p.plan(DeliveryError("500"), **kw)
    assert failed.action == "retry" and failed.attempts == 3
    assert 4.0 <= failed.delay <= 8.0 and failed.at == now + timedelta(seconds=failed.delay)


def test_a_retry_past_max_age_is_a_dead_letter() -> None:
    p = policy(max_age=60)
    late = T0 + timedelta(seconds=58)
    plan = p.plan(DeliveryError("429", retry_after=5), attempts=0, created_at=T0, now=late)
    assert plan.action == "dead"
    plan = p.plan(DeliveryError("429", retry_after=1), attempts=0, created_at=T0, now=late)
    assert plan.action == "defer"


def test_errors_are_stored_without_tokens() -> None:
    register_secret("123456:secret-token-for-policy")
    plan = policy().plan(
        DeliveryError("POST /bot123456:secret-token-for-policy/sendMessage failed"),
        attempts=0,
        created_at=T0,
        now=T0,
    )
    assert "secret-token" not in plan.error and "***" in plan.error
