"""`rotation-bot chat` (`run_chat`): lines in, plain answers out, errors one line, charts as
files, exit 0 at end of input, never a traceback."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from bot.commands.context import CommandContext
from bot.runtime.chat_console import EXIT_INTERRUPTED, PROMPT, run_chat
from tests.bot.platforms import chat_helpers
from tests.bot.platforms.chat_helpers import BAD_INPUT, Holder, expected

chat_state = chat_helpers.chat_state
holder = chat_helpers.holder


def chat(holder: Holder, text: str, tmp_path: Path, **kw) -> tuple[int, str]:
    out = io.StringIO()
    code = run_chat(holder.context_for, io.StringIO(text), out, charts_dir=tmp_path, **kw)
    return code, out.getvalue()


def test_answers_each_line_with_the_snapshots_numbers(holder, chat_state, tmp_path):
    want = expected(chat_state)
    code, out = chat(holder, "snapshot\n/snapshot\n\n   \nsector XLF\nhelp\n", tmp_path)
    assert code == 0
    answers = out.strip().split("\n\n")
    assert sum(a.startswith("Market snapshot") for a in answers) == 2  # with or without /
    for piece in want["snapshot"] + want["sector XLF"] + want["help"]:
        assert piece in out
    # charts are files, named in the answer; nothing binary on the terminal
    paths = [Path(line.removeprefix("Chart: ")) for line in out.splitlines() if "Chart: " in line]
    assert len(paths) == 3 and all(p.parent == tmp_path for p in paths)
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in paths)
    assert "\x89PNG" not in out and "PNG" not in out
    # the console user is an admin of the console chat
    assert {(c.platform, c.is_admin) for c in holder.callers()} == {("console", True)}


def test_every_command_in_one_session(holder, chat_state, tmp_path):
    for line, pieces in expected(chat_state).items():  # subscribe comes before settings
        code, out = chat(holder, line + "\n", tmp_path)
        assert code == 0
        for piece in pieces:
            assert piece in out, f"{line}: {piece!r} not in {out[:300]!r}"


def test_bad_input_gets_one_line_each_and_the_session_goes_on(holder, tmp_path):
    lines = [*BAD_INPUT, "sector \x1b[31mred\x07", "help"]
    code, out = chat(holder, "\n".join(lines) + "\n", tmp_path)
    assert code == 0
    answers = out.strip().split("\n\n")  # errors are one line each; help has paragraphs
    errors = len(lines) - 1
    assert all("\n" not in a for a in answers[:errors])
    for line, answer in zip(BAD_INPUT, answers, strict=False):
        assert "\n" not in answer and answer.startswith("Sorry: "), answer
        for piece in BAD_INPUT[line]:
            assert piece in answer
    assert "\x1b" not in out and "\x07" not in out  # no terminal control from input
    assert answers[errors].startswith("Commands")
    assert "Traceback" not in out


def test_a_failing_command_is_one_apology_line(tmp_path, caplog):
    def broken():
        raise RuntimeError("disk on fire")

    def context_for(caller):
        return CommandContext(caller=caller, state=broken)

    out = io.StringIO()
    assert run_chat(context_for, io.StringIO("snapshot\nhelp\n"), out, charts_dir=tmp_path) == 0
    first = out.getvalue().split("\n\n")[0]
    assert first.startswith("Sorry, something went wrong: The error was logged (ref ")
    assert "\n" not in first and "disk on fire" not in out.getvalue()
    assert "disk on fire" in caplog.text  # the operator's log has the traceback


def test_a_chart_that_cannot_be_saved_costs_only_the_chart(holder, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    code, out = chat(holder, "breadth\n", blocker)
    assert code == 0
    assert out.startswith("Breadth") and "chart not saved:" in out


def test_exit_quit_and_interrupt(holder, tmp_path):
    code, out = chat(holder, "help\nquit\nsnapshot\n", tmp_path)
    assert code == 0 and "Market snapshot" not in out

    class Interrupted(io.StringIO):
        def readline(self, *args):
            raise KeyboardInterrupt

    out = io.StringIO()
    assert run_chat(holder.context_for, Interrupted(), out) == EXIT_INTERRUPTED


def test_a_terminal_gets_a_prompt_a_pipe_does_not(holder, tmp_path):
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    out = Tty()
    assert run_chat(holder.context_for, Tty("help\n"), out, charts_dir=tmp_path) == 0
    assert out.getvalue().startswith(PROMPT) and out.getvalue().count(PROMPT) == 2
    _, piped = chat(holder, "help\n", tmp_path)
    assert PROMPT not in piped


def test_a_closed_stdout_ends_the_session_quietly(holder, tmp_path):
    class Closed(io.StringIO):
        def write(self, text: str) -> int:
            raise BrokenPipeError

    assert run_chat(holder.context_for, io.StringIO("help\nhelp\n"), Closed()) == 0


def test_undecodable_input_does_not_end_the_session(holder, tmp_path):
    raw = io.BytesIO(b"sector \xff\xfe\nhelp\n")
    stdin = io.TextIOWrapper(raw, encoding="utf-8")
    out = io.StringIO()
    assert run_chat(holder.context_for, stdin, out, charts_dir=tmp_path) == 0
    assert "Unknown sector" in out.getvalue() and "Commands" in out.getvalue()


@pytest.mark.parametrize("charts", [True, False])
def test_the_cli_chat_command(monkeypatch, capsys, tmp_path, charts):
    from bot.cli import main

    monkeypatch.setattr("sys.stdin", io.StringIO("snapshot\nsubscribe\nstatus\nfrobnicate\n"))
    flags = ["--charts-dir", str(tmp_path)] if charts else ["--no-charts"]
    assert main(["chat", "--source", "demo", *flags]) == 0
    out = capsys.readouterr().out
    assert "Market snapshot" in out and "SIMULATED" in out
    assert "Subscribed" in out  # a throwaway in-memory store takes the subscription
    assert "Sorry: Unknown command “frobnicate”" in out
    assert ("Chart: " in out) == charts
    assert len(list(tmp_path.glob("*.png"))) == (1 if charts else 0)
