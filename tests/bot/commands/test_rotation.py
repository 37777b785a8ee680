"""`rotation [DATE]`: the relative rotation graph, its table and its chart.

Expected numbers are computed here from the closes with plain loops (docs/signals.md,
"Relative rotation"); the real-data check reads the raw CSV with pandas, not the bot's loader.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pytest
from PIL import Image

from bot.alerts.market_state import state_from_data
from bot.commands.parse import CommandRequest, parse_command
from bot.render import ChartMeta
from bot.render.charts import DPI, SIZE_IN
from bot.render.rotation_chart import rotation_chart
from signals.market import MarketData
from signals.rotation import ROTATION_TICKERS, rotation_at, rotation_panel
from tests.bot.commands.test_market_dates import DATA_END, LATER, first_line, nyse_sessions_after
from tests.bot.commands_helpers import all_text, ask, context

if TYPE_CHECKING:
    from bot.alerts.market_state import MarketState

SHARED_DATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "data"
ORDER = ("leading", "weakening", "lagging", "improving")


def expected(closes: pd.DataFrame, session: pd.Timestamp) -> dict[str, tuple[float, float, str]]:
    """ticker -> (rs_ratio, rs_momentum, quadrant) at `session`, by the definition."""
    spy = closes["SPY"].loc[:session].tolist()
    out = {}
    for t in ROTATION_TICKERS:
        x = closes[t].loc[:session].tolist()
        i = len(x) - 1

        def rs(j: int, x: list[float] = x) -> float:
            ratios = [x[k] / spy[k] for k in range(j - 49, j + 1)]
            return 100 * ratios[-1] / (sum(ratios) / 50)

        r, m = rs(i), 100 * rs(i) / rs(i - 10)
        quad = (
            ("leading" if m >= 100 else "weakening")
            if r >= 100
            else ("improving" if m >= 100 else "lagging")
        )
        out[t] = (r, m, quad)
    return out


@pytest.fixture(scope="module")
def state(demo_data: MarketData) -> MarketState:
    return state_from_data(demo_data)


def test_table_has_every_instrument_grouped_by_quadrant(state: MarketState) -> None:
    reply = ask(context(state), "rotation")
    assert not reply.is_error, reply
    assert reply.title == f"Rotation vs SPY · {state.as_of.date().isoformat()}"
    assert reply.table is not None
    assert reply.table.header == ("", "RS-ratio", "RS-mom.", "Quadrant")
    want = expected(state.data.closes, state.as_of)
    rows = reply.table.rows
    assert sorted(r[0] for r in rows) == sorted(ROTATION_TICKERS)
    for ticker, ratio, momentum, quad in rows:
        r, m, q = want[ticker]
        assert (ratio, momentum, quad) == (f"{r:.2f}", f"{m:.2f}", q)
    ranks = [ORDER.index(r[3]) for r in rows]
    assert ranks == sorted(ranks)  # grouped, in quadrant order
    assert "50-session mean" in all_text(reply) and "10 sessions earlier" in all_text(reply)


def test_a_date_reads_that_session(state: MarketState) -> None:
    reply = ask(context(state), "rotation 2025-10-04")  # a Saturday: Friday's session
    assert reply.title.startswith("Rotation vs SPY · 2025-10-03")
    assert reply.as_of is not None and reply.as_of.isoformat() == "2025-10-03"
    want = expected(state.data.closes, pd.Timestamp("2025-10-03"))
    assert reply.table is not None
    for ticker, ratio, momentum, quad in reply.table.rows:
        assert (ratio, momentum, quad) == (
            f"{want[ticker][0]:.2f}", f"{want[ticker][1]:.2f}", want[ticker][2]
        )  # fmt: skip
    assert ask(context(state), "rrg 2025-10-04").table == reply.table


def test_stale_data_is_named_in_the_header(demo_data: MarketData) -> None:
    short = state_from_data(demo_data.up_to(DATA_END))
    n = nyse_sessions_after(DATA_END, LATER)
    reply = ask(context(short), f"rotation {LATER}")
    assert first_line(reply) == (
        f"Rotation vs SPY · data to 2026-07-31, {n} sessions stale [SIMULATED]"
    )
    assert reply.as_of == DATA_END.date()


def test_bad_dates_are_refused_with_an_example(state: MarketState) -> None:
    reply = ask(context(state), "rotation 2025-13-45")
    assert reply.is_error and "rotation 20" in all_text(reply)
    assert ask(context(state), "rotation 1990-01-02").is_error


def test_the_command_word_and_the_command() -> None:
    cases = {
        "rotation": (),
        "rotation 2025-09-30": ("2025-09-30",),
        "/rotation rotation": (),
        "/rotation 2025-09-30": ("2025-09-30",),
        "/rotation rotation 2025-09-30": ("2025-09-30",),
        "/rrg": (),
    }
    for text, args in cases.items():
        req = parse_command(text)
        assert isinstance(req, CommandRequest) and req.args == args, text
        assert req.name in ("rotation", "rrg"), text
    req = parse_command("/rotation")  # Telegram's menu entry
    assert isinstance(req, CommandRequest) and (req.name, req.args) == ("rotation", ())
    req = parse_command("rotation breadth")
    assert isinstance(req, CommandRequest) and req.name == "breadth"


def test_chart_is_a_phone_sized_png_cached_per_state(state: MarketState) -> None:
    ctx = context(state, charts=True)
    reply = ask(ctx, "rotation")
    assert reply.chart is not None and reply.chart.filename == "rotation.png"
    image = Image.open(io.BytesIO(reply.chart.png))
    image.load()
    assert image.format == "PNG"
    assert image.size == (round(SIZE_IN[0] * DPI), round(SIZE_IN[1] * DPI))
    assert ask(ctx, "rotation").chart.png is reply.chart.png  # type: ignore[union-attr]
    dated = ask(ctx, "rotation 2025-10-03")
    assert dated.chart is not None and dated.chart.png != reply.chart.png


def test_chart_without_points_still_draws() -> None:
    png = rotation_chart([], "Relative rotation vs SPY", ChartMeta("demo", None, True))
    assert Image.open(io.BytesIO(png)).size == (round(SIZE_IN[0] * DPI), round(SIZE_IN[1] * DPI))


@pytest.mark.realdata
def test_real_data_on_2025_09_30_matches_the_raw_csv(real_data: MarketData) -> None:
    path = SHARED_DATA / "etfs_daily.csv.gz"
    if not path.is_file():
        pytest.skip(f"{path} absent")
    raw = pd.read_csv(path, parse_dates=["date"])
    wide = raw.pivot(index="date", columns="ticker", values="close").sort_index()
    session = pd.Timestamp("2025-09-30")
    want = expected(wide.dropna(subset=["SPY"]), session)
    points = {p.ticker: p for p in rotation_at(rotation_panel(real_data.closes), session)}
    assert set(points) == set(ROTATION_TICKERS)
    for t, (r, m, q) in want.items():
        p = points[t]
        assert p.rs_ratio == pytest.approx(r, rel=1e-9), t
        assert p.rs_momentum == pytest.approx(m, rel=1e-9), t
        assert p.quadrant == q, t
        assert p.tail.index[-1] == session and len(p.tail) == 5
    # the tail: Fridays (or the week's last session) of the five weeks ending 2025-09-30
    assert [d.date().isoformat() for d in points["XLK"].tail.index] == [
        "2025-09-05", "2025-09-12", "2025-09-19", "2025-09-26", "2025-09-30"
    ]  # fmt: skip
