"""The relative rotation graph as a PNG (matplotlib object API, Agg, readable on a phone).

x: RS-ratio, y: RS-momentum, both 100-centred (formula in docs/signals.md); the four quadrants
shaded and named in their corners, a crosshair at 100/100, and for each instrument a tail of
weekly points that fades towards the past and ends in a dot with the ticker beside it. Same
size, type sizes and corner notes as every other chart (`bot.render.charts`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib import patheffects
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from bot.render.charts import (
    DPI,
    GREY,
    LABEL_PT,
    NOTE_PT,
    SIZE_IN,
    TICK_PT,
    ChartMeta,
    _corners,
    _png,
    _title,
)
from signals.rotation import RotationPoint

X_LABEL = "RS-ratio (vs SPY, 100 = its 50-day mean)"
Y_LABEL = "RS-momentum (10-session change, 100 = flat)"
#: quadrant -> (line/dot colour, background tint, corner of its label)
QUADRANT_STYLE: dict[str, tuple[str, str, tuple[float, float, str, str]]] = {
    "leading": ("#1a7f37", "#e3f4e6", (0.98, 0.98, "right", "top")),
    "weakening": ("#b8860b", "#fbf3dc", (0.98, 0.02, "right", "bottom")),
    "lagging": ("#C0392B", "#fbe5e2", (0.02, 0.02, "left", "bottom")),
    "improving": ("#0072B2", "#e2eef8", (0.02, 0.98, "left", "top")),
}
#: where a ticker may sit around its dot, in points, tried in this order
_OFFSETS = (
    (7, 5), (7, -5), (-7, 5), (-7, -5), (0, 12), (0, -12), (12, 0), (-12, 0),
    (16, 14), (16, -14), (-16, 14), (-16, -14), (0, 24), (0, -24), (26, 0), (-26, 0),
)  # fmt: skip
_TICKER_PT = 13


def _limits(points: Sequence[RotationPoint]) -> tuple[float, float, float, float]:
    """Axis limits around every tail point with a margin, always with 100/100 inside and each
    quadrant at least a fifth of each axis (so all four stay visible with their names); not
    centred on 100, so that one outlier does not squeeze the crowd into a corner."""
    xs = np.array([x for p in points for x in p.tail["rs_ratio"]] or [100.0], dtype=float)
    ys = np.array([y for p in points for y in p.tail["rs_momentum"]] or [100.0], dtype=float)

    def span(values: np.ndarray, least: float) -> tuple[float, float]:
        lo, hi = min(float(np.nanmin(values)), 100.0), max(float(np.nanmax(values)), 100.0)
        width = max(hi - lo, least)
        lo, hi = lo - 0.08 * width, hi + 0.08 * width
        width = hi - lo
        return min(lo, 100 - 0.2 * width), max(hi, 100 + 0.2 * width)

    x0, x1 = span(xs, 2.0)
    y0, y1 = span(ys, 1.0)
    return x0, x1, y0, y1


def _backgrounds(ax: Axes, lim: tuple[float, float, float, float]) -> None:
    x0, x1, y0, y1 = lim
    boxes = {
        "leading": (100, 100, x1 - 100, y1 - 100),
        "weakening": (100, y0, x1 - 100, 100 - y0),
        "lagging": (x0, y0, 100 - x0, 100 - y0),
        "improving": (x0, 100, 100 - x0, y1 - 100),
    }
    for name, (x, y, w, h) in boxes.items():
        colour, tint, (fx, fy, ha, va) = QUADRANT_STYLE[name]
        ax.add_patch(Rectangle((x, y), w, h, facecolor=tint, edgecolor="none", zorder=0))
        ax.text(fx, fy, name.capitalize(), transform=ax.transAxes, ha=ha, va=va,
                fontsize=LABEL_PT, color=colour, weight="bold", alpha=0.8, zorder=1)  # fmt: skip
    ax.axvline(100, color=GREY, lw=1.2, zorder=1)
    ax.axhline(100, color=GREY, lw=1.2, zorder=1)


def _tail(ax: Axes, point: RotationPoint, colour: str) -> None:
    xs = point.tail["rs_ratio"].to_numpy(dtype=float)
    ys = point.tail["rs_momentum"].to_numpy(dtype=float)
    if len(xs) > 1:
        segments = [((xs[k], ys[k]), (xs[k + 1], ys[k + 1])) for k in range(len(xs) - 1)]
        alphas = np.linspace(0.15, 0.8, len(segments))
        rgba = np.array([[*_rgb(colour), a] for a in alphas])
        ax.add_collection(LineCollection(segments, colors=rgba, linewidths=1.6, zorder=2))
        ax.scatter(xs[:-1], ys[:-1], s=14, color=rgba, zorder=2, linewidths=0)
    ax.scatter(xs[-1:], ys[-1:], s=70, color=colour, edgecolors="white", linewidths=1.0,
               zorder=3)  # fmt: skip


def _rgb(colour: str) -> tuple[float, float, float]:
    c = colour.lstrip("#")
    return int(c[0:2], 16) / 255, int(c[2:4], 16) / 255, int(c[4:6], 16) / 255


def _labels(ax: Axes, points: Sequence[RotationPoint]) -> None:
    """Each ticker beside its dot, at the first offset whose box overlaps no label placed
    before and no other dot (boxes estimated in display pixels), else the least crowded."""
    to_px = ax.transData.transform
    scale = DPI / 72.0
    dots = [to_px((p.rs_ratio, p.rs_momentum)) for p in points]
    # tails are obstacles too: a few pixels around points sampled along every segment
    lines = [to_px(xy) for p in points for xy in _samples(p)]
    placed: list[tuple[float, float, float, float]] = []
    for i, p in enumerate(points):
        cx, cy = dots[i]
        w, h = len(p.ticker) * _TICKER_PT * 0.62 * scale, _TICKER_PT * 1.05 * scale
        best, best_cost = _OFFSETS[0], float("inf")
        for ox, oy in _OFFSETS:
            x0 = cx + ox * scale - (w if ox < 0 else (w / 2 if ox == 0 else 0))
            y0 = cy + oy * scale - (h if oy < 0 else (h / 2 if oy == 0 else 0))
            box = (x0, y0, x0 + w, y0 + h)
            cost = sum(_overlap(box, b) for b in placed)
            cost += sum(_overlap(box, (dx - 5, dy - 5, dx + 5, dy + 5))
                        for j, (dx, dy) in enumerate(dots) if j != i)  # fmt: skip
            cost += 0.3 * sum(_overlap(box, (lx - 2, ly - 2, lx + 2, ly + 2)) for lx, ly in lines)
            # a label nearer another dot than its own reads as that dot's
            mx, my = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
            own = (mx - cx) ** 2 + (my - cy) ** 2
            if any(
                (mx - dx) ** 2 + (my - dy) ** 2 < own for j, (dx, dy) in enumerate(dots) if j != i
            ):
                cost += w * h
            if cost < best_cost:
                best, best_cost, best_box = (ox, oy), cost, box
            if cost == 0:
                break
        placed.append(best_box)
        ox, oy = best
        colour = QUADRANT_STYLE[p.quadrant][0]
        ax.annotate(p.ticker, (p.rs_ratio, p.rs_momentum), xytext=(ox, oy),
                    textcoords="offset points", fontsize=_TICKER_PT, weight="bold",
                    color=colour, zorder=4,
                    path_effects=[patheffects.withStroke(linewidth=3, foreground="white")],
                    arrowprops={"arrowstyle": "-", "color": colour, "lw": 0.8, "shrinkA": 1,
                                "shrinkB": 5, "alpha": 0.8},
                    ha="right" if ox < 0 else ("center" if ox == 0 else "left"),
                    va="top" if oy < 0 else ("center" if oy == 0 else "bottom"))  # fmt: skip


def _samples(point: RotationPoint, per_segment: int = 8) -> list[tuple[float, float]]:
    xs = point.tail["rs_ratio"].to_numpy(dtype=float)
    ys = point.tail["rs_momentum"].to_numpy(dtype=float)
    out: list[tuple[float, float]] = []
    for k in range(len(xs) - 1):
        for t in np.linspace(0.0, 1.0, per_segment, endpoint=False):
            out.append((xs[k] + t * (xs[k + 1] - xs[k]), ys[k] + t * (ys[k + 1] - ys[k])))
    return out


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return w * h if w > 0 and h > 0 else 0.0


def rotation_chart(points: Sequence[RotationPoint], title: str, meta: ChartMeta) -> bytes:
    """The relative rotation graph of `points` (see the module docstring)."""
    fig = Figure(figsize=SIZE_IN, dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    ax.tick_params(labelsize=TICK_PT)
    ax.spines[["top", "right"]].set_visible(False)
    lim = _limits(points)
    ax.set_xlim(lim[0], lim[1])
    ax.set_ylim(lim[2], lim[3])
    _backgrounds(ax, lim)
    _title(ax, title)
    ax.set_xlabel(X_LABEL, fontsize=LABEL_PT)
    ax.set_ylabel(Y_LABEL, fontsize=LABEL_PT)
    if not points:
        ax.text(0.5, 0.5, "no data", transform=ax.transAxes, ha="center", va="center",
                fontsize=LABEL_PT, color=GREY)  # fmt: skip
    for p in points:
        _tail(ax, p, QUADRANT_STYLE[p.quadrant][0])
    ax.text(0.5, 0.02, "tails: last 5 weeks, faint = older", transform=ax.transAxes,
            ha="center", va="bottom", fontsize=NOTE_PT, color=GREY, zorder=1)  # fmt: skip
    _corners(fig, meta)
    fig.canvas.draw()  # settle the layout so data -> pixel positions are final for labels
    _labels(ax, points)
    return _png(fig)
