"""ConsoleChat: the daemon's local prompt (lines from stdin answered on stdout) and
`answer_line`, the one exchange shared with `rotation-bot chat`."""

from __future__ import annotations

import asyncio
import io
import os
import sys
from pathlib import Path

import pytest

from bot.commands import CommandContext, Dispatcher, Handler, Request, request_name
from bot.config import Secrets, load_settings
from bot.model.address import Address
from bot.model.kinds import MessageKind
from bot.model.messages import TextMessage
from bot.model.reply import Chart, Reply
from bot.platforms import Wiring, console
from bot.platforms.console.chat import CONSOLE_CALLER, ChartFolder, ConsoleChat, answer_line
from tests.bot.platforms import chat_helpers
from tests.bot.platforms.chat_helpers import expected

pytestmark = pytest.mark.anyio
chat_state = chat_helpers.chat_state
holder = chat_helpers.holder


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def until(predicate, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def test_the_prompt_answers_lines_from_a_pipe(holder, chat_state, tmp_path):
    read_fd, write_fd = os.pipe()
    stdin = os.fdopen(read_fd, "r", encoding="utf-8")
    out = io.StringIO()
    chat = ConsoleChat(holder.context_for, stdin=stdin, stdout=out, charts_dir=tmp_path)
    await chat.start()
    try:
        os.write(write_fd, b"/snapshot\nfrobnicate\n")
        await until(lambda: "Unknown command" in out.getvalue())
        # alerts share the same stdout
        notice = TextMessage(MessageKind.HEARTBEAT, "rotation-bot is running", ("ok",))
        await chat.send(Address("console", "stdout"), notice)
    finally:
        os.close(write_fd)
        await chat.stop()
        stdin.close()
    text = out.getvalue()
    for piece in expected(chat_state)["snapshot"]:
        assert piece in text
    assert "Sorry: Unknown command “frobnicate”" in text
    assert "rotation-bot is running" in text
    assert len(list(tmp_path.glob("*-snapshot.png"))) == 1
    assert holder.callers() == [CONSOLE_CALLER]


async def test_end_of_input_ends_the_prompt_not_the_bot(holder, tmp_path):
    out = io.StringIO()
    chat = ConsoleChat(holder.context_for, stdin=io.StringIO("help\n"), stdout=out)
    await chat.start()
    await until(lambda: "Commands" in out.getvalue())
    await asyncio.sleep(0.05)  # the reader saw the end; stop still works
    await chat.stop()
    assert out.getvalue().count("Commands") == 1


def test_answer_line_is_silent_for_blank_lines(holder, tmp_path):
    ctx = holder.context_for(CONSOLE_CALLER)
    assert answer_line("   \n", ctx, ChartFolder(tmp_path)) is None
    assert answer_line("help", ctx, ChartFolder(tmp_path)).startswith("Commands")


def test_chart_files_are_numbered_with_safe_names(tmp_path):
    folder = ChartFolder(tmp_path / "new")
    first = folder.save(Chart(b"\x89PNG1", "alt", "../../etc/passwd"))
    second = folder.save(Chart(b"\x89PNG2", "alt", "sector XLF.png"))
    assert first.parent == second.parent == tmp_path / "new"
    assert first.name == "001-etc_passwd" and second.name == "002-sector_XLF.png"
    assert second.read_bytes() == b"\x89PNG2"


def test_the_default_chart_folder_is_made_at_the_first_chart(monkeypatch, tmp_path):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    folder = ChartFolder()
    assert list(tmp_path.iterdir()) == []
    path = folder.save(Chart(b"\x89PNG", "alt", "x.png"))
    assert path.parent.parent == tmp_path and path.parent.name.startswith("rotation-bot-charts-")
    assert Path(path).exists()


async def test_the_wired_dispatcher_runs_every_command(holder, monkeypatch):
    """The app's middleware reaches the front-end through the wiring, not the context."""
    seen: list[str] = []

    def record(request: Request, ctx: CommandContext, next: Handler) -> Reply:
        seen.append(request_name(request))
        return next(request, ctx)

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    wiring = Wiring(
        load_settings(),
        Secrets(),
        context_for=holder.context_for,
        dispatcher=Dispatcher([record]),
        stdin=Tty("help\nstatus\n"),
    )
    chat = console.build_chat(wiring, None)
    assert chat is not None
    await chat.start()
    await until(lambda: out.getvalue().count("\n\n") >= 2)
    await chat.stop()
    assert seen == ["help", "status"]
    assert answer_line(
        "help", holder.context_for(CONSOLE_CALLER), ChartFolder(), Dispatcher([record])
    )
    assert seen[-1] == "help"
