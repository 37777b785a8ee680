"""The base of every settings section: unknown keys are errors and values never change."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """A settings section: a misspelt key fails loading instead of being ignored, and a
    loaded section is frozen, so what the bot was started with is what it runs with."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def ids_as_strings(v: object) -> object:
    """User ids per platform as strings ({telegram: [123]} -> {"telegram": ("123",)}): YAML
    reads a Telegram id as a number, and ids are compared as the chats send them, as text."""
    if isinstance(v, dict):
        return {k: tuple(str(x) for x in (ids or ())) for k, ids in v.items()}
    return v
