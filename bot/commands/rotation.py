"""`rotation [DATE]`: the relative rotation graph of the sector ETFs, IWM and RSP against SPY.

The graph's numbers come from `signals.rotation` (formula in docs/signals.md), computed once
over the whole panel per market state (`ctx.cache`) and read at the session asked for; the
chart is cached per state and session like every other chart. The table lists each
instrument's RS-ratio, RS-momentum and quadrant, grouped by quadrant.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.commands.common import (
    CommandError,
    chart,
    chart_meta,
    freshness_line,
    header_date,
    market_reply,
    need_state,
    session_used,
    state_on,
)
from bot.commands.context import CommandContext
from bot.commands.parse import CommandRequest
from bot.model import Reply, Table
from bot.render.rotation_chart import rotation_chart
from signals.rotation import QUADRANTS, RotationPanel, RotationPoint, rotation_at, rotation_panel

if TYPE_CHECKING:
    from bot.alerts import MarketState

TITLE = "Rotation vs SPY · {date}"
HEADER = ("", "RS-ratio", "RS-mom.", "Quadrant")
NOTE = (
    "RS-ratio: the price ratio to SPY as % of its 50-session mean; RS-momentum: RS-ratio as "
    "% of its value 10 sessions earlier. Leading ≥ 100 on both, weakening ratio ≥ 100 with "
    "momentum < 100, lagging both < 100, improving ratio < 100 with momentum ≥ 100."
)
NO_DATA = "No rotation graph: SPY or the ETFs have under 60 sessions of prices up to {date}."
ALT = "Relative rotation graph of the sector ETFs, IWM and RSP against SPY, with 5-week tails"


def _panel(ctx: CommandContext) -> RotationPanel:
    """rs_ratio and rs_momentum over the whole panel, once per market state (every dated
    state shares the latest state's data)."""
    root = need_state(ctx)
    return ctx.cache.get(("rotation-panel",), root, lambda: rotation_panel(root.data.closes))


def _rows(points: list[RotationPoint]) -> tuple[tuple[str, str, str, str], ...]:
    """Grouped by quadrant (leading, weakening, lagging, improving), strongest ratio first."""
    ordered = sorted(points, key=lambda p: (QUADRANTS.index(p.quadrant), -p.rs_ratio))
    return tuple(
        (p.ticker, f"{p.rs_ratio:.2f}", f"{p.rs_momentum:.2f}", p.quadrant) for p in ordered
    )


def rotation_points(ctx: CommandContext, state: MarketState) -> list[RotationPoint]:
    return rotation_at(_panel(ctx), state.as_of)


def rotation(req: CommandRequest, ctx: CommandContext) -> Reply:
    """The graph at the session on or before DATE (default: the latest), and its table."""
    word = req.args[0] if req.args else None
    state = state_on(ctx, word, "rotation")
    points = rotation_points(ctx, state)
    if not points:
        used = session_used(state) or state.as_of.date()
        raise CommandError(NO_DATA.format(date=used.isoformat()))
    date_text = header_date(state)
    picture = chart(
        ctx,
        state,
        ("rotation",),
        ALT,
        lambda: rotation_chart(
            points, f"Relative rotation vs SPY · {date_text}", chart_meta(state)
        ),
        "rotation.png",
    )
    return market_reply(
        state,
        "rotation" if word is None else f"rotation {word}",
        TITLE.format(date=date_text),
        [NOTE, freshness_line(state)],
        table=Table(HEADER, _rows(points), align=("l", "r", "r", "l")),
        chart=picture,
    )
