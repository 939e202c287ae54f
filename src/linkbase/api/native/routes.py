"""Mounts the native endpoints; each concept lives in its own module with a ``router``."""

from __future__ import annotations

import importlib

from fastapi import FastAPI

_MODULES = (
    "linkbase.api.native.batch",
    "linkbase.api.native.permissions",
    "linkbase.api.native.admin",
)


def register(app: FastAPI) -> None:
    """Include every native router that is present."""
    for name in _MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        app.include_router(module.router)
