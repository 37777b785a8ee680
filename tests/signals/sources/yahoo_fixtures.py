"""Offline Yahoo: frames in yfinance 1.7's output format, and a canned HTTP adapter that
lets the real ``yf.download`` run without a network.

`yf_frame` rebuilds a ``download()`` result the way yfinance 1.7 assembles it
(``multi.py``: one frame per ticker, reindexed to the union of dates, concatenated with keys
``(Ticker, Price)``, levels swapped to ``(Price, Ticker)`` and sorted; index tz-naive
``datetime64[s]`` named ``Date``; a failed ticker contributes yfinance's empty frame, which
has an extra ``Adj Close`` column). A test checks it against the real thing.

`CannedYahoo` is a ``requests`` adapter answering what yfinance asks for: the cookie
(``fc.yahoo.com``), the crumb, the consent page, and ``/v8/finance/chart/{SYM}`` with JSON in
Yahoo's chart format built from a close series. Everything else gets a 404, so no path of
yfinance can reach the internet through a session that mounts it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pandas as pd
import requests
from requests.adapters import BaseAdapter

NY = "America/New_York"
_OHLCV = ["Open", "High", "Low", "Close", "Volume"]
_EMPTY = ["Open", "High", "Low", "Close", "Adj Close", "Volume"]  # yfinance utils.empty_df()


def ohlcv(close: pd.Series) -> pd.DataFrame:
    """A plausible OHLCV frame around `close` (what yfinance's history returns per ticker)."""
    c = close.astype("float64")
    return pd.DataFrame(
        {
            "Open": c * 0.995,
            "High": c * 1.01,
            "Low": c * 0.99,
            "Close": c,
            "Volume": np.full(len(c), 1_000_000, dtype="int64"),
        },
        index=c.index,
    )


def yf_frame(closes: Mapping[str, pd.Series], failed: tuple[str, ...] = ()) -> pd.DataFrame:
    """A ``yf.download(..., group_by="column")`` result for these per-ticker close series
    (each indexed by date) plus `failed` tickers that yfinance could not download."""
    dfs: dict[str, pd.DataFrame] = {}
    for t, s in closes.items():
        idx = pd.DatetimeIndex(s.index).as_unit("s").rename("Date")
        dfs[t.upper()] = ohlcv(s.set_axis(idx))
    for t in failed:  # yfinance's utils.empty_df()
        dfs[t.upper()] = pd.DataFrame(index=[], data=dict.fromkeys(_EMPTY, np.nan)).rename_axis(
            "Date"
        )
    idx = None
    for df in dfs.values():
        if not df.empty:
            idx = df.index if idx is None else idx.union(df.index)
    if idx is None:
        idx = pd.DatetimeIndex([])
    dfs = {k: v.reindex(idx) for k, v in dfs.items()}
    data = pd.concat(dfs.values(), axis=1, sort=True, keys=dfs.keys(), names=["Ticker", "Price"])
    data.columns = data.columns.swaplevel(0, 1)
    return data.sort_index(level=0, axis=1)


def _epoch(day: pd.Timestamp, hour: int = 9, minute: int = 30) -> int:
    ts = pd.Timestamp(day).normalize().tz_localize(NY) + pd.Timedelta(hours=hour, minutes=minute)
    return int(ts.tz_convert("UTC").timestamp())


def chart_json(symbol: str, close: pd.Series, splits: Mapping[str, float] | None = None) -> dict:
    """Yahoo's ``/v8/finance/chart`` answer for daily bars of `close` (index: dates).

    Timestamps are the 09:30 New York open of each day, as Yahoo sends them; ``adjclose``
    equals ``close`` (already adjusted); NaN closes become JSON nulls, like Yahoo's.
    """
    days = pd.DatetimeIndex(close.index)
    ts = [_epoch(d) for d in days]
    vals = [None if np.isnan(v) else float(v) for v in close.to_numpy(dtype="float64")]

    def scaled(f: float) -> list[float | None]:
        return [None if v is None else v * f for v in vals]

    result: dict = {
        "meta": {
            "currency": "USD",
            "symbol": symbol,
            "exchangeName": "NYQ",
            "fullExchangeName": "NYSE",
            "instrumentType": "ETF" if symbol in {"SPY", "IWM", "QQQ", "RSP"} else "EQUITY",
            "firstTradeDate": 725_000_000,
            "regularMarketTime": ts[-1] if ts else 0,
            "hasPrePostMarketData": True,
            "gmtoffset": -18000,
            "timezone": "EST",
            "exchangeTimezoneName": NY,
            "regularMarketPrice": next((v for v in reversed(vals) if v is not None), None),
            "priceHint": 2,
            "dataGranularity": "1d",
            "range": "",
            "validRanges": ["1d", "5d", "1mo", "3mo", "6mo", "1y", "2y", "5y", "10y", "ytd", "max"],
        },
        "timestamp": ts,
        "indicators": {
            "quote": [
                {
                    "open": scaled(0.995),
                    "high": scaled(1.01),
                    "low": scaled(0.99),
                    "close": vals,
                    "volume": [None if v is None else 1_000_000 for v in vals],
                }
            ],
            "adjclose": [{"adjclose": vals}],
        },
    }
    if splits:
        result["events"] = {
            "splits": {
                str(_epoch(pd.Timestamp(d))): {
                    "date": _epoch(pd.Timestamp(d)),
                    "numerator": r,
                    "denominator": 1,
                    "splitRatio": f"{r:g}:1",
                }
                for d, r in splits.items()
            }
        }
    return {"chart": {"result": [result], "error": None}}


def not_found_json(symbol: str) -> dict:
    return {
        "chart": {
            "result": None,
            "error": {"code": "Not Found", "description": "No data found, symbol may be delisted"},
        }
    }


class CannedYahoo(BaseAdapter):
    """Answers yfinance's requests from `series` (Yahoo symbol -> close Series by date).

    period1/period2 are honoured like Yahoo does (period2 exclusive); `live` adds an
    unfinished bar per symbol *after* period2, as Yahoo often appends the live price.
    `throttle`: while True, every chart request gets HTTP 429. `down`: every request 404s
    (what an empty answer looks like to yfinance). `requests` records every URL asked.
    """

    def __init__(
        self,
        series: Mapping[str, pd.Series],
        live: Mapping[str, tuple[str, float]] | None = None,
    ) -> None:
        super().__init__()
        self.series = dict(series)
        self.live = dict(live or {})
        self.throttle = False
        self.down = False
        self.requests: list[str] = []

    def send(self, request, **kwargs):  # noqa: ANN001 - requests' adapter signature
        url = urlsplit(request.url)
        self.requests.append(request.url)
        if self.down:
            return self._answer(request, 404, b"")
        if url.hostname == "fc.yahoo.com":
            return self._answer(request, 200, b"")
        if url.path.endswith("/v1/test/getcrumb"):
            return self._answer(request, 200, b"canned-crumb")
        if url.hostname and url.hostname.endswith("consent.yahoo.com"):
            return self._answer(request, 200, b"<html><body><p>consent</p></body></html>")
        m = re.fullmatch(r"/v8/finance/chart/([^/]+)", url.path)
        if m is None:
            return self._answer(request, 404, b'{"error": "not canned"}')
        if self.throttle:
            return self._answer(request, 429, b"Too Many Requests")
        symbol = m.group(1)
        close = self.series.get(symbol)
        if close is None or close.dropna().empty:
            return self._answer(request, 404, json.dumps(not_found_json(symbol)).encode())
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        close = close.sort_index()
        if "period1" in q:
            epochs = np.array([_epoch(d, 0, 0) for d in close.index])
            keep = (epochs >= int(q["period1"])) & (epochs < int(q["period2"]))
            close = close[keep]
            if symbol in self.live:
                day, price = self.live[symbol]
                close = pd.concat([close, pd.Series([price], index=[pd.Timestamp(day)])])
        else:  # range=1d: the timezone probe
            close = close.iloc[-1:]
        return self._answer(request, 200, json.dumps(chart_json(symbol, close)).encode())

    @staticmethod
    def _answer(request, status: int, body: bytes) -> requests.Response:
        r = requests.Response()
        r.status_code = status
        r._content = body
        r.url = request.url
        r.request = request
        r.encoding = "utf-8"
        r.headers["Content-Type"] = "application/json" if body[:1] in b"{[" else "text/html"
        return r

    def close(self) -> None:
        pass


def canned_session(adapter: CannedYahoo) -> requests.Session:
    """A requests Session whose every http(s) request goes to `adapter`."""
    s = requests.Session()
    s.mount("https://", adapter)
    s.mount("http://", adapter)
    return s
