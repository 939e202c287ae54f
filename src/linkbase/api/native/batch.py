"""``POST /linkbase/v1/links/batch``: the bulk import endpoint behind ``linkbase import``."""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from linkbase.api.body import read_body
from linkbase.api.native.common import caller_of, services_of
from linkbase.api.responses import JSONBody
from linkbase.domain.errors import InvalidArgumentError, PayloadTooLargeError
from linkbase.gc_pause import gc_paused
from linkbase.services.batch import apply_links, prepare_links
from linkbase.services.context import Caller, Services
from linkbase.services.permissions import Access

router = APIRouter()


class _Rollback(Exception):
    """Raised inside the transaction to undo a batch that had rejected items."""


#: On SQLite batches write one at a time anyway (one writer per database); queueing them here,
#: rather than in SQLite's busy handler (which polls with sleeps of up to 100 ms), hands the
#: write lock over as soon as it is free, while the next batch is prepared outside it.
_SQLITE_WRITER = threading.Lock()


def _run(services: Services, caller: Caller, body: bytes) -> dict[str, Any]:
    """Parse, validate and write one batch (in a worker thread: all of it is CPU-bound)."""
    with gc_paused():
        items, on_duplicate = _parse(services, body)
        return _run_batch(services, caller, items, on_duplicate)


def _parse(services: Services, body: bytes) -> tuple[list[Any], str]:
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
    return items, on_duplicate


def _run_batch(services: Services, caller: Caller, items: list[Any], on_duplicate: str
               ) -> dict[str, Any]:
    dialect = services.db.dialect
    batch = prepare_links(items, on_duplicate, caller, services.well_known, dialect)
    del items  # the prepared batch holds what is needed; free the rest as early as possible
    if batch.errors:
        return {"created": 0, "updated": 0, "skipped": 0, "errors": batch.errors,
                "committed": False}
    writer: AbstractContextManager[Any] = _SQLITE_WRITER if dialect == "sqlite" else nullcontext()
    outcome: dict[str, Any] = {}
    try:
        with writer, services.db.write() as conn:
            result = apply_links(Access(conn, caller, services.well_known), batch)
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
    """Create (or skip/update) up to ``max_import_links`` links in one all-or-nothing batch.

    Body: ``{"links": [...], "on_duplicate": "error|ignore|update"}``. With any rejected item the
    response lists ``errors`` (index, reason), ``committed`` is false and nothing was written.
    """
    services = services_of(request)
    caller = await run_in_threadpool(caller_of, request)
    body = await read_body(request, services.settings.max_import_bytes, PayloadTooLargeError)
    outcome = await run_in_threadpool(_run, services, caller, body)
    return JSONBody(outcome)
