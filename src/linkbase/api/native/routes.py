"""Mounts the native endpoints; each concept lives in its own module with a ``router``."""

from __future__ import annotations

from fastapi import FastAPI

from linkbase.optional import import_optional

_MODULES = (
    "linkbase.api.native.batch",
    "linkbase.api.native.permissions",
    "linkbase.api.native.admin",
    "linkbase.api.native.graph",
    "linkbase.api.native.objects",
    "linkbase.api.native.changes",
)


def register(app: FastAPI) -> None:
    """Include every native router that is present."""
    for name in _MODULES:
        module = import_optional(name)
        if module is not None:
            app.include_router(module.router)
