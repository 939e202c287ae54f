"""Operational endpoints: health, metrics and the discovery document (no token needed)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from linkbase.api.arvados.discovery import discovery_document
from linkbase.api.responses import JSONBody
from linkbase.services.context import Services

router = APIRouter()


def public_root(request: Request, services: Services) -> str:
    """``LINKBASE_BASE_URL`` with a trailing slash, else scheme and Host of the request."""
    base = services.settings.base_url
    if base:
        return base.rstrip("/") + "/"
    host = request.headers.get("host") or f"{request.url.hostname}:{request.url.port}"
    return f"{request.url.scheme}://{host}/"


_PONG = b'{"health":"OK"}'


@router.get("/_health/ping", include_in_schema=False)
async def ping() -> Response:
    """Liveness: the process answers (on the event loop: it touches nothing)."""
    return Response(_PONG, media_type="application/json")


@router.get("/metrics", include_in_schema=False)
def metrics() -> Response:
    """Prometheus metrics."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


@router.api_route("/discovery/v1/apis/arvados/v1/rest", methods=["GET", "POST"],
                  include_in_schema=False)
def discovery(request: Request) -> Response:
    """The Arvados discovery document; any token is ignored."""
    services: Services = request.app.state.services
    document = discovery_document(public_root(request, services), services.cluster_id)
    return JSONBody(document, headers={"Cache-Control": "no-cache"})
