"""ConsoleSender: alerts on stdout as lines starting [alert] / [resolved]."""

from __future__ import annotations

import asyncio
import dataclasses
import io

from bot.model.address import Address
from bot.model.kinds import MessageKind
from bot.model.messages import AlertItem, TextMessage
from bot.platforms.console.sender import ConsoleSender
from tests.bot.outbox_helpers import SESSION, alert_group


def test_alerts_print_tagged_lines() -> None:
    resolved = AlertItem("ew", "resolved", SESSION, "info", "equal weight lead faded")
    group = dataclasses.replace(alert_group(2), items=(*alert_group(2).items, resolved))
    out = io.StringIO()
    result = asyncio.run(ConsoleSender(out).send(Address("console", "stdout"), group))
    lines = out.getvalue().splitlines()
    assert result.parts == 1
    assert [ln.split()[0] for ln in lines if ln.startswith("[")] == [
        "[alert]",
        "[alert]",
        "[resolved]",
    ]
    assert any("rule 1 crossed" in ln for ln in lines if ln.startswith("[alert]"))


def test_notices_print_and_a_resumed_send_prints_nothing_twice() -> None:
    out = io.StringIO()
    console = ConsoleSender(out)
    notice = TextMessage(MessageKind.STARTUP, "rotation-bot started", ("3 rules",))
    asyncio.run(console.send(Address("console", "stdout"), notice))
    assert out.getvalue().startswith("rotation-bot started\n3 rules")
    before = out.getvalue()
    asyncio.run(console.send(Address("console", "stdout"), notice, skip_parts=1))
    assert out.getvalue() == before


def test_stdout_is_looked_up_at_send_time(capsys) -> None:
    asyncio.run(ConsoleSender().send(Address("console", "stdout"), alert_group(1)))
    assert "[alert]" in capsys.readouterr().out
