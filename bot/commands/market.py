"""Market commands: snapshot, breadth, sector, sectors, chart. Read-only, from the cached state.

snapshot, breadth, sector and sectors take an optional DATE (YYYY-MM-DD: the session on or
before it), read from the stored signal history (`state_on`). Every answer's first line names
the session its numbers describe, and says so when the data ends before the session asked
for (`header_date`).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import pandas as pd

from bot.commands.common import (
    CommandError,
    chart,
    chart_meta,
    freshness_line,
    header_date,
    history_position,
    is_date_word,
    market_reply,
    need_state,
    number,
    reading,
    state_on,
    unit_of,
    window,
)
from bot.commands.context import CommandContext
from bot.commands.parse import CommandRequest
from bot.commands.sector_names import SECTORS, resolve_sector, suggest_sectors
from bot.model import Button, Reply, Table, echo
from bot.render import charts, format_change, format_value, partial_caps_notes, signal_unit
from bot.render import texts as T
from bot.render.texts import signal_label
from signals.indicators.history import MEGA_SEVEN_TICKERS
from signals.market import SECTOR_ETFS
from signals.periods import LOOKBACKS

if TYPE_CHECKING:
    from bot.alerts import MarketState


def _row(state: MarketState, path: str, label: str) -> tuple[str, str, str, str]:
    r = reading(state, path)
    unit = unit_of(path)
    return (
        label,
        format_value(r.value, unit),
        format_change(r.change_1w, unit),
        format_change(r.change_1m, unit),
    )


def _closes(state: MarketState, ticker: str, sessions: int) -> pd.Series:
    closes = state.data.closes
    if ticker not in closes.columns:
        return pd.Series(dtype=float)
    return window(closes[ticker], state, sessions)


def _dated(command: str, word: str | None) -> str:
    """The command line that asks the same again ("snapshot 2025-09-30")."""
    return command if word is None else f"{command} {word}"


# --- snapshot -------------------------------------------------------------------------------


def snapshot(req: CommandRequest, ctx: CommandContext) -> Reply:
    """Breadth, equal vs cap weight, small caps, top-10 share and the regime, with changes."""
    word = req.args[0] if req.args else None
    state = state_on(ctx, word, "snapshot")
    snap = state.snapshot
    rows = tuple(_row(state, path, label) for path, label in T.SNAPSHOT_ROWS.items())
    blocks: list[str] = []
    regime = snap.signals.get("rotation_regime")
    if regime is not None:
        label = regime.details.get("label") or "unknown"
        held = number(regime.value)
        if label == "unknown" or held is None:
            head = T.REGIME_UNKNOWN
        else:
            head = T.REGIME.format(label=label, held=f"{held:.0f}")
        reasons = [f"• {r}" for r in regime.details.get("reasons") or ()]
        blocks.append("\n".join([head, *reasons]))
    # the largest companies are `top10`'s answer: the snapshot stays one chart caption
    blocks += partial_caps_notes(snap.signals, snap.freshness.last_session or snap.as_of)
    blocks.append(freshness_line(state))
    n = ctx.options.chart_sessions
    picture = chart(
        ctx,
        state,
        ("snapshot", n),
        T.SNAPSHOT_CHART_ALT,
        lambda: charts.snapshot_chart(
            window(state.history.series("breadth_200d"), state, n),
            window(state.history.series("breadth_50d"), state, n),
            _closes(state, "RSP", n),
            _closes(state, "SPY", n),
            chart_meta(state),
        ),
        "snapshot.png",
    )
    return market_reply(
        state,
        _dated("snapshot", word),
        T.SNAPSHOT_TITLE.format(date=header_date(state)),
        blocks,
        table=Table(T.SNAPSHOT_HEADER, rows),
        chart=picture,
    )


# --- breadth --------------------------------------------------------------------------------


def _breadth_args(args: tuple[str, ...]) -> tuple[str | None, str]:
    """`breadth [WINDOW] [DATE]` in either order: (the DATE word or None, the window)."""
    day: str | None = None
    win: str | None = None
    for word in args:
        if word.lower() in CHART_WINDOWS and win is None:
            win = word.lower()
        elif day is None and not (word.lower() in CHART_WINDOWS or _WINDOWISH.fullmatch(word)):
            day = word
        elif _WINDOWISH.fullmatch(word.lower()):
            raise CommandError(
                T.CHART_BAD_WINDOW.format(
                    word=echo(word), windows=T.CHART_WINDOWS, example="breadth 3y"
                )
            )
        else:
            raise CommandError(T.BREADTH_TWO_DATES.format(example="breadth 3y"))
    return day, win or DEFAULT_WINDOW


def breadth(req: CommandRequest, ctx: CommandContext) -> Reply:
    """200- and 50-day breadth with changes and counts; its chart over a window (default 1y)
    with the S&P 500 (SPY) price beneath."""
    word, win = _breadth_args(req.args)
    state = state_on(ctx, word, "breadth")
    rows = []
    for sid, label in T.BREADTH_ROWS.items():
        label_, now, week, month = _row(state, sid, label)
        r = state.snapshot.signals.get(sid)
        details = {} if r is None else r.details
        above, used = number(details.get("above")), number(details.get("used"))
        counts = "—" if above is None or used is None else f"{above:.0f}/{used:.0f}"
        rows.append((label_, now, week, month, counts))
    n = CHART_WINDOWS[win]

    def render() -> bytes:
        b200 = _signal_window(state, "breadth_200d", n)
        return charts.breadth_price_chart(
            b200,
            _signal_window(state, "breadth_50d", n),
            _price_frame(state, "SPY", n),
            chart_meta(state),
        )

    picture = chart(
        ctx,
        state,
        ("breadth", win),
        T.BREADTH_CHART_ALT_WINDOW.format(window=_window_text(win)),
        render,
        f"breadth_{win}.png",
    )
    command = "breadth" + (f" {win}" if win != DEFAULT_WINDOW else "")
    return market_reply(
        state,
        _dated(command, word),
        T.BREADTH_TITLE.format(date=header_date(state)),
        [T.BREADTH_NOTE, freshness_line(state)],
        table=Table(T.BREADTH_HEADER, tuple(rows)),
        chart=picture,
    )


# --- sectors --------------------------------------------------------------------------------


def _sector_value(state: MarketState, etf: str, detail: str = "") -> float | None:
    """A sector's 3 m vs XLK (or a detail) at the snapshot. XLK's own spread is 0 by
    definition when its return exists (the signal leaves it empty)."""
    r = state.snapshot.signals.get(f"sector_{etf}")
    if r is None:
        return None
    if not detail:
        value = number(r.value)
        if value is None and etf == "XLK" and number(r.details.get("ret_63")) is not None:
            return 0.0
        return value
    value = number(r.details.get(detail))
    if value is None and etf == "XLK" and detail.endswith("_vs_xlk"):
        base = detail.removesuffix("_vs_xlk")
        return 0.0 if number(r.details.get(base)) is not None else None
    return value


def _ranked(state: MarketState) -> list[tuple[str, float | None]]:
    """Every sector ETF by 3 m vs XLK, best first, missing last (table order on ties)."""
    values = [(etf, _sector_value(state, etf)) for etf in SECTORS]
    return sorted(values, key=lambda ev: (ev[1] is None, -(ev[1] or 0.0)))


def sectors(req: CommandRequest, ctx: CommandContext) -> Reply:
    """All 13 sector instruments ranked in one table by 3 m return vs XLK."""
    word = req.args[0] if req.args else None
    state = state_on(ctx, word, "sectors")
    ranked = _ranked(state)
    rows = []
    for i, (etf, value) in enumerate(ranked, start=1):
        rows.append(
            (
                str(i),
                etf,
                SECTORS[etf].short,
                format_value(value, "pp"),
                format_value(_sector_value(state, etf, "ret_21_vs_xlk"), "pp"),
                format_value(_sector_value(state, etf, "breadth_200d"), "%"),
            )
        )
    picture = chart(
        ctx,
        state,
        ("sectors",),
        T.SECTORS_CHART_ALT,
        lambda: charts.sector_bars(
            [(SECTORS[e].display, v) for e, v in ranked], chart_meta(state), T.SECTORS_CHART_TITLE
        ),
        "sectors.png",
    )
    return market_reply(
        state,
        _dated("sectors", word),
        T.SECTORS_TITLE.format(date=header_date(state)),
        [T.SECTORS_NOTE, freshness_line(state)],
        table=Table(T.SECTORS_HEADER, tuple(rows), ("r", "l", "l", "r", "r", "r")),
        chart=picture,
        buttons=[Button(SECTORS[e].display, _dated(f"sector {e}", word)) for e, _ in ranked],
    )


def _picker(word: str | None = None) -> Reply:
    buttons = tuple(Button(s.display, _dated(f"sector {s.etf}", word)) for s in SECTORS.values())
    return Reply(title=T.PICK_SECTOR_TITLE, blocks=(T.PICK_SECTOR,), buttons=buttons)


def sector(req: CommandRequest, ctx: CommandContext) -> Reply:
    """One sector: returns and volatility vs XLK and SPY, member breadth, rank, chart."""
    args = list(req.args)
    word = args.pop() if args and is_date_word(args[-1]) else None
    if not args:
        if word is not None:
            state_on(ctx, word, "sector XLF")  # a bad DATE is refused before the list
        return _picker(word)
    text = " ".join(args)
    etf = resolve_sector(text)
    if etf is None:
        close = suggest_sectors(text)
        raise CommandError(
            T.UNKNOWN_SECTOR.format(
                name=echo(text), suggestions=", ".join(SECTORS[e].display for e in close)
            ),
            buttons=[Button(SECTORS[e].display, _dated(f"sector {e}", word)) for e in close],
        )
    state = state_on(ctx, word, f"sector {etf}")
    info = SECTORS[etf]
    r = state.snapshot.signals.get(f"sector_{etf}")
    details = {} if r is None else r.details
    rows = []
    for label, key, unit in T.SECTOR_ROWS:
        rows.append(
            (
                label,
                format_value(number(details.get(key)), unit, signed=key.startswith("ret")),
                format_value(_sector_value(state, etf, f"{key}_vs_xlk"), "pp"),
                format_value(number(details.get(f"{key}_vs_spy")), "pp"),
            )
        )
    header = tuple(h.format(etf=etf) for h in T.SECTOR_HEADER)
    blocks = []
    ranked = _ranked(state)
    rank = next(i for i, (e, _) in enumerate(ranked, start=1) if e == etf)
    blocks.append(
        T.SECTOR_RANK.format(
            value=format_value(_sector_value(state, etf), "pp"), rank=rank, total=len(ranked)
        )
    )
    sector_breadth = number(details.get("breadth_200d"))
    if etf in SECTOR_ETFS:
        members = len(state.data.universe.sector_tickers(SECTOR_ETFS[etf]))
        blocks.append(
            T.SECTOR_BREADTH.format(value=format_value(sector_breadth, "%"), members=members)
        )
    else:
        blocks.append(T.SECTOR_NO_BREADTH.format(etf=etf))
    blocks.append(freshness_line(state))
    bench = "SPY" if etf == "XLK" else "XLK"
    n = ctx.options.chart_sessions
    has_breadth = etf in SECTOR_ETFS

    def render() -> bytes:
        b = window(state.history.series(f"sector_{etf}.breadth_200d"), state, n)
        return charts.sector_chart(
            _closes(state, etf, n),
            _closes(state, bench, n),
            etf,
            bench,
            b if has_breadth else None,
            chart_meta(state),
            T.SECTOR_CHART_TITLE.format(etf=etf, name=info.short, bench=bench),
        )

    alt = T.SECTOR_CHART_ALT.format(
        label=f"{etf}/{bench}", breadth=T.SECTOR_CHART_ALT_BREADTH if has_breadth else ""
    )
    return market_reply(
        state,
        _dated(f"sector {etf}", word),
        T.SECTOR_TITLE.format(etf=etf, name=info.name, date=header_date(state)),
        blocks,
        table=Table(header, tuple(rows)),
        chart=chart(ctx, state, ("sector", etf, n), alt, render, f"sector_{etf}.png"),
    )


# --- chart SUBJECT [vs SUBJECT] [WINDOW] [log] ----------------------------------------------

#: Chart windows in sessions (None: all history).
CHART_WINDOWS: dict[str, int | None] = {
    **{w: LOOKBACKS[w] for w in ("3m", "6m", "1y", "3y", "5y", "10y")},
    "max": None,
}
DEFAULT_WINDOW = "1y"
#: Words meant as a window (refused when not one of CHART_WINDOWS).
_WINDOWISH = re.compile(r"\d+[dwmyq]|ytd|qtd|mtd|all")
#: Signal aliases (a signal id works too).
SIGNAL_ALIASES: dict[str, str] = {
    "breadth": "breadth_200d",
    "breadth200": "breadth_200d",
    "breadth50": "breadth_50d",
    "concentration": "top10_share",
    "top10": "top10_share",
    "mega7": "mega7_contribution",
    "ew": "ew_vs_cw",
    "smallcaps": "smallcap_rs",
    "regime": "rotation_regime",
}
#: Short names of signals in reply titles.
CHART_NAMES: dict[str, str] = {
    "breadth_200d": "Breadth (200-day)",
    "breadth_50d": "Breadth (50-day)",
    "top10_share": "Top-10 share",
    "mega7_contribution": "Mega-7 share of YTD return",
    "ew_vs_cw": "RSP−SPY, 3 m",
    "smallcap_rs": "IWM−SPY, 3 m",
    "rotation_regime": "Broadening conditions met",
}
_JOINERS = ("vs", "vs.", "versus", "/", "against")


@dataclass(frozen=True)
class ChartAsk:
    """A parsed `chart` line: the subjects as typed, the window word and the log flag."""

    a: str
    b: str | None
    window: str = DEFAULT_WINDOW
    log: bool = False


def parse_chart(args: Sequence[str]) -> ChartAsk:
    """`RSP vs SPY 5y`, `RSP/SPY`, `NVDA 3y log`, `top10 max`: subjects, window and log in
    any order. A word like a window that is not one, or a third subject, is a one-line
    CommandError with a runnable example."""
    words = [w for a in args for w in a.replace("/", " / ").split()]
    subjects: list[str] = []
    win: str | None = None
    log = False
    for word in words:
        low = word.lower()
        if low in _JOINERS:
            continue
        if low == "log":
            log = True
        elif low in CHART_WINDOWS and win is None:
            win = low
        elif low in CHART_WINDOWS or _WINDOWISH.fullmatch(low):
            example = f"chart {subjects[0] if subjects else 'SPY'} 3y"
            raise CommandError(
                T.CHART_BAD_WINDOW.format(word=echo(word), windows=T.CHART_WINDOWS, example=example)
            )
        else:
            subjects.append(word)
    if not subjects:
        raise CommandError(T.USAGE.format(usage=T.CHART_USAGE + ", e.g. chart RSP vs SPY 5y"))
    if len(subjects) > 2:
        raise CommandError(T.CHART_TOO_MANY)
    return ChartAsk(
        subjects[0], subjects[1] if len(subjects) == 2 else None, win or DEFAULT_WINDOW, log
    )


def _window_text(win: str) -> str:
    return (
        "all history"
        if win == "max"
        else {"m": "{} months", "y": "{} year"}[win[-1]].format(win[:-1])
        + ("s" if win[-1] == "y" and win != "1y" else "")
    )


def _signal_id(state: MarketState, word: str) -> str | None:
    """The signal a word names (alias or id), or None. A ticker typed in capitals wins over
    an alias (EW is Edwards Lifesciences; `ew` is equal vs cap weight)."""
    low = word.lower()
    ids = state.history.ids()
    if low in ids:
        return low
    sid = SIGNAL_ALIASES.get(low)
    if sid is None or sid not in ids:
        return None
    if word.isupper() and word.replace(".", "-") in state.data.closes.columns:
        return None
    return sid


def _subject_ticker(state: MarketState, word: str) -> str:
    """A ticker in the data (as typed, BRK.B -> BRK-B, or a sector name's ETF), else a
    one-line error naming the closest tickers and signals, with a runnable example."""
    closes = state.data.closes
    candidate = word.upper().replace(".", "-")
    if candidate in closes.columns:
        return candidate
    etf = resolve_sector(word)
    if etf is not None and etf in closes.columns:
        return etf
    known = [str(c) for c in closes.columns]
    close = difflib.get_close_matches(candidate[:16], known, n=3, cutoff=0.4)
    close_signals = difflib.get_close_matches(word.lower()[:16], list(SIGNAL_ALIASES), n=2)
    names = close_signals + close
    message = T.CHART_BAD_WORD.format(name=echo(word))
    if names:
        message += " " + T.CLOSEST.format(suggestions=", ".join(names))
    message += " " + T.CHART_EXAMPLE
    raise CommandError(message, buttons=[Button(c, f"chart {c}") for c in names])


def _session_start(state: MarketState, n: int | None) -> pd.Timestamp | None:
    """The first session of a window of `n` sessions ending at the snapshot (None: all)."""
    if n is None:
        return None
    sessions = state.history.sessions
    pos = history_position(state)
    return pd.Timestamp(sessions[max(0, pos + 1 - n)])


def _signal_window(state: MarketState, path: str, n: int | None) -> pd.Series:
    """A signal path over the window; `max` starts at the signal's first value."""
    series = state.history.series(path)
    cut = window(series, state, len(series) if n is None else n)
    first = cut.first_valid_index()
    return cut if n is not None or first is None else cut.loc[first:]


_Data = TypeVar("_Data", pd.Series, pd.DataFrame)


def _upto(state: MarketState, data: _Data) -> _Data:
    return data.loc[: pd.Timestamp(state.snapshot.as_of)]


def _cut(frame: pd.DataFrame, state: MarketState, n: int | None) -> pd.DataFrame:
    start = _session_start(state, n)
    return frame if start is None else frame.loc[start:]


def _price_frame(state: MarketState, ticker: str, n: int | None) -> pd.DataFrame:
    """A ticker's closes in the window with their 50/200-day averages (from all history)."""
    closes = state.data.closes
    if ticker not in closes.columns:
        return charts.with_averages(pd.Series(dtype=float), None)
    return _cut(charts.with_averages(_upto(state, closes[ticker]).dropna(), None), state, n)


def _ratio_frame(state: MarketState, a: str, b: str, n: int | None) -> pd.DataFrame:
    closes = _upto(state, state.data.closes[[a, b]])
    ratio = (closes[a] / closes[b]).dropna()
    return _cut(charts.with_averages(ratio, None), state, n)


def mega7_cap_share(state: MarketState) -> pd.Series:
    """The Mega-7 companies' share of the members' cap, %, on every session."""
    caps = state.history.company_caps
    seven = [c for c in dict.fromkeys(state.data.universe.company_of(list(MEGA_SEVEN_TICKERS)))
             if c in caps.columns]  # fmt: skip
    total = caps.sum(axis=1, min_count=1)
    return (100.0 * caps[seven].sum(axis=1, min_count=1) / total).rename("mega7_cap_share")


def _span(index: pd.Index) -> tuple[str, str]:
    if len(index) == 0:
        return "—", "—"
    return pd.Timestamp(index[0]).date().isoformat(), pd.Timestamp(index[-1]).date().isoformat()


def _change_text(label: str, values: pd.Series, win: str) -> str:
    valid = values.dropna()
    change = None if len(valid) < 2 else number(100.0 * (valid.iloc[-1] / valid.iloc[0] - 1.0))
    start, end = _span(valid.index)
    return T.CHART_CHANGE.format(
        label=label, change=format_value(change, "%", signed=True), window=_window_text(win),
        start=start, end=end,
    )  # fmt: skip


def _share_text(label: str, share: pd.Series) -> str:
    valid = share.dropna()
    if valid.empty:
        return T.CHART_SIGNAL_NOW.format(label=label, value="—", then="—", start="—")
    return T.CHART_SIGNAL_NOW.format(
        label=f"{label} share of member cap", value=format_value(number(valid.iloc[-1]), "%"),
        then=format_value(number(valid.iloc[0]), "%"), start=_span(valid.index)[0],
    )  # fmt: skip


def chart_command(req: CommandRequest, ctx: CommandContext) -> Reply:
    """`chart SUBJECT [vs SUBJECT] [WINDOW] [log]`: a ticker's price with its 50/200-day
    averages, the ratio of two tickers with its own, one or two signals, or (top10 /
    concentration alone) the top-10 and Mega-7 shares of cap with thin cap coverage shaded."""
    ask = parse_chart(req.args)
    state = need_state(ctx)
    n = CHART_WINDOWS[ask.window]
    span = _window_text(ask.window)
    tail = (f" {ask.window}" if ask.window != DEFAULT_WINDOW else "") + (" log" if ask.log else "")
    sa, sb = _signal_id(state, ask.a), (None if ask.b is None else _signal_id(state, ask.b))
    if ask.b is not None and (sa is None) != (sb is None):
        raise CommandError(
            T.CHART_MIXED.format(example="chart RSP vs SPY 5y or chart breadth vs breadth50")
        )
    meta = chart_meta(state)
    blocks: list[str] = []
    render: Callable[[], bytes]
    if sa is not None:
        ids = [sa] if sb is None else [sa, sb]
        if sb == sa:
            raise CommandError(T.SAME_TICKER)
        label = signal_label(sa) if sb is None else " vs ".join(CHART_NAMES.get(i, i) for i in ids)
        command = "chart " + " vs ".join(ids) + tail
        if ids == ["top10_share"]:
            kind, alt = "concentration", T.CHART_ALT_CONCENTRATION.format(window=span)
            top = _signal_window(state, "top10_share", n)
            cover = state.history.series("top10_share.cap_coverage").reindex(top.index)
            mega = mega7_cap_share(state).reindex(top.index)
            blocks += [_share_text("Top-10", top), _share_text("Mega-7", mega)]
            thin = top.index[(cover < 0.9).to_numpy(dtype=bool) & top.notna().to_numpy()]
            if len(thin):
                blocks.append(T.CHART_THIN_CAPS.format(n=len(thin), of=int(top.notna().sum()),
                              last=_span(thin)[1]))  # fmt: skip
            render = lambda: charts.concentration_chart(top, mega, cover, meta)  # noqa: E731
            command = "chart top10" + tail
            label = "Concentration: top 10 and Mega-7"
        else:
            kind = "signals"
            lines = [(CHART_NAMES.get(i, i), _signal_window(state, i, n)) for i in ids]
            units = {signal_unit(i) for i in ids}
            unit = units.pop() if len(units) == 1 else "value"
            alt = T.CHART_ALT_SIGNALS.format(
                label=" and ".join(signal_label(i) for i in ids), window=span
            )
            title = signal_label(ids[0]) if len(ids) == 1 else label
            ylabel = "conditions met (of 4)" if ids == ["rotation_regime"] else ""
            wide = all(i.startswith("breadth_") for i in ids)
            ylabel = "% of members above average" if wide else ylabel
            render = lambda: charts.signals_chart(  # noqa: E731
                lines, unit, meta, title, ylabel, breadth=wide
            )
        for i in ids if kind == "signals" else ():
            series = _signal_window(state, i, n).dropna()
            if not series.empty:
                u = signal_unit(i)
                blocks.append(T.CHART_SIGNAL_NOW.format(
                    label=signal_label(i), value=format_value(number(series.iloc[-1]), u),
                    then=format_value(number(series.iloc[0]), u), start=_span(series.index)[0],
                ))  # fmt: skip
        key: tuple[object, ...] = ("chart", kind, *ids, ask.window)
        filename = f"chart_{'_'.join(ids)}_{ask.window}.png"
    else:
        a = _subject_ticker(state, ask.a)
        b = None if ask.b is None else _subject_ticker(state, ask.b)
        if b == a:
            raise CommandError(T.SAME_TICKER)
        for ticker in (a, b):
            if ticker is not None and state.data.closes[ticker].dropna().empty:
                raise CommandError(
                    T.NO_PRICES.format(ticker=ticker).replace(" in the last year", "")
                )
        if b is None:
            label = a
            frame = _price_frame(state, a, n)
            alt = T.CHART_ALT_PRICE.format(label=a, window=span)
            render = lambda: charts.price_chart(frame, a, meta, ask.log)  # noqa: E731
        else:
            label = f"{a}/{b}"
            frame = _ratio_frame(state, a, b, n)
            alt = T.CHART_ALT_RATIO.format(label=label, window=span)
            render = lambda: charts.ratio_lines_chart(frame, a, b, meta, ask.log)  # noqa: E731
        blocks.append(_change_text(label, frame["value"], ask.window))
        command = f"chart {a}" + (f" vs {b}" if b is not None else "") + tail
        key = ("chart", a, b, ask.window, ask.log)
        filename = f"chart_{a}{'_' + b if b else ''}_{ask.window}{'_log' if ask.log else ''}.png"
    blocks.append(freshness_line(state))
    return market_reply(
        state,
        command,
        T.CHART_TITLE.format(label=label, date=header_date(state)),
        blocks,
        chart=chart(ctx, state, key, alt, render, filename),
    )
