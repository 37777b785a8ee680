"""Chat text -> a typed `CommandRequest` (or a `ParseError`), once, before any handler runs.

Match, then handle: every platform hands its raw text here and passes the typed
result along. Accepted forms, case-insensitive command names, surrounding whitespace ignored:

    snapshot                    console, Telegram private chats
    /snapshot  /snapshot@RotationBot     Telegram (the bot name is checked and stripped)
    /rotation snapshot  rotation snapshot   Slack slash-command text, with or without the
                                            command word (the adapter may pass either)
    <@U0BOT> snapshot  @RotationBot snapshot   mentions (Slack app_mention, Telegram)

`parse_command` never raises, whatever the input (5 kB strings, control characters, emoji,
markup): an unusable text is a `ParseError` whose `ignore` tells the adapter to stay silent
(empty text, a command addressed to another bot).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal

from bot.model import echo

#: Command names: ASCII, as Telegram's menu requires (1-32 of a-z 0-9 _).
NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")
#: The Slack slash command's own word(s), skipped when the adapter passes them through.
COMMAND_WORDS: tuple[str, ...] = ("rotation",)
#: More arguments than any command takes; the rest is dropped (dispatch then says "too many").
MAX_ARGS = 24
#: Longer than any real argument (a ticker, a rule id, a sector name); longer ones are cut.
MAX_ARG = 200
_SLACK_MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>", re.IGNORECASE)
_TRAILING = ".,!?:;"

ParseReason = Literal["empty", "bad_name", "other_bot"]


@dataclass(frozen=True)
class CommandRequest:
    """A parsed command: lower-case `name`, its whitespace-separated `args`, the `raw` text."""

    name: str
    args: tuple[str, ...] = ()
    raw: str = ""

    @property
    def line(self) -> str:
        """The canonical command line ("sector XLF"), e.g. for a refresh button."""
        return " ".join((self.name, *self.args))


@dataclass(frozen=True)
class ParseError:
    """Text that is not a command. `token` is the offending word, already bounded for echo."""

    reason: ParseReason
    raw: str
    token: str = ""

    @property
    def ignore(self) -> bool:
        """True when the bot should not answer at all (nothing said, or not said to us)."""
        return self.reason in ("empty", "other_bot")


def _is_bot_mention(token: str, bot_names: Collection[str]) -> bool:
    if _SLACK_MENTION.fullmatch(token):
        return True
    if token.startswith("@") and len(token) > 1:
        return not bot_names or token[1:].lower() in {b.lower().lstrip("@") for b in bot_names}
    return False


def _name(token: str) -> str:
    """A command word as typed -> its canonical form (NFKC, lower case, no trailing ?!.,)."""
    return unicodedata.normalize("NFKC", token).lower().rstrip(_TRAILING)


#: command names people type in two words: ("top", "10") is `top10`
_SPLIT_NAMES = frozenset({("top", "10"), ("mega", "7"), ("mag", "7"), ("magnificent", "7")})


def parse_command(
    text: str | None,
    *,
    bot_names: Collection[str] = (),
    command_words: Collection[str] = COMMAND_WORDS,
) -> CommandRequest | ParseError:
    """Parse one chat message. `bot_names`: this bot's usernames (Telegram "RotationBot");
    when given, `/cmd@OtherBot` and `@OtherBot cmd` are `ParseError("other_bot")`."""
    raw = text if isinstance(text, str) else ""
    tokens = raw.split()
    mentioned = False
    while tokens and _is_bot_mention(tokens[0], bot_names):
        tokens.pop(0)
        mentioned = True
    if not tokens:  # "@RotationBot" alone asks what the bot can do
        return CommandRequest("help", (), raw) if mentioned else ParseError("empty", raw)
    if tokens[0].startswith("@") and len(tokens[0]) > 1:  # a mention of someone else
        return ParseError("other_bot", raw)
    words = {w.lower() for w in command_words}
    first = tokens[0]
    for i in range(2):  # "/rotation /snapshot": the command word, then the command
        word, at, target = first.removeprefix("/").partition("@")
        if at and bot_names and target.lower() not in {b.lower().lstrip("@") for b in bot_names}:
            return ParseError("other_bot", raw)
        name = _name(word)
        if name not in words:
            break
        # the word is also the `rotation [DATE]` command (Telegram's menu sends "/rotation"):
        # alone, before a date, or after the Slack command word, it asks for the graph
        if i == 1 or len(tokens) == 1 or tokens[1][:1].isdigit():
            break
        tokens.pop(0)
        first = tokens[0]
    if not NAME.fullmatch(name):
        return ParseError("bad_name", raw, echo(first))
    args = tuple(a[:MAX_ARG] for a in tokens[1 : 1 + MAX_ARGS])
    if args and (name, args[0].lower()) in _SPLIT_NAMES:  # "top 10", "mega 7"
        name, args = name + args[0].lower(), args[1:]
    return CommandRequest(name, args, raw)
