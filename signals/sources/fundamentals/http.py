"""A small HTTP GET for the fundamentals sources: paced, conditional, one-line errors.

Standard library only (urllib): the sources fetch a handful of files a day, and the library
stays free of any HTTP stack the application may pin differently. The SEC allows at most ten
requests a second per client; `RateLimiter` spaces requests evenly so that no window of one
second ever holds more than the cap (aiolimiter, the limiter installed here, is asyncio-only
and these fetches run in a worker thread).
"""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from signals.errors import DataSourceError, TransientDataError

DEFAULT_TIMEOUT = 30.0


class RateLimiter:
    """At most `per_second` calls of `wait()` in any one-second window, across threads.

    Spacing starts 1/per_second apart (a strict interval, not a burst bucket): with 10 per
    second, the 11th request starts a full second after the 1st.
    """

    def __init__(
        self,
        per_second: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if per_second <= 0:
            raise ValueError("per_second must be > 0")
        self.interval = 1.0 / per_second
        self._clock = clock
        self._sleep = sleep
        self._next = -float("inf")
        self._lock = threading.Lock()

    def wait(self) -> None:
        """Block until the next request may start."""
        with self._lock:
            now = self._clock()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            self._sleep(start - now)


@dataclass(frozen=True)
class Response:
    """An answer: `status` 200 with a body, or 304 (not modified, empty body)."""

    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


class FetchError(DataSourceError):
    """A fetch failed; the message is one line naming the URL and the cause."""


class RateLimited(FetchError, TransientDataError):
    """The server answered 429 (too many requests)."""


def http_get(
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    limiter: RateLimiter | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> Response:
    """GET `url`; 200 and 304 are answers, anything else a `FetchError` (429: `RateLimited`)."""
    if limiter is not None:
        limiter.wait()
    request = urllib.request.Request(url, headers=dict(headers or {}), method="GET")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
            return Response(answer.status, answer.read(), dict(answer.headers.items()))
    except urllib.error.HTTPError as exc:
        if exc.code == 304:
            return Response(304, b"", dict(exc.headers.items()))
        if exc.code == 429:
            after = exc.headers.get("Retry-After")
            hint = f", retry after {after} s" if after else ""
            raise RateLimited(f"{url}: HTTP 429 too many requests{hint}") from None
        raise FetchError(f"{url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise FetchError(f"{url}: {reason}") from None
