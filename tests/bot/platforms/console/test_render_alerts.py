"""Console text: one tagged line per item, data kept on its line."""

from __future__ import annotations

from hypothesis import given, settings

from bot.model.kinds import MessageKind
from bot.model.messages import TextMessage
from bot.platforms.console.render_alerts import render_alerts, render_text_message
from tests.bot.render.hostile import (
    LONG_LINE,
    assert_in_order,
    group,
    groups_st,
    hostile_group,
    item,
    many_group,
)

TAGS = {"fired": "[alert]", "resolved": "[resolved]", "data_health": "[data]"}


def _item_lines(out: str) -> list[str]:
    return [line for line in out.split("\n") if line.startswith(tuple(TAGS.values()))]


def test_one_line_per_item_with_the_exact_tag_in_order() -> None:
    g = group(
        [
            item("Breadth rose above 65%", "fired"),
            item("Small caps back below SPY", "resolved", severity="info"),
            item("Coverage 80% below 90%", "data_health", value=None, threshold=None),
        ]
    )
    lines = render_alerts(g).split("\n")
    assert lines[1].startswith("[alert] ")
    assert lines[2].startswith("[resolved] ")
    assert lines[3].startswith("[data] ")
    assert "Breadth rose above 65%" in lines[1]
    assert "value 67.3" in lines[1] and "threshold 65" in lines[1]
    assert "session 2024-05-03" in lines[1]
    assert "Warning" in lines[1]
    assert "Resolved: Small caps back below SPY" in lines[2]
    assert "Data problem: Coverage 80% below 90%" in lines[3]
    assert lines[-1] == "Not investment advice."
    assert "Source: demo" in lines[-2]
    assert "SIMULATED" not in render_alerts(g)


def test_late_and_simulated_are_said_on_the_item_line() -> None:
    g = group([item("Late one", late=True)], simulated=True)
    out = render_alerts(g)
    (line,) = _item_lines(out)
    assert line.startswith("[alert] [SIMULATED] ")
    assert "late: from 2024-05-03, delivered after downtime" in line
    assert "SIMULATED" in out.split("\n")[0]


def test_hostile_data_cannot_add_lines_or_escape_sequences() -> None:
    g = hostile_group()
    out = render_alerts(g)
    lines = out.split("\n")
    assert len(lines) == 1 + len(g.items) + 2  # header, items, source, footer
    tagged = _item_lines(out)
    assert [line.split(" ")[0] for line in tagged] == [TAGS[i.transition] for i in g.items]
    assert_in_order(out, [i.message for i in g.items])
    evil = render_alerts(group([item("a\n[alert] forged\x1b[2J\rb")]))
    assert len(_item_lines(evil)) == 1
    assert "\x1b" not in evil and "\r" not in evil


def test_long_line_and_many_items_are_kept_whole() -> None:
    out = render_alerts(group([item(LONG_LINE)]))
    assert_in_order(out, [LONG_LINE])
    g = many_group()
    out = render_alerts(g)
    assert len(_item_lines(out)) == 300
    assert_in_order(out, [i.message for i in g.items])


def test_text_message() -> None:
    msg = TextMessage(MessageKind.STARTUP, "rotation-bot started", ("line 1", "a\nb"), True)
    assert render_text_message(msg) == "rotation-bot started [SIMULATED]\nline 1\na b"


@settings(max_examples=60, deadline=None)
@given(g=groups_st)
def test_property_every_item_has_its_line(g) -> None:  # type: ignore[no-untyped-def]
    out = render_alerts(g)
    tagged = _item_lines(out)
    assert [line.split(" ")[0] for line in tagged] == [TAGS[i.transition] for i in g.items]
    assert len(out.split("\n")) == len(g.items) + 2 + bool(g.footer.strip())
    assert_in_order(out, [i.message for i in g.items])
