"""``GET /linkbase/v1/permissions/explain``: the effective level of a user on an object, and why.

A thin adapter over :mod:`linkbase.services.explain`; errors are domain exceptions, rendered
Arvados-style by the app (401/403/404/422).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from linkbase.api.native.common import caller_of, services_of
from linkbase.api.worker_threads import run_blocking
from linkbase.domain.errors import InvalidArgumentError
from linkbase.services.explain import explain_for

router = APIRouter()


@router.get("/linkbase/v1/permissions/explain")
async def explain_permission(request: Request) -> dict[str, Any]:
    """Explain ``user``'s access to ``target`` (both uuids, query parameters)."""
    services = services_of(request)
    caller = await run_blocking(caller_of, request)
    user = request.query_params.get("user") or caller.uuid
    target = request.query_params.get("target")
    if not target:
        raise InvalidArgumentError("target is required")
    explanation = await run_blocking(explain_for, services, caller, user, target)
    return explanation.as_dict()
