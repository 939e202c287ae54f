"""The change feed: ``GET /linkbase/v1/changes`` (pages) and ``GET /linkbase/v1/changes/stream``
(Server-Sent Events), for scripts and other services.

Both read the audit log (``services.logs``) in id order as the caller, with the visibility rules
of ``/arvados/v1/logs``: a change is shown only if the caller may read it when it is read. A
cursor is opaque to clients (today the id of the last entry considered); pass it back as
``after`` (or, for the stream, as ``Last-Event-ID``, which browsers' ``EventSource`` sends by
itself when it reconnects) to continue exactly after it: nothing is lost or repeated, whichever
server process committed the change.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from linkbase.api.arvados.render import render_object
from linkbase.api.events import bus_of, entries_after
from linkbase.api.native.common import caller_of, services_of
from linkbase.api.worker_threads import run_blocking
from linkbase.domain.errors import InvalidArgumentError
from linkbase.domain.query import parse_filters
from linkbase.domain.resources import LOGS
from linkbase.domain.timestamps import format_micros, parse_timestamp
from linkbase.services import logs

router = APIRouter(tags=["Linkbase: changes"])

_AFTER_HELP = ("Continue after this cursor (from a previous page's `cursor`); `0` or absent: "
               "from the oldest change kept; `now`: only changes from now on.")
_FILTERS_HELP = ('Log filters as in Arvados `logs.list`, JSON: e.g. `[["object_uuid", "=", '
                 '"zzzzz-o0j2j-..."]]` or `[["event_type", "in", ["create", "delete"]]]`.')
#: Seconds between keep-alive comments on an idle stream.
KEEPALIVE = 15.0


def _cursor(raw: str | None, services: Any) -> int:
    if raw is None or raw == "":
        return 0
    if raw == "now":
        return logs.latest_id(services)
    if not raw.isdigit() or len(raw) > 18:
        raise InvalidArgumentError(f"Invalid cursor {raw[:40]!r}")
    return int(raw)


def change_of(row: dict[str, Any]) -> dict[str, Any]:
    """One change as the feed shows it: the Arvados log entry plus its ``cursor``."""
    return {**render_object(LOGS, row), "cursor": str(row["id"])}


@router.get("/linkbase/v1/changes")
async def list_changes(
    request: Request,
    after: str | None = Query(None, description=_AFTER_HELP),
    filters: str | None = Query(None, description=_FILTERS_HELP),
    limit: int = Query(100, ge=1, le=logs.MAX_PAGE, description="Most changes returned."),
) -> dict[str, Any]:
    """The changes after a cursor that the caller may read, oldest first, and the cursor to
    continue from (``cursor``; it moves past changes the caller may not see, so polling an
    idle feed costs one indexed query). ``more`` is true when another page is ready now."""
    services = services_of(request)
    caller = await run_blocking(caller_of, request)
    parsed = parse_filters(LOGS, filters)
    start = await run_blocking(_cursor, after, services)
    page = await run_blocking(logs.changes, services, caller, start, [parsed], limit)
    return {
        "kind": "linkbase#changeList",
        "items": [change_of(row) for row in page.items],
        "cursor": str(page.cursor),
        "more": len(page.items) == limit,
    }


@router.post("/linkbase/v1/logs/prune")
async def prune_logs(
    request: Request,
    before: str = Query(description="Delete the log entries recorded before this time "
                        "(ISO 8601, e.g. `2026-01-01T00:00:00Z`)."),
) -> dict[str, Any]:
    """Delete old audit log entries (admins only; others get 403). Returns how many were
    deleted. Cursors stay valid: a feed resumed from a pruned cursor continues with the
    oldest entry kept."""
    services = services_of(request)
    caller = await run_blocking(caller_of, request)
    moment = parse_timestamp(before)
    deleted = await run_blocking(logs.prune, services, caller, moment)
    return {"deleted": deleted, "before": format_micros(moment)}


@router.get("/linkbase/v1/changes/stream", response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}},
                             "description": "Server-Sent Events: one `change` event per change, "
                             "its `id` the cursor after it."}})
async def stream_changes(
    request: Request,
    after: str | None = Query(None, description=_AFTER_HELP + " Default: `now`, unless the "
                              "`Last-Event-ID` header says where to resume."),
    filters: str | None = Query(None, description=_FILTERS_HELP),
) -> StreamingResponse:
    """The changes the caller may read as Server-Sent Events, as they are committed (within
    about 0.1 s on SQLite, milliseconds on PostgreSQL). Each event is ``event: change``, ``id:``
    its cursor and ``data:`` the change as JSON; a comment line every 15 s keeps idle
    connections open. Reconnecting with ``Last-Event-ID`` resumes after that change."""
    services = services_of(request)
    caller = await run_blocking(caller_of, request)
    parsed = parse_filters(LOGS, filters)
    resume = request.headers.get("last-event-id")
    start = await run_blocking(_cursor, resume or after or "now", services)
    bus = bus_of(services, request.app.state)

    async def events() -> AsyncIterator[bytes]:
        wake = bus.subscribe()
        source = entries_after(services, caller, start, lambda: [parsed], wake).__aiter__()
        pending: asyncio.Future[dict[str, Any]] | None = None
        try:
            yield b": linkbase change feed\n\n"
            while True:
                if pending is None:
                    pending = asyncio.ensure_future(source.__anext__())
                done, _ = await asyncio.wait({pending}, timeout=KEEPALIVE)
                if not done:
                    yield b": keep-alive\n\n"
                    continue
                row = pending.result()
                pending = None
                data = orjson.dumps(change_of(row))
                yield b"event: change\nid: " + str(row["id"]).encode() + b"\ndata: " + data + b"\n\n"
        finally:
            bus.unsubscribe(wake)
            if pending is not None:
                pending.cancel()

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
