"""Map a validation error's location (a path of keys and indexes) to a line of the YAML file.

pydantic tells *which* field is wrong; the operator also wants *where* it is in the file.
"""

from __future__ import annotations

from collections.abc import Sequence

import yaml


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
