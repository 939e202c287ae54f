"""Serves the browser UI from packaged assets (no CDN: it must work offline)."""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse, RedirectResponse

router = APIRouter()


def _asset(name: str) -> str:
    return resources.files("linkbase.web").joinpath("static", name).read_text(encoding="utf-8")


@router.get("/", include_in_schema=False)
def root() -> RedirectResponse:
    """The UI lives under /ui/."""
    return RedirectResponse("/ui/")


@router.get("/ui/", include_in_schema=False)
def index() -> HTMLResponse:
    """The links browser page."""
    return HTMLResponse(_asset("index.html"))


def register(app: FastAPI) -> None:
    """Mount the UI routes."""
    app.include_router(router)
