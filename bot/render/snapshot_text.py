"""Plain-text rendering for the terminal (the console adapter and the CLI)."""

from __future__ import annotations

from bot.render.coverage import partial_caps_notes
from bot.render.fundamentals_notes import fundamentals_notes
from bot.render.numbers import format_coverage, format_delta, format_value
from bot.render.texts import SIMULATED, STALE_HEADER, signal_label, signal_unit
from signals.snapshot import MarketSnapshot


def format_snapshot(snap: MarketSnapshot) -> str:
    """Every signal as one aligned table, with freshness and the simulated label on top."""
    fresh = snap.freshness
    head = f"rotation-bot — as of {snap.as_of:%Y-%m-%d} (source: {snap.source})"
    if fresh.stale_sessions > 0:  # the data ends before the as-of: the first line says so
        n, end = fresh.stale_sessions, fresh.last_session
        ends = (
            "no data"
            if end is None
            else STALE_HEADER.format(last=f"{end:%Y-%m-%d}", stale=n, s="" if n == 1 else "s")
        )
        head = f"rotation-bot — {ends} at {snap.as_of:%Y-%m-%d} (source: {snap.source})"
    if snap.simulated:
        head += f" [{SIMULATED}]"
    last = "none" if fresh.last_session is None else f"{fresh.last_session:%Y-%m-%d}"
    lines = [
        head,
        f"data: last session {last}, {fresh.stale_sessions} stale session(s), "
        f"coverage {format_coverage(fresh.coverage)}",
        "",
    ]
    rows = [("signal", "value", "1 week", "1 month")]
    for sid, reading in snap.signals.items():
        unit = signal_unit(sid)
        rows.append(
            (
                f"{signal_label(sid)} [{sid}]",
                format_value(reading.value, unit),
                format_delta(reading.change_1w, unit),
                format_delta(reading.change_1m, unit),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for r in rows:
        lines.append(
            f"{r[0]:<{widths[0]}}  {r[1]:>{widths[1]}}  {r[2]:>{widths[2]}}  {r[3]:>{widths[3]}}"
        )
    notes = partial_caps_notes(snap.signals, fresh.last_session or snap.as_of)
    notes += fundamentals_notes(snap.signals)
    if notes:
        lines += ["", *notes]
    regime = snap.signals.get("rotation_regime")
    if regime is not None:
        label = regime.details.get("label", "unknown")
        lines += ["", f"regime: {label}"]
        lines += [f"  - {r}" for r in regime.details.get("reasons", [])]
    return "\n".join(lines)
