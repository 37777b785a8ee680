"""`alert SUBJECT OP VALUE [confirm N] [clear V] [cooldown N]`: the words to a rule spec.

SUBJECT is a signal (id, detail path or the chart command's alias: breadth, top10, ...), a
ticker's close (`NVDA`, or a sector name's ETF), or `A vs B [WINDOW]`, the spread of two
tickers' returns over a lookback in pp (default 3m). OP is `above` / `below` (a level test:
it fires while the condition holds, after confirm) or `crosses above` / `crosses below` (a
crossing with hysteresis). Omitted keys take the configured rules' defaults (clear = the
value, confirm 1, cooldown 0), except that a chat's rule also says when it resolves.

Anything wrong is one `CommandError` line naming the wrong word, with an example that runs.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from bot.alerts import OwnRule, Subject, own_rule, own_rule_spec
from bot.commands.chart import SIGNAL_ALIASES
from bot.commands.common import CommandError
from bot.commands.sector_names import panel_ticker
from bot.model import echo
from bot.render import format_plain
from bot.render import texts as T
from signals.periods import LOOKBACKS
from signals.rules import RuleConfigError

if TYPE_CHECKING:
    from bot.alerts import MarketState

DEFAULT_WINDOW = "3m"
_OPS = ("above", "below", "crosses above", "crosses below")
_JOINERS = ("vs", "vs.", "versus")
_OPTIONS = {"confirm": 1, "cooldown": 0}  # whole-number options and their least value


@dataclass(frozen=True)
class NewRule:
    """A parsed rule: its canonical text, the spec to store, and the rule itself."""

    text: str
    spec: dict[str, Any]
    own: OwnRule


def _number(word: str) -> float | None:
    """A finite number, a trailing % or pp allowed ("70", "-1.5", "5pp")."""
    w = word.lower().removesuffix("pp").removesuffix("%")
    try:
        value = float(w)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _ticker(state: MarketState, word: str) -> str | None:
    """A ticker with prices (as typed, BRK.B as BRK-B, or a sector name's ETF), or None."""
    closes = state.data.closes
    found = panel_ticker(word, closes.columns)
    return found if found is not None and closes[found].notna().any() else None


def _signal(state: MarketState, word: str) -> str | None:
    """The signal path a word names (id, detail path or alias), or None. A ticker typed in
    capitals wins over an alias, as in `chart` (EW is a company; `ew` equal vs cap weight)."""
    low = word.lower()
    ids = state.history.ids()
    signal_id, _, detail = low.partition(".")
    if signal_id in ids:
        try:  # a detail that exists and is a number (a label cannot be compared with one)
            numeric = pd.api.types.is_numeric_dtype(state.history.series(low))
        except (KeyError, ValueError):
            return None
        return low if numeric else None
    sid = SIGNAL_ALIASES.get(low)
    if sid is None or sid not in ids:
        return None
    if word.isupper() and _ticker(state, word) is not None:
        return None
    return sid


def _bad_subject(state: MarketState, word: str) -> CommandError:
    known = [*SIGNAL_ALIASES, *state.history.ids(), *(str(c) for c in state.data.closes.columns)]
    close = difflib.get_close_matches(word[:24], known, n=3, cutoff=0.6)
    hint = f" (closest: {', '.join(close)})" if close else ""
    return CommandError(
        T.OWN_BAD_SUBJECT.format(word=echo(word, 24), close=hint, example=T.OWN_EXAMPLE)
    )


def parse_subject(state: MarketState, words: Sequence[str]) -> Subject:
    """The words before the comparison as a `Subject`."""
    low = [w.lower() for w in words]
    if any(w in _JOINERS for w in low):
        j = next(i for i, w in enumerate(low) if w in _JOINERS)
        rest = words[j + 1 :]
        if j != 1 or len(rest) not in (1, 2):
            raise CommandError(T.OWN_BAD_PAIR.format(text=echo(" ".join(words), 40)))
        a, b = _ticker(state, words[0]), _ticker(state, rest[0])
        for word, ticker in ((words[0], a), (rest[0], b)):
            if ticker is None:
                raise _bad_subject(state, word)
        window = rest[1].lower() if len(rest) == 2 else DEFAULT_WINDOW
        if window not in LOOKBACKS:
            example = f"alert {a} vs {b} 3m above 5"
            raise CommandError(T.OWN_BAD_WINDOW.format(word=echo(rest[1], 16), example=example))
        assert a is not None and b is not None
        if a == b:
            raise CommandError(T.OWN_BAD_PAIR.format(text=echo(" ".join(words), 40)))
        return Subject("relative", a, b, window)
    if len(words) != 1:
        # two words and no "vs": the second is most likely a mistyped comparison
        word = words[1] if _signal(state, words[0]) or _ticker(state, words[0]) else words[0]
        if word is words[1]:
            raise _bad_op(word)
        raise _bad_subject(state, word)
    sid = _signal(state, words[0])
    if sid is not None:
        return Subject("signal", sid)
    ticker = _ticker(state, words[0])
    if ticker is not None:
        return Subject("close", ticker)
    raise _bad_subject(state, words[0])


def _bad_op(word: str) -> CommandError:
    return CommandError(T.OWN_BAD_OP.format(word=echo(word, 24), example=T.OWN_EXAMPLE))


def _find_op(words: Sequence[str]) -> tuple[int, int, str]:
    """(start, end, op) of the comparison words; a one-line error when there is none."""
    low = [w.lower() for w in words]
    for i, w in enumerate(low):
        if w == "crosses":
            nxt = low[i + 1] if i + 1 < len(low) else ""
            if nxt in ("above", "below"):
                return i, i + 2, f"crosses_{nxt}"
            raise _bad_op(" ".join(words[i : i + 2]))
        if w in ("above", "below"):
            return i, i + 1, w
    # no comparison: name the word just before the first number (where it belongs)
    for i, w in enumerate(words):
        if _number(w) is not None and i >= 2:
            raise _bad_op(words[i - 1])
    close = [w for w in words if difflib.get_close_matches(w.lower(), _OPS, n=1, cutoff=0.7)]
    if close:
        raise _bad_op(close[0])
    raise CommandError(T.OWN_NO_OP.format(text=echo(" ".join(words), 40), example=T.OWN_EXAMPLE))


def _options(words: Sequence[str], example: str) -> dict[str, float | int]:
    """`confirm N`, `clear V`, `cooldown N` in any order, each at most once."""
    out: dict[str, float | int] = {}
    i = 0
    while i < len(words):
        name = words[i].lower()
        if name not in ("confirm", "clear", "cooldown"):
            raise CommandError(T.OWN_BAD_OPTION.format(word=echo(words[i], 24), example=example))
        if name in out:
            raise CommandError(T.OWN_TWICE.format(name=name, example=example))
        word = words[i + 1] if i + 1 < len(words) else ""
        value = _number(word)
        if name == "clear":
            if value is None:
                raise CommandError(
                    T.OWN_BAD_NUMBER.format(word=echo(word or "(nothing)", 24), example=example)
                )
            out[name] = value
        else:
            low = _OPTIONS[name]
            if value is None or value != int(value) or value < low or value > 10_000:
                raise CommandError(
                    T.OWN_BAD_COUNT.format(
                        name=name, word=echo(word or "(nothing)", 24), low=low, example=example
                    )
                )
            out[name] = int(value)
        i += 2
    return out


def _op_text(op: str) -> str:
    return op.replace("_", " ")


def parse_rule(state: MarketState, args: Sequence[str]) -> NewRule:
    """The words after `alert` as a rule; a `CommandError` line names the first wrong part."""
    words = [w for a in args for w in a.split()]
    start, end, op = _find_op(words)
    if start == 0:
        raise _bad_subject(state, "(nothing)")
    subject = parse_subject(state, words[:start])
    example = f"alert {subject.text} {_op_text(op)} 70 confirm 2"
    if end >= len(words):
        raise CommandError(T.OWN_NO_VALUE.format(op=_op_text(op), example=example))
    value = _number(words[end])
    if value is None:
        raise CommandError(T.OWN_BAD_NUMBER.format(word=echo(words[end], 24), example=example))
    example = f"alert {subject.text} {_op_text(op)} {format_plain(value)} confirm 2"
    options = _options(words[end + 1 :], example)
    confirm, cooldown = options.get("confirm"), options.get("cooldown")
    spec = own_rule_spec(
        subject,
        op,
        value,
        clear=options.get("clear"),
        confirm=None if confirm is None else int(confirm),
        cooldown=None if cooldown is None else int(cooldown),
    )
    text = f"{subject.text} {_op_text(op)} {format_plain(value)}"
    for name in ("confirm", "clear", "cooldown"):
        if name in options:
            text += f" {name} {format_plain(options[name])}"
    try:
        own = own_rule("new", spec)
    except RuleConfigError as exc:
        if exc.field.endswith("clear"):
            why = exc.message.replace("threshold", "the value")
            raise CommandError(
                T.OWN_BAD_CLEAR.format(
                    value=format_plain(options.get("clear")), why=why, example=example
                )
            ) from None
        raise CommandError(f"{exc.field}: {exc.message}, e.g. {example}") from None
    return NewRule(text, spec, own)
