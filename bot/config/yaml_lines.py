"""Map a validation error's location (a path of keys and indexes) to a line of the YAML file.

pydantic tells *which* field is wrong; the operator also wants *where* it is in the file.
Also `too_deep`: PyYAML builds nested nodes by recursion, so a few thousand levels overflow
Python's stack; its parser is a state machine, so the depth can be measured safely first.
"""

from __future__ import annotations

from collections.abc import Sequence

import yaml

_OPEN = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_CLOSE = (yaml.MappingEndEvent, yaml.SequenceEndEvent)


def locate(text: str, loc: Sequence[str | int]) -> int | None:
    """1-based line of the deepest node of `loc` that exists in the YAML `text`."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None
    line = None
    for key in loc:
        if node is None:
            break
        line = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            nxt = None
            for k, v in node.value:
                if k.value == str(key):
                    nxt, line = v, k.start_mark.line + 1
                    break
            node = nxt
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int):
            node = node.value[key] if 0 <= key < len(node.value) else None
            if node is not None:
                line = node.start_mark.line + 1
        else:
            node = None
    return line


def too_deep(text: str, limit: int) -> int | None:
    """1-based line where the YAML `text` nests more than `limit` mappings and sequences
    deep, or None. Raises `yaml.YAMLError` for text that is not YAML."""
    depth = 0
    for ev in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(ev, _OPEN):
            depth += 1
            if depth > limit:
                return ev.start_mark.line + 1 if ev.start_mark is not None else 1
        elif isinstance(ev, _CLOSE):
            depth -= 1
    return None
