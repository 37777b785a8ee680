"""Sector lookup: ETFs, GICS names, common words, and the closest suggestions for typos."""

from __future__ import annotations

import pytest

from bot.commands import sector_names
from bot.commands.sector_names import NAMES, SECTORS, normalise, resolve_sector, suggest_sectors
from signals.market import SECTOR_ETFS, SECTOR_SIGNAL_ETFS


def test_the_thirteen_instruments_in_signal_order() -> None:
    assert tuple(SECTORS) == SECTOR_SIGNAL_ETFS
    assert len(SECTORS) == 13
    assert all(len(s.short) <= 14 for s in SECTORS.values())  # fits a phone table column


@pytest.mark.parametrize("etf", SECTOR_SIGNAL_ETFS)
def test_each_etf_resolves_to_itself_in_any_case(etf: str) -> None:
    assert resolve_sector(etf) == etf
    assert resolve_sector(etf.lower()) == etf
    assert resolve_sector(f"  {etf.title()} ") == etf


@pytest.mark.parametrize(("etf", "gics"), list(SECTOR_ETFS.items()))
def test_gics_names_resolve(etf: str, gics: str) -> None:
    assert resolve_sector(gics) == etf
    assert resolve_sector(gics.upper()) == etf


@pytest.mark.parametrize(
    ("word", "etf"),
    [
        ("banks", "XLF"),
        ("financials", "XLF"),
        ("tech", "XLK"),
        ("technology", "XLK"),
        ("energy", "XLE"),
        ("small caps", "IWM"),
        ("small-caps", "IWM"),
        ("smallcaps", "IWM"),
        ("value", "VBR"),
        ("staples", "XLP"),
        ("utilities", "XLU"),
        ("real estate", "XLRE"),
        ("materials", "XLB"),
        ("industrials", "XLI"),
        ("healthcare", "XLV"),
        ("health care", "XLV"),
        ("Health-Care", "XLV"),
        ("comms", "XLC"),
        ("discretionary", "XLY"),
        ("oil & gas", "XLE"),
    ],
)
def test_common_words_resolve(word: str, etf: str) -> None:
    assert resolve_sector(word) == etf


def test_no_word_means_two_sectors() -> None:
    """Every name of one ETF must not also be a name of another (the index keeps the first)."""
    seen: dict[str, str] = {}
    for etf, sector in SECTORS.items():
        words = (etf, sector.name, sector.short, *sector_names._ALIASES.get(etf, ()))
        for word in words:
            for key in (normalise(word), normalise(word).replace(" ", "")):
                assert seen.setdefault(key, etf) == etf, f"{word!r}: {seen[key]} and {etf}"
    assert set(NAMES) == set(seen)


@pytest.mark.parametrize("text", ["", "   ", "foo", "xlq", "<b>banks</b>x", "🚀"])
def test_unknown_names_resolve_to_none(text: str) -> None:
    assert resolve_sector(text) is None


@pytest.mark.parametrize(
    ("typo", "best"),
    [
        ("fnancials", "XLF"),
        ("helth care", "XLV"),
        ("smal caps", "IWM"),
        ("enrgy", "XLE"),
        ("utilites", "XLU"),
        ("technlogy", "XLK"),
        ("XLFF", "XLF"),
    ],
)
def test_typos_get_the_intended_sector_first(typo: str, best: str) -> None:
    got = suggest_sectors(typo)
    assert got[0] == best
    assert len(got) == 3 and len(set(got)) == 3


def test_suggestions_are_deterministic_and_bounded_for_huge_input() -> None:
    got = suggest_sectors("q" * 5000)
    assert got == suggest_sectors("q" * 5000)
    # only a bounded prefix is compared, so a 5 kB argument costs what 64 characters do
    assert suggest_sectors("xlf" + "q" * 5000) == suggest_sectors("xlf" + "q" * 61)
    assert len(got) == 3 and all(e in SECTORS for e in got)
