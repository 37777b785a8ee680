"""Charts over any window: averages, dated ticks that carry the year, readable log axes,
and PNGs that decode."""

from __future__ import annotations

import io
import re

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from bot.render import charts
from bot.render.charts import ChartMeta

META = ChartMeta(source="test", as_of=None)


def closes(n: int, start: float = 100.0, drift: float = 0.0005) -> pd.Series:
    rng = np.random.default_rng(3)
    index = pd.bdate_range("2016-01-04", periods=n)
    return pd.Series(start * np.exp(np.cumsum(drift + 0.01 * rng.standard_normal(n))), index)


def test_with_averages_are_trailing_means_then_cut() -> None:
    s = closes(600)
    frame = charts.with_averages(s, 252)
    assert len(frame) == 252 and frame.index[0] == s.index[-252]
    v = s.to_numpy()
    for i in (len(v) - 252, len(v) - 1):
        day = s.index[i]
        assert frame.loc[day, "sma50"] == pytest.approx(v[i - 49 : i + 1].mean())
        assert frame.loc[day, "sma200"] == pytest.approx(v[i - 199 : i + 1].mean())
    whole = charts.with_averages(s.iloc[:100], None)
    assert whole["sma200"].isna().all() and whole["sma50"].notna().sum() == 51


@pytest.mark.parametrize("sessions", [63, 126, 252, 756, 1260, 2520])
def test_every_date_tick_names_its_year(sessions: int) -> None:
    s = closes(sessions)
    fig, (ax,) = charts._figure()
    ax.plot(s.index, s.to_numpy())
    charts._dated(ax)
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert len(labels) >= 2, labels
    assert all(re.search(r"\b(19|20)\d\d\b", t) for t in labels), labels


@pytest.mark.parametrize(("low", "high"), [(0.06, 0.3), (40.0, 60.0), (100.0, 900.0), (1, 300)])
def test_log_axis_has_four_to_eight_labelled_ticks(low: float, high: float) -> None:
    fig, (ax,) = charts._figure()
    ax.plot([0, 1], [low, high])
    charts._log(ax)
    fig.canvas.draw()
    lo, hi = ax.get_ylim()
    labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    shown = [t for t in ax.get_yticks() if lo <= t <= hi]
    assert 3 <= len(shown) <= 8 and len(labels) >= 3, labels


def png_size(png: bytes) -> tuple[int, int]:
    image = Image.open(io.BytesIO(png))
    image.load()
    return image.size


def test_new_charts_decode() -> None:
    s = closes(1500)
    frame = charts.with_averages(s, 756)
    b = pd.Series(np.linspace(20, 80, 756), frame.index)
    cover = pd.Series(np.where(np.arange(756) < 300, 0.5, 1.0), frame.index)
    pngs = [
        charts.price_chart(frame, "XLE", META),
        charts.price_chart(frame, "XLE", META, log=True),
        charts.ratio_lines_chart(frame / 300, "NVDA", "SPY", META, log=True),
        charts.signals_chart([("Members above 200-day average", b)], "%", META, "Breadth"),
        charts.breadth_price_chart(b, b * 0.9, frame, META),
        charts.concentration_chart(b / 2, b / 3, cover, META),
        charts.concentration_chart(b * np.nan, b * np.nan, cover, META),
    ]
    assert all(png_size(p) == (1000, 700) for p in pngs)
