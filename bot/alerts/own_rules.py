"""A chat's own rules as the engine and the `alert` command see them: subject, rule, series.

An own rule reads one series, its *subject*: a signal (or detail) of the history, a ticker's
close, or the spread of two tickers' returns over a lookback (`XLE vs XLK 3m`, in pp). The
stored spec holds the subject and the keys of `RuleSpec.from_dict`; the rule's own signal
path is the placeholder `subject`, whose series `subject_series` builds from the history or
the price panel. So the engine steps an own rule with the same `step` as a configured one,
and a backtest folds the same `step` over the same series.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

import numpy as np
import pandas as pd

from bot.render import format_number
from signals.forward_returns import forward_return_panel, summarize
from signals.indicators import SignalHistory
from signals.market import MarketData
from signals.periods import LOOKBACKS
from signals.rules import RuleSpec, evaluate

#: the signal path every own rule reads (its subject's series)
SUBJECT = "subject"
#: forward horizons of the backtest a new rule is answered with: 1 m and 3 m of SPY
FORWARD = (("1m", 21), ("3m", 63))
SubjectKind = Literal["signal", "close", "relative"]


@dataclass(frozen=True)
class Subject:
    """What an own rule watches: `kind` signal (`name` a signal path), close (`name` a
    ticker) or relative (`name` vs `other` over the lookback `window`, in pp)."""

    kind: SubjectKind
    name: str
    other: str | None = None
    window: str | None = None

    @property
    def text(self) -> str:
        """The subject as the canonical rule text writes it."""
        if self.kind == "relative":
            return f"{self.name} vs {self.other} {self.window}"
        return self.name

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "other": self.other, "window": self.window}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Subject:
        kind = d["kind"]
        if kind not in ("signal", "close", "relative"):
            raise ValueError(f"unknown subject kind {kind!r}")
        return cls(kind, str(d["name"]), d.get("other"), d.get("window"))


@dataclass(frozen=True)
class OwnRule:
    """A stored spec made usable: the subject and the rule (its id: `rule_id`)."""

    subject: Subject
    rule: RuleSpec

    @property
    def threshold(self) -> float:
        """The level the rule compares with (a crossing's threshold, a level test's)."""
        if self.rule.conditions:
            return float(self.rule.conditions[0].threshold)
        assert self.rule.threshold is not None  # a crossing always has one
        return float(self.rule.threshold)

    def holds(self, value: float | None) -> bool | None:
        """Whether the condition holds at `value` (None: no value): past the threshold for
        a crossing (>= / <=), the level test itself (> / <) for above and below."""
        if value is None or not np.isfinite(value):
            return None
        if self.rule.conditions:
            return bool(self.rule.conditions[0].holds(value))
        if self.rule.op == "crosses_above":
            return value >= self.threshold
        return value <= self.threshold

    def input_value(self, value: float) -> object:
        """The value `step` takes for one session (a mapping for a level test)."""
        return {SUBJECT: value} if self.rule.conditions else value


def own_rule_spec(
    subject: Subject,
    op: str,
    value: float,
    *,
    clear: float | None = None,
    confirm: int | None = None,
    cooldown: int | None = None,
) -> dict[str, Any]:
    """The spec to store: `op` above/below is a level test (one `all` condition, firing while
    it holds), crosses_above/crosses_below a crossing. Keys not given are left out, so they
    take the rules' defaults; an own rule always announces its resolve."""
    rule: dict[str, Any] = {"notify_resolved": True}
    if op.startswith("crosses"):
        rule.update(signal=SUBJECT, op=op, threshold=value)
        if clear is not None:
            rule["clear"] = clear
    else:
        condition: dict[str, Any] = {"signal": SUBJECT, "op": op, "threshold": value}
        if clear is not None:
            condition["clear"] = clear
        rule["all"] = [condition]
    if confirm is not None:
        rule["confirm"] = confirm
    if cooldown is not None:
        rule["cooldown_days"] = cooldown
    return {"subject": subject.to_json(), "rule": rule}


def own_rule(rule_id: str, spec: Mapping[str, Any]) -> OwnRule:
    """The rule a stored spec describes (ValueError or `RuleConfigError` if it is damaged)."""
    subject = Subject.from_json(spec["subject"])
    return OwnRule(subject, RuleSpec.from_dict({"id": rule_id, **spec["rule"]}))


def subject_series(subject: Subject, history: SignalHistory, data: MarketData) -> pd.Series:
    """The subject's value on every session (NaN where it has none)."""
    if subject.kind == "signal":
        return history.series(subject.name).astype(float)
    closes = data.closes
    if subject.kind == "close":
        if subject.name not in closes.columns:
            return pd.Series(np.nan, index=closes.index, dtype=float)
        return closes[subject.name].astype(float)
    k = LOOKBACKS[subject.window or "3m"]
    a, b = closes.get(subject.name), closes.get(subject.other)
    if a is None or b is None:
        return pd.Series(np.nan, index=closes.index, dtype=float)
    ra = a / a.shift(k) - 1.0
    rb = b / b.shift(k) - 1.0
    return (100.0 * (ra - rb)).astype(float)


class SubjectSeries:
    """Each subject's series built once per evaluation (rules sharing a subject share it)."""

    def __init__(self, history: SignalHistory, data: MarketData) -> None:
        self._history = history
        self._data = data
        self._cache: dict[Subject, pd.Series] = {}

    def series(self, subject: Subject) -> pd.Series:
        if subject not in self._cache:
            self._cache[subject] = subject_series(subject, self._history, self._data)
        return self._cache[subject]

    def value(self, subject: Subject, session: pd.Timestamp) -> float:
        v = self.series(subject).get(session, np.nan)
        return float(v) if v is not None and pd.notna(v) else float("nan")


def alert_message(number: int, text: str, value: float | None) -> str:
    """What the chat reads when its rule fires or resolves."""
    return f"your alert #{number}: {text} (now {format_number(value)})"


@dataclass(frozen=True)
class OwnBacktest:
    """A rule replayed over the history: its firings and what SPY did after them."""

    start: date
    end: date
    fired: tuple[date, ...]
    #: horizon name ("1m", "3m") -> (median after a firing, base rate median), percent
    forward: dict[str, tuple[float | None, float | None]]

    @property
    def per_year(self) -> float:
        years = max((self.end - self.start).days / 365.25, 1e-9)
        return len(self.fired) / years


def own_rule_backtest(own: OwnRule, series: pd.Series, closes: pd.DataFrame) -> OwnBacktest:
    """Fold the rule over `series` (the first session with a value is its silent reference,
    as at a first start) and measure SPY's forward returns after each firing."""
    first = series.first_valid_index()
    if first is None:
        return OwnBacktest(date.min, date.min, (), {h: (None, None) for h, _ in FORWARD})
    series = series.loc[first:]  # a missing session later on stays a row: it counts
    data: pd.Series | pd.DataFrame = series
    if own.rule.conditions:
        data = series.to_frame(SUBJECT)
    run = evaluate(own.rule, data)
    fired = tuple(e.session for e in run.fired)
    start, end = pd.Timestamp(str(first)), pd.Timestamp(str(series.index[-1]))
    panel = forward_return_panel(
        closes.loc[:end], tickers=("SPY",), horizons=tuple(k for _, k in FORWARD)
    )
    stats = summarize(panel, [pd.Timestamp(d) for d in fired], start, end)
    forward = {
        name: (stats[f"SPY_{k}"]["events"]["median"], stats[f"SPY_{k}"]["base_rate"]["median"])
        for name, k in FORWARD
    }
    return OwnBacktest(start.date(), end.date(), fired, forward)
