"""PNG charts for chat replies, readable on a phone (matplotlib, Agg, object API).

Only the object API is used (`Figure` + `FigureCanvasAgg`, never `pyplot`): pyplot keeps global
figure state and is not thread-safe, while these functions run in `asyncio.to_thread` workers,
possibly several at once. Each function takes plain pandas series (the caller cuts the window)
and returns PNG bytes of about 1000 x 700 px with large type (>= 14 pt), a dated x axis, and
the source, the as-of session and "SIMULATED" (for demo data) in the corners.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import matplotlib

matplotlib.use("Agg")  # headless everywhere, even if something imports pyplot later

import matplotlib.dates as mdates  # noqa: E402  (after the backend is chosen)
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.layout_engine import ConstrainedLayoutEngine  # noqa: E402

from bot.render.numbers import DASH, format_signed  # noqa: E402

#: 10 x 7 inches at 100 dpi = 1000 x 700 px.
SIZE_IN = (10.0, 7.0)
DPI = 100
#: Type sizes in points (tick labels are the smallest text on a chart).
TICK_PT = 15
LABEL_PT = 16
TITLE_PT = 20
NOTE_PT = 14
#: Colour-blind-safe pair (Okabe-Ito blue and orange) plus greys for references.
BLUE = "#0072B2"
ORANGE = "#E69F00"
GREY = "#7f7f7f"
RED = "#C0392B"


@dataclass(frozen=True)
class ChartMeta:
    """What every chart states in its corners."""

    source: str
    as_of: date | None
    simulated: bool = False


def _figure(rows: int = 1, heights: Sequence[float] | None = None) -> tuple[Figure, list[Axes]]:
    fig = Figure(figsize=SIZE_IN, dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    kw = {"height_ratios": list(heights)} if heights else {}
    axes = fig.subplots(rows, 1, sharex=rows > 1, squeeze=False, gridspec_kw=kw)[:, 0]
    for ax in axes:
        ax.tick_params(labelsize=TICK_PT)
        ax.grid(True, color="#dddddd", linewidth=0.8)
        ax.spines[["top", "right"]].set_visible(False)
    return fig, list(axes)


def _dated(ax: Axes) -> None:
    """Dates every tick of which names its year: "Jan 2025" over up to two years, the
    year alone ("2021") over longer spans."""
    lo, hi = ax.get_xlim()
    years = (hi - lo) / 365.25
    locator: mdates.DateLocator
    if years > 2.2:
        step = 1 if years <= 6 else (2 if years <= 12 else 5)
        locator = mdates.YearLocator(step)
        formatter = mdates.DateFormatter("%Y")
    else:
        months = 1 if years <= 0.4 else (2 if years <= 0.75 else (3 if years <= 1.3 else 6))
        locator = mdates.MonthLocator(bymonth=range(1, 13, months))
        formatter = mdates.DateFormatter("%b %Y")
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(formatter)


def _corners(fig: Figure, meta: ChartMeta) -> None:
    """Source and as-of bottom right; SIMULATED top right in red."""
    as_of = "—" if meta.as_of is None else meta.as_of.isoformat()
    # keep strips free for the notes (constrained layout ignores fig.text); rect is
    # (left, bottom, width, height) in figure fractions
    bottom, top = 0.045, (0.96 if meta.simulated else 1.0)
    engine = fig.get_layout_engine()
    if isinstance(engine, ConstrainedLayoutEngine):
        engine.set(rect=(0.0, bottom, 1.0, top - bottom))
    fig.text(
        0.99, 0.005, f"Source: {meta.source} · as of {as_of}",
        ha="right", va="bottom", fontsize=NOTE_PT, color=GREY,
    )  # fmt: skip
    if meta.simulated:
        fig.text(
            0.99, 0.995, "SIMULATED",
            ha="right", va="top", fontsize=LABEL_PT, color=RED, weight="bold",
        )  # fmt: skip


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def _title(ax: Axes, text: str) -> None:
    ax.set_title(text, fontsize=TITLE_PT, loc="left", pad=12)


def _legend(ax: Axes) -> None:
    # "best" keeps the legend off the lines; a translucent frame keeps it readable if not
    ax.legend(fontsize=NOTE_PT, loc="best", framealpha=0.85, edgecolor="none", ncols=2)


def _empty(ax: Axes, index: pd.Index, text: str = "no data") -> None:
    """Say so on an empty panel, and keep its dates when the sessions are known."""
    ax.text(0.5, 0.75, text, ha="center", va="center", fontsize=LABEL_PT, color=GREY,
            transform=ax.transAxes)  # fmt: skip
    if len(index) > 1 and isinstance(index, pd.DatetimeIndex):
        ax.set_xlim(index[0], index[-1])  # type: ignore[arg-type]  # dates via units


def _last(series: pd.Series, fmt: str) -> str:
    """The series' last value for a legend label ("" when it has none)."""
    valid = series.dropna()
    return "" if valid.empty else f" {valid.iloc[-1]:{fmt}}"


def _reference(ax: Axes, level: float, text: str, style: str = "--") -> None:
    """A horizontal reference line labelled just outside the right edge (never on the data)."""
    ax.axhline(level, color=GREY, lw=1.2, ls=style)
    ax.annotate(text, (1.0, level), xycoords=("axes fraction", "data"), xytext=(4, 0),
                textcoords="offset points", ha="left", va="center",
                fontsize=NOTE_PT, color=GREY)  # fmt: skip


def _breadth_panel(ax: Axes, b200: pd.Series, b50: pd.Series) -> None:
    ax.plot(b200.index, b200.to_numpy(dtype=float), color=BLUE, lw=2.4,
            label="200-day" + _last(b200, ".1f") + "%" * bool(_last(b200, ".1f")))  # fmt: skip
    ax.plot(b50.index, b50.to_numpy(dtype=float), color=ORANGE, lw=1.6,
            label="50-day" + _last(b50, ".1f") + "%" * bool(_last(b50, ".1f")))  # fmt: skip
    _reference(ax, 65, "65")
    _reference(ax, 50, "50", ":")
    ax.set_ylim(0, 100)
    ax.set_ylabel("% of members above average", fontsize=LABEL_PT)
    if b200.dropna().empty and b50.dropna().empty:
        _empty(ax, b200.index)
    _legend(ax)


def normalised_ratio(a: pd.Series, b: pd.Series | None) -> pd.Series:
    """a / b rebased to 100 at the first session where both have a close (a alone if b is
    None); NaN where either is missing."""
    ratio = a.astype(float) if b is None else a.astype(float) / b.astype(float)
    valid = ratio.dropna()
    if valid.empty or valid.iloc[0] == 0:
        return ratio * np.nan
    return 100.0 * ratio / valid.iloc[0]


def _ratio_panel(ax: Axes, ratio: pd.Series, label: str, sma: int = 50) -> None:
    ax.plot(ratio.index, ratio.to_numpy(dtype=float), color=BLUE, lw=2.4,
            label=label + _last(ratio, ".1f"))  # fmt: skip
    if ratio.notna().sum() > sma:
        avg = ratio.rolling(sma, min_periods=sma).mean()
        ax.plot(avg.index, avg.to_numpy(dtype=float), color=ORANGE, lw=1.6,
                label=f"{sma}-day average")  # fmt: skip
    _reference(ax, 100, "100")
    ax.set_ylabel("start = 100", fontsize=LABEL_PT)
    if ratio.dropna().empty:
        _empty(ax, ratio.index)
    _legend(ax)


def sector_bars(
    rows: Sequence[tuple[str, float | None]], meta: ChartMeta, title: str, unit: str = "pp"
) -> bytes:
    """Horizontal bars, one per (label, value), in the given order top to bottom; missing
    values are listed with an em dash and no bar."""
    fig, (ax,) = _figure()
    _title(ax, title)
    labels = [r[0] for r in rows]
    values = np.array([np.nan if r[1] is None else float(r[1]) for r in rows])
    y = np.arange(len(rows))[::-1]
    colours = [BLUE if v >= 0 else ORANGE for v in np.nan_to_num(values)]
    ax.barh(y, np.nan_to_num(values), color=colours, height=0.7)
    ax.set_yticks(y, labels, fontsize=TICK_PT)
    ax.axvline(0, color="#333333", lw=1.0)
    ax.grid(True, axis="x", color="#dddddd")
    ax.grid(False, axis="y")
    finite = values[np.isfinite(values)]
    span = float(np.max(np.abs(finite))) if finite.size else 1.0
    span = span or 1.0
    low = min(float(finite.min()) if finite.size else 0.0, 0.0)
    high = max(float(finite.max()) if finite.size else 0.0, 0.0)
    # room for the value labels beyond each bar end (a third of the longest bar)
    ax.set_xlim(low - (span * 0.35 if low < 0 else span * 0.1), high + span * 0.35)
    for yi, v in zip(y, values, strict=True):
        text = DASH if not np.isfinite(v) else format_signed(v)
        x = 0.0 if not np.isfinite(v) else v
        ax.annotate(text, (x, yi), xytext=(6 if x >= 0 else -6, 0), textcoords="offset points",
                    ha="left" if x >= 0 else "right", va="center", fontsize=NOTE_PT)  # fmt: skip
    ax.set_xlabel(unit, fontsize=LABEL_PT)
    _corners(fig, meta)
    return _png(fig)


def sector_chart(
    etf: pd.Series,
    bench: pd.Series,
    etf_name: str,
    bench_name: str,
    breadth: pd.Series | None,
    meta: ChartMeta,
    title: str | None = None,
) -> bytes:
    """A sector ETF against a benchmark (price ratio rebased to 100), with its members'
    200-day breadth below when the sector has one."""
    has_breadth = breadth is not None and breadth.notna().any()
    fig, axes = _figure(2, (3, 2)) if has_breadth else _figure()
    _title(axes[0], title or f"{etf_name} vs {bench_name}: ratio, up = {etf_name} leads")
    _ratio_panel(axes[0], normalised_ratio(etf, bench), f"{etf_name} / {bench_name}")
    if has_breadth:
        assert breadth is not None
        ax = axes[1]
        ax.plot(breadth.index, breadth.to_numpy(dtype=float), color=BLUE, lw=2.0)
        _reference(ax, 65, "65")
        _reference(ax, 50, "50", ":")
        ax.set_ylim(0, 100)
        ax.set_ylabel("%", fontsize=LABEL_PT)
        ax.set_title(
            f"{etf_name} members above their 200-day average:" + _last(breadth, ".1f") + "%",
            fontsize=LABEL_PT, loc="left",
        )  # fmt: skip
    _dated(axes[-1])
    _corners(fig, meta)
    return _png(fig)


def snapshot_chart(
    b200: pd.Series, b50: pd.Series, rsp: pd.Series, spy: pd.Series, meta: ChartMeta
) -> bytes:
    """Two panels: breadth (200/50-day) on top, equal weight vs cap weight (RSP/SPY) below."""
    fig, (top, bottom) = _figure(2, (1, 1))
    _title(top, "Breadth and equal weight vs cap weight")
    _breadth_panel(top, b200, b50)
    top.set_ylabel("% above avg", fontsize=LABEL_PT)
    _ratio_panel(bottom, normalised_ratio(rsp, spy), "RSP / SPY")
    bottom.set_title("RSP / SPY: up = equal weight leads", fontsize=LABEL_PT, loc="left")
    _dated(bottom)
    _corners(fig, meta)
    return _png(fig)


# --- any window: prices, ratios, signals, breadth over price, concentration ------------------

#: The moving averages drawn on price and ratio charts.
AVERAGES = (50, 200)


def with_averages(series: pd.Series, sessions: int | None) -> pd.DataFrame:
    """The drawn lines of a price or ratio chart: ``value`` and its 50- and 200-session
    averages (``sma50``, ``sma200``; NaN until that many values exist), computed on the whole
    series given, then cut to its last `sessions` rows (all with None)."""
    values = series.astype(float)
    frame = pd.DataFrame({"value": values})
    for n in AVERAGES:
        frame[f"sma{n}"] = values.rolling(n, min_periods=n).mean()
    return frame if sessions is None else frame.iloc[-sessions:]


def _lines(ax: Axes, frame: pd.DataFrame, label: str, fmt: str) -> None:
    value = frame["value"]
    ax.plot(frame.index, value.to_numpy(dtype=float), color=BLUE, lw=2.2,
            label=label + _last(value, fmt))  # fmt: skip
    for n, colour, style in ((50, ORANGE, "-"), (200, GREY, "--")):
        avg = frame[f"sma{n}"]
        if avg.notna().any():
            ax.plot(avg.index, avg.to_numpy(dtype=float), color=colour, lw=1.6, ls=style,
                    label=f"{n}-day average")  # fmt: skip
    if value.dropna().empty:
        _empty(ax, frame.index)
    _legend(ax)


def _log(ax: Axes) -> None:
    """A log y axis with 4 to 8 labelled round values (1, 1.5, 2, 3, 5, 7 per decade; plain
    round steps when the range spans less than that), no unlabelled minor ticks."""
    ax.set_yscale("log")
    lo, hi = ax.get_ylim()
    ticks = [
        t
        for t in matplotlib.ticker.LogLocator(subs=(1.0, 1.5, 2.0, 3.0, 5.0, 7.0)).tick_values(
            lo, hi
        )
        if lo <= t <= hi
    ]
    if len(ticks) < 4:
        ticks = [t for t in matplotlib.ticker.MaxNLocator(6).tick_values(lo, hi) if lo <= t <= hi]
    if len(ticks) > 8:
        ticks = ticks[:: -(-len(ticks) // 8)]
    ax.yaxis.set_major_locator(matplotlib.ticker.FixedLocator(ticks))
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.yaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    ax.set_ylim(lo, hi)


def price_chart(frame: pd.DataFrame, name: str, meta: ChartMeta, log: bool = False) -> bytes:
    """One ticker's adjusted close (not rebased) with its 50- and 200-day averages
    (`with_averages`)."""
    fig, (ax,) = _figure()
    _title(ax, f"{name}: price with 50- and 200-day averages")
    _lines(ax, frame, name, ".2f")
    ax.set_ylabel("adjusted close, $" + (" (log scale)" if log else ""), fontsize=LABEL_PT)
    if log:
        _log(ax)
    _dated(ax)
    _corners(fig, meta)
    return _png(fig)


def ratio_lines_chart(
    frame: pd.DataFrame, a_name: str, b_name: str, meta: ChartMeta, log: bool = False
) -> bytes:
    """The ratio a / b (not rebased) with its own 50- and 200-day averages; up = a leads."""
    fig, (ax,) = _figure()
    _title(ax, f"{a_name} vs {b_name}: up = {a_name} leads")
    _lines(ax, frame, f"{a_name} / {b_name}", ".4g")
    ax.set_ylabel(f"ratio {a_name} / {b_name}" + (" (log scale)" if log else ""),
                  fontsize=LABEL_PT)  # fmt: skip
    if log:
        _log(ax)
    _dated(ax)
    _corners(fig, meta)
    return _png(fig)


def signals_chart(
    lines: Sequence[tuple[str, pd.Series]],
    unit: str,
    meta: ChartMeta,
    title: str,
    ylabel: str = "",
    breadth: bool = False,
) -> bytes:
    """One or two signals on one axis (short label, series), in their unit. Breadth gets its
    65 and 50 lines on a 0-100 axis, spreads (pp) a zero line, counts (unit "", the regime's
    conditions met) steps on whole numbers."""
    fig, (ax,) = _figure()
    _title(ax, title)
    colours = (BLUE, ORANGE)
    count = unit == ""
    for (label, series), colour in zip(lines, colours, strict=False):
        suffix = _last(series, ".0f" if count else ("+.1f" if unit == "pp" else ".1f"))
        text = label + suffix + (f" {unit}" if unit == "pp" and suffix else "")
        text += "%" if unit == "%" and suffix else ""
        values = series.to_numpy(dtype=float)
        if count:
            ax.step(series.index, values, where="post", color=colour, lw=2.2, label=text)
        else:
            ax.plot(series.index, values, color=colour, lw=2.2, label=text)
    finite = pd.concat([s for _, s in lines]).dropna()
    if breadth:
        _reference(ax, 65, "65")
        _reference(ax, 50, "50", ":")
        ax.set_ylim(0, 100)
    elif count:
        top = max(4.0, float(finite.max())) if not finite.empty else 4.0
        ax.set_ylim(-0.3, top + 1.2)  # headroom for the legend
        ax.set_yticks(range(int(top) + 1))
    elif unit == "pp":
        _reference(ax, 0, "0")
    default = {"%": "%", "pp": "percentage points"}.get(unit, unit or "value")
    ax.set_ylabel(ylabel or default, fontsize=LABEL_PT)
    if finite.empty:
        _empty(ax, lines[0][1].index)
    _legend(ax)
    _dated(ax)
    _corners(fig, meta)
    return _png(fig)


def breadth_price_chart(
    b200: pd.Series, b50: pd.Series, price: pd.DataFrame, meta: ChartMeta, name: str = "SPY"
) -> bytes:
    """Breadth (200- and 50-day) on top, the index's price (`with_averages` frame) beneath,
    on one date axis, as breadth charts are read."""
    fig, (top, bottom) = _figure(2, (3, 2))
    _title(top, f"Breadth over the S&P 500 ({name})")
    _breadth_panel(top, b200, b50)
    top.set_ylabel("% above average", fontsize=LABEL_PT)
    value = price["value"]
    bottom.plot(price.index, value.to_numpy(dtype=float), color="#333333", lw=1.8,
                label=f"{name}" + _last(value, ".2f"))  # fmt: skip
    avg = price["sma200"]
    if avg.notna().any():
        bottom.plot(avg.index, avg.to_numpy(dtype=float), color=GREY, lw=1.4, ls="--",
                    label="200-day average")  # fmt: skip
    bottom.set_ylabel(f"{name}, $", fontsize=LABEL_PT)
    if value.dropna().empty:
        _empty(bottom, price.index)
    _legend(bottom)
    _dated(bottom)
    _corners(fig, meta)
    return _png(fig)


def concentration_chart(
    top10: pd.Series, mega7: pd.Series, coverage: pd.Series, meta: ChartMeta
) -> bytes:
    """Top-10 companies' and the Mega-7's share of member cap (%), with the sessions whose
    cap coverage is under 0.9 shaded."""
    fig, (ax,) = _figure()
    _title(ax, "Concentration: share of S&P 500 member cap")
    low = (coverage.reindex(top10.index) < 0.9).to_numpy(dtype=bool)
    if low.any():
        ax.fill_between(top10.index, 0, 1, where=low, transform=ax.get_xaxis_transform(),
                        color="#f2d7d5", step="post", lw=0,
                        label="caps for < 90% of companies")  # fmt: skip
    for series, colour, label in ((top10, BLUE, "Top 10"), (mega7, ORANGE, "Mega-7")):
        suffix = _last(series, ".1f")
        ax.plot(series.index, series.to_numpy(dtype=float), color=colour, lw=2.2,
                label=label + suffix + "%" * bool(suffix))  # fmt: skip
    ax.set_ylabel("% of member cap", fontsize=LABEL_PT)
    finite = pd.concat([top10, mega7]).dropna()
    ax.set_ylim(0, max(10.0, float(finite.max()) * 1.15) if not finite.empty else 100)
    if finite.empty:
        _empty(ax, top10.index)
    _legend(ax)
    _dated(ax)
    _corners(fig, meta)
    return _png(fig)


def mega7_chart(index_ytd: pd.Series, mega7_pp: pd.Series, meta: ChartMeta) -> bytes:
    """The cap-weighted year-to-date return of the members and the part of it that came from
    the Mega-7, both in percentage points; each January both start again from zero. Points
    rather than the seven's share, which explodes whenever the index is near flat."""
    fig, (ax,) = _figure()
    _title(ax, "Mega-7 contribution to the year-to-date return")
    for series, colour, label, unit, width in (
        (index_ytd, "#333333", "All members", "%", 1.8),
        (mega7_pp, ORANGE, "Mega-7's part", " pp", 2.4),
    ):
        suffix = _last(series, "+.1f")
        ax.plot(series.index, series.to_numpy(dtype=float), color=colour, lw=width,
                label=label + suffix + unit * bool(suffix))  # fmt: skip
    ax.fill_between(mega7_pp.index, 0, mega7_pp.to_numpy(dtype=float), color=ORANGE,
                    alpha=0.25, lw=0)  # fmt: skip
    _reference(ax, 0, "0")
    ax.set_ylabel("YTD return, % (resets each January)", fontsize=LABEL_PT)
    if pd.concat([index_ytd, mega7_pp]).dropna().empty:
        _empty(ax, index_ytd.index)
    _legend(ax)
    _dated(ax)
    _corners(fig, meta)
    return _png(fig)
