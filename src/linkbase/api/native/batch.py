"""``POST /linkbase/v1/links/batch``: the bulk import endpoint behind ``linkbase import``."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from linkbase.api.native.common import caller_of, services_of
from linkbase.api.responses import JSONBody
from linkbase.domain.errors import InvalidArgumentError, PayloadTooLargeError
from linkbase.services.batch import import_links
from linkbase.services.context import Caller, Services
from linkbase.services.permissions import Access

router = APIRouter()


class _Rollback(Exception):
    """Raised inside the transaction to undo a batch that had rejected items."""


def _run(services: Services, caller: Caller, items: list[Any], on_duplicate: str
         ) -> dict[str, Any]:
    outcome: dict[str, Any] = {}
    try:
        with services.db.write() as conn:
            result = import_links(Access(conn, caller, services.well_known), items, on_duplicate)
            outcome = {"created": result.created, "updated": result.updated,
                       "skipped": result.skipped, "errors": result.errors,
                       "committed": not result.errors}
            if result.errors:
                raise _Rollback()
    except _Rollback:
        outcome.update(created=0, updated=0, skipped=0)
    return outcome


@router.post("/linkbase/v1/links/batch", include_in_schema=True)
async def links_batch(request: Request) -> JSONBody:
    """Create (or skip/update) up to ``max_batch_links`` links in one all-or-nothing batch.

    Body: ``{"links": [...], "on_duplicate": "error|ignore|update"}``. With any rejected item the
    response lists ``errors`` (index, reason), ``committed`` is false and nothing was written.
    """
    services = services_of(request)
    caller = await run_in_threadpool(caller_of, request)
    body = await request.body()
    if len(body) > services.settings.max_request_bytes:
        raise PayloadTooLargeError("Request body too large")
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidArgumentError(f"Malformed JSON in request body: {exc}") from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("links"), list):
        raise InvalidArgumentError("Body must be an object with a 'links' array")
    items = payload["links"]
    if len(items) > services.settings.max_batch_links:
        raise InvalidArgumentError(
            f"At most {services.settings.max_batch_links} links per batch"
        )
    on_duplicate = payload.get("on_duplicate", "error")
    if not isinstance(on_duplicate, str):
        raise InvalidArgumentError("on_duplicate must be a string")
    outcome = await run_in_threadpool(_run, services, caller, items, on_duplicate)
    return JSONBody(outcome)
