"""The routes an app serves, read from its routing table (so tests cover routes added later)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute


def _flatten(routes: Iterable[BaseRoute]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        included = getattr(route, "original_router", None)  # FastAPI's lazily included routers
        if included is not None:
            yield from _flatten(included.routes)


def api_routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path template) of the app's API routes, in routing order."""
    return [(method, route.path) for route in _flatten(app.routes)
            for method in sorted(route.methods or ())]
