"""`chart SUBJECT [vs SUBJECT] [WINDOW] [log]` and `breadth [WINDOW] [DATE]`: every form
parses, errors are one line with an example that runs, and the series handed to the renderer
(what is drawn) equal an independent computation from the closes, on the demo and on the
real panel."""

from __future__ import annotations

import io
import re
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from bot.commands import chart as chart_module
from bot.commands.chart import ChartAsk, parse_chart
from bot.commands.common import CommandError
from bot.render import charts
from signals.market import MarketData
from tests.bot.commands_helpers import ask, context, load_state

if TYPE_CHECKING:
    from bot.alerts.market_state import MarketState

WINDOWS = {"3m": 63, "6m": 126, "1y": 252, "3y": 756, "5y": 1260, "10y": 2520}
MEGA7_NAMES = ("NVIDIA", "Microsoft", "Apple", "Alphabet", "Amazon", "Meta Platforms", "Tesla")


@pytest.fixture(scope="module")
def state(demo_data: MarketData) -> MarketState:
    return load_state(demo_data)  # type: ignore[return-value]


# --- parsing ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("XLE", ChartAsk("XLE", None)),
        ("XLE 1y", ChartAsk("XLE", None, "1y")),
        ("NVDA vs SPY 3y log", ChartAsk("NVDA", "SPY", "3y", True)),
        ("NVDA/SPY log 3y", ChartAsk("NVDA", "SPY", "3y", True)),
        ("NVDA / SPY", ChartAsk("NVDA", "SPY")),
        ("RSP SPY 5y", ChartAsk("RSP", "SPY", "5y")),
        ("RSP versus SPY MAX", ChartAsk("RSP", "SPY", "max")),
        ("breadth 5y", ChartAsk("breadth", None, "5y")),
        ("top10 max", ChartAsk("top10", None, "max")),
        ("breadth vs breadth50 3m", ChartAsk("breadth", "breadth50", "3m")),
        ("SPY 6m LOG", ChartAsk("SPY", None, "6m", True)),
        ("SPY 10y", ChartAsk("SPY", None, "10y")),
    ],
)
def test_every_form_parses(words: str, expected: ChartAsk) -> None:
    assert parse_chart(tuple(words.split())) == expected


@pytest.mark.parametrize(
    ("words", "fragment"),
    [
        ("SPY 2y", "Unknown window “2y”"),
        ("SPY ytd", "Unknown window “ytd”"),
        ("SPY 1y 3y", "Unknown window “3y”"),
        ("A vs B vs C", "at most 2 subjects"),
        ("vs", "Usage"),
    ],
)
def test_parse_errors_are_one_line(words: str, fragment: str) -> None:
    with pytest.raises(CommandError) as caught:
        parse_chart(tuple(words.split()))
    assert fragment in caught.value.message and "\n" not in caught.value.message


@pytest.mark.parametrize(
    "line",
    ["chart SPY 2y", "chart A vs B vs C", "chart zzqx", "chart breadth vs SPY", "breadth 2y"],
)
def test_errors_carry_an_example_that_runs(state: MarketState, line: str) -> None:
    reply = ask(context(state), line)
    assert reply.is_error and len(reply.blocks) == 1 and "\n" not in reply.blocks[0]
    found = re.search(r"e\.g\. ((?:chart|breadth) [^,.]*?)(?:,| or |\.| Did|$)", reply.blocks[0])
    assert found, reply.blocks[0]
    example = found.group(1)
    assert not ask(context(state), example).is_error, example


@pytest.mark.parametrize(
    ("line", "title", "command"),
    [
        ("breadth 3y", "Breadth · 2026-10-30", "breadth 3y"),
        ("breadth 1y", "Breadth · 2026-10-30", "breadth"),
        ("breadth 2026-06-30", "Breadth · 2026-06-30", "breadth 2026-06-30"),
        ("breadth 3y 2026-06-30", "Breadth · 2026-06-30", "breadth 3y 2026-06-30"),
        ("breadth 2026-06-30 MAX", "Breadth · 2026-06-30", "breadth max 2026-06-30"),
    ],
)
def test_breadth_takes_a_window_and_a_date(
    state: MarketState, line: str, title: str, command: str
) -> None:
    reply = ask(context(state), line)
    assert not reply.is_error, reply
    assert reply.title == title
    assert reply.command == command


# --- what is drawn ------------------------------------------------------------------------------


class Drawn:
    """Records the arguments of one chart function instead of rendering."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
        self.args: tuple[Any, ...] = ()
        self.kwargs: dict[str, Any] = {}
        monkeypatch.setattr(charts, name, self)

    def __call__(self, *args: Any, **kwargs: Any) -> bytes:
        self.args, self.kwargs = args, kwargs
        return b"\x89PNG fake"


def sma(values: np.ndarray, n: int) -> np.ndarray:
    """Trailing mean of n values, NaN before (a loop, not pandas' rolling)."""
    out = np.full(len(values), np.nan)
    for i in range(n - 1, len(values)):
        out[i] = values[i - n + 1 : i + 1].sum() / n
    return out


def expected_lines(values: pd.Series, sessions: pd.DatetimeIndex, n: int | None) -> pd.DataFrame:
    v = values.dropna()
    frame = pd.DataFrame(
        {"value": v.to_numpy(), "sma50": sma(v.to_numpy(), 50), "sma200": sma(v.to_numpy(), 200)},
        index=v.index,
    )
    return frame if n is None else frame.loc[sessions[-n] :]


def upto(state: MarketState) -> pd.DataFrame:
    return state.data.closes.loc[: state.snapshot.as_of]


@pytest.mark.parametrize(("ticker", "window"), [("XLE", "1y"), ("SPY", "3y"), ("IWM", "max")])
def test_price_chart_draws_the_closes_and_their_averages(
    state: MarketState, monkeypatch: pytest.MonkeyPatch, ticker: str, window: str
) -> None:
    drawn = Drawn(monkeypatch, "price_chart")
    reply = ask(context(state, charts=True), f"chart {ticker} {window} log")
    assert not reply.is_error, reply
    frame, name, _meta, log = drawn.args
    assert name == ticker and log is True
    closes = upto(state)
    want = expected_lines(closes[ticker], closes.index, WINDOWS.get(window))
    pd.testing.assert_frame_equal(frame, want, check_freq=False, check_names=False)
    assert frame["sma200"].notna().all() or window == "max"


def test_ratio_chart_draws_the_ratio_and_its_own_averages(
    state: MarketState, monkeypatch: pytest.MonkeyPatch
) -> None:
    drawn = Drawn(monkeypatch, "ratio_lines_chart")
    reply = ask(context(state, charts=True), "chart NVDA vs SPY 3y log")
    assert reply.title.startswith("NVDA/SPY")
    frame, a, b, _meta, log = drawn.args
    closes = upto(state)
    ratio = closes["NVDA"] / closes["SPY"]
    want = expected_lines(ratio, closes.index, 756)
    pd.testing.assert_frame_equal(frame, want, check_freq=False, check_names=False)
    assert (a, b, log) == ("NVDA", "SPY", True)
    change = 100 * (want["value"].iloc[-1] / want["value"].iloc[0] - 1)
    assert f"{change:+.1f}%" in reply.blocks[0]


def breadth_from_closes(state: MarketState, n: int, day: pd.Timestamp) -> float:
    closes = upto(state).loc[:day]
    members = [m for m in state.data.universe.table.index if m in closes.columns]
    w = closes[members].iloc[-n:]
    w = w.loc[:, w.notna().all()]
    return 100.0 * float((w.iloc[-1] > w.mean()).sum()) / w.shape[1]


def test_breadth_chart_draws_breadth_over_spy(
    state: MarketState, monkeypatch: pytest.MonkeyPatch
) -> None:
    drawn = Drawn(monkeypatch, "breadth_price_chart")
    ask(context(state, charts=True), "breadth 3y")
    b200, b50, spy, _meta = drawn.args
    sessions = upto(state).index
    assert len(b200) == len(b50) == 756 and b200.index[0] == sessions[-756]
    for day in (b200.index[0], b200.index[400], b200.index[-1]):
        assert b200[day] == pytest.approx(breadth_from_closes(state, 200, day))
        assert b50[day] == pytest.approx(breadth_from_closes(state, 50, day))
    want = expected_lines(upto(state)["SPY"], sessions, 756)
    pd.testing.assert_frame_equal(spy, want, check_freq=False, check_names=False)


def test_two_signals_share_one_axis(state: MarketState, monkeypatch: pytest.MonkeyPatch) -> None:
    drawn = Drawn(monkeypatch, "signals_chart")
    ask(context(state, charts=True), "chart breadth vs breadth50 3m")
    lines, unit = drawn.args[:2]
    assert drawn.kwargs["breadth"] is True  # breadth: 0-100 with the 65 and 50 lines
    assert unit == "%" and len(lines) == 2
    (_, b200), (_, b50) = lines
    assert len(b200) == 63
    assert b200.iloc[-1] == pytest.approx(breadth_from_closes(state, 200, b200.index[-1]))
    assert b50.iloc[0] == pytest.approx(breadth_from_closes(state, 50, b50.index[0]))


def test_concentration_chart_draws_top10_mega7_and_thin_caps(
    state: MarketState, monkeypatch: pytest.MonkeyPatch
) -> None:
    drawn = Drawn(monkeypatch, "concentration_chart")
    reply = ask(context(state, charts=True), "chart concentration 3y")
    top10, mega7, coverage, _meta = drawn.args
    caps = state.history.company_caps.loc[top10.index]
    total = caps.sum(axis=1)
    ranked = np.sort(caps.fillna(0.0).to_numpy(), axis=1)[:, ::-1]
    assert top10.to_numpy() == pytest.approx(100 * ranked[:, :10].sum(axis=1) / total.to_numpy())
    want7 = 100 * caps[list(MEGA7_NAMES)].sum(axis=1) / total
    assert mega7.to_numpy() == pytest.approx(want7.to_numpy())
    frame = state.history.frame("top10_share")
    assert coverage.equals(frame["cap_coverage"].loc[top10.index])
    assert reply.command == "chart top10 3y"
    assert "Mega-7 share of member cap" in "\n".join(reply.blocks)


def test_mega7_chart_draws_points_not_the_share_that_explodes_near_flat(
    state: MarketState, monkeypatch: pytest.MonkeyPatch
) -> None:
    drawn = Drawn(monkeypatch, "mega7_chart")
    reply = ask(context(state, charts=True), "chart mega7 3y")
    ytd, pp, _meta = drawn.args
    assert len(ytd) == len(pp) == 756
    frame = state.history.frame("mega7_contribution").loc[ytd.index]
    assert ytd.to_numpy() == pytest.approx(frame["index_ytd"].to_numpy(), nan_ok=True)
    assert pp.to_numpy() == pytest.approx(frame["pp"].to_numpy(), nan_ok=True)
    # the share the signal reports is the ratio of the two lines drawn, where it is defined
    shown = frame["value"].notna()
    assert shown.any() and (ytd[shown].abs() >= 0.5).all()
    assert (100 * pp[shown] / ytd[shown]).to_numpy() == pytest.approx(frame["value"][shown])
    # each January both lines start again near zero
    firsts = [g.index[0] for _, g in ytd.dropna().groupby(ytd.dropna().index.year)][1:]
    assert firsts and all(abs(ytd[d]) < 10 for d in firsts)
    text = "\n".join(reply.blocks)
    assert "year-to-date return" in text and "each January" in text


# --- PNGs and the cache -----------------------------------------------------------------------


LINES = (
    "chart breadth 5y",
    "breadth 3y",
    "chart top10 max",
    "chart NVDA vs SPY 3y log",
    "chart RSP vs SPY 5y",
    "chart XLE 1y",
    "chart regime max",
    "chart ew vs smallcaps 6m",
    "chart mega7 3y",
)


def decoded(png: bytes) -> tuple[int, int]:
    image = Image.open(io.BytesIO(png))
    image.load()
    return image.size


@pytest.mark.parametrize("line", LINES)
def test_each_chart_decodes(state: MarketState, line: str) -> None:
    reply = ask(context(state, charts=True), line)
    assert not reply.is_error, reply
    assert reply.chart is not None and reply.chart.alt
    assert decoded(reply.chart.png) == (1000, 700)


def test_charts_are_cached_per_state_and_question(state: MarketState) -> None:
    ctx = context(state, charts=True)
    first = ask(ctx, "chart XLE 3y")
    assert first.chart is not None
    assert ask(ctx, "chart xle 3y").chart.png is first.chart.png  # type: ignore[union-attr]
    for other in ("chart XLE 1y", "chart XLE 3y log", "chart XLE vs SPY 3y"):
        reply = ask(ctx, other)
        assert reply.chart is not None and reply.chart.png is not first.chart.png, other
    names = {ask(ctx, line).chart.filename for line in LINES}  # type: ignore[union-attr]
    assert len(names) == len(LINES)


# --- the real panel -----------------------------------------------------------------------------


@pytest.mark.realdata
def test_real_ratio_and_breadth_match_an_independent_computation(
    real_data: MarketData, monkeypatch: pytest.MonkeyPatch
) -> None:
    real: MarketState = load_state(real_data)  # type: ignore[assignment]
    drawn = Drawn(monkeypatch, "ratio_lines_chart")
    ask(context(real, charts=True), "chart RSP vs SPY 5y")
    frame = drawn.args[0]
    closes = upto(real)
    want = expected_lines(closes["RSP"] / closes["SPY"], closes.index, 1260)
    pd.testing.assert_frame_equal(frame, want, check_freq=False, check_names=False)
    drawn = Drawn(monkeypatch, "breadth_price_chart")
    ask(context(real, charts=True), "breadth 5y")
    b200 = drawn.args[0]
    assert len(b200) == 1260
    last = b200.index[-1]
    assert b200[last] == pytest.approx(breadth_from_closes(real, 200, last))
    assert chart_module.CHART_WINDOWS["5y"] == 1260
