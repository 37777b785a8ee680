"""User-facing wording in one place, so every platform says the same thing (STYLE §15)."""

from __future__ import annotations

from signals.market import SECTOR_ETFS, SECTOR_SIGNAL_ETFS

SIMULATED = "SIMULATED"
SIMULATED_NOTE = "simulated market (demo data, not real prices)"

#: signal id -> (short label, unit). Units: "%" a percentage, "pp" percentage points,
#: "x" a P/E difference, "" a count.
SIGNAL_LABELS: dict[str, tuple[str, str]] = {
    "breadth_200d": ("Members above 200-day average", "%"),
    "breadth_50d": ("Members above 50-day average", "%"),
    "ew_vs_cw": ("Equal weight vs cap weight, 3 m (RSP−SPY)", "pp"),
    "smallcap_rs": ("Small caps vs S&P 500, 3 m (IWM−SPY)", "pp"),
    "top10_share": ("Top-10 companies' share of cap", "%"),
    "mega7_contribution": ("Mega-7 share of YTD return", "%"),
    "valuation": ("P/E gap S&P 500 − Russell 2000", "x"),
    "rotation_regime": ("Broadening conditions met (of 4)", ""),
}
for _etf in SECTOR_SIGNAL_ETFS:
    _name = SECTOR_ETFS.get(_etf, {"IWM": "Small caps", "VBR": "Small-cap value"}.get(_etf, _etf))
    SIGNAL_LABELS[f"sector_{_etf}"] = (f"{_etf} {_name} vs XLK, 3 m", "pp")


def signal_label(signal_id: str) -> str:
    return SIGNAL_LABELS.get(signal_id, (signal_id, ""))[0]


def signal_unit(signal_id: str) -> str:
    return SIGNAL_LABELS.get(signal_id, (signal_id, ""))[1]


def format_value(value: float | None, unit: str, signed: bool = False) -> str:
    """A number as people read it: one decimal, its unit, an em dash when missing."""
    if value is None:
        return "—"
    sign = "+" if signed and value > 0 else ""
    if unit == "%":
        return f"{sign}{value:.1f}%"
    if unit == "pp":
        return f"{value:+.1f} pp"
    if unit == "x":
        return f"{value:+.1f}"
    return f"{sign}{value:.0f}" if float(value).is_integer() else f"{sign}{value:.1f}"


# --- Alert messages (bot/render/layout.py builds them; each renderer only adds markup) ---
APP_NAME = "rotation-bot"
ICON_APP = "📈"
ICON_SIMULATED = "🧪"
ICON_WARNING = "⚠️"
ICON_INFO = "🔔"
ICON_RESOLVED = "✅"
ICON_DATA = "🩺"
ICON_LATE = "⏰"
ALERT_HEADING_WARNING = "Warning:"
ALERT_HEADING_INFO = "Alert:"
ALERT_HEADING_RESOLVED = "Resolved:"
ALERT_HEADING_DATA = "Data problem:"
ALERT_AS_OF = "as of {date}"
ALERT_VALUE = "value {value}"
ALERT_THRESHOLD = "threshold {threshold}"
ALERT_LABEL = "now {label}"
ALERT_SESSION = "session {date}"
ALERT_RULE = "rule {rule_id}"
ALERT_LATE = "late: from {date}, delivered after downtime"
ALERT_SOURCE = "Source: {source}"
#: transition -> (singular, plural) for the counts in a message's title line
ALERT_COUNT_WORDS: dict[str, tuple[str, str]] = {
    "fired": ("alert", "alerts"),
    "resolved": ("resolved", "resolved"),
    "data_health": ("data problem", "data problems"),
}
#: prefix of each part when a long message is split, e.g. "(2/3)"
PART_OF = "({index}/{total})"
