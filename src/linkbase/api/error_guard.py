"""The last line of defence: an unhandled exception becomes a 500 in the face's own error
format, and the connection stays usable.

Starlette's outermost error middleware renders a 500 and then re-raises, and uvicorn closes
the connection of any request whose application raised: a keep-alive client that sent its
next request on that connection sees it reset (issue 10). This pure ASGI middleware sits
inside every other one (so the 500 still gets its request id, CORS headers and metrics),
logs the exception and answers instead of raising. If the response had already started,
nothing can be said on this connection any more, and the exception goes on.
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from linkbase.api.arvados.errors import error_response
from linkbase.api.laserfiche.problems import problem
from linkbase.api.request_id import request_id_of

log = logging.getLogger(__name__)

#: Paths of the Laserfiche face, whose errors are ProblemDetails.
_LASERFICHE_PREFIXES = ("/v1/", "/v2/", "/lfrepositoryapi/")


class ErrorGuard:
    """Turn an exception escaping the app into a 500 rendered by the face the path belongs to."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception:
            if started:
                raise
            request = Request(scope)
            log.exception("Unhandled error on %s %s", request.method, request.url.path)
            await server_fault(request)(scope, receive, send)


def server_fault(request: Request) -> Response:
    """The 500 response of the face ``request`` was addressed to."""
    path = request.url.path
    if path.lower().startswith(_LASERFICHE_PREFIXES) or path.lower() in ("/v1", "/v2"):
        return problem(500, "An unexpected server-side error occurred", instance=path)
    return error_response(500, ["Internal server error"], request_id_of(request))
