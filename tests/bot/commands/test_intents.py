"""Free text matched to commands by meaning (bot.commands.intents), and suggestions that run:
every suggestion, for everyday questions and typos alike, is a command line that answers."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from bot.commands.intents import PHRASES, intent_lines
from bot.commands.table import find_command
from bot.storage.store import Store
from signals.market import MarketData
from tests.bot.commands_helpers import all_text, ask, caller, context, load_state

if TYPE_CHECKING:
    from bot.alerts.market_state import MarketState


@pytest.fixture(scope="module")
def state(demo_data: MarketData) -> MarketState:
    return load_state(demo_data)  # type: ignore[return-value]


@pytest.fixture()
def store() -> Store:
    s = Store()
    yield s
    s.close()


#: everyday questions and typos, as people type them
EVERYDAY: tuple[str, ...] = (
    "what is the market doing?",
    "what's the market doing?",
    "How's the market?",
    "market today",
    "give me an overview",
    "small caps",
    "how are small caps doing this year",
    "small caps vs large caps",
    "concentration",
    "how concentrated is the market",
    "mega caps",
    "top ten",
    "top 10 companies",
    "magnificent seven",
    "how did the mag 7 do in 2025?",
    "banks",
    "how are the banks doing",
    "financials",
    "energy",
    "is tech outperforming?",
    "are banks beating tech",
    "breadth",
    "market breadth",
    "how many stocks are above their 200 day",
    "valuation",
    "P/E?",
    "is the market expensive",
    "how did NVDA do in 2025",
    "how did nvda do in 2025q4",
    "how did the S&P do last year?",
    "AAPL vs MSFT",
    "equal weight vs cap weight",
    "show me a chart of nvidia",
    "which sector is leading?",
    "what alerts do you have",
    "are you alive?",
    "what can you do",
    "snapshto",
    "sectr XLF",
    "sectr " + "x" * 80,
    "topten",
    "breadht",
    "valuaton",
    "mag 7",
    "stpo",
    "retrun NVDA 2025",
    "comapre RSP SPY",
)


def suggestions(reply) -> list[str]:
    return [b.command for b in reply.buttons if b.kind == "choice"]


@pytest.mark.parametrize("who", ["private", "group"])
def test_every_suggestion_runs_as_suggested(state: MarketState, store: Store, who: str) -> None:
    ctx = context(state, store=store, who=caller(who))
    offered = 0
    for text in EVERYDAY:
        reply = ask(ctx, text)
        for line in suggestions(reply):
            offered += 1
            answer = ask(ctx, line)
            assert not answer.is_error, f"{text!r} suggested {line!r}: {all_text(answer)}"
            assert line in reply.blocks[0]  # the message names what the buttons run
    assert offered >= len(EVERYDAY)


def test_without_a_store_or_state_nothing_refused_is_offered(state: MarketState) -> None:
    for ctx in (context(state), context(None)):
        for text in EVERYDAY:
            for line in suggestions(ask(ctx, text)):
                assert not ask(ctx, line).is_error, (text, line)


@pytest.mark.parametrize(
    ("text", "first"),
    [
        ("what is the market doing?", "snapshot"),
        ("what's the market doing?", "snapshot"),
        ("How's the market?", "snapshot"),
        ("small caps", "sector IWM"),
        ("concentration of the index", "top10"),
        ("mega caps", "top10"),
        ("top ten", "top10"),
        ("magnificent seven", "mega7"),
        ("how did the magnificent seven do in 2025", "mega7 2025"),
        ("banks", "sector XLF"),
        ("financials", "sector XLF"),
        ("energy", "sector XLE"),
        ("market breadth", "breadth"),
        ("what is the pe ratio", "valuation"),
        ("P/E?", "valuation"),
        ("how did NVDA do in 2025", "return NVDA 2025"),
        ("how did the S&P do in 2025?", "return SPY 2025"),
        ("equal weight vs cap weight", "compare RSP SPY"),
        ("small caps vs large caps", "compare IWM SPY"),
        ("show me a chart of nvidia", "chart NVDA"),
        ("which sector is leading?", "sectors"),
        ("what can you do", "help"),
    ],
)
def test_everyday_questions_get_the_command_they_mean(
    state: MarketState, text: str, first: str
) -> None:
    reply = ask(context(state), text)
    assert reply.is_error  # a suggestion, not an answer on a guess
    assert suggestions(reply)[0] == first, all_text(reply)
    assert "Did you mean:" in reply.blocks[0] and first in reply.blocks[0]


def test_the_misleading_old_suggestions_are_gone(state: MarketState) -> None:
    ctx = context(state)
    assert "chart is the market doing?" not in suggestions(ask(ctx, "what is the market doing?"))
    assert "unsubscribe" not in suggestions(ask(ctx, "top ten"))
    for two_words, title in (("mag 7", "Mega-7"), ("mega 7", "Mega-7"), ("top 10", "Top-10")):
        reply = ask(ctx, two_words)  # answered, not refused as "mega7 7"
        assert not reply.is_error and reply.title.startswith(title), (two_words, reply.title)


def test_company_names_and_counted_windows_become_runnable_commands(state: MarketState) -> None:
    ctx = context(state)
    assert suggestions(ask(ctx, "compare apple and microsoft"))[0] == "compare AAPL MSFT"
    assert suggestions(ask(ctx, "chart of nvidia over 3 years"))[0] == "chart NVDA 3y"
    assert "return SPY RSP IWM 2025" in suggestions(ask(ctx, "what happened in 2025"))


def test_typos_keep_the_arguments_only_when_they_run(state: MarketState) -> None:
    ctx = context(state)
    assert suggestions(ask(ctx, "retrun NVDA 2025"))[0] == "return NVDA 2025"
    assert suggestions(ask(ctx, "comapre RSP SPY"))[0] == "compare RSP SPY"
    assert "Unknown command “retrun”" in ask(ctx, "retrun NVDA 2025").blocks[0]
    # "chart" needs a symbol: a bare "chart" is never offered
    assert "chart" not in suggestions(ask(ctx, "chrt"))


def test_commands_that_change_the_chat_are_offered_only_where_they_run(
    state: MarketState, store: Store
) -> None:
    private = context(state, store=store)
    group = context(state, store=store, who=caller("group"))
    assert "unsubscribe" in suggestions(ask(private, "stop alerts please"))
    assert "unsubscribe" not in suggestions(ask(group, "stop alerts please"))
    assert "unsubscribe" not in suggestions(ask(context(state), "stop alerts please"))


def test_unmatched_text_still_says_send_help(state: MarketState) -> None:
    ctx = context(state)
    for text in ("zzzzzz", "good morning", "🚀🚀"):
        reply = ask(ctx, text)
        assert reply.is_error and not suggestions(reply)
    assert "Unknown command “good”" in ask(ctx, "good morning").blocks[0]


def test_common_words_are_not_tickers(state: MarketState) -> None:
    ctx = context(state)
    for text in ("is it up now?", "what is going on", "how low can it go", "all good?"):
        lines = intent_lines(text, ctx)
        assert not any(line.startswith(("return", "chart", "compare")) for line in lines), (
            text,
            lines,
        )


def test_long_and_hostile_text_is_cheap_and_safe(state: MarketState) -> None:
    ctx = context(state)
    assert intent_lines("", ctx) == []
    assert intent_lines("market " * 5000, ctx)[0] == "snapshot"
    for text in ("<b>banks</b>", "\x1b[31mbreadth", "market\u202e", "NVDA" * 2000):
        reply = ask(ctx, text)
        assert reply.is_error


def test_every_phrase_names_a_command() -> None:
    for phrase in PHRASES:
        assert phrase.words, phrase
        assert find_command(phrase.command.split()[0]) is not None, phrase


def test_mentions_and_the_slack_command_word_are_not_read_as_the_question(
    state: MarketState,
) -> None:
    ctx = context(state)
    for text in (
        "@RotationBot what's the market doing?",
        "<@U0BOT> what's the market doing?",
        "/rotation what's the market doing?",
    ):
        assert suggestions(ask(ctx, text)) == ["snapshot"], text
    assert intent_lines("@RotationBot how did NVDA do in 2025", ctx)[0] == "return NVDA 2025"


def test_an_alias_used_as_a_word_offers_what_the_sentence_means(state: MarketState) -> None:
    ctx = context(state)
    reply = ask(ctx, "market breadth")  # "market" is snapshot's alias
    assert reply.is_error and suggestions(reply)[0] == "breadth"
    # a command's own name with a bad argument keeps its one-line error and example
    own = ask(ctx, "breadth 30/06/2026")
    assert not suggestions(own) and "Did you mean" not in own.blocks[0]
