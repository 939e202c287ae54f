"""``POST /linkbase/v1/links/batch``: the bulk import endpoint behind ``linkbase import``."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from linkbase.api.native.common import caller_of, services_of
from linkbase.api.responses import JSONBody
from linkbase.domain.errors import InvalidArgumentError, PayloadTooLargeError
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


_gc_lock = threading.Lock()
_gc_users = 0


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while batches run (reference counting still frees
    everything they drop). A batch allocates hundreds of thousands of short-lived containers,
    which would trigger dozens of collections, each rescanning everything alive: a fifth of
    the batch's time. Re-enabled (if it was enabled) when the last concurrent batch ends."""
    global _gc_users
    with _gc_lock:
        _gc_users += 1
        if _gc_users == 1:
            _gc_state["was_enabled"] = gc.isenabled()
            gc.disable()
    try:
        yield
    finally:
        with _gc_lock:
            _gc_users -= 1
            if _gc_users == 0 and _gc_state["was_enabled"]:
                gc.enable()


_gc_state = {"was_enabled": True}


def _run(services: Services, caller: Caller, items: list[Any], on_duplicate: str
         ) -> dict[str, Any]:
    with _gc_paused():
        return _run_batch(services, caller, items, on_duplicate)


def _run_batch(services: Services, caller: Caller, items: list[Any], on_duplicate: str
               ) -> dict[str, Any]:
    batch = prepare_links(items, on_duplicate, caller, services.well_known)
    if batch.errors:
        return {"created": 0, "updated": 0, "skipped": 0, "errors": batch.errors,
                "committed": False}
    writer: AbstractContextManager[Any] = _SQLITE_WRITER if services.db.dialect == "sqlite" else nullcontext()
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
