"""Free text -> the commands that may answer it, by meaning (a small keyword table).

`intent_lines("how did NVDA do in 2025?", ctx)` -> ["return NVDA 2025", "chart NVDA"].
Nothing here runs a command or checks that a line would run: the dispatcher
(`bot.commands.table`) keeps only the lines that do, so a suggestion is never refused.

How a text is read (case, punctuation and spacing ignored, like sector names):

- `PHRASES`: everyday words and phrases -> a command ("how's the market" -> snapshot,
  "concentration" -> top10, "p/e" -> valuation). A longer phrase ranks higher.
- subjects: tickers of the panel (NVDA, written in capitals or not a common word), sector
  names (`bot.commands.sector_names`: banks -> XLF) and `SUBJECT_WORDS` ("s&p 500" -> SPY,
  "equal weight" -> RSP, "nvidia" -> NVDA). One subject -> `sector ETF` or `return T`;
  two -> `compare A B`; with a chart word -> `chart A [vs B]`.
- a period (`2025`, `2025q4`, `ytd`, `1y`, "this year", "last year") is added to the
  commands that take one, a day (`2025-09-30`) to those that take a DATE.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from bot.commands.chart import CHART_WINDOWS
from bot.commands.context import CommandContext
from bot.commands.parse import COMMAND_WORDS
from bot.commands.sector_names import NAMES, SECTORS, normalise
from signals.periods import LOOKBACKS, PeriodError, parse_period

#: longest text read (a 5 kB message costs no more than a short one)
MAX_TEXT = 200
#: most words read
MAX_WORDS = 40


@dataclass(frozen=True)
class Phrase:
    """Words that mean `command`; `takes`: what may be appended ("date", "period" or "")."""

    words: tuple[str, ...]
    command: str
    takes: str = ""


def _phrases(command: str, takes: str, *texts: str) -> tuple[Phrase, ...]:
    return tuple(Phrase(tuple(normalise(t).split()), command, takes) for t in texts)


#: everyday words -> a command (normalised: "p/e" is "p e", "how's" is "how s")
PHRASES: tuple[Phrase, ...] = (
    *_phrases("snapshot", "date", "market", "markets", "the market", "market doing",
              "how s the market", "how is the market", "market today", "overview", "summary",
              "what s happening", "what is happening", "what s going on", "market update",
              "regime", "risk on", "risk off", "big picture",
              "stock market", "stocks"),
    *_phrases("top10", "date", "concentration", "concentrated", "top ten", "top 10",
              "top heavy", "topten", "top tens", "largest companies", "biggest companies",
              "largest stocks", "biggest stocks", "mega caps", "mega cap", "megacaps", "megacap",
              "heavyweights", "share of the index", "top holdings"),
    *_phrases("mega7", "period", "magnificent seven", "magnificent 7", "magnificent7",
              "mag seven", "mag 7", "mag7", "mega 7", "mega seven", "mega7", "big tech",
              "faang", "magnificent"),
    *_phrases("breadth", "date", "breadth", "market breadth", "participation",
              "how many stocks", "200 day", "50 day", "200 dma", "moving average",
              "moving averages", "advance decline", "internals", "narrow", "broadening"),
    *_phrases("valuation", "date", "valuation", "valuations", "p e", "pe", "pe ratio",
              "price to earnings", "earnings multiple", "multiples", "expensive", "cheap",
              "overvalued", "undervalued", "forward pe", "trailing pe"),
    *_phrases("sectors", "date", "sectors", "all sectors", "sector ranking", "which sector",
              "which sectors", "best sector", "best sectors", "worst sector",
              "leading sectors", "sector leaders", "laggards",
              "what s leading", "what is leading"),
    *_phrases("rotation", "date", "rotation", "rotating", "sector rotation", "relative rotation",
              "rotation graph", "rrg", "quadrants", "leading and lagging", "improving"),
    *_phrases("compare RSP SPY", "period", "equal weight", "equal weighted",
              "equalweight", "ew vs cw", "equal vs cap"),
    *_phrases("signals", "", "alerts", "alert rules", "rules", "signals", "triggers",
              "what are you watching", "what do you watch"),
    *_phrases("status", "", "status", "are you alive", "are you up", "are you working",
              "last run", "next run", "stale", "is the data fresh", "data fresh", "uptime"),
    *_phrases("help", "", "help", "what can you do", "what do you do", "commands",
              "how does this work", "how do i use"),
    *_phrases("subscribe", "", "subscribe", "notify me", "alert me", "send me alerts",
              "get alerts"),
    *_phrases("unsubscribe", "", "unsubscribe", "stop alerts", "no more alerts",
              "stop sending"),
    *_phrases("settings", "", "settings", "notification settings", "message levels"),
)  # fmt: skip

#: names people give to tickers (sector names come from `sector_names`)
SUBJECT_WORDS: dict[str, str] = {
    normalise(k): v
    for k, v in {
        "s&p 500": "SPY", "s&p500": "SPY", "s&p": "SPY", "sp500": "SPY", "sp 500": "SPY",
        "spx": "SPY", "the index": "SPY", "large caps": "SPY", "large cap": "SPY",
        "big caps": "SPY", "cap weight": "SPY", "cap weighted": "SPY", "large": "SPY",
        "equal weight": "RSP", "equal weighted": "RSP", "equal weight s&p": "RSP",
        "nasdaq": "QQQ", "nasdaq 100": "QQQ", "dow": "DIA", "dow jones": "DIA",
        "apple": "AAPL", "microsoft": "MSFT", "nvidia": "NVDA", "amazon": "AMZN",
        "alphabet": "GOOGL", "google": "GOOGL", "meta": "META", "facebook": "META",
        "tesla": "TSLA", "broadcom": "AVGO", "berkshire": "BRK-B", "exxon": "XOM",
        "jp morgan": "JPM", "mcdonalds": "MCD", "coke": "KO", "eli lilly": "LLY",
    }.items()
}  # fmt: skip

#: sector words too common to mean a sector in a sentence ("is it up?", "the value of")
_NOT_SECTOR_WORDS = (
    "it value small power industry health gas food media retail property properties metals "
    "energies staple utility finance communication"
)
_NOT_SECTORS = frozenset(_NOT_SECTOR_WORDS.split())
#: words that are tickers but, written in lower case, are English
_COMMON_WORDS = (
    "a all am an and any are as at be best big by can car cat co day did do does dow for fun "
    "go good has have he hd her him his how i if in is it key kind l low ma man may me mo "
    "more most now of on one or our out pay pm post real see so t the then they this to two "
    "up us was way we well were what when where which who why will with you"
)
_COMMON = frozenset(_COMMON_WORDS.split())
#: commands whose phrases are vague ("the market"): a more specific match ranks first
_GENERIC: dict[str, float] = {"snapshot": 1.5, "help": 0.5, "status": 0.5}
_CHART_WORDS = frozenset({"chart", "graph", "plot", "picture", "draw", "show"})
_VS_WORDS = frozenset({"vs", "versus", "against", "compared", "compare", "than", "or",
                       "outperform", "outperforming", "outperformed", "beat", "beating",
                       "relative"})  # fmt: skip
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_COUNTED = re.compile(r" (\d{1,2}) (year|month|week)s? ")
_STRIP = "?!.,;:'\"()[]{}“”‘’"
#: period phrases (normalised words) -> a period word; "last year" is computed
_PERIOD_PHRASES: dict[str, str] = {
    "this year": "ytd", "year to date": "ytd", "so far this year": "ytd", "ytd": "ytd",
    "this quarter": "qtd", "quarter to date": "qtd", "this month": "mtd",
    "month to date": "mtd", "past year": "1y", "last 12 months": "1y",
    "past 12 months": "1y", "last twelve months": "1y", "over a year": "1y",
    "this week": "1w", "past week": "1w", "last week": "1w", "past month": "1m",
    "last month": "1m", "last 3 months": "3m", "past 3 months": "3m",
    "last three months": "3m", "last 6 months": "6m", "past 6 months": "6m",
    "last 3 years": "3y", "past 3 years": "3y", "last 5 years": "5y", "past 5 years": "5y",
    "last 10 years": "10y", "past 10 years": "10y", "all time": "max",
}  # fmt: skip


def _unaddressed(tokens: list[str]) -> list[str]:
    """The words after any leading mention ("@RotationBot", "<@U0BOT>") or Slack command
    word ("/rotation"): what was asked, not who was asked."""
    i = 0
    while i < len(tokens) and (
        tokens[i].startswith(("@", "<@"))
        or (tokens[i].lower().lstrip("/") in COMMAND_WORDS and i + 1 < len(tokens))
    ):
        i += 1
    return tokens[i:]


def _ngrams(words: list[str], n: int) -> Iterable[tuple[int, str]]:
    for i in range(len(words) - n + 1):
        yield i, " ".join(words[i : i + n])


def _contains(words: list[str], phrase: tuple[str, ...]) -> bool:
    n = len(phrase)
    return any(tuple(words[i : i + n]) == phrase for i in range(len(words) - n + 1))


def _period(tokens: list[str], words: list[str], year: int | None) -> tuple[str | None, str]:
    """(period word, day) found in the text."""
    tokens = [t.strip(_STRIP) for t in tokens]
    day = next((t for t in tokens if _DAY.fullmatch(t)), "")
    for t in tokens:
        if t[:1].isdigit() and not _DAY.fullmatch(t) or t.lower() in ("ytd", "qtd", "mtd"):
            try:
                parse_period(t.lower())
            except PeriodError:
                continue
            if t.isdigit() and len(t) != 4:
                continue  # "top 10", "s&p 500": not periods
            return t.lower(), day
    text = " " + " ".join(words) + " "
    for phrase, period in sorted(_PERIOD_PHRASES.items(), key=lambda kv: -len(kv[0])):
        if f" {phrase} " in text:
            return period, day
    if year is not None and " last year " in text:
        return str(year - 1), day
    for counted in _COUNTED.finditer(text):  # "over 5 years", "3 months"
        lookback = f"{int(counted.group(1))}{counted.group(2)[0]}"
        if lookback in LOOKBACKS:
            return lookback, day
    return None, day


def _subjects(
    tokens: list[str], words: list[str], columns: frozenset[str], names: dict[str, str]
) -> list[str]:
    """Tickers named in the text, in order: names and sector words first, then tickers."""
    found: list[tuple[int, str]] = []
    used: set[int] = set()
    for n in (3, 2, 1):
        for i, gram in _ngrams(words, n):
            if used & set(range(i, i + n)):
                continue
            etf = SUBJECT_WORDS.get(gram)
            if etf is None and gram not in _NOT_SECTORS:
                etf = NAMES.get(gram)
            if etf is None and gram not in _NOT_SECTORS:
                etf = names.get(gram)
            if etf is not None:
                found.append((i, etf))
                used |= set(range(i, i + n))
    found.sort()
    subjects = [etf for _, etf in found]
    for raw in tokens:
        t = raw.strip(_STRIP)
        ticker = t.upper().replace(".", "-")
        if len(t) < 2 or ticker not in columns or ticker in subjects:
            continue
        if t.isupper() or (t.lower() not in _COMMON and len(t) >= 3):
            subjects.append(ticker)
    return subjects


#: words that end a company's name without naming it ("Exxon Mobil Corporation")
_SUFFIX_WORDS = (
    "inc incorporated corp corporation co company companies ltd plc holdings holding group "
    "the class a b c sa nv ag se lp llc"
)
_NAME_SUFFIXES = frozenset(_SUFFIX_WORDS.split())


#: company names that are also everyday words ("target", "first", "news"): never a subject
_NOT_NAME_WORDS = (
    "advanced analog applied arch automatic ball block capital cardinal church comfort "
    "consolidated cooper crown delta digital equity everest expand extra fair federal first "
    "flex global globe henry home host idex illinois interactive invitation iron jack live "
    "martin monster news northern packaging principal progressive quest ralph raymond realty "
    "regency regions republic royal snap southern state steel take target trade union "
    "universal waste waters west western williams simon genuine insulet"
)
_NOT_NAMES = frozenset(_NOT_NAME_WORDS.split())


def company_names(table: pd.DataFrame, columns: frozenset[str]) -> dict[str, str]:
    """Everyday names of the universe's companies -> a ticker with prices: the whole name
    without its legal suffix ("exxon mobil"), and its first word when no other company
    starts with it and it is not an English word ("exxon", but not "american")."""
    full: dict[str, str] = {}
    first: dict[str, set[str]] = {}
    for ticker, name in zip(table.index, table["name"], strict=True):
        if str(ticker) not in columns or not isinstance(name, str):
            continue
        words = [w for w in normalise(name).split() if w not in _NAME_SUFFIXES]
        if not words:
            continue
        key = " ".join(words)
        if key not in _NOT_NAMES and not key[:1].isdigit():
            full.setdefault(key, str(ticker))
        first.setdefault(words[0], set()).add(str(ticker))
    for word, tickers in first.items():
        common = word in _COMMON or word in _NOT_NAMES or word in NAMES
        if len(tickers) == 1 and len(word) >= 4 and not common:
            full.setdefault(word, next(iter(tickers)))
    return full


def _columns(ctx: CommandContext) -> tuple[frozenset[str], dict[str, str], int | None]:
    state = ctx.state()
    if state is None:
        return frozenset(), {}, None
    columns = ctx.cache.get(
        ("intent_columns",), state, lambda: frozenset(str(c) for c in state.data.closes.columns)
    )
    names = ctx.cache.get(
        ("intent_names",), state, lambda: company_names(state.data.universe.table, columns)
    )
    return columns, names, pd.Timestamp(state.snapshot.as_of).year


def intent_lines(text: str, ctx: CommandContext, n: int = 6, named: bool = False) -> list[str]:
    """Up to `n` command lines that may answer `text`, best first; [] when nothing matches.
    `named`: only lines about tickers the text names. Unchecked: some may not run (the
    dispatcher keeps those that do)."""
    tokens = _unaddressed(text[:MAX_TEXT].split())[:MAX_WORDS]
    words = normalise(" ".join(tokens)).split()[:MAX_WORDS]
    if not words:
        return []
    columns, names, year = _columns(ctx)
    period, day = _period(tokens, words, year)
    subjects = _subjects(tokens, words, columns, names)
    chart_cue = bool(_CHART_WORDS & set(words))
    versus = bool(_VS_WORDS & set(words))
    scored: list[tuple[float, int, str]] = []

    def add(score: float, line: str) -> None:
        scored.append((score, len(scored), line))

    for p in () if named else PHRASES:
        if _contains(words, p.words):
            extra = day if p.takes == "date" else (period or "") if p.takes == "period" else ""
            line = f"{p.command} {extra}".strip()
            add(1.0 + len(p.words) - _GENERIC.get(p.command, 0.0), line)
    with_period = f" {period}" if period else ""
    span = with_period if period in CHART_WINDOWS else ""
    if len(subjects) >= 2:
        a, b = subjects[0], subjects[1]
        add(3.5 + versus, f"compare {a} {b}{with_period}")
        if chart_cue:
            add(5.0, f"chart {a} vs {b}{span}")
        if len(subjects) > 2 and not versus:
            add(3.0, f"return {' '.join(subjects[:12])}{with_period}")
    elif subjects:
        a = subjects[0]
        if chart_cue:
            add(5.0, f"chart {a}{span}")
        if a in SECTORS:
            add(3.0 + (period is None), f"sector {a}{' ' + day if day else ''}")
        add(4.5 if period else 1.8, f"return {a}{with_period}")
        if not chart_cue:
            add(1.5, f"chart {a}{span}")
    elif named:
        pass
    elif chart_cue and (period is None or span):
        add(1.5, f"chart RSP vs SPY{span}")
    elif period and not scored:  # "what happened in 2022?"
        add(1.0, f"return SPY RSP IWM{with_period}")
        add(0.9, f"mega7 {period}")
    scored.sort(key=lambda s: (-s[0], s[1]))
    lines: list[str] = []
    for _, _, line in scored:
        if line not in lines:
            lines.append(line)
    return lines[:n]
