"""Charts: valid PNGs of the promised size, not blank, stamped when simulated, thread-safe."""

from __future__ import annotations

import io
import struct
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import numpy as np
import pandas as pd
import pytest
from matplotlib.image import imread

from bot.render import charts
from bot.render.charts import ChartMeta

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
META = ChartMeta(source="demo", as_of=date(2026, 7, 31), simulated=False)
SIM = ChartMeta(source="demo", as_of=date(2026, 7, 31), simulated=True)


def _series(seed: int, n: int = 260, start: float = 100.0) -> pd.Series:
    rng = np.random.default_rng(seed)
    idx = pd.bdate_range("2025-07-01", periods=n)
    return pd.Series(start * np.exp(np.cumsum(rng.normal(0, 0.01, n))), index=idx)


def _breadth(seed: int) -> pd.Series:
    s = _series(seed)
    return (s - s.min()) / (s.max() - s.min()) * 80 + 10


def _size(png: bytes) -> tuple[int, int]:
    assert png[:8] == PNG_MAGIC
    assert png[12:16] == b"IHDR"
    return struct.unpack(">II", png[16:24])


def _pixels(png: bytes) -> np.ndarray:
    return imread(io.BytesIO(png))[..., :3]


def _near(pixels: np.ndarray, hex_colour: str, tol: float = 0.08) -> int:
    rgb = np.array([int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)])
    return int((np.abs(pixels - rgb).max(axis=-1) < tol).sum())


def _all_charts(meta: ChartMeta) -> dict[str, bytes]:
    a, b = _series(1), _series(2)
    b200, b50 = _breadth(3), _breadth(4)
    bars = [(f"X{i}", float(v)) for i, v in enumerate(np.linspace(-8, 12, 12))] + [("XLK", None)]
    return {
        "breadth": charts.breadth_price_chart(b200, b50, charts.with_averages(a, None), meta),
        "ratio": charts.ratio_lines_chart(charts.with_averages(a / b, None), "RSP", "SPY", meta),
        "price": charts.price_chart(charts.with_averages(a, None), "SPY", meta),
        "mega7": charts.mega7_chart(a / 10, b / 20, meta),
        "bars": charts.sector_bars(bars, meta, "3-month return vs XLK (pp)"),
        "sector": charts.sector_chart(a, b, "XLF", "XLK", b200, meta),
        "sector_no_breadth": charts.sector_chart(a, b, "IWM", "XLK", None, meta),
        "snapshot": charts.snapshot_chart(b200, b50, a, b, meta),
    }


@pytest.fixture(scope="module")
def rendered() -> dict[str, bytes]:
    return _all_charts(SIM)


def test_every_chart_is_a_phone_sized_png_with_content(rendered: dict[str, bytes]) -> None:
    for name, png in rendered.items():
        assert _size(png) == (1000, 700), name
        assert 10_000 < len(png) < 400_000, name
        px = _pixels(png)
        ink = (px.min(axis=-1) < 0.9).mean()  # share of pixels that are not (near) white
        assert 0.01 < ink < 0.6, (name, ink)
        drawn = _near(px, charts.BLUE) + _near(px, charts.ORANGE)
        assert drawn > 300, name  # the data is drawn, not just the axes


def test_simulated_is_stamped_in_red_top_right(rendered: dict[str, bytes]) -> None:
    plain = _pixels(charts.signals_chart([("b", _breadth(3))], "%", META, "Breadth", breadth=True))
    stamped = _pixels(rendered["breadth"])
    corner = (slice(0, 45), slice(700, 1000))
    assert _near(stamped[corner], charts.RED, 0.15) > 50
    assert _near(plain[corner], charts.RED, 0.15) == 0


def test_charts_survive_missing_data() -> None:
    empty = pd.Series(dtype=float, index=pd.DatetimeIndex([]))
    nan = _series(1) * np.nan
    for png in (
        charts.breadth_price_chart(empty, empty, charts.with_averages(empty, None), META),
        charts.breadth_price_chart(nan, nan, charts.with_averages(nan, None), META),
        charts.ratio_lines_chart(charts.with_averages(nan / _series(2), None), "A", "B", META),
        charts.mega7_chart(nan, nan, META),
        charts.mega7_chart(empty, empty, META),
        charts.sector_bars([("A", None), ("B", None)], META, "nothing"),
        charts.sector_chart(nan, nan, "A", "B", nan, META),
        charts.snapshot_chart(nan, nan, nan, nan, META),
    ):
        assert _size(png) == (1000, 700)


def test_normalised_ratio_starts_at_100_at_the_first_common_close() -> None:
    a = pd.Series([np.nan, 10.0, 11.0, 12.0])
    b = pd.Series([5.0, 5.0, np.nan, 4.0])
    got = charts.normalised_ratio(a, b)
    assert np.isnan(got.iloc[0]) and np.isnan(got.iloc[2])
    assert got.iloc[1] == pytest.approx(100.0)
    assert got.iloc[3] == pytest.approx(100.0 * (12 / 4) / (10 / 5))
    alone = charts.normalised_ratio(a, None)
    assert alone.iloc[3] == pytest.approx(120.0)


def test_rendering_in_threads_gives_the_same_pngs_as_in_sequence(
    rendered: dict[str, bytes],
) -> None:
    """The object API keeps no global figure state: concurrent renders do not mix."""
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: _all_charts(SIM), range(2)))
    for result in results:
        assert result == rendered


def test_type_is_large_enough_for_a_phone() -> None:
    assert min(charts.TICK_PT, charts.LABEL_PT, charts.TITLE_PT, charts.NOTE_PT) >= 14
    assert (charts.SIZE_IN[0] * charts.DPI, charts.SIZE_IN[1] * charts.DPI) == (1000, 700)
