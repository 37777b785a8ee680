"""Text from outside (names, chat input) made safe to show on one line."""

from __future__ import annotations

import re

#: Characters that end a line for some consumer (str.splitlines, Unicode, terminals) but
#: that we do not treat as our line separator; data strings have them flattened to a space so
#: one data string never spans several lines of our layout.
_LINE_BREAKS = re.compile("\r\n|[\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


#: Other control characters and lone surrogates: not text; shown as U+FFFD so they are
#: visibly there but cannot drive a terminal or break a UTF-8 encoder.
_NON_TEXT = re.compile("[\x00-\x08\x0e-\x1b\x1f\x7f-\x9f\ud800-\udfff]")


def one_line(text: str) -> str:
    """A data string flattened to one safe line: line breaks become a space, tabs a space,
    other control characters and lone surrogates U+FFFD."""
    return _NON_TEXT.sub("\ufffd", _LINE_BREAKS.sub(" ", text).replace("\t", " "))
