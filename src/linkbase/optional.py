"""Importing the optional parts of the package (faces, routers) that may be absent in a build."""

from __future__ import annotations

import importlib
from types import ModuleType


def import_optional(name: str) -> ModuleType | None:
    """The module ``name``, or None when that module itself is missing.

    A missing *dependency* of the module still raises: that is a bug, not an absent face.
    """
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
        return None
