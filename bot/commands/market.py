"""Market commands: snapshot, breadth, sector, sectors. Read-only, from the cached state.

snapshot, breadth, sector and sectors take an optional DATE (YYYY-MM-DD: the session on or
before it), read from the stored signal history (`state_on`). Every answer's first line names
the session its numbers describe, and says so when the data ends before the session asked
for (`header_date`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from bot.commands.chart import (
    CHART_WINDOWS,
    DEFAULT_WINDOW,
    WINDOWISH,
    price_frame,
    signal_window,
    window_text,
)
from bot.commands.common import (
    CommandError,
    chart,
    chart_meta,
    freshness_line,
    header_date,
    is_date_word,
    market_reply,
    number,
    reading,
    state_on,
    unit_of,
    window,
)
from bot.commands.context import CommandContext
from bot.commands.fundamentals import sector_lines
from bot.commands.parse import CommandRequest
from bot.commands.sector_names import SECTORS, resolve_sector, suggest_sectors
from bot.model import Button, Reply, Table, echo
from bot.render import charts, format_change, format_value, partial_caps_notes
from bot.render import texts as T
from signals.market import SECTOR_ETFS

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
        elif day is None and not (word.lower() in CHART_WINDOWS or WINDOWISH.fullmatch(word)):
            day = word
        elif WINDOWISH.fullmatch(word.lower()):
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
        b200 = signal_window(state, "breadth_200d", n)
        return charts.breadth_price_chart(
            b200,
            signal_window(state, "breadth_50d", n),
            price_frame(state, "SPY", n),
            chart_meta(state),
        )

    picture = chart(
        ctx,
        state,
        ("breadth", win),
        T.BREADTH_CHART_ALT_WINDOW.format(window=window_text(win)),
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
    blocks.extend(sector_lines(state, etf))
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
