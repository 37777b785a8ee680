"""Tests for signals/universe_refresh.py, offline: a page built here, served on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import http.server
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from signals.errors import DataSourceError, TransientDataError
from signals.universe import load_members, load_universe, members_from_frame
from signals.universe_refresh import (
    USER_AGENT,
    fetch_wikipedia_html,
    parse_wikipedia_table,
    refresh_universe,
    write_universe,
)

# (symbol as Wikipedia writes it, security, sector, sub-industry)
ROWS = [
    ("MMM", "3M", "Industrials", "Industrial Conglomerates"),
    ("GOOGL", "Alphabet Inc. (Class A)", "Communication Services", "Interactive Media"),
    ("GOOG", "Alphabet Inc. (Class C)", "Communication Services", "Interactive Media"),
    ("T", "AT&amp;T", "Communication Services", "Integrated Telecommunication Services"),
    ("BRK.B", "Berkshire Hathaway", "Financials", "Multi-Sector Holdings"),
    ("BF.B", "Brown–Forman", "Consumer Staples", "Distillers &amp; Vintners"),
    ("MSFT", "Microsoft", "Information Technology", "Systems Software"),
]


def _row(symbol: str, security: str, sector: str, sub: str, i: int) -> str:
    note = (
        f'<sup id="cite_ref-{i}" class="reference"><a href="#cite_note-{i}">[{i}]</a></sup>'
        if i % 2
        else ""
    )
    return (
        "<tr>\n"
        f'<td><a rel="nofollow" class="external text" '
        f'href="https://www.nyse.com/quote/XNYS:{symbol}">{symbol}</a>\n</td>\n'
        f'<td><a href="/wiki/{security}" title="{security}">{security}</a>{note}\n</td>\n'
        f"<td>{sector}</td>\n<td>{sub}</td>\n"
        f'<td><a href="/wiki/Somewhere">Somewhere</a>,<br />USA</td>\n'
        f"<td>2010-01-0{i % 9 + 1}</td>\n<td>0000{i}</td>\n<td>19{i}0</td>\n</tr>\n"
    )


HEADER = (
    "<tr>\n<th>Symbol</th>\n<th>Security</th>\n<th>GICS Sector</th>\n"
    "<th>GICS Sub-Industry</th>\n<th>Headquarters Location</th>\n"
    '<th>Date added<sup id="cite_ref-x" class="reference"><a href="#n">[a]</a></sup></th>\n'
    "<th><a href='/wiki/Central_Index_Key'>CIK</a></th>\n<th>Founded</th>\n</tr>\n"
)


def page(table_attrs: str = 'class="wikitable sortable sticky-header" id="constituents"') -> str:
    """A small copy of the real page's structure: an infobox-like table first, the
    constituents table, then the table of changes."""
    body = "".join(_row(*r, i) for i, r in enumerate(ROWS, start=1))
    return (
        "<!DOCTYPE html><html><head><title>List of S&amp;P 500 companies</title>"
        "<style>.x{color:red}</style></head><body>"
        '<table class="infobox"><tr><th>Symbol</th><td>^GSPC</td></tr></table>'
        "<p>The S&amp;P 500 is a stock market index.</p>"
        f"<table {table_attrs}>\n<tbody>{HEADER}{body}</tbody></table>"
        '<h2 id="Selected_changes">Selected changes</h2>'
        '<table class="wikitable sortable" id="changes"><tbody>'
        '<tr><th rowspan="2">Effective Date</th><th colspan="2">Added</th>'
        '<th colspan="2">Removed</th><th rowspan="2">Reason</th></tr>'
        "<tr><th>Ticker</th><th>Security</th><th>Ticker</th><th>Security</th></tr>"
        "<tr><td>July 1, 2025</td><td>NEW</td><td>New Co</td><td>OLD</td><td>Old Co</td>"
        "<td>Market cap</td></tr></tbody></table></body></html>"
    )


EXPECTED = pd.DataFrame(
    {
        "ticker": ["MMM", "GOOGL", "GOOG", "T", "BRK-B", "BF-B", "MSFT"],
        "name": [
            "3M",
            "Alphabet Inc. (Class A)",
            "Alphabet Inc. (Class C)",
            "AT&T",
            "Berkshire Hathaway",
            "Brown–Forman",
            "Microsoft",
        ],
        "sector": [
            "Industrials",
            "Communication Services",
            "Communication Services",
            "Communication Services",
            "Financials",
            "Consumer Staples",
            "Information Technology",
        ],
        "company": [""] * 7,
    }
)


# --- parsing ------------------------------------------------------------------------------


def test_parse_real_structure() -> None:
    df = parse_wikipedia_table(page())
    pd.testing.assert_frame_equal(df.reset_index(drop=True), EXPECTED, check_dtype=False)


def test_parsed_share_classes_group_into_one_company() -> None:
    table = members_from_frame(parse_wikipedia_table(page()), "test")
    assert table.loc["GOOGL", "company"] == table.loc["GOOG", "company"] == "Alphabet Inc."
    assert table["company"].nunique() == len(table) - 1


def test_parse_falls_back_to_header_without_id() -> None:
    df = parse_wikipedia_table(page(table_attrs='class="wikitable sortable"'))
    assert df["ticker"].tolist() == EXPECTED["ticker"].tolist()


def test_parse_tolerates_unclosed_cells_and_rows() -> None:
    html = (
        '<table id="constituents"><tr><th>Symbol<th>Security<th>GICS Sector'
        "<tr><td>brk.b<td>Berkshire Hathaway<td>Financials"
        "<tr><td>AAPL<td>Apple Inc.<td>Information Technology</table>"
    )
    df = parse_wikipedia_table(html)
    assert df["ticker"].tolist() == ["BRK-B", "AAPL"]
    assert df["sector"].tolist() == ["Financials", "Information Technology"]


def test_page_without_table_is_a_clear_error() -> None:
    html = "<html><body><p>Nothing here</p><table><tr><th>A</th></tr></table></body></html>"
    with pytest.raises(DataSourceError, match=r"no S&P 500 constituents table.*--members"):
        parse_wikipedia_table(html)


def test_missing_column_is_named() -> None:
    html = page().replace("<th>GICS Sector</th>", "<th>Sector</th>")
    with pytest.raises(DataSourceError, match=r"lacks column\(s\) \['GICS Sector'\]"):
        parse_wikipedia_table(html)


def test_short_row_and_empty_table_and_duplicates() -> None:
    head = '<table id="constituents"><tr><th>Symbol</th><th>Security</th><th>GICS Sector</th></tr>'
    with pytest.raises(DataSourceError, match=r"row 2 .* 2 cells"):
        parse_wikipedia_table(head + "<tr><td>AAA</td><td>A Co</td></tr></table>")
    with pytest.raises(DataSourceError, match="no rows"):
        parse_wikipedia_table(head + "</table>")
    dup = "<tr><td>BRK.B</td><td>B</td><td>Financials</td></tr>"
    dup2 = "<tr><td>BRK-B</td><td>B</td><td>Financials</td></tr>"
    with pytest.raises(DataSourceError, match="duplicate ticker BRK-B"):
        parse_wikipedia_table(head + dup + dup2 + "</table>")


# --- writing ------------------------------------------------------------------------------


def test_write_universe_round_trip(tmp_path: Path) -> None:
    path = write_universe(EXPECTED, tmp_path / "sub" / "u.csv", dt.date(2026, 8, 8))
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("# ") and "as of 2026-08-08" in lines[0]
    assert lines[1] == "ticker,name,sector,company"
    table = load_members(path)
    assert table.index.tolist() == EXPECTED["ticker"].tolist()
    assert table["sector"].tolist() == EXPECTED["sector"].tolist()
    assert table.loc["T", "name"] == "AT&T"
    assert table.loc["GOOG", "company"] == "Alphabet Inc."
    assert [p.name for p in path.parent.iterdir()] == ["u.csv"]  # no temp file left


# --- fetching from a local server ----------------------------------------------------------


class _Handler(http.server.BaseHTTPRequestHandler):
    seen_agents: list[str] = []
    release = threading.Event()

    def do_GET(self) -> None:
        _Handler.seen_agents.append(self.headers.get("User-Agent", ""))
        if self.path == "/wiki/List_of_S%26P_500_companies":
            body = page().encode("utf-8")
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=UTF-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif self.path == "/busy":
            self.send_error(503, "Service Unavailable")
        elif self.path == "/hang":
            _Handler.release.wait(5)
        else:
            self.send_error(404, "Not Found")

    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    _Handler.release.set()
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


def test_fetch_and_parse_from_local_server(server: str) -> None:
    html = fetch_wikipedia_html(f"{server}/wiki/List_of_S%26P_500_companies", timeout=5)
    assert "Brown–Forman" in html  # decoded as UTF-8
    assert _Handler.seen_agents[-1] == USER_AGENT
    assert "rotation-bot" in USER_AGENT
    assert parse_wikipedia_table(html)["ticker"].tolist() == EXPECTED["ticker"].tolist()


def test_fetch_http_errors(server: str) -> None:
    with pytest.raises(DataSourceError, match="HTTP 404") as info:
        fetch_wikipedia_html(f"{server}/missing", timeout=5)
    assert not isinstance(info.value, TransientDataError)
    with pytest.raises(TransientDataError, match="HTTP 503"):
        fetch_wikipedia_html(f"{server}/busy", timeout=5)


def test_fetch_timeout(server: str) -> None:
    with pytest.raises(TransientDataError, match="timed out|cannot reach"):
        fetch_wikipedia_html(f"{server}/hang", timeout=0.3)


def test_fetch_refused_connection() -> None:
    # a bound socket that does not listen: connecting to its port is refused at once
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        with pytest.raises(DataSourceError, match=r"cannot reach http://127\.0\.0\.1:\d+/") as e:
            fetch_wikipedia_html(f"http://127.0.0.1:{port}/wiki/x", timeout=5)
    assert isinstance(e.value, TransientDataError)
    assert "refused" in str(e.value).lower()


def test_refresh_universe_end_to_end(server: str, tmp_path: Path) -> None:
    url = f"{server}/wiki/List_of_S%26P_500_companies"
    target = tmp_path / "u.csv"
    df = refresh_universe(target, url=url, timeout=5, min_rows=5, today=dt.date(2026, 8, 8))
    assert len(df) == len(ROWS)
    u = load_universe(target)
    assert u.tickers == EXPECTED["ticker"].tolist()
    assert "as of 2026-08-08" in target.read_text(encoding="utf-8").splitlines()[0]


def test_refresh_universe_refuses_a_short_table(server: str, tmp_path: Path) -> None:
    target = tmp_path / "u.csv"
    target.write_text("ticker\nOLD\n", encoding="utf-8")
    url = f"{server}/wiki/List_of_S%26P_500_companies"
    with pytest.raises(DataSourceError, match="only 7 rows"):
        refresh_universe(target, url=url, timeout=5, min_rows=400)
    assert target.read_text(encoding="utf-8") == "ticker\nOLD\n"  # old file kept
