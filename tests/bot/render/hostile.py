"""Hostile alert groups and independent checks shared by the renderer tests.

The checks here do not reuse renderer code: text is compared after dropping whitespace and
non-text characters (the renderers may trim whitespace at part edges and flatten line breaks),
and UTF-16 lengths are counted from code points.
"""

from __future__ import annotations

import unicodedata
from datetime import date

from hypothesis import strategies as st

from bot.model.messages import AlertGroup, AlertItem

HOSTILE = (
    "<b>bold</b>",
    "</i>",
    "a & b",
    "&amp; stays &amp;",
    "*bold* _it_ ~strike~",
    "`code` ```block```",
    "<!channel> <!here> <!everyone>",
    "<@U123|x>",
    "<https://evil.example|click>",
    "emoji 😀 music 𝄞 warning ⚠️ flag 🇺🇸",
    "snake_case_id and a*b and 2024_05_03",
    "fullwidth ＊x＊ ＿y＿ ｀z｀",
    "> quoted\nsecond line <i>",
    '"quotes" \'single\' <a href="x">link</a>',
)
LONG_LINE = ("0123456789 <b>&amp;</b> *_~` 😀 " * 400)[:10_000]
LONG_WORD = "&<>" * 3400  # 10,200 characters, no space to cut at, entity-heavy once escaped

DAY = date(2024, 5, 3)


def item(message: str, transition: str = "fired", **kw: object) -> AlertItem:
    base: dict[str, object] = {
        "rule_id": "breadth_broadening",
        "session": DAY,
        "severity": "warning",
        "value": 67.3,
        "threshold": 65.0,
    }
    base.update(kw)
    return AlertItem(transition=transition, message=message, **base)  # type: ignore[arg-type]


def group(items: list[AlertItem], **kw: object) -> AlertGroup:
    base: dict[str, object] = {"as_of": DAY, "source": "demo", "simulated": False}
    base.update(kw)
    return AlertGroup(items=tuple(items), **base)  # type: ignore[arg-type]


def hostile_group(simulated: bool = True) -> AlertGroup:
    """Every hostile string as a message, a label, a rule id; plus hostile source and footer."""
    transitions = ("fired", "resolved", "data_health")
    items = [
        item(
            f"#{i} {text}",
            transitions[i % 3],
            label=text if i % 2 else None,
            rule_id=f"rule_{i}_{text}",
            severity="warning" if i % 2 else "info",
            late=i % 4 == 0,
        )
        for i, text in enumerate(HOSTILE)
    ]
    return group(
        items,
        simulated=simulated,
        source="<!channel> *src* & <b>x</b>",
        footer="Not investment advice. <b>&amp;</b> *_*",
    )


def many_group(n: int = 300) -> AlertGroup:
    items = [
        item(f"item {i:03d} {HOSTILE[i % len(HOSTILE)]}", ("fired", "resolved")[i % 2])
        for i in range(n)
    ]
    return group(items, simulated=True)


def visible(text: str) -> str:
    """What must survive rendering: no whitespace, no control or surrogate characters, no
    U+FFFD (renderers show control characters as U+FFFD)."""
    return "".join(
        c
        for c in text
        if not c.isspace() and unicodedata.category(c) not in ("Cc", "Cs") and c != "\ufffd"
    )


def assert_in_order(haystack: str, needles: list[str]) -> None:
    """Each needle's visible text occurs in the visible haystack, in order."""
    hay = visible(haystack)
    pos = 0
    for needle in needles:
        found = hay.find(visible(needle), pos)
        assert found >= 0, f"missing or out of order: {needle[:80]!r}"
        pos = found + len(visible(needle))


def utf16(text: str) -> int:
    return sum(2 if ord(c) > 0xFFFF else 1 for c in text)


# Hypothesis: arbitrary text (any code point but surrogates) and arbitrary groups.
texts = st.text(max_size=200)
items_st = st.builds(
    AlertItem,
    rule_id=texts,
    transition=st.sampled_from(["fired", "resolved", "data_health"]),
    session=st.just(DAY),
    severity=st.sampled_from(["info", "warning"]),
    message=st.text(max_size=2000) | texts,
    value=st.none() | st.floats(allow_nan=True, allow_infinity=True),
    threshold=st.none() | st.floats(allow_nan=False, allow_infinity=False),
    label=st.none() | texts,
    late=st.booleans(),
)
groups_st = st.builds(
    AlertGroup,
    as_of=st.just(DAY),
    source=texts,
    simulated=st.booleans(),
    items=st.lists(items_st, min_size=1, max_size=5).map(tuple),
    footer=texts,
)
