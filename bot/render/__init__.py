"""Platform-neutral presentation: wording, layout, splitting, charts, number formatting."""

from bot.render import charts, texts
from bot.render.backtest_table import format_backtest
from bot.render.charts import ChartMeta, snapshot_chart
from bot.render.coverage import cap_lines, cap_warning, caps_line, partial_caps_notes
from bot.render.layout import alert_view
from bot.render.numbers import (
    DASH,
    format_change,
    format_coverage,
    format_decimal,
    format_delta,
    format_number,
    format_percent,
    format_plain,
    format_ratio,
    format_return,
    format_return_pct,
    format_share,
    format_signed,
    format_spread_pp,
    format_value,
)
from bot.render.reply_text import block_lines, error_line, heading, render_reply, table_lines
from bot.render.snapshot_text import format_snapshot
from bot.render.split import split_lines, utf16_len
from bot.render.texts import (
    APP_NAME,
    ICON_APP,
    ICON_LATE,
    ICON_SIMULATED,
    PART_OF,
    SEP,
    SIMULATED,
    SIMULATED_NOTE,
    signal_unit,
)

__all__ = [
    "APP_NAME",
    "ChartMeta",
    "DASH",
    "ICON_APP",
    "ICON_LATE",
    "ICON_SIMULATED",
    "PART_OF",
    "SEP",
    "SIMULATED",
    "SIMULATED_NOTE",
    "alert_view",
    "cap_lines",
    "cap_warning",
    "caps_line",
    "block_lines",
    "charts",
    "error_line",
    "format_backtest",
    "format_change",
    "format_coverage",
    "format_decimal",
    "format_delta",
    "format_number",
    "format_percent",
    "format_plain",
    "format_ratio",
    "format_return",
    "format_return_pct",
    "format_share",
    "format_signed",
    "format_spread_pp",
    "format_snapshot",
    "format_value",
    "heading",
    "partial_caps_notes",
    "render_reply",
    "signal_unit",
    "snapshot_chart",
    "split_lines",
    "table_lines",
    "texts",
    "utf16_len",
]
