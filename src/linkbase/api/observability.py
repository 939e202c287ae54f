"""Request logging (structlog, one JSON line per request) and Prometheus request metrics."""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

import structlog
from fastapi import FastAPI
from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUESTS = Counter("linkbase_http_requests_total", "HTTP requests served",
                   ["method", "face", "status"])
LATENCY = Histogram("linkbase_http_request_seconds", "HTTP request latency", ["face"])

_configured = False

#: The metrics' children by label values, so a request pays a dict lookup rather than the
#: client library's label validation and lock; bounded, since a client picks the method.
_children: dict[tuple[str, str, str], tuple[Any, Any]] = {}
_MAX_CHILDREN = 512


def _observe(method: str, face: str, status: str, elapsed: float) -> None:
    key = (method, face, status)
    child = _children.get(key)
    if child is None:
        child = (REQUESTS.labels(method, face, status), LATENCY.labels(face))
        if len(_children) < _MAX_CHILDREN:
            _children[key] = child
    child[0].inc()
    child[1].observe(elapsed)


def configure_logging(level: int = logging.INFO) -> None:
    """JSON lines on stderr, once per process."""
    global _configured
    if _configured:
        return
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        # Resolve sys.stderr at each use: it may be replaced (tests, daemons) after configuration.
        logger_factory=lambda *_args: structlog.PrintLogger(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    _configured = True


def face_of(path: str) -> str:
    """Which face a path belongs to, as a low-cardinality metrics label."""
    if path.startswith(("/arvados/", "/discovery/")):
        return "arvados"
    if path.startswith(("/v1/", "/v2/", "/LFRepositoryAPI")):
        return "laserfiche"
    if path.startswith("/linkbase/"):
        return "native"
    return "other"


class Observability:
    """Pure ASGI middleware: counts and times every request, and logs it as one JSON line
    when asked. (``BaseHTTPMiddleware`` would run each request in an extra task and copy every
    response through a memory stream.)"""

    def __init__(self, app: ASGIApp, *, log_requests: bool = False) -> None:
        self.app = app
        self.log_requests = log_requests
        self.logger = structlog.get_logger("linkbase.http")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_observed)
        finally:
            elapsed = time.perf_counter() - started
            path = str(scope.get("path", ""))
            face = face_of(path)
            _observe(scope["method"], face, str(status), elapsed)
            if self.log_requests:
                state = scope.get("state") or {}
                self.logger.info("request", method=scope["method"], path=path, status=status,
                                 ms=round(elapsed * 1000, 2), request_id=state.get("request_id"))


def install(app: FastAPI, *, log_requests: bool) -> None:
    """Count and time every request; log it as JSON when ``log_requests``."""
    app.add_middleware(Observability, log_requests=log_requests)
