"""Plain-text table of a backtest for the terminal."""

from __future__ import annotations

from bot.model import BacktestResult
from bot.render.numbers import format_decimal, format_return, format_share
from bot.render.texts import SIMULATED


def format_backtest(result: BacktestResult) -> str:
    """One block per rule: its events, then forward returns beside the base rate."""
    head = f"backtest {result.start} .. {result.end} (source: {result.source})"
    if result.simulated:
        head += f" [{SIMULATED}]"
    lines = [head]
    if result.guarded_sessions:
        lines.append(f"{result.guarded_sessions} session(s) not evaluated (stale or thin data)")
    for rule_id, body in result.rules.items():
        summ = body.summary
        lines += [
            "",
            f"{rule_id}: fired {summ.fired}x ({summ.per_year:.1f}/year), resolved {summ.resolved}x",
        ]
        for ev in body.events:
            value = format_decimal(ev.value)
            extra = f" -> {ev.label}" if ev.label else ""
            fwd = ev.forward_returns
            fwd_text = ""
            if fwd:
                fwd_text = (
                    "  SPY 63d "
                    + format_return(fwd.get("SPY_63"))
                    + ", IWM 63d "
                    + format_return(fwd.get("IWM_63"))
                )
            day, kind = ev.session.isoformat(), str(ev.kind)
            lines.append(f"  {day}  {kind:<8} {value:>8}{extra}{fwd_text}")
        lines.append(
            "  forward return     events: median / positive    all sessions: median / positive"
        )
        for key, stats in summ.forward_returns.items():
            e, b = stats.events, stats.base_rate
            lines.append(
                f"  {key:<8} {format_return(e.median):>24} / {format_share(e.share_positive):>4}"
                f"    {format_return(b.median):>20} / {format_share(b.share_positive):>4}"
            )
    return "\n".join(lines)
