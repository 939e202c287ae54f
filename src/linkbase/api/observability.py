"""Request logging (structlog, one JSON line per request) and Prometheus request metrics."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Awaitable, Callable

import structlog
from fastapi import FastAPI, Request, Response
from prometheus_client import Counter, Histogram

REQUESTS = Counter("linkbase_http_requests_total", "HTTP requests served",
                   ["method", "face", "status"])
LATENCY = Histogram("linkbase_http_request_seconds", "HTTP request latency", ["face"])

_configured = False


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


def install(app: FastAPI, *, log_requests: bool) -> None:
    """Count and time every request; log it as JSON when ``log_requests``."""
    logger = structlog.get_logger("linkbase.http")

    @app.middleware("http")
    async def _observe(request: Request,
                       call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        elapsed = time.perf_counter() - started
        face = face_of(request.url.path)
        REQUESTS.labels(request.method, face, str(response.status_code)).inc()
        LATENCY.labels(face).observe(elapsed)
        if log_requests:
            logger.info("request", method=request.method, path=request.url.path,
                        status=response.status_code, ms=round(elapsed * 1000, 2),
                        request_id=response.headers.get("x-request-id"))
        return response
