"""Typed `own_alerts:` settings: who may make rules of their own in a chat, and how many.

A chat's own rules (`alert breadth crosses above 70`) are evaluated like the configured
ones but belong to the chat; these settings bound what a chat may ask of the engine.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from bot.config.base import StrictModel, ids_as_strings

#: everyone: anyone in any chat; admins: the config's admins only; allowlist: the users of
#: `own_alerts.allowlist` (and the admins)
OwnAlertWho = Literal["everyone", "admins", "allowlist"]


class OwnAlertSettings(StrictModel):
    """Rules made in a chat for that chat alone (README: Alerts of your own)."""

    #: most rules one chat (or Telegram topic) may hold; deleted rules do not count
    max_per_chat: int = Field(20, ge=1, le=500)
    #: who may create, delete, pause and resume a chat's rules: everyone | admins |
    #: allowlist; null = everyone in private chats, the admins in groups and channels
    who: OwnAlertWho | None = None
    #: with who = allowlist: user ids per platform allowed to manage rules (admins always are)
    allowlist: dict[str, tuple[str, ...]] = Field(default_factory=dict)

    _ids_as_strings = field_validator("allowlist", mode="before")(ids_as_strings)

    def may_manage(self, platform: str, user_id: str, *, is_admin: bool, shared: bool) -> bool:
        """Whether a user may change the rules of a chat (`shared`: a group or channel)."""
        if is_admin:
            return True
        if self.who is None:
            return not shared
        if self.who == "everyone":
            return True
        if self.who == "allowlist":
            return user_id in self.allowlist.get(platform, ())
        return False
