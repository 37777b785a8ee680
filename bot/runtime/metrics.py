"""Prometheus metrics of one running bot (a registry per app, so tests never collide)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from bot.commands import Handler, Request, request_name
from bot.model import Reply

if TYPE_CHECKING:
    from bot.alerts import EvaluationResult
    from bot.commands import CommandContext
    from bot.delivery import DeliveryReport
    from bot.storage import QueueCounts


class BotMetrics:
    """evaluations, alerts, deliveries by outcome, queue depth, data age, command latency."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.evaluations = Counter(
            "rotation_bot_evaluations", "Evaluations by outcome", ["outcome"], registry=r
        )
        self.alerts = Counter(
            "rotation_bot_alerts", "Alerts recorded by transition", ["transition"], registry=r
        )
        self.deliveries = Counter(
            "rotation_bot_deliveries", "Delivery attempts by outcome", ["outcome"], registry=r
        )
        self.queue = Gauge("rotation_bot_outbox", "Outbox rows by state", ["state"], registry=r)
        self.data_age = Gauge(
            "rotation_bot_data_age_sessions",
            "NYSE sessions between the last evaluation's as-of and its data",
            registry=r,
        )
        self.coverage = Gauge(
            "rotation_bot_coverage_ratio", "Member coverage at the last evaluation", registry=r
        )
        self.last_evaluation = Gauge(
            "rotation_bot_last_evaluation_timestamp_seconds",
            "Unix time of the last evaluation",
            registry=r,
        )
        self.role = Gauge(
            "rotation_bot_role",
            "1 for this replica's role: leader (scheduled jobs, delivery) or follower",
            ["role"],
            registry=r,
        )
        self.command_latency = Histogram(
            "rotation_bot_command_latency_seconds",
            "Time to answer a chat command",
            ["command"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=r,
        )

    def observe_evaluation(self, result: EvaluationResult) -> None:
        self.evaluations.labels(result.outcome).inc()
        for item in result.alerts:
            self.alerts.labels(item.transition).inc()
        if result.check is not None:
            self.data_age.set(result.check.stale_sessions)
            if result.check.coverage is not None:
                self.coverage.set(result.check.coverage)
        self.last_evaluation.set(time.time())

    def observe_delivery(self, report: DeliveryReport) -> None:
        for outcome in ("delivered", "retried", "deferred", "dead", "cancelled", "disabled"):
            n = getattr(report, outcome, 0)
            if n:
                self.deliveries.labels(outcome).inc(n)
        self.observe_queue(report.counts)

    def observe_queue(self, counts: QueueCounts) -> None:
        for state in ("pending", "retrying", "sending", "delivered", "dead", "cancelled"):
            self.queue.labels(state).set(getattr(counts, state))

    def observe_role(self, role: str) -> None:
        """1 for this process's role ("leader" or "follower"), 0 for the other."""
        for name in ("leader", "follower"):
            self.role.labels(name).set(1 if name == role else 0)

    def command_timer(self, request: Request, ctx: CommandContext, next: Handler) -> Reply:
        """Middleware: time every command (the latency people feel, refusals included)."""
        start = time.perf_counter()
        try:
            return next(request, ctx)
        finally:
            self.command_latency.labels(request_name(request)[:32]).observe(
                time.perf_counter() - start
            )
