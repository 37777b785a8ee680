"""FRED series through the public CSV download (no API key).

`fredgraph.csv?id=USNIM` answers two columns: the observation date (headed
``observation_date``; older files said ``DATE``) and the series id, one row per period, the
date being the first day of the period (2025-04-01 is 2025Q2); a missing value is empty (or
``.`` in older files). The file says when a period was observed, not when its figure was
published, so each series carries a publication lag: the figure is taken as public
`lag_days` after its period end. Vintages (ALFRED's release dates) are not read: the
``realtime_start`` / ``vintage_dates`` parameters need an API key and the FRED API.

USNIM (net interest margin of all US banks, FFIEC call reports): call reports are due 30 days
after the quarter (35 for banks with foreign offices), and the aggregate appears about eight
weeks after the quarter end (the FDIC's Quarterly Banking Profile comes out in the last week
of the second month). 60 days errs late: a figure used a few days after it was public costs
little, one used before it was public is look-ahead.
"""

from __future__ import annotations

import csv
import io
import logging
import math
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from signals.sources.fundamentals.http import FetchError, RateLimiter, http_get
from signals.sources.fundamentals.observations import Observation, day

log = logging.getLogger("signals.sources.fred")

FRED_CSV_URL = "https://fred.stlouisfed.org/graph/fredgraph.csv"
SOURCE = "fred"
_PERIOD_ENDS = {
    "quarterly": pd.offsets.QuarterEnd(0),
    "monthly": pd.offsets.MonthEnd(0),
    "annual": pd.offsets.YearEnd(0),
}


@dataclass(frozen=True)
class FredSeries:
    """A FRED series mapped to one of the bot's series, with its publication lag.

    frequency: quarterly | monthly | annual | daily (the period an observation date opens).
    lag_days: days from the period end to the day the figure is taken as public.
    """

    series: str
    fred_id: str
    unit: str
    frequency: str
    lag_days: int

    def period_end(self, observed: pd.Timestamp) -> pd.Timestamp:
        offset = _PERIOD_ENDS.get(self.frequency)
        return observed if offset is None else day(observed + offset)


#: USNIM, quarterly, in percent; public 60 days after the quarter end (see the module doc).
BANK_NIM = FredSeries("bank_nim", "USNIM", "%", "quarterly", 60)
DEFAULT_FRED_SERIES: tuple[FredSeries, ...] = (BANK_NIM,)


def parse_fred_csv(text: str, fred_id: str) -> list[tuple[pd.Timestamp, float]]:
    """(observation date, value) rows of a fredgraph.csv answer; missing values skipped.

    Raises ValueError with one line on anything else: another layout, an unparsable date or
    value, or no value at all.
    """
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or len(rows[0]) < 2:
        raise ValueError("not a FRED CSV (expected a date column and a value column)")
    header = [h.strip() for h in rows[0]]
    if header[0].lower() not in ("observation_date", "date"):
        raise ValueError(f"not a FRED CSV (first column {header[0]!r})")
    if fred_id not in header[1:]:
        raise ValueError(f"no column {fred_id!r} (columns: {', '.join(header)})")
    col = header.index(fred_id)
    out: list[tuple[pd.Timestamp, float]] = []
    for line, row in enumerate(rows[1:], start=2):
        if not row or not "".join(row).strip():
            continue
        raw = row[col].strip() if col < len(row) else ""
        if raw in ("", "."):
            continue
        try:
            observed = day(row[0].strip())
            value = float(raw)
        except ValueError:
            raise ValueError(f"line {line}: cannot read {row!r}") from None
        if not math.isfinite(value):
            raise ValueError(f"line {line}: value {raw!r} is not a number")
        out.append((observed, value))
    if not out:
        raise ValueError(f"no value for {fred_id}")
    return out


class FredSource:
    """Fetches FRED series as point-in-time observations, keeping the last good answer.

    base_url: the fredgraph.csv address (tests point it at a fake server).
    cache_dir: where the last good answer of each series is kept, so a failed fetch after a
        restart still has it (None: in memory only).
    user_agent: sent with each request (FRED's front end turns away some default clients).
    """

    name = SOURCE

    def __init__(
        self,
        series: Sequence[FredSeries] = DEFAULT_FRED_SERIES,
        *,
        base_url: str = FRED_CSV_URL,
        cache_dir: Path | None = None,
        timeout: float = 30.0,
        limiter: RateLimiter | None = None,
        user_agent: str = "rotation-bot",
    ) -> None:
        self.series = tuple(series)
        self.user_agent = user_agent
        self.base_url = base_url
        self.cache_dir = None if cache_dir is None else Path(cache_dir) / "fred"
        self.timeout = timeout
        self.limiter = limiter
        self._last: dict[str, str] = {}

    def url(self, spec: FredSeries) -> str:
        return f"{self.base_url}?{urllib.parse.urlencode({'id': spec.fred_id})}"

    def fetch(self) -> dict[str, list[Observation]]:
        """Every configured series: series id -> observations, oldest first. A series whose
        fetch fails keeps its last good answer (one warning); with none it is left out."""
        out: dict[str, list[Observation]] = {}
        for spec in self.series:
            rows = self._rows(spec)
            if rows is not None:
                out[spec.series] = [self._observation(spec, d, v) for d, v in rows]
        return out

    def _observation(self, spec: FredSeries, observed: pd.Timestamp, value: float) -> Observation:
        end = spec.period_end(observed)
        published = end + pd.Timedelta(days=spec.lag_days)
        return Observation(spec.series, value, spec.unit, SOURCE, end, published)

    def _rows(self, spec: FredSeries) -> list[tuple[pd.Timestamp, float]] | None:
        url = self.url(spec)
        try:
            headers = {"User-Agent": self.user_agent}
            answer = http_get(url, headers=headers, limiter=self.limiter, timeout=self.timeout)
            text = answer.body.decode("utf-8-sig")
            rows = parse_fred_csv(text, spec.fred_id)
        except FetchError as exc:
            return self._keep_last(spec, str(exc))
        except (ValueError, UnicodeDecodeError) as exc:
            return self._keep_last(spec, f"{url}: malformed answer: {exc}")
        self._last[spec.fred_id] = text
        if self.cache_dir is not None:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            path = self.cache_dir / f"{spec.fred_id}.csv"
            tmp = path.with_suffix(".tmp")
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(path)
        return rows

    def _keep_last(self, spec: FredSeries, problem: str) -> list[tuple[pd.Timestamp, float]] | None:
        text = self._last.get(spec.fred_id)
        if text is None and self.cache_dir is not None:
            path = self.cache_dir / f"{spec.fred_id}.csv"
            if path.is_file():
                text = path.read_text(encoding="utf-8")
        rows = None
        if text is not None:
            try:
                rows = parse_fred_csv(text, spec.fred_id)
            except ValueError:
                rows = None
        if rows is None:
            log.warning(
                "FRED %s: %s; no earlier answer, %s left out", spec.fred_id, problem, spec.series
            )
        else:
            log.warning(
                "FRED %s: %s; keeping the last good answer (latest period %s)",
                spec.fred_id,
                problem,
                f"{spec.period_end(rows[-1][0]):%Y-%m-%d}",
            )
        return rows
