"""Plain-text table of a backtest for the terminal."""

from __future__ import annotations

from bot.model import BacktestResult
from bot.render.texts import SIMULATED


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{v:+.1f}%"


def _share(v: float | None) -> str:
    return "—" if v is None else f"{v:.0%}"


def format_backtest(result: BacktestResult) -> str:
    """One block per rule: its events, then forward returns beside the base rate."""
    head = f"backtest {result.start} .. {result.end} (source: {result.source})"
    if result.simulated:
        head += f" [{SIMULATED}]"
    lines = [head]
    if result.guarded_sessions:
        lines.append(f"{result.guarded_sessions} session(s) not evaluated (stale or thin data)")
    for rule_id, body in result.rules.items():
        summ = body["summary"]
        lines += [
            "",
            f"{rule_id}: fired {summ['fired']}x ({summ['per_year']:.1f}/year), "
            f"resolved {summ['resolved']}x",
        ]
        for ev in body["events"]:
            value = "—" if ev["value"] is None else f"{ev['value']:.2f}"
            extra = f" -> {ev['label']}" if ev.get("label") else ""
            fwd = ev.get("forward_returns")
            fwd_text = ""
            if fwd:
                fwd_text = (
                    "  SPY 63d " + _pct(fwd.get("SPY_63")) + ", IWM 63d " + _pct(fwd.get("IWM_63"))
                )
            lines.append(f"  {ev['date']}  {ev['kind']:<8} {value:>8}{extra}{fwd_text}")
        fr = summ["forward_returns"]
        lines.append(
            "  forward return     events: median / positive    all sessions: median / positive"
        )
        for key, stats in fr.items():
            e, b = stats["events"], stats["base_rate"]
            lines.append(
                f"  {key:<8} {_pct(e['median']):>24} / {_share(e['share_positive']):>4}"
                f"    {_pct(b['median']):>20} / {_share(b['share_positive']):>4}"
            )
    return "\n".join(lines)
