"""Split rendered text into parts that fit a platform's size limit, on line boundaries.

Shared by the Telegram, Slack and console renderers so all three cut long messages the same
way: whole lines are packed greedily into parts; only a line that alone exceeds the limit is
cut inside, preferably at a space, never inside an "atom" (an HTML entity, or a short markup
span such as `<b>…</b>`) and never inside a code point. Whitespace at a part's edges may be
dropped (chat platforms trim it anyway, and reject blank messages); no other character is.
"""

from __future__ import annotations

import re
from collections.abc import Callable


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, as Telegram and Slack (JavaScript) count characters:
    a character outside the Basic Multilingual Plane (most emoji) counts 2."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _tokens(line: str, atoms: re.Pattern[str] | None) -> list[str]:
    """The line as indivisible pieces: atoms whole, everything else one code point each."""
    if atoms is None:
        return list(line)
    out: list[str] = []
    pos = 0
    for m in atoms.finditer(line):
        out.extend(line[pos : m.start()])
        out.append(m.group())
        pos = m.end()
    out.extend(line[pos:])
    return out


def hard_split(
    line: str,
    limit: int,
    length: Callable[[str], int] = len,
    *,
    atoms: re.Pattern[str] | None = None,
    first_limit: int | None = None,
) -> list[str]:
    """Cut one over-long line into pieces of at most `limit`, joined they give the line back.

    `first_limit` (at most `limit`) caps the first piece instead, so the line can start in the
    room left at the end of a part; the first piece is "" when not even one token fits. A cut
    falls after the last space of a piece when that space is in the piece's second half (words
    stay whole), else at the limit. An atom longer than the limit is cut like plain text
    (renderers keep their atoms short, so this is a last resort, not a path they take). Raises
    ValueError when a single code point is longer than the limit.
    """
    tokens: list[str] = []
    for tok in _tokens(line, atoms):
        if len(tok) > 1 and length(tok) > limit:
            tokens.extend(tok)
        else:
            tokens.append(tok)
    pieces: list[str] = []
    cur: list[str] = []
    cur_len = 0
    last_space = -1  # index in cur after which a cut keeps words whole
    cap = limit if first_limit is None else min(first_limit, limit)
    for tok in tokens:
        n = length(tok)
        if n > limit:
            raise ValueError(f"limit {limit} is smaller than the character {tok!r}")
        if not pieces and not cur and n > cap:
            pieces.append("")  # nothing fits in the room given for the first piece
            cap = limit
        while cur and cur_len + n > cap:  # twice at most: the carry has no space
            if last_space >= len(cur) // 2:
                keep, carry = cur[: last_space + 1], cur[last_space + 1 :]
            else:
                keep, carry = cur, []
            pieces.append("".join(keep))
            cur = carry
            cur_len = sum(length(t) for t in cur)
            last_space = -1
            cap = limit
        cur.append(tok)
        cur_len += n
        if tok.isspace():
            last_space = len(cur) - 1
    if cur:
        pieces.append("".join(cur))
    return pieces


def split_lines(
    text: str,
    limit: int,
    length: Callable[[str], int] = len,
    *,
    atoms: re.Pattern[str] | None = None,
) -> list[str]:
    """Split `text` into parts of at most `limit` (measured by `length`) on line boundaries.

    Lines are packed greedily; the newline where a part ends is consumed, and blank lines at
    a part's edges are dropped. A line longer than `limit` starts in the room left in the
    current part and continues in parts of its own, cut by `hard_split` (so its pieces join
    with "" rather than "\\n"). No part is empty or blank; a
    text with nothing but whitespace gives no parts. `length` must be additive over
    concatenation (len and utf16_len are).
    """
    if limit < 1:
        raise ValueError(f"limit must be positive, got {limit}")
    parts: list[str] = []
    cur: list[str] = []
    cur_len = 0
    newline = length("\n")

    def flush() -> None:
        nonlocal cur, cur_len
        while cur and not cur[-1].strip():
            cur.pop()
        if cur:
            parts.append("\n".join(cur))
        cur, cur_len = [], 0

    for line in text.split("\n"):
        blank = not line.strip()
        if blank and not cur:
            continue  # a part never starts with a blank line
        n = length(line)
        if n > limit:
            # start the line in the room left in the current part, then give it parts
            room = limit - cur_len - newline if cur else limit
            pieces = hard_split(line, limit, length, atoms=atoms, first_limit=max(room, 0))
            if cur:
                cur.append(pieces[0])
                flush()
                pieces = pieces[1:]
            pieces = [p for p in pieces if p.strip()]
            parts.extend(pieces[:-1])
            if pieces:
                cur, cur_len = [pieces[-1]], length(pieces[-1])
            continue
        if cur and cur_len + newline + n > limit:
            flush()
            if blank:
                continue
        cur_len = cur_len + newline + n if cur else n
        cur.append(line)
    flush()
    return parts
