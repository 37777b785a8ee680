"""SEC EDGAR company facts (XBRL) per company, with the SEC's own ticker -> CIK list.

The SEC asks every automated client for a User-Agent naming a contact and allows at most ten
requests a second; both are enforced here (no contact: refused before any request). Answers
are cached on disk with their ETag / Last-Modified: an answer younger than `fresh_for` is used
as it is, an older one is revalidated with If-None-Match / If-Modified-Since and a 304 costs
no download. A failed or malformed answer logs one line and keeps the cached copy (the last
good answer); nothing is invented.

edgartools would do the fetching and parsing, but it is not installed here, pulls in a large
dependency tree for what is two JSON files, and keeps its own cache and identity settings
apart from the bot's configuration; the TTM arithmetic (`ttm.py`) would be ours either way.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from signals.errors import DataSourceError
from signals.sources.fundamentals.http import FetchError, RateLimiter, http_get
from signals.sources.fundamentals.observations import Observation
from signals.sources.fundamentals.ttm import (
    Restatement,
    parse_facts,
    restatements,
    ttm_observations,
)

log = logging.getLogger("signals.sources.sec")

FACTS_URL = "https://data.sec.gov/api/xbrl/companyfacts/"
TICKERS_URL = "https://www.sec.gov/files/company_tickers.json"
SOURCE = "sec"
MAX_PER_SECOND = 10.0
#: The pace actually kept: 5 % under the cap, so jitter in the network (an early request
#: that arrives late, a later one that arrives at once) never puts 11 into one second.
PACE_PER_SECOND = 0.95 * MAX_PER_SECOND
#: The XBRL concepts behind each measure (the first one a company reports is used whole).
CONCEPTS: dict[str, tuple[str, ...]] = {
    "ocf": ("NetCashProvidedByUsedInOperatingActivities",),
    "capex": ("PaymentsToAcquirePropertyPlantAndEquipment",),
    "net_income": ("NetIncomeLoss",),
}
ALL_CONCEPTS: tuple[str, ...] = tuple(c for cs in CONCEPTS.values() for c in cs)
_CONTACT = re.compile(r"\S+@\S+\.\S+")


def require_user_agent(user_agent: str | None) -> str:
    """The User-Agent, or an error when it has no e-mail contact (the SEC blocks those)."""
    if not user_agent or not _CONTACT.search(user_agent):
        raise DataSourceError(
            "the SEC needs a User-Agent with a contact e-mail, e.g. "
            "'Example Research jane@example.com' (set the SEC user agent in the config)"
        )
    return user_agent.strip()


def sec_ticker(ticker: str) -> str:
    """Yahoo's and the SEC's spelling agree on dashes (BRK-B); dots become dashes."""
    return ticker.strip().upper().replace(".", "-")


@dataclass(frozen=True)
class CompanyTTM:
    """A company's trailing-twelve-month measures, point in time.

    ttm: measure (``ocf``, ``capex``, ``net_income``) -> observations in USD.
    lacking: measures the company does not report (left out of sums that need them).
    restated: measure -> the restatements in its facts (each applied from its filed date).
    newest_filing: the latest `filed` date among the facts used (None: no fact).
    """

    ticker: str
    cik: int
    name: str
    ttm: Mapping[str, Sequence[Observation]]
    lacking: frozenset[str] = frozenset()
    restated: Mapping[str, Sequence[Restatement]] = field(default_factory=dict)
    newest_filing: pd.Timestamp | None = None

    def fresh_restatements(self) -> list[tuple[str, Restatement]]:
        """(measure, restatement) made by the newest filing: the news of this refresh."""
        return [
            (m, r)
            for m, found in self.restated.items()
            for r in found
            if r.filed == self.newest_filing
        ]


@dataclass(frozen=True)
class SecFacts:
    """What one refresh of the SEC source found for a list of tickers.

    unknown: tickers the SEC's list does not have; failed: tickers with no usable answer
    (never a good one cached) - both left out and counted.
    """

    companies: Mapping[str, CompanyTTM]
    unknown: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()
    lacking: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


class SecClient:
    """The two SEC documents, paced, cached and revalidated (see the module doc)."""

    def __init__(
        self,
        user_agent: str | None,
        cache_dir: Path,
        *,
        facts_url: str = FACTS_URL,
        tickers_url: str = TICKERS_URL,
        limiter: RateLimiter | None = None,
        fresh_for: float = 6 * 3600.0,
        timeout: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.user_agent = require_user_agent(user_agent)
        self.cache_dir = Path(cache_dir) / "sec"
        self.facts_url = facts_url if facts_url.endswith("/") else facts_url + "/"
        self.tickers_url = tickers_url
        self.limiter = limiter if limiter is not None else RateLimiter(PACE_PER_SECOND)
        self.fresh_for = fresh_for
        self.timeout = timeout
        self._clock = clock

    def ticker_ciks(self) -> dict[str, int]:
        """Ticker (SEC spelling) -> CIK from company_tickers.json ({"0": {"cik_str", "ticker",
        "title"}, ...}); empty when neither the SEC nor the cache has a good copy."""
        doc = self._document(self.tickers_url, "company_tickers.json", _check_tickers)
        if doc is None:
            return {}
        out: dict[str, int] = {}
        for row in doc.values():
            out.setdefault(sec_ticker(str(row["ticker"])), int(row["cik_str"]))
        return out

    def company_facts(
        self, cik: int, concepts: Iterable[str] = ALL_CONCEPTS
    ) -> dict[str, Any] | None:
        """The companyfacts document of `cik`, or None without any good copy. An answer in
        which one of `concepts` is unreadable counts as malformed (the cached copy stays)."""
        name = f"CIK{int(cik):010d}.json"
        wanted = tuple(concepts)

        def check(doc: Any) -> None:
            _check_facts(doc)
            for concept in wanted:
                rows = concept_rows(doc, concept)
                if rows is not None:
                    parse_facts(rows)

        return self._document(self.facts_url + name, name, check)

    # -- cache and revalidation ------------------------------------------------------------

    def _document(self, url: str, name: str, check: Callable[[Any], None]) -> dict[str, Any] | None:
        path = self.cache_dir / name
        meta_path = self.cache_dir / (name + ".meta")
        meta = _read_meta(meta_path)
        cached = _load(path, check)  # None: missing or damaged, so download it whole
        if cached is not None and self._clock() - float(meta.get("checked", 0)) < self.fresh_for:
            return cached
        headers = {"User-Agent": self.user_agent, "Accept-Encoding": "identity"}
        if cached is not None and meta.get("etag"):
            headers["If-None-Match"] = str(meta["etag"])
        if cached is not None and meta.get("last_modified"):
            headers["If-Modified-Since"] = str(meta["last_modified"])
        try:
            answer = http_get(url, headers=headers, limiter=self.limiter, timeout=self.timeout)
            if answer.status == 304:
                if cached is None:
                    raise ValueError("304 to a request without validators")
                self._write_meta(meta_path, meta)
                return cached
            doc = json.loads(answer.body)
            check(doc)
        except FetchError as exc:
            return self._fallback(cached, path, str(exc))
        except (ValueError, KeyError, TypeError) as exc:
            return self._fallback(cached, path, f"{url}: malformed answer: {exc}")
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(answer.body)
        tmp.replace(path)
        lower = {k.lower(): v for k, v in answer.headers.items()}
        self._write_meta(
            meta_path, {"etag": lower.get("etag"), "last_modified": lower.get("last-modified")}
        )
        return doc

    def _write_meta(self, path: Path, meta: Mapping[str, Any]) -> None:
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({**meta, "checked": self._clock()}), encoding="utf-8")

    def _fallback(
        self, cached: dict[str, Any] | None, path: Path, problem: str
    ) -> dict[str, Any] | None:
        if cached is not None:
            log.warning("SEC: %s; keeping the cached copy of %s", problem, path.name)
            return cached
        log.warning("SEC: %s; no good cached copy, left out", problem)
        return None


def _read_meta(path: Path) -> dict[str, Any]:
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return meta if isinstance(meta, dict) else {}


def _load(path: Path, check: Callable[[Any], None]) -> dict[str, Any] | None:
    """The cached copy when it is there and sound (a damaged one is as good as none)."""
    try:
        doc = json.loads(path.read_bytes())
        check(doc)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return doc if isinstance(doc, dict) else None


def _check_tickers(doc: Any) -> None:
    if not isinstance(doc, dict) or not doc:
        raise ValueError("expected an object of {cik_str, ticker, title} rows")
    for row in doc.values():
        int(row["cik_str"])
        str(row["ticker"])


def _check_facts(doc: Any) -> None:
    if not isinstance(doc, dict) or not isinstance(doc.get("facts"), dict):
        raise ValueError("no 'facts' object")


def concept_rows(doc: Mapping[str, Any], concept: str) -> list[Mapping[str, Any]] | None:
    """The USD fact list of a us-gaap concept, None when the company does not report it in
    USD; ValueError when the document is not shaped like company facts."""
    facts = doc.get("facts")
    gaap = facts.get("us-gaap", {}) if isinstance(facts, Mapping) else None
    if not isinstance(gaap, Mapping):
        raise ValueError("'facts' has no 'us-gaap' object")
    entry = gaap.get(concept)
    if entry is None:
        return None
    units = entry.get("units") if isinstance(entry, Mapping) else None
    if not isinstance(units, Mapping):
        raise ValueError(f"{concept}: no 'units' object")
    rows = units.get("USD")
    if rows is None:
        return None
    if not isinstance(rows, list):
        raise ValueError(f"{concept}: 'USD' is not a list")
    return rows


def company_ttm(
    ticker: str,
    cik: int,
    doc: Mapping[str, Any],
    measures: Mapping[str, Sequence[str]] = CONCEPTS,
) -> CompanyTTM:
    """TTM observations of each measure from one companyfacts document (ValueError when a
    reported concept is malformed)."""
    ttm: dict[str, list[Observation]] = {}
    restated: dict[str, list[Restatement]] = {}
    lacking: set[str] = set()
    newest: pd.Timestamp | None = None
    for measure, concepts in measures.items():
        for concept in concepts:
            rows = concept_rows(doc, concept)
            if rows is not None:
                facts = parse_facts(rows)
                ttm[measure] = ttm_observations(facts, measure, source=SOURCE)
                restated[measure] = restatements(facts)
                if facts:
                    last = max(f.filed for f in facts)
                    newest = last if newest is None else max(newest, last)
                break
        else:
            lacking.add(measure)
    name = str(doc.get("entityName", ticker))
    return CompanyTTM(ticker, cik, name, ttm, frozenset(lacking), restated, newest)


class SecSource:
    """TTM fundamentals of a list of tickers from the SEC (one request per company at most,
    paced by the client's limiter). A company whose answer is bad keeps its cached copy; one
    with no good copy at all is left out and counted."""

    name = SOURCE

    def __init__(self, client: SecClient, measures: Mapping[str, Sequence[str]] = CONCEPTS) -> None:
        self.client = client
        self.measures = measures

    def fetch(self, tickers: Sequence[str]) -> SecFacts:
        ciks = self.client.ticker_ciks()
        if not ciks:  # the reason is already logged by the client
            return SecFacts({}, failed=tuple(dict.fromkeys(tickers)))
        companies: dict[str, CompanyTTM] = {}
        unknown: list[str] = []
        failed: list[str] = []
        for ticker in dict.fromkeys(tickers):
            cik = ciks.get(sec_ticker(ticker))
            if cik is None:
                unknown.append(ticker)
                continue
            concepts = [c for cs in self.measures.values() for c in cs]
            doc = self.client.company_facts(cik, concepts)
            if doc is None:
                failed.append(ticker)
                continue
            try:
                companies[ticker] = company_ttm(ticker, cik, doc, self.measures)
            except ValueError as exc:
                log.warning("SEC: %s (CIK %d): malformed facts, left out: %s", ticker, cik, exc)
                failed.append(ticker)
        lacking = {
            m: tuple(t for t, c in companies.items() if m in c.lacking) for m in self.measures
        }
        for measure, who in lacking.items():
            if who:
                log.warning(
                    "SEC: %d of %d companies do not report %s (left out of sums that need it): %s",
                    len(who),
                    len(companies),
                    "/".join(self.measures[measure]),
                    ", ".join(who),
                )
        fresh = [
            f"{t} {m} {r.start:%Y-%m-%d}..{r.end:%Y-%m-%d} {r.old:,.0f} -> {r.new:,.0f}"
            f" ({r.form} filed {r.filed:%Y-%m-%d})"
            for t, c in companies.items()
            for m, r in c.fresh_restatements()
        ]
        if fresh:
            log.warning(
                "SEC: %d restated figure(s) in the newest filings, each used from its filed "
                "date on (earlier sessions keep the old value): %s",
                len(fresh),
                "; ".join(fresh),
            )
        if unknown:
            log.warning(
                "SEC: %d ticker(s) not in the SEC's list: %s", len(unknown), ", ".join(unknown)
            )
        return SecFacts(companies, tuple(unknown), tuple(failed), lacking)
