"""``GET /linkbase/v1/graph/neighbors`` and ``GET /linkbase/v1/graph/paths``.

Thin adapters over :mod:`linkbase.services.graph`: FastAPI parses and bounds the query string
(so the API description lists every parameter), one use case answers. Errors are rendered
Arvados-style like every native error: 401, 404 for an unreadable start or end, 422 for a bad
parameter or a search over its bounds.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request

from linkbase.api.native.common import caller_of, services_of
from linkbase.api.worker_threads import run_blocking
from linkbase.services import graph

router = APIRouter(tags=["Linkbase: graph"])

_CLASS_HELP = "Follow only links of this class (repeat the parameter for several)."
_DIRECTION_HELP = "out: tail to head; in: head to tail; both: either way."


@router.get("/linkbase/v1/graph/neighbors")
async def graph_neighbors(
    request: Request,
    uuid: str = Query(description="The object to start from."),
    depth: int = Query(1, ge=1, le=graph.MAX_DEPTH, description="Hops, 1 to 3."),
    direction: graph.Direction = Query("both", description=_DIRECTION_HELP),
    link_class: list[str] = Query([], description=_CLASS_HELP),
    limit: int = Query(graph.DEFAULT_NODES, ge=1, le=graph.MAX_NODES,
                       description="Most nodes returned (nearest first)."),
) -> dict[str, Any]:
    """The readable objects within ``depth`` links of ``uuid``, and the links between them.

    Nodes carry their distance (``depth``), kind and name; ``truncated`` is true when more
    nodes or edges exist than were returned. A walk visiting more than 100,000 (object,
    distance) pairs is refused with 422: narrow it with ``link_class`` or ``direction``.
    """
    services = services_of(request)
    caller = await run_blocking(caller_of, request)
    result = await run_blocking(
        graph.neighbourhood, services, caller, uuid, depth=depth, direction=direction,
        link_classes=link_class, limit=limit)
    return result.as_dict()


@router.get("/linkbase/v1/graph/paths")
async def graph_paths(
    request: Request,
    source: str = Query(alias="from", description="The object paths start at."),
    to: str = Query(description="The object paths end at."),
    max_depth: int = Query(graph.MAX_DEPTH, ge=1, le=graph.MAX_PATH_DEPTH,
                           description="Longest path, in links (1 to 4)."),
    direction: graph.Direction = Query("both", description=_DIRECTION_HELP),
    link_class: list[str] = Query([], description=_CLASS_HELP),
    limit: int = Query(graph.DEFAULT_PATHS, ge=1, le=graph.MAX_PATHS,
                       description="Most paths returned (shortest first)."),
) -> dict[str, Any]:
    """The simple paths of readable links from ``from`` to ``to``, shortest first.

    Each path lists its ``nodes`` (from ``from`` to ``to``) and the ``links`` between them;
    ``nodes`` and ``edges`` describe every object and link named.
    """
    services = services_of(request)
    caller = await run_blocking(caller_of, request)
    result = await run_blocking(
        graph.find_paths, services, caller, source, to, max_depth=max_depth,
        direction=direction, link_classes=link_class, limit=limit)
    return result.as_dict()
