"""`chart SUBJECT [vs SUBJECT] [WINDOW] [log]`: prices with their averages, ratios, signals and
concentration over a window; the windows and price/signal frames `breadth` draws too."""

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
    market_reply,
    need_state,
    number,
    window,
)
from bot.commands.context import CommandContext
from bot.commands.parse import CommandRequest
from bot.commands.sector_names import panel_ticker
from bot.model import Button, Reply, echo
from bot.render import charts, format_value, signal_unit
from bot.render import texts as T
from bot.render.texts import signal_label
from signals.indicators.history import MEGA_SEVEN_TICKERS
from signals.periods import LOOKBACKS

if TYPE_CHECKING:
    from bot.alerts import MarketState


# --- chart SUBJECT [vs SUBJECT] [WINDOW] [log] ----------------------------------------------

#: Chart windows in sessions (None: all history).
CHART_WINDOWS: dict[str, int | None] = {
    **{w: LOOKBACKS[w] for w in ("3m", "6m", "1y", "3y", "5y", "10y")},
    "max": None,
}
DEFAULT_WINDOW = "1y"
#: Words meant as a window (refused when not one of CHART_WINDOWS).
WINDOWISH = re.compile(r"\d+[dwmyq]|ytd|qtd|mtd|all")
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
    "nim": "bank_nim",
    "fcf": "energy_fcf_yield",
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
    "bank_nim": "Bank net interest margin",
    "energy_fcf_yield": "Energy FCF yield",
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
        elif low in CHART_WINDOWS or WINDOWISH.fullmatch(low):
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


def window_text(win: str) -> str:
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
    found = panel_ticker(word, closes.columns)
    if found is not None:
        return found
    known = [str(c) for c in closes.columns]
    close = difflib.get_close_matches(word.upper().replace(".", "-")[:16], known, n=3, cutoff=0.4)
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


def signal_window(state: MarketState, path: str, n: int | None) -> pd.Series:
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


def price_frame(state: MarketState, ticker: str, n: int | None) -> pd.DataFrame:
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
        label=label, change=format_value(change, "%", signed=True), window=window_text(win),
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


def _mega7_text(state: MarketState, ytd: pd.Series, pp: pd.Series) -> str:
    valid = pd.concat([ytd, pp], axis=1).dropna()
    if valid.empty:
        return T.CHART_MEGA7_NOW.format(pp="—", ytd="—", date="—", share="—")
    day = valid.index[-1]
    share = state.history.series("mega7_contribution").get(day)
    return T.CHART_MEGA7_NOW.format(
        pp=format_value(number(valid.iloc[-1, 1]), "pp"),
        ytd=format_value(number(valid.iloc[-1, 0]), "%", signed=True),
        date=pd.Timestamp(day).date().isoformat(),
        share=format_value(number(share), "%") if share is not None else "—",
    )


def chart_command(req: CommandRequest, ctx: CommandContext) -> Reply:
    """`chart SUBJECT [vs SUBJECT] [WINDOW] [log]`: a ticker's price with its 50/200-day
    averages, the ratio of two tickers with its own, one or two signals, or (top10 /
    concentration alone) the top-10 and Mega-7 shares of cap with thin cap coverage shaded."""
    ask = parse_chart(req.args)
    state = need_state(ctx)
    n = CHART_WINDOWS[ask.window]
    span = window_text(ask.window)
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
            top = signal_window(state, "top10_share", n)
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
        elif ids == ["mega7_contribution"]:
            kind, alt = "mega7", T.CHART_ALT_MEGA7.format(window=span)
            ytd = signal_window(state, "mega7_contribution.index_ytd", n)
            pp = signal_window(state, "mega7_contribution.pp", n)
            blocks.append(_mega7_text(state, ytd, pp))
            render = lambda: charts.mega7_chart(ytd, pp, meta)  # noqa: E731
            label = "Mega-7 contribution to the YTD return"
        else:
            kind = "signals"
            lines = [(CHART_NAMES.get(i, i), signal_window(state, i, n)) for i in ids]
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
            series = signal_window(state, i, n).dropna()
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
            frame = price_frame(state, a, n)
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
