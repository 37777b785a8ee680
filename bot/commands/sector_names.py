"""What people call the 13 sector instruments, and the closest guesses for a typo.

`resolve_sector("banks")` -> "XLF". Accepted: the ETF (`XLF`), the GICS name (`financials`,
`health care`) and common words (`banks`, `tech`, `small caps`, `value`). Matching ignores
case, punctuation and spacing ("Health-Care", "healthcare"). `suggest_sectors` ranks every
known name with difflib and returns the closest distinct ETFs.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection
from dataclasses import dataclass

from signals.market import SECTOR_ETFS, SECTOR_SIGNAL_ETFS


@dataclass(frozen=True)
class Sector:
    """One of the 13 instruments with a `sector_<ETF>` signal."""

    etf: str
    name: str  # GICS sector name, or what the ETF tracks
    short: str  # fits a phone table column

    @property
    def display(self) -> str:
        """ "XLF Financials": how buttons and suggestions show it."""
        return f"{self.etf} {self.short}"


_SHORT: dict[str, str] = {
    "XLK": "Tech",
    "XLF": "Financials",
    "XLV": "Health care",
    "XLI": "Industrials",
    "XLB": "Materials",
    "XLE": "Energy",
    "XLY": "Discretionary",
    "XLP": "Staples",
    "XLU": "Utilities",
    "XLRE": "Real estate",
    "XLC": "Comms",
    "IWM": "Small caps",
    "VBR": "Small value",
}

SECTORS: dict[str, Sector] = {
    etf: Sector(
        etf,
        SECTOR_ETFS.get(
            etf, {"IWM": "Small caps (Russell 2000)", "VBR": "Small-cap value"}.get(etf, etf)
        ),
        _SHORT[etf],
    )
    for etf in SECTOR_SIGNAL_ETFS
}

#: Common words per ETF (the ETF, GICS and short names are added automatically).
_ALIASES: dict[str, tuple[str, ...]] = {
    "XLK": ("technology", "information technology", "info tech", "it", "software",
            "semiconductors", "semis", "chips"),
    "XLF": ("financial", "finance", "banks", "bank", "banking", "insurance", "insurers"),
    "XLV": ("health", "healthcare", "pharma", "pharmaceuticals", "biotech", "medical"),
    "XLI": ("industrial", "industry", "aerospace", "defense", "defence", "transports",
            "machinery"),
    "XLB": ("material", "basic materials", "chemicals", "mining", "metals", "miners"),
    "XLE": ("oil", "oil and gas", "oil & gas", "gas", "energies"),
    "XLY": ("consumer discretionary", "discretionary", "retail", "cyclicals",
            "consumer cyclical", "consumer cyclicals"),
    "XLP": ("consumer staples", "staple", "food", "groceries", "consumer defensive"),
    "XLU": ("utility", "power", "electric utilities"),
    "XLRE": ("realestate", "reits", "reit", "property", "properties"),
    "XLC": ("communication services", "communications", "communication", "comms", "telecom",
            "telecoms", "media"),
    "IWM": ("small caps", "small cap", "smallcaps", "smallcap", "russell 2000", "russell",
            "r2k", "small"),
    "VBR": ("value", "small cap value", "small value", "smallcap value"),
}  # fmt: skip

_NON_WORD = re.compile(r"[^a-z0-9&]+")


def normalise(text: str) -> str:
    """Lower case, punctuation and runs of spaces as one space ("Health-Care" -> "health
    care"); "&" is kept ("oil & gas")."""
    return _NON_WORD.sub(" ", text.lower()).strip()


def _build_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for etf, sector in SECTORS.items():
        for word in (etf, sector.name, sector.short, *_ALIASES.get(etf, ())):
            key = normalise(word)
            index.setdefault(key, etf)
            index.setdefault(key.replace(" ", ""), etf)
    return index


#: normalised name -> ETF (spaced and unspaced forms).
NAMES: dict[str, str] = _build_index()


def resolve_sector(text: str) -> str | None:
    """The ETF a name means, or None."""
    key = normalise(text)
    return NAMES.get(key) or NAMES.get(key.replace(" ", ""))


def panel_ticker(word: str, columns: Collection[str]) -> str | None:
    """The ticker of `columns` a word names: as typed (BRK.B as BRK-B), or a sector name's
    ETF; None when it names neither."""
    candidate = word.upper().replace(".", "-")
    if candidate in columns:
        return candidate
    etf = resolve_sector(word)
    return etf if etf is not None and etf in columns else None


def suggest_sectors(text: str, n: int = 3) -> list[str]:
    """The `n` ETFs whose names are closest to `text` (best first), always `n` of them."""
    key = normalise(text)[:64]  # a 5 kB argument must not cost a 5 kB comparison per name
    scores: dict[str, float] = {}
    matcher = difflib.SequenceMatcher(autojunk=False)
    matcher.set_seq2(key)
    for name, etf in NAMES.items():
        matcher.set_seq1(name)
        score = matcher.ratio()
        if score > scores.get(etf, -1.0):
            scores[etf] = score
    order = list(SECTORS)  # ties: the table's order, so suggestions are deterministic
    ranked = sorted(scores, key=lambda e: (-scores[e], order.index(e)))
    return ranked[:n]
