"""Trailing-twelve-month figures from XBRL duration facts, point in time.

A 10-K reports the fiscal year; a 10-Q reports the year to date (3, 6 or 9 months from the
fiscal year's start) beside the same span a year earlier. So on any day

    TTM = last fiscal year + current year to date − prior year's same span

(just the fiscal year when the newest period is the year itself). Each fact is used only from
its `filed` date, and a later filing of the same span (a restatement, or the comparative in
next year's report) replaces the value from its own filed date on, never before. When the
newest span cannot be completed (a comparative the company never reported) the TTM is
unavailable (NaN) from that filing until one makes it computable: an older TTM would describe
a period the market has already moved past, and nothing is invented.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from signals.sources.fundamentals.observations import Observation, day

#: Forms whose facts count (amendments restate).
FORMS = ("10-K", "10-Q", "10-K/A", "10-Q/A", "10-KT", "10-KT/A")
#: A fiscal year lasts 52 or 53 weeks or a calendar year.
YEAR_DAYS = (350, 380)
#: Slack between spans for 52/53-week fiscal calendars.
SLACK = pd.Timedelta(days=7)


@dataclass(frozen=True)
class Fact:
    """One reported duration figure: the span `start`..`end` (inclusive) and when it was filed."""

    start: pd.Timestamp
    end: pd.Timestamp
    value: float
    filed: pd.Timestamp
    form: str
    accn: str

    @property
    def days(self) -> int:
        return int((self.end - self.start).days) + 1

    @property
    def annual(self) -> bool:
        return YEAR_DAYS[0] <= self.days <= YEAR_DAYS[1]


def parse_facts(rows: Iterable[Mapping[str, Any]]) -> list[Fact]:
    """Duration facts of 10-K / 10-Q filings from a company-facts unit list.

    Instant facts (no `start`) and other forms are skipped. Raises ValueError on a row that
    lacks a field or whose date or value cannot be read (a malformed answer).
    """
    out: list[Fact] = []
    for row in rows:
        if not isinstance(row, Mapping):
            raise ValueError(f"fact is not an object: {row!r}")
        if "start" not in row or str(row.get("form", "")) not in FORMS:
            continue
        try:
            value = float(row["val"])
            fact = Fact(
                day(row["start"]),
                day(row["end"]),
                value,
                day(row["filed"]),
                str(row["form"]),
                str(row.get("accn", "")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"unreadable fact {dict(row)!r}: {exc}") from None
        if math.isfinite(value) and fact.end >= fact.start:
            out.append(fact)
    return out


def ttm_from(
    known: Mapping[tuple[pd.Timestamp, pd.Timestamp], float],
) -> tuple[float, pd.Timestamp] | None:
    """(TTM, period end) from the spans known on one day (span -> value); None with no span.

    The newest period end decides: a fiscal year ending there is the TTM; else a year to
    date ending there, completed by the fiscal year just before it and that year's same span.
    """
    if not known:
        return None
    end = max(e for _, e in known)
    candidates = sorted(
        ((s, e) for s, e in known if e == end), key=lambda se: se[0]
    )  # longest span first
    for start, _ in candidates:
        days = (end - start).days + 1
        if YEAR_DAYS[0] <= days <= YEAR_DAYS[1]:
            return known[(start, end)], end
    for start, _ in candidates:
        if (end - start).days + 1 > YEAR_DAYS[1]:
            continue
        year = _span(known, ends_near=start - pd.Timedelta(days=1), annual=True)
        if year is None:
            continue
        prior = _span(
            known,
            starts_near=year[0],
            ends_near=end - pd.DateOffset(years=1),
            annual=False,
        )
        if prior is None:
            continue
        return known[year] + known[(start, end)] - known[prior], end
    return math.nan, end


def _span(
    known: Mapping[tuple[pd.Timestamp, pd.Timestamp], float],
    *,
    ends_near: pd.Timestamp,
    annual: bool,
    starts_near: pd.Timestamp | None = None,
) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """The known span ending within SLACK of `ends_near` (and starting near `starts_near`),
    a fiscal year or not; the closest end wins."""
    best: tuple[pd.Timestamp, pd.Timestamp] | None = None
    for s, e in known:
        days = (e - s).days + 1
        if (YEAR_DAYS[0] <= days <= YEAR_DAYS[1]) != annual:
            continue
        if abs(e - ends_near) > SLACK:
            continue
        if starts_near is not None and abs(s - starts_near) > SLACK:
            continue
        if best is None or abs(e - ends_near) < abs(best[1] - ends_near):
            best = (s, e)
    return best


def ttm_observations(
    facts: Iterable[Fact], series: str, *, unit: str = "USD", source: str = "sec"
) -> list[Observation]:
    """The TTM as it stood after each filing day, one observation per change.

    A filing that leaves the TTM and its period end as they were adds nothing, so each
    observation's `published` is the day its value first became known.
    """
    ordered = sorted(facts, key=lambda f: (f.filed, f.accn))
    known: dict[tuple[pd.Timestamp, pd.Timestamp], float] = {}
    out: list[Observation] = []
    last: tuple[float, pd.Timestamp] | None = None
    i = 0
    while i < len(ordered):
        filed = ordered[i].filed
        while i < len(ordered) and ordered[i].filed == filed:
            fact = ordered[i]
            known[(fact.start, fact.end)] = fact.value  # a later filing of a span replaces it
            i += 1
        now = ttm_from(known)
        if now is None or _same(now, last):
            continue
        last = now
        out.append(Observation(series, now[0], unit, source, now[1], filed))
    return out


def _same(a: tuple[float, pd.Timestamp], b: tuple[float, pd.Timestamp] | None) -> bool:
    if b is None or a[1] != b[1]:
        return False
    if math.isnan(a[0]) or math.isnan(b[0]):
        return math.isnan(a[0]) and math.isnan(b[0])
    return a[0] == b[0]


@dataclass(frozen=True)
class Restatement:
    """A later filing reporting a different value for a span already reported."""

    start: pd.Timestamp
    end: pd.Timestamp
    old: float
    new: float
    filed: pd.Timestamp
    form: str


def restatements(facts: Iterable[Fact]) -> list[Restatement]:
    """Every change of a span's value by a later filing, in filing order (what
    `ttm_observations` applies from each filing's date on)."""
    known: dict[tuple[pd.Timestamp, pd.Timestamp], Fact] = {}
    out: list[Restatement] = []
    for fact in sorted(facts, key=lambda f: (f.filed, f.accn)):
        span = (fact.start, fact.end)
        before = known.get(span)
        if before is not None and before.filed < fact.filed and before.value != fact.value:
            out.append(
                Restatement(fact.start, fact.end, before.value, fact.value, fact.filed, fact.form)
            )
        known[span] = fact
    return out
