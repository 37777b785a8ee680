"""The neutral alert layout: numbers as people read them, counts, flattened data."""

from __future__ import annotations

import math

import pytest

from bot.render.layout import alert_view, format_number
from tests.bot.render.hostile import group, item


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "—"),
        (math.nan, "—"),
        (-math.inf, "—"),
        (65.0, "65"),
        (67.345, "67.34"),  # 67.345 is stored just below .345
        (-0.4, "-0.4"),
        (0.0, "0"),
        (-0.001, "-0.001"),
        (0.12345, "0.123"),
        (1234567.5, "1,234,567.5"),
        (-0.0001, "-0.0001"),
        (-0.004, "-0.004"),
        (2.5e15, "2.500e+15"),
    ],
)
def test_format_number(value: float | None, text: str) -> None:
    assert format_number(value) == text


def test_view_counts_flattens_and_marks() -> None:
    g = group(
        [
            item("one\ntwo", late=True, label="new\rlabel"),
            item("r", "resolved"),
            item("r2", "resolved"),
            item("d", "data_health", value=None, threshold=None, severity="info"),
        ],
        footer="  foot\nnote  ",
        source="demo\x1b",
    )
    view = alert_view(g)
    assert view.summary == "1 alert · 2 resolved · 1 data problem · as of 2024-05-03"
    first = view.items[0]
    assert first.warning and first.heading == "Warning:" and first.icon == "⚠️"
    assert first.message == "one two"
    assert first.details == (
        "value 67.3 · threshold 65 · now new label · session 2024-05-03 · rule breadth_broadening"
    )
    assert first.late == "late: from 2024-05-03, delivered after downtime"
    assert view.items[1].late is None and view.items[1].heading == "Resolved:"
    assert view.items[3].details == "session 2024-05-03 · rule breadth_broadening"
    assert view.footer == "foot note"
    assert view.source == "Source: demo\ufffd"
