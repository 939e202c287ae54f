"""Permission levels: none < can_read < can_write < can_manage (can_login counts as read)."""

from __future__ import annotations

from enum import IntEnum


class Level(IntEnum):
    """An access level; comparisons follow the Arvados ordering."""

    NONE = 0
    READ = 1
    WRITE = 2
    MANAGE = 3


LEVEL_BY_NAME: dict[str, Level] = {
    "can_read": Level.READ,
    "can_write": Level.WRITE,
    "can_manage": Level.MANAGE,
    "can_login": Level.READ,
}

#: The names a permission link may carry.
PERMISSION_NAMES = ("can_read", "can_write", "can_manage", "can_login")

#: The names that form one level ladder (dedupe/merge/cascade apply among them).
LADDER_NAMES = ("can_read", "can_write", "can_manage")

NAME_BY_LEVEL: dict[Level, str] = {
    Level.READ: "can_read",
    Level.WRITE: "can_write",
    Level.MANAGE: "can_manage",
}


def level_of_name(name: str | None) -> Level:
    """The level a permission link with this ``name`` grants (NONE for anything else)."""
    if name is None:
        return Level.NONE
    return LEVEL_BY_NAME.get(name, Level.NONE)
