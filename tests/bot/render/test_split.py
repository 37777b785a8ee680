"""The shared splitter: limits, line boundaries, atoms, and nothing but edge whitespace lost."""

from __future__ import annotations

import html
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.model.text import one_line
from bot.render.split import hard_split, split_lines, utf16_len

ENTITY = re.compile(r"&(?:amp|lt|gt);")
BROKEN_ENTITY = re.compile(r"&(?!(?:amp|lt|gt);)")


def _utf16(s: str) -> int:
    """Independent UTF-16 count: code points above U+FFFF take a surrogate pair."""
    return sum(2 if ord(c) > 0xFFFF else 1 for c in s)


def _visible(s: str) -> str:
    return "".join(s.split())


def test_utf16_len_counts_surrogate_pairs() -> None:
    assert utf16_len("abc") == 3
    assert utf16_len("😀") == 2
    assert utf16_len("⚠️") == 2  # U+26A0 U+FE0F: both in the BMP
    assert utf16_len("a😀b𝄞") == 6


def test_short_text_is_one_part() -> None:
    assert split_lines("a\nb\nc", 100) == ["a\nb\nc"]


def test_packs_whole_lines_greedily() -> None:
    text = "\n".join(["aaaa", "bbbb", "cccc", "dd"])
    # "aaaa\nbbbb" is 9; adding "\ncccc" would make 14 > 10
    assert split_lines(text, 10) == ["aaaa\nbbbb", "cccc\ndd"]


def test_blank_lines_at_part_edges_are_dropped_never_parts_of_their_own() -> None:
    text = "aaaa\n\n\n\nbbbb\n\n"
    parts = split_lines(text, 5)
    assert parts == ["aaaa", "bbbb"]
    assert split_lines("\n \n\t\n", 3) == []


def test_long_line_is_cut_at_a_space_when_one_is_in_the_second_half() -> None:
    parts = split_lines("alpha beta gamma delta", 12)
    assert parts == ["alpha beta ", "gamma delta"]
    assert all(len(p) <= 12 for p in parts)


def test_long_word_is_cut_at_the_limit() -> None:
    assert split_lines("x" * 25, 10) == ["x" * 10, "x" * 10, "x" * 5]


def test_long_line_starts_in_the_room_left_and_surrounding_lines_are_kept() -> None:
    parts = split_lines("head\n" + "y" * 12 + "\ntail", 10)
    assert parts == ["head\nyyyyy", "y" * 7, "tail"]
    parts = split_lines("head\n" + "y" * 22 + "\nt", 10)
    assert parts == ["head\nyyyyy", "y" * 10, "y" * 7 + "\nt"]
    # no room at all: the line starts a part of its own
    assert split_lines("123456789\n" + "y" * 12, 10) == ["123456789", "y" * 10, "yy"]


def test_non_bmp_character_is_never_cut_in_half() -> None:
    parts = split_lines("😀" * 7, 5, utf16_len)
    assert parts == ["😀😀", "😀😀", "😀😀", "😀"]
    with pytest.raises(ValueError, match="smaller than the character"):
        split_lines("😀", 1, utf16_len)


def test_atoms_are_never_cut() -> None:
    atoms = re.compile(r"&(?:amp|lt|gt);|<b>[^<]*</b>")
    line = "&amp;" * 5 + "<b>bold</b>" + "&lt;" * 3
    for limit in range(11, 30):
        pieces = hard_split(line, limit, atoms=atoms)
        assert "".join(pieces) == line
        for p in pieces:
            assert len(p) <= limit
            assert not BROKEN_ENTITY.search(p)
            assert p.count("<b>") == p.count("</b>")


def test_an_atom_longer_than_the_limit_is_cut_as_text_rather_than_overflowing() -> None:
    atoms = re.compile(r"<b>[^<]*</b>")
    pieces = hard_split("<b>" + "z" * 30 + "</b>", 10, atoms=atoms)
    assert all(len(p) <= 10 for p in pieces)
    assert "".join(pieces) == "<b>" + "z" * 30 + "</b>"


def test_one_line_flattens_breaks_and_controls() -> None:
    assert one_line("a\nb\r\nc\u2028d\te") == "a b c d e"
    assert one_line("x\x1b[2Jy\x00") == "x\ufffd[2Jy\ufffd"
    assert one_line("lone \ud800 surrogate") == "lone \ufffd surrogate"


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(alphabet=st.sampled_from("ab &<>\n 😀é\t"), max_size=400) | st.text(max_size=300),
    limit=st.integers(min_value=2, max_value=60),
    use_utf16=st.booleans(),
)
def test_property_parts_fit_and_keep_every_visible_character(
    text: str, limit: int, use_utf16: bool
) -> None:
    length = utf16_len if use_utf16 else len
    count = _utf16 if use_utf16 else len
    parts = split_lines(text, limit, length)
    for p in parts:
        assert count(p) <= limit
        assert p.strip(), "no blank parts"
        assert p in text, "a part is a contiguous piece of the text"
    assert _visible("".join(parts)) == _visible(text)
    # When every line fits, parts consist of whole lines only.
    lines = text.split("\n")
    if all(count(line) <= limit for line in lines):
        for p in parts:
            assert set(p.split("\n")) <= set(lines)


@settings(max_examples=200, deadline=None)
@given(text=st.text(alphabet=st.sampled_from("x &<>😀\n"), max_size=300), limit=st.integers(5, 40))
def test_property_escaped_text_never_loses_an_entity(text: str, limit: int) -> None:
    escaped = html.escape(text, quote=False)
    parts = split_lines(escaped, limit, utf16_len, atoms=ENTITY)
    for p in parts:
        assert not BROKEN_ENTITY.search(p)
        assert _utf16(p) <= limit
    assert _visible(html.unescape("".join(parts))) == _visible(text)
