"""The Arvados event bus: ``GET /websocket`` (the discovery document's ``websocketUrl``), as
``arvados.events.subscribe`` uses it.

The token comes in the query string (``?api_token=``) or the Authorization header; without a
valid one the handshake is refused. Client messages are JSON objects:

* ``{"method": "subscribe", "filters": [...], "last_log_id": N}`` — log filters as in
  ``logs.list``; entries with ``id > N`` are replayed first (without ``last_log_id``: only
  entries committed from now on). Answered ``{"status": 200}``.
* ``{"method": "unsubscribe", "filters": [...]}`` — drops the subscription with those filters;
  ``{"status": 200}``, or 404 if there was none.

Anything else is answered ``{"status": 400, "error": ...}`` and the connection stays open. Each
matching log entry is sent once as its Arvados JSON plus ``msgID``, oldest first. Every
subscription follows its own cursor; an entry matching several is sent once. Entries are read
as the subscriber, when they are sent: an entry whose object the subscriber cannot read at that
moment is never sent.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from linkbase.api.arvados.render import render_object
from linkbase.api.auth import bearer_from_header, resolve_caller
from linkbase.api.events import bus_of
from linkbase.api.worker_threads import run_blocking
from linkbase.domain.errors import LinkbaseError
from linkbase.domain.query import Filter, parse_filters
from linkbase.domain.resources import LOGS
from linkbase.services import logs
from linkbase.services.context import Caller, Services

router = APIRouter()


@dataclass
class _Subscription:
    raw: Any
    filters: list[Filter]
    cursor: int


class _Stream:
    """One websocket connection's subscriptions and delivery."""

    def __init__(self, ws: WebSocket, services: Services, caller: Caller) -> None:
        self.ws = ws
        self.services = services
        self.caller = caller
        self.subscriptions: list[_Subscription] = []
        self.sent: set[int] = set()
        self.msg_id = 0
        self.send_lock = asyncio.Lock()

    async def send(self, message: dict[str, Any]) -> None:
        async with self.send_lock:
            await self.ws.send_text(orjson.dumps(message).decode())

    async def handle(self, text: str) -> None:
        """One client message."""
        try:
            message = orjson.loads(text)
        except orjson.JSONDecodeError:
            await self.send({"status": 400, "error": "Message is not JSON"})
            return
        if not isinstance(message, dict):
            await self.send({"status": 400, "error": "Message is not a JSON object"})
            return
        method = message.get("method")
        if method not in ("subscribe", "unsubscribe"):
            await self.send({"status": 400, "error": f"Unknown method {method!r}"})
            return
        raw = message.get("filters")
        try:
            filters = parse_filters(LOGS, raw if raw is not None else [])
        except LinkbaseError as exc:
            await self.send({"status": 400, "error": str(exc)})
            return
        if method == "unsubscribe":
            for sub in self.subscriptions:
                if sub.raw == raw:
                    self.subscriptions.remove(sub)
                    await self.send({"status": 200})
                    return
            await self.send({"status": 404, "error": "No such subscription"})
            return
        last = message.get("last_log_id")
        if last is not None and (isinstance(last, bool) or not isinstance(last, int)):
            await self.send({"status": 400, "error": "last_log_id must be an integer"})
            return
        start = last if last is not None else await run_blocking(
            logs.latest_id, self.services)
        self.subscriptions.append(_Subscription(raw, filters, start))
        await self.send({"status": 200})

    async def deliver(self) -> None:
        """Send every entry after each subscription's cursor (in id order, once each)."""
        while True:
            found: dict[int, dict[str, Any]] = {}
            more = False
            for sub in list(self.subscriptions):
                page = await run_blocking(logs.changes, self.services, self.caller,
                                               sub.cursor, [sub.filters])
                for item in page.items:
                    found.setdefault(item["id"], item)
                sub.cursor = page.cursor
                more = more or len(page.items) == logs.MAX_PAGE
            for log_id in sorted(found):
                if log_id in self.sent:
                    continue
                self.sent.add(log_id)
                self.msg_id += 1
                await self.send({**render_object(LOGS, found[log_id]), "msgID": self.msg_id})
            if self.subscriptions:
                floor = min(sub.cursor for sub in self.subscriptions)
                self.sent = {i for i in self.sent if i > floor}
            if not more:
                return


@router.websocket("/websocket")
async def websocket(ws: WebSocket) -> None:
    """The Arvados event stream (see the module docstring)."""
    services: Services = ws.app.state.services
    token = ws.query_params.get("api_token") or bearer_from_header(
        ws.headers.get("authorization"))
    try:
        # The stream reads the log: a scoped token needs what ``logs.list`` needs.
        caller = await run_blocking(resolve_caller, services, token, "GET",
                                         "/arvados/v1/logs")
    except LinkbaseError:
        caller = None
    if caller is None:
        await ws.close(code=1008)  # before accept: the handshake is refused (HTTP 403)
        return
    await ws.accept()
    stream = _Stream(ws, services, caller)
    bus = bus_of(services, ws.app.state)
    wake = bus.subscribe()

    async def pump() -> None:
        while True:
            await wake.wait()
            wake.clear()
            await stream.deliver()

    pumping = asyncio.create_task(pump())
    try:
        while True:
            text = await ws.receive_text()
            await stream.handle(text)
            wake.set()  # a new subscription may have entries to catch up on
    except WebSocketDisconnect:
        pass
    finally:
        bus.unsubscribe(wake)
        pumping.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await pumping
