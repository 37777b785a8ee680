"""Rebuild the universe file from Wikipedia's "List of S&P 500 companies".

Users with internet access run ``rotation-bot universe --refresh`` to replace the hand-written
bundled list with today's members. The page is parsed with the standard library's
``html.parser`` so that no HTML library becomes a dependency.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd

from signals.errors import DataFileError, DataSourceError, TransientDataError
from signals.universe import members_from_frame

WIKIPEDIA_URL = "https://en.wikipedia.org/wiki/List_of_S%26P_500_companies"
#: Wikipedia asks automated clients to identify themselves (User-Agent policy).
USER_AGENT = "rotation-bot/0.1 (S&P 500 universe refresh; Python urllib)"
TABLE_ID = "constituents"
COLUMNS = ["ticker", "name", "sector", "company"]

# header text (lower case, single spaces) -> our column
_HEADER_NAMES = {
    "symbol": "ticker",
    "ticker": "ticker",
    "security": "name",
    "company": "name",
    "gics sector": "sector",
}
_REQUIRED = {"ticker": "Symbol", "name": "Security", "sector": "GICS Sector"}
_SPACES = re.compile(r"\s+")


@dataclass
class _Table:
    attrs: dict[str, str]
    rows: list[list[tuple[str, str]]] = field(default_factory=list)  # (tag, text) per cell


class _TableParser(HTMLParser):
    """Collects every table as rows of (th|td, text) cells; footnote ``<sup>``s are dropped."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[_Table] = []
        self._open: list[_Table] = []  # nested tables: innermost last
        self._row: list[tuple[str, str]] | None = None
        self._cell: list[str] | None = None
        self._cell_tag = ""
        self._skip = 0  # depth inside <sup>, <style>, <script>

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._close_row()
            table = _Table({k: v or "" for k, v in attrs})
            self.tables.append(table)
            self._open.append(table)
        elif not self._open:
            return
        elif tag == "tr":
            self._close_row()
            self._row = []
        elif tag in ("td", "th"):
            self._close_cell()
            if self._row is None:  # a cell without <tr>: start the row implicitly
                self._row = []
            self._cell, self._cell_tag = [], tag
        elif tag in ("sup", "style", "script"):
            self._skip += 1
        elif tag == "br" and self._cell is not None:
            self._cell.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag == "table" and self._open:
            self._close_row()
            self._open.pop()
        elif tag in ("sup", "style", "script"):
            self._skip = max(0, self._skip - 1)
        elif tag in ("td", "th"):
            self._close_cell()
        elif tag == "tr":
            self._close_row()

    def handle_data(self, data: str) -> None:
        if self._cell is not None and not self._skip:
            self._cell.append(data)

    def _close_cell(self) -> None:
        if self._cell is not None and self._row is not None:
            text = _SPACES.sub(" ", "".join(self._cell)).strip()
            self._row.append((self._cell_tag, text))
        self._cell = None

    def _close_row(self) -> None:
        self._close_cell()
        if self._row is not None and self._open and self._row:
            self._open[-1].rows.append(self._row)
        self._row = None


def _header(table: _Table) -> list[str]:
    """The table's first row, normalised (lower case, single spaces)."""
    if not table.rows:
        return []
    return [_SPACES.sub(" ", text).strip().lower() for _, text in table.rows[0]]


def _find_table(tables: list[_Table]) -> _Table:
    for table in tables:
        if table.attrs.get("id") == TABLE_ID:
            return table
    for table in tables:
        head = set(_header(table))
        if {"symbol", "gics sector"} <= head:
            return table
    raise DataSourceError(
        f"no S&P 500 constituents table on the page (looked for id={TABLE_ID!r} or a header "
        f"with 'Symbol' and 'GICS Sector' among {len(tables)} tables); the page layout may "
        "have changed: pass your own file with --members"
    )


def parse_wikipedia_table(html: str) -> pd.DataFrame:
    """The constituents table of the page as ``ticker, name, sector, company``.

    Tickers are upper case in Yahoo spelling (``BRK.B`` -> ``BRK-B``); ``company`` is left
    empty because Wikipedia's names already mark share classes (``Alphabet Inc. (Class A)``).
    """
    parser = _TableParser()
    parser.feed(html)
    parser.close()
    table = _find_table(parser.tables)
    header = _header(table)
    position: dict[str, int] = {}
    for i, text in enumerate(header):
        col = _HEADER_NAMES.get(text)
        if col is not None and col not in position:
            position[col] = i
    missing = [label for col, label in _REQUIRED.items() if col not in position]
    if missing:
        raise DataSourceError(
            f"the S&P 500 constituents table lacks column(s) {missing} "
            f"(header: {[text for _, text in table.rows[0]] if table.rows else []})"
        )
    width = max(position.values()) + 1
    records = []
    for n, row in enumerate(table.rows[1:], start=2):
        if all(tag == "th" for tag, _ in row):  # a repeated header row
            continue
        if len(row) < width:
            raise DataSourceError(
                f"row {n} of the S&P 500 constituents table has {len(row)} cells, "
                f"expected at least {width}: {[text for _, text in row]}"
            )
        records.append([row[position[c]][1] for c in ("ticker", "name", "sector")])
    if not records:
        raise DataSourceError("the S&P 500 constituents table has no rows")
    df = pd.DataFrame(records, columns=["ticker", "name", "sector"])
    df["ticker"] = df["ticker"].str.strip().str.upper().str.replace(".", "-", regex=False)
    df["company"] = ""
    try:  # same checks as a --members file: empty or duplicate tickers
        members_from_frame(df, "Wikipedia constituents table")
    except DataFileError as exc:
        raise DataSourceError(str(exc)) from exc
    return df[COLUMNS]


def fetch_wikipedia_html(url: str = WIKIPEDIA_URL, timeout: float = 20) -> str:
    """The page's HTML. Network failures, timeouts, 429 and 5xx raise TransientDataError
    (retry later); other failures raise DataSourceError."""
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept": "text/html"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            charset = response.headers.get_content_charset() or "utf-8"
            return response.read().decode(charset, errors="replace")
    except urllib.error.HTTPError as exc:
        exc.close()  # it holds the response's socket
        kind = TransientDataError if exc.code == 429 or exc.code >= 500 else DataSourceError
        raise kind(f"fetching {url} failed: HTTP {exc.code} {exc.reason}") from exc
    except urllib.error.URLError as exc:
        raise TransientDataError(
            f"cannot reach {url}: {exc.reason}; check the internet connection or use --members"
        ) from exc
    except TimeoutError as exc:
        raise TransientDataError(f"fetching {url} timed out after {timeout:g} s") from exc
    except OSError as exc:  # connection reset while reading, etc.
        raise TransientDataError(f"fetching {url} failed: {exc}") from exc


def write_universe(df: pd.DataFrame, path: Path | str, as_of: dt.date | str) -> Path:
    """Write a universe file the loader reads (``# ... as of DATE`` comment, then the CSV).

    The file is replaced atomically, so an interrupted write never leaves half a list.
    """
    missing = [c for c in ("ticker", "name", "sector") if c not in df.columns]
    if missing:
        raise ValueError(f"universe frame lacks column(s) {missing}")
    day = as_of.isoformat() if isinstance(as_of, dt.date) else str(as_of)
    out = df.reindex(columns=COLUMNS).fillna("")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    done = False
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(
                f"# S&P 500 members with GICS sector as of {day}, "
                f"from Wikipedia's List of S&P 500 companies ({len(out)} tickers)\n"
            )
            out.to_csv(fh, index=False, lineterminator="\n")
        os.replace(tmp, path)
        done = True
    finally:
        if not done:
            Path(tmp).unlink(missing_ok=True)
    return path


def refresh_universe(
    path: Path | str,
    url: str = WIKIPEDIA_URL,
    timeout: float = 20,
    min_rows: int = 400,
    today: dt.date | None = None,
) -> pd.DataFrame:
    """Fetch, parse and write the universe file; returns the table written.

    Fewer than `min_rows` members means the page is not the list we expect, so nothing is
    written and the old file stays.
    """
    df = parse_wikipedia_table(fetch_wikipedia_html(url, timeout=timeout))
    if len(df) < min_rows:
        raise DataSourceError(
            f"the constituents table at {url} has only {len(df)} rows (expected at least "
            f"{min_rows}); not replacing {path}"
        )
    write_universe(df, path, today or dt.datetime.now(dt.UTC).date())
    return df
