"""Serves the workbench, a single-page app, from packaged assets (no CDN: it must work offline).

``/ui/`` is the page; ``/ui/static/`` its stylesheet and JavaScript modules (plain ES modules, no
build step). The app calls the server's own APIs: Arvados, Laserfiche and native.
"""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

router = APIRouter()


def _asset(name: str) -> str:
    return resources.files("linkbase.web").joinpath("static", name).read_text(encoding="utf-8")


@router.get("/", include_in_schema=False)
def root() -> RedirectResponse:
    """The UI lives under /ui/."""
    return RedirectResponse("/ui/")


@router.get("/ui/", include_in_schema=False)
def index() -> HTMLResponse:
    """The workbench page (its routes are in the URL fragment: ``#/o/<uuid>``)."""
    return HTMLResponse(_asset("index.html"), headers={"Cache-Control": "no-cache"})


@router.get("/ui", include_in_schema=False)
def index_without_slash() -> RedirectResponse:
    """``/ui`` → ``/ui/``."""
    return RedirectResponse("/ui/")


def register(app: FastAPI) -> None:
    """Mount the UI routes and its static files."""
    app.include_router(router)
    app.mount("/ui/static", StaticFiles(packages=[("linkbase.web", "static")]), name="ui-static")
