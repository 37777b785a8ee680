"""Parsing chat text into a typed request: every accepted form, refusals, and arbitrary text."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.commands.parse import MAX_ARG, MAX_ARGS, NAME, CommandRequest, ParseError, parse_command
from bot.model.reply import MAX_ECHO

BOT = ("RotationBot",)


@pytest.mark.parametrize(
    "text",
    [
        "snapshot",
        "/snapshot",
        "/snapshot@RotationBot",
        "/snapshot@rotationbot",
        "  SNAPSHOT \n",
        "\t/Snapshot\t",
        "/rotation snapshot",
        "rotation snapshot",
        "/rotation /snapshot",
        "<@U0BOT123> snapshot",
        "<@U0BOT123|rotation-bot> snapshot",
        "@RotationBot snapshot",
        "ＳＮＡＰＳＨＯＴ",  # full-width letters, NFKC-normalised
        "snapshot?",
    ],
)
def test_every_accepted_form_gives_the_command(text: str) -> None:
    req = parse_command(text, bot_names=BOT)
    assert isinstance(req, CommandRequest), req
    assert req.name == "snapshot"
    assert req.args == ()
    assert req.raw == text


@pytest.mark.parametrize(
    ("text", "name", "args"),
    [
        ("sector   health    care", "sector", ("health", "care")),
        ("/sector@RotationBot XLF", "sector", ("XLF",)),
        ("/rotation chart RSP vs SPY", "chart", ("RSP", "vs", "SPY")),
        ("<@U1> mute 2h", "mute", ("2h",)),
        ("SETTINGS Resolved Silent", "settings", ("Resolved", "Silent")),  # args keep case
        (
            "sector <b>x</b> *bold* <!channel> 🚀",
            "sector",
            ("<b>x</b>", "*bold*", "<!channel>", "🚀"),
        ),
    ],
)
def test_arguments_are_split_on_whitespace_and_kept_as_typed(
    text: str, name: str, args: tuple[str, ...]
) -> None:
    req = parse_command(text, bot_names=BOT)
    assert isinstance(req, CommandRequest)
    assert (req.name, req.args) == (name, args)
    assert req.line == " ".join((name, *args))


def test_a_command_for_another_bot_is_ignored_only_when_the_bot_knows_its_name() -> None:
    other = parse_command("/snapshot@OtherBot", bot_names=BOT)
    assert isinstance(other, ParseError) and other.reason == "other_bot" and other.ignore
    assert isinstance(parse_command("/snapshot@OtherBot"), CommandRequest)
    mention = parse_command("@someone snapshot", bot_names=BOT)
    assert isinstance(mention, ParseError) and mention.ignore


@pytest.mark.parametrize("text", ["", "   ", "\n\t", None])
def test_nothing_said_is_ignored(text: str | None) -> None:
    req = parse_command(text)
    assert isinstance(req, ParseError) and req.reason == "empty" and req.ignore


@pytest.mark.parametrize("text", ["<@U0BOT>", "@RotationBot"])
def test_the_command_word_or_a_bare_mention_asks_for_help(text: str) -> None:
    req = parse_command(text, bot_names=BOT)
    assert isinstance(req, CommandRequest) and req.name == "help"


@pytest.mark.parametrize("text", ["🚀", "<b>x</b>", "/", "*bold*", "42", "<!channel>", "é"])
def test_words_that_cannot_be_command_names_are_answered_not_ignored(text: str) -> None:
    req = parse_command(text)
    assert isinstance(req, ParseError)
    assert req.reason == "bad_name" and not req.ignore
    assert req.token == text  # short tokens are echoed as typed (renderers escape them)


def test_a_long_bad_word_is_echoed_cut() -> None:
    req = parse_command("🚀" * 5000)
    assert isinstance(req, ParseError)
    assert len(req.token) <= MAX_ECHO and req.token.endswith("…")


def test_huge_input_is_bounded() -> None:
    req = parse_command("sector " + "x" * 5000 + " y" * 100)
    assert isinstance(req, CommandRequest)
    assert len(req.args) == MAX_ARGS
    assert len(req.args[0]) == MAX_ARG


# --- arbitrary text ---------------------------------------------------------------------------

_hostile = st.sampled_from(
    ["<b>", "</b>", "<!channel>", "<@U123>", "*bold*", "_it_", "`", "&amp;", "🚀", "👨‍👩‍👧",
     "\x00", "\x1b[31m", "\u202e", "\r\n", "/", "@", "@RotationBot", "@Other", "/rotation"]
)  # fmt: skip
texts = st.one_of(
    st.text(max_size=300),
    st.lists(st.one_of(_hostile, st.text(max_size=12)), max_size=30).map(" ".join),
    st.builds(lambda n, a: "x" * n + a, st.integers(0, 5200), st.text(max_size=20)),
)


@settings(max_examples=400, deadline=None)
@given(texts)
def test_parse_never_raises_and_results_are_bounded(text: str) -> None:
    req = parse_command(text, bot_names=BOT)
    if isinstance(req, CommandRequest):
        assert NAME.fullmatch(req.name)
        assert len(req.args) <= MAX_ARGS
        assert all(len(a) <= MAX_ARG and a and not any(c.isspace() for c in a) for a in req.args)
    else:
        assert isinstance(req, ParseError)
        assert len(req.token) <= MAX_ECHO
        assert "\n" not in req.token and "\r" not in req.token
