"""``X-Request-Id`` on every response of the server (Arvados spec §1.5), whatever the face.

A pure ASGI middleware, so it wraps every response the app sends (framework 404s, redirects,
health, metrics, the Laserfiche and native faces, errors) without buffering bodies or running
handlers in another task as ``BaseHTTPMiddleware`` does. The id is decided once per request and
kept in the request scope's ``state``, so a face that quotes it in an error body (the Arvados
``errors`` suffix) quotes the same id the header carries.
"""

from __future__ import annotations

import base64
import re
import secrets

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from linkbase.request_context import REQUEST_ID

#: A client's id is kept if it is 1–1024 visible ASCII characters (spec §1.5).
_CLIENT_ID_RE = re.compile(r"^[\x21-\x7e]{1,1024}$")
_HEADER = b"x-request-id"
_STATE_KEY = "request_id"


def new_request_id() -> str:
    """A fresh id: ``req-`` and 20 random ``[0-9a-z]`` (lower-case base32 of 100 random bits:
    one C call, where a base-36 conversion digit by digit was a visible share of a request)."""
    return "req-" + base64.b32encode(secrets.token_bytes(13)).decode("ascii")[:20].lower()


def choose_request_id(given: str | None) -> str:
    """The client's id if acceptable, else a fresh one."""
    if given and _CLIENT_ID_RE.match(given):
        return given
    return new_request_id()


def request_id_of(request: Request) -> str:
    """The id of this request, as the middleware chose it (decided here if it did not run)."""
    state = request.scope.setdefault("state", {})
    found = state.get(_STATE_KEY)
    if not isinstance(found, str):
        found = state[_STATE_KEY] = choose_request_id(request.headers.get("x-request-id"))
    return found


class RequestIdMiddleware:
    """Decide the request id before the app runs; put it on the response's headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((value for name, value in scope.get("headers", ())
                      if name.lower() == _HEADER), None)
        request_id = choose_request_id(given.decode("latin-1") if given is not None else None)
        scope.setdefault("state", {})[_STATE_KEY] = request_id
        raw = request_id.encode("ascii")

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(name, value) for name, value in message.get("headers", ())
                           if name.lower() != _HEADER]
                headers.append((_HEADER, raw))
                message = {**message, "headers": headers}
            await send(message)

        token = REQUEST_ID.set(request_id)  # recorded with whatever the request changes
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            REQUEST_ID.reset(token)
