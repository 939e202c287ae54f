"""Objects by name and kind, for the workbench and scripts (``/linkbase/v1/objects``).

* ``GET /linkbase/v1/objects?uuid=A&uuid=B``: the readable ones, described (kind, name, owner);
* ``GET /linkbase/v1/objects/{uuid}``: one object with its breadcrumbs, its Laserfiche entry and
  the caller's level on it;
* ``GET /linkbase/v1/entries/{repository_id}/{entry_id}``: the same for the object behind an
  entry (the Laserfiche face identifies entries by number, the others by uuid).

Unreadable objects are absent from lists and 404 alone, as everywhere.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Query, Request

from linkbase.api.native.common import caller_of, services_of
from linkbase.api.worker_threads import run_blocking
from linkbase.services import describe

router = APIRouter(tags=["Linkbase: objects"])


@router.get("/linkbase/v1/objects")
async def describe_objects(
    request: Request,
    uuid: list[str] = Query([], description="Objects to describe (repeat; at most 1000)."),
) -> dict[str, Any]:
    """Kind and name of each readable object named; the others are left out."""
    caller = await run_blocking(caller_of, request)
    items = await run_blocking(describe.describe_many, services_of(request), caller, uuid)
    return {"items": items, "items_available": len(items)}


@router.get("/linkbase/v1/objects/{uuid}")
async def object_summary(request: Request, uuid: str = Path()) -> dict[str, Any]:
    """One object: kind, name, ``ancestors`` (readable owners, outermost first), ``entry``
    (its Laserfiche repository and entry id, or null) and ``level`` (yours on it)."""
    caller = await run_blocking(caller_of, request)
    return await run_blocking(describe.object_summary, services_of(request), caller, uuid)


@router.get("/linkbase/v1/entries/{repository_id}/{entry_id}")
async def entry_object(request: Request, repository_id: str = Path(),
                       entry_id: int = Path(ge=1, le=2**31 - 1)) -> dict[str, Any]:
    """The object behind a Laserfiche entry, as ``GET /linkbase/v1/objects/{uuid}`` shows it."""
    caller = await run_blocking(caller_of, request)
    return await run_blocking(describe.entry_object, services_of(request), caller,
                                   repository_id, entry_id)
