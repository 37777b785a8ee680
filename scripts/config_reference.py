"""Print the README's "Every config option" table from the settings models themselves.

Each row is one key of the config file: its dotted name, type (with the model's bounds), the
default that applies when the key is absent, and its meaning. The meaning is the field's
`description`, else its `#:` comment in the model's source, else the comment beside the key in
the shipped config. tests/test_deployment.py fails when the README's table differs from this
output, so after changing a model run:

    .venv/bin/python scripts/config_reference.py --write README.md
"""

from __future__ import annotations

import argparse
import datetime as dt
import enum
import inspect
import re
import sys
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import annotated_types
from pydantic import BaseModel

from bot.config.settings import Settings
from bot.config.yaml_lines import locate

#: the README lines between which the table goes
START, END = "<!-- config-reference:start -->", "<!-- config-reference:end -->"
#: fields that are not config keys (set by the loader)
INTERNAL = frozenset({"config_path"})
_BOUNDS = ((annotated_types.Ge, "≥"), (annotated_types.Gt, ">"), (annotated_types.Le, "≤"))
_BOUNDS += ((annotated_types.Lt, "<"),)


@dataclass(frozen=True)
class Row:
    key: str
    type: str
    default: str
    meaning: str


def _model_comments(cls: type) -> dict[str, str]:
    """`#:` comments above the fields of a model class and its bases (Sphinx's convention)."""
    out: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if not (isinstance(klass, type) and issubclass(klass, BaseModel)) or klass is BaseModel:
            continue
        try:
            lines, _ = inspect.getsourcelines(klass)
        except (OSError, TypeError):
            continue
        pending: list[str] = []
        for line in lines:
            text = line.strip()
            if text.startswith("#:"):
                pending.append(text[2:].strip())
                continue
            field = re.match(r"    (\w+)\s*:", line)
            if field and pending and not line.startswith("     "):
                out[field.group(1)] = " ".join(pending)
            pending = []
    return out


def _yaml_comment(text: str, path: list[str]) -> str:
    """The comment beside a key in the shipped config, with its aligned continuation lines."""
    lines = text.splitlines()
    line = locate(text, path)
    if line is None or not lines[line - 1].lstrip().startswith(f"{path[-1]}:"):
        return ""
    first = re.search(r"\s#\s?(.*)$", lines[line - 1])
    if not first:
        return ""
    parts, column = [first.group(1).strip()], first.start() + 1
    for nxt in lines[line:]:
        if len(nxt) > column and nxt[:column].isspace() and nxt[column] == "#":
            parts.append(nxt[column + 1 :].strip())
        else:
            break
    return " ".join(parts)


def _type_name(tp: object) -> str:
    """A reader's name for a field type."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Annotated:  # validators ride along; the reader wants the type
        return _type_name(args[0])
    if origin is typing.Literal:
        return " \\| ".join(str(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        names = [_type_name(a) for a in args if a is not type(None)]
        return " or ".join(names) + (" or null" if type(None) in args else "")
    if origin is tuple:
        return f"list of {_type_name(args[0])}"
    if origin is dict and args[1] is typing.Any:
        return "mapping"
    if origin is dict:
        return f"map of {_type_name(args[0])} to {_type_name(args[1])}"
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return " \\| ".join(str(m.value) for m in tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return "{" + ", ".join(tp.model_fields) + "}"
    names = {str: "text", int: "integer", float: "number", bool: "true \\| false", Path: "path"}
    names |= {dt.datetime: "date-time", dt.date: "date", dt.time: "HH:MM"}
    names |= {dt.timedelta: "seconds or ISO 8601 duration"}
    return names.get(tp, getattr(tp, "__name__", str(tp)))  # type: ignore[call-overload]


def _bounds(metadata: list) -> str:
    found = [
        f"{sign} {getattr(m, attr)}"
        for m in metadata
        for cls, sign in _BOUNDS
        if isinstance(m, cls)
        for attr in ("ge", "gt", "le", "lt")
        if hasattr(m, attr)
    ]
    return ", ".join(found)


def _yaml_value(value: object) -> str:
    """A default as it would be written in the config file."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, dt.timedelta):
        return f"{value.total_seconds():g}"
    if isinstance(value, dt.time):
        return value.strftime("%H:%M")
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(_yaml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return (
            "{" + ", ".join(f"{_yaml_value(k)}: {_yaml_value(v)}" for k, v in value.items()) + "}"
        )
    if isinstance(value, BaseModel):
        return _yaml_value(dict(value))
    if isinstance(value, str) and (value == "" or value.strip() != value):
        return f'"{value}"'
    return str(value)


def _submodel(tp: object) -> tuple[type[BaseModel] | None, bool]:
    """(model class, is a list of it) when a field holds settings of its own."""
    if typing.get_origin(tp) is tuple:
        inner = typing.get_args(tp)[0]
        return (
            (inner, True)
            if isinstance(inner, type) and issubclass(inner, BaseModel)
            else (
                None,
                False,
            )
        )
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return tp, False
    return None, False


def _compact(model: type[BaseModel]) -> bool:
    """A small value object with no defaults of its own (a rate cap): one row, not one per field."""
    return all(f.is_required() for f in model.model_fields.values())


def rows(
    model: type[BaseModel], instance: BaseModel | None, yaml_text: str, prefix: tuple[str, ...] = ()
) -> Iterator[Row]:
    """One row per config key of `model`, depth first in declaration order."""
    comments = _model_comments(model)
    for name, field in model.model_fields.items():
        if name in INTERNAL:
            continue
        path = (*prefix, name)
        key = ".".join(path)
        if instance is not None:
            value: object = getattr(instance, name)
        elif field.is_required():
            value = inspect.Parameter.empty
        else:
            value = field.get_default(call_default_factory=True)
        sub, many = _submodel(field.annotation)
        meaning = field.description or comments.get(name) or _yaml_comment(yaml_text, list(path))
        if sub is not None and not _compact(sub) and not many:
            yield from rows(sub, value if isinstance(value, BaseModel) else None, yaml_text, path)
            continue
        if sub is not None and _compact(sub):  # "At most `count` ..." -> "(at most `count` ...)"
            doc = (sub.__doc__ or "").strip().splitlines()[0].rstrip(".")
            doc = doc[:1].lower() + doc[1:]
            meaning = f"{meaning} ({doc})" if meaning else doc
        type_name = "list of entries with the keys below" if many else _type_name(field.annotation)
        bounds = _bounds(field.metadata)
        if bounds:
            type_name = f"{type_name}, {bounds}"
        default = "required" if value is inspect.Parameter.empty else f"`{_yaml_value(value)}`"
        yield Row(f"`{key}`", type_name, default, meaning)
        if sub is not None and many:
            yield from rows(sub, None, yaml_text, (*path[:-1], f"{name}[]"))


def _cell(text: str) -> str:
    return re.sub(r"(?<!\\)\|", r"\\|", text).replace("\n", " ")


def render() -> str:
    """The Markdown table (without the README's markers)."""
    yaml_text = (resources.files("bot.config.defaults") / "rotation.yaml").read_text(
        encoding="utf-8"
    )
    out = ["| Key | Type | Default | Meaning |", "| --- | --- | --- | --- |"]
    for r in rows(Settings, Settings(), yaml_text):
        out.append(
            "| " + " | ".join(_cell(c) for c in (r.key, r.type, r.default, r.meaning)) + " |"
        )
    return "\n".join(out) + "\n"


def readme_table(readme: str) -> str:
    """The table currently between the README's markers."""
    if START not in readme or END not in readme:
        raise ValueError(f"the README has no {START} ... {END} block")
    return readme.split(START, 1)[1].split(END, 1)[0].strip("\n") + "\n"


def write_into(readme_path: Path) -> None:
    text = readme_path.read_text(encoding="utf-8")
    before, rest = text.split(START, 1)
    after = rest.split(END, 1)[1]
    readme_path.write_text(f"{before}{START}\n{render()}{END}{after}", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", type=Path, metavar="README", help="replace the table in it")
    args = parser.parse_args(argv)
    if args.write:
        write_into(args.write)
    else:
        sys.stdout.write(render())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
