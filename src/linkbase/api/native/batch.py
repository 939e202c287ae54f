"""``POST /linkbase/v1/links/batch``: the bulk import endpoint behind ``linkbase import``."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request

from linkbase.api.body import read_body
from linkbase.api.native.common import caller_of, services_of
from linkbase.api.responses import JSONBody
from linkbase.api.worker_threads import run_blocking
from linkbase.domain.errors import InvalidArgumentError, PayloadTooLargeError
from linkbase.services.batch import import_batch
from linkbase.services.context import Caller, Services

router = APIRouter()


def _run(services: Services, caller: Caller, body: bytes) -> dict[str, Any]:
    """Parse the body and run the import (in a worker thread: all of it is CPU-bound)."""
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidArgumentError(f"Malformed JSON in request body: {exc}") from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("links"), list):
        raise InvalidArgumentError("Body must be an object with a 'links' array")
    items = payload["links"]
    if len(items) > services.settings.max_import_links:
        raise InvalidArgumentError(
            f"At most {services.settings.max_import_links} links per batch"
        )
    on_duplicate = payload.get("on_duplicate", "error")
    if not isinstance(on_duplicate, str):
        raise InvalidArgumentError("on_duplicate must be a string")
    del payload
    return import_batch(services, caller, items, on_duplicate).as_dict()


@router.post("/linkbase/v1/links/batch", include_in_schema=True)
async def links_batch(request: Request) -> JSONBody:
    """Create (or skip/update) up to ``max_import_links`` links in one all-or-nothing batch.

    Body: ``{"links": [...], "on_duplicate": "error|ignore|update"}``. With any rejected item the
    response lists ``errors`` (index, reason), ``committed`` is false and nothing was written.
    """
    services = services_of(request)
    caller = await run_blocking(caller_of, request)
    body = await read_body(request, services.settings.max_import_bytes, PayloadTooLargeError)
    return JSONBody(await run_blocking(_run, services, caller, body))
