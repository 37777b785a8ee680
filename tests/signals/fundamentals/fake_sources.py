"""Fake FRED and SEC servers on 127.0.0.1, on the shared fake-server runner.

    with FakeSec() as sec:
        sec.set_tickers({...}); sec.set_facts(cik, doc)
        client = SecClient(UA, tmp, facts_url=sec.facts_url, tickers_url=sec.tickers_url)
        sec.inject(sec_server_error(), method="companyfacts")

Every request is recorded with its arrival time (`rec.at`), the User-Agent and the
conditional headers (`params["user_agent"]`, `["if_none_match"]`, `["if_modified_since"]`).
The SEC fake answers ETag / Last-Modified and 304 to a matching If-None-Match, and enforces
the SEC's cap (10 requests a second, 429 beyond) unless `set_caps(enabled=False)`.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from aiohttp import web

from tests.fakes.common import (
    Answer,
    Cap,
    CapHit,
    CapScope,
    Fault,
    Handler,
    RateCaps,
    RecordedRequest,
    UploadedFile,
)
from tests.fakes.server import FakeServer

LAST_MODIFIED = "Fri, 28 Nov 2025 06:12:31 GMT"

# An answer of fredgraph.csv?id=USNIM in the download's current layout (the date column is
# `observation_date`, each quarter dated by its first day, values in percent). The layout is
# the real one; the values are close to the published margins but typed in, not downloaded.
USNIM_CSV = """observation_date,USNIM
2024-01-01,3.22
2024-04-01,3.19
2024-07-01,3.22
2024-10-01,3.26
2025-01-01,3.25
2025-04-01,3.28
"""


def _headers_of(request: web.Request) -> dict[str, str]:
    return {
        "user_agent": request.headers.get("User-Agent", ""),
        "if_none_match": request.headers.get("If-None-Match", ""),
        "if_modified_since": request.headers.get("If-Modified-Since", ""),
    }


class _Fake(FakeServer):
    def _chat_of(self, params: dict[str, Any]) -> str | None:
        value = params.get("key")
        return None if value is None else str(value)

    def _unknown_method(self, method: str) -> Answer:
        return Answer(404, "<html>Not Found</html>")

    def _bad_request(self, message: str) -> Answer:
        return Answer(400, message)

    def _rate_limited(self, hit: CapHit) -> Answer:
        return Answer(429, "Request Rate Threshold Exceeded", {"Retry-After": str(hit.retry_after)})


class FakeFred(_Fake):
    """fredgraph.csv for the series set with `set_csv(fred_id, text)`."""

    kind = "fred"

    def __init__(self) -> None:
        super().__init__(caps=RateCaps([], counted_methods=()))
        self.csv: dict[str, str] = {"USNIM": USNIM_CSV}

    @property
    def csv_url(self) -> str:
        return f"{self.url}/graph/fredgraph.csv"

    def set_csv(self, fred_id: str, text: str) -> None:
        with self._lock:
            self.csv[fred_id] = text

    def _add_routes(self, app: web.Application) -> None:
        app.router.add_get("/graph/fredgraph.csv", self._h_csv)

    async def _h_csv(self, request: web.Request) -> web.StreamResponse:
        key = {"key": request.query.get("id", ""), **_headers_of(request)}
        return await self._serve_api(request, "fredgraph", None, key)

    def _resolve_method(self, method: str) -> tuple[str, Handler | None]:
        return method, self._answer_csv

    def _answer_csv(
        self, params: dict[str, Any], files: dict[str, UploadedFile], rec: RecordedRequest
    ) -> Answer:
        with self._lock:
            text = self.csv.get(params["key"])
        if text is None:
            return Answer(404, "<html>Series not found</html>")
        return Answer(200, text.encode(), {"Content-Type": "text/csv"}, delivered=True)


class FakeSec(_Fake):
    """data.sec.gov companyfacts and www.sec.gov company_tickers.json on one port."""

    kind = "sec"

    def __init__(self, per_second: int = 10) -> None:
        caps = RateCaps(
            [Cap("sec", per_second, 1.0, CapScope.GLOBAL)],
            counted_methods=("companyfacts", "company_tickers"),
        )
        super().__init__(caps=caps)
        self.docs: dict[str, bytes] = {}

    @property
    def facts_url(self) -> str:
        return f"{self.url}/api/xbrl/companyfacts/"

    @property
    def tickers_url(self) -> str:
        return f"{self.url}/files/company_tickers.json"

    def set_tickers(self, doc: dict[str, Any]) -> None:
        self.set_raw("company_tickers", json.dumps(doc).encode())

    def set_facts(self, cik: int, doc: dict[str, Any]) -> None:
        self.set_raw(f"CIK{cik:010d}", json.dumps(doc).encode())

    def set_raw(self, key: str, body: bytes) -> None:
        with self._lock:
            self.docs[key] = body

    def _add_routes(self, app: web.Application) -> None:
        app.router.add_get("/api/xbrl/companyfacts/{name}", self._h_facts)
        app.router.add_get("/files/company_tickers.json", self._h_tickers)

    async def _h_facts(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"].removesuffix(".json")
        key = {"key": name, **_headers_of(request)}
        return await self._serve_api(request, "companyfacts", None, key)

    async def _h_tickers(self, request: web.Request) -> web.StreamResponse:
        key = {"key": "company_tickers", **_headers_of(request)}
        return await self._serve_api(request, "company_tickers", None, key)

    def _resolve_method(self, method: str) -> tuple[str, Handler | None]:
        return method, self._answer_doc

    def _answer_doc(
        self, params: dict[str, Any], files: dict[str, UploadedFile], rec: RecordedRequest
    ) -> Answer:
        if "@" not in params["user_agent"]:  # the SEC refuses undeclared clients
            return Answer(403, "<html>Your Request Originates from an Undeclared Automated Tool")
        with self._lock:
            body = self.docs.get(params["key"])
        if body is None:
            return Answer(404, "<html>NoSuchKey</html>")
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        headers = {"ETag": etag, "Last-Modified": LAST_MODIFIED}
        if params["if_none_match"] == etag:
            return Answer(304, None, headers, delivered=True)
        headers["Content-Type"] = "application/json"
        return Answer(200, body, headers, delivered=True)


def status(code: int, body: str = "error") -> Fault:
    """An HTTP error answer (500, 503...)."""
    return Fault(f"http_{code}", code, body)


def too_many(retry_after: int = 1) -> Fault:
    """The SEC's 429."""
    return Fault("429", 429, "Request Rate Threshold Exceeded", {"Retry-After": str(retry_after)})


def malformed(body: str = '{"cik": 1, "facts": ') -> Fault:
    """HTTP 200 with a body that is not the document (truncated JSON by default)."""
    return Fault("malformed", 200, body)
