"""The base of every settings section: unknown keys are errors and values never change."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """A settings section: a misspelt key fails loading instead of being ignored, and a
    loaded section is frozen, so what the bot was started with is what it runs with."""

    model_config = ConfigDict(extra="forbid", frozen=True)
