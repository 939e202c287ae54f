"""ProblemDetails (RFC 7807) error bodies of the Laserfiche face.

The official client parses every error body as JSON and shows ``title`` as the message, so every
error of this face, including framework 404/405s and bad JSON, is rendered here, never as text.
"""

from __future__ import annotations

import secrets
from http import HTTPStatus

import orjson
from starlette.responses import Response

from linkbase.domain.errors import (
    ConflictError,
    InvalidArgumentError,
    LinkbaseError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    TooManyAttemptsError,
    UnauthenticatedError,
)

MEDIA_TYPE = "application/problem+json"

#: Most specific first: ConflictError and PayloadTooLargeError are InvalidArgumentErrors.
STATUS_BY_ERROR: tuple[tuple[type[LinkbaseError], int], ...] = (
    (UnauthenticatedError, 401),
    (TooManyAttemptsError, 429),
    (PermissionDeniedError, 403),
    (NotFoundError, 404),
    (PayloadTooLargeError, 413),
    (ConflictError, 409),
    (InvalidArgumentError, 400),
)


def status_of(error: LinkbaseError) -> int:
    """The HTTP status this face uses for a domain error (400 for anything unlisted)."""
    for cls, status in STATUS_BY_ERROR:
        if isinstance(error, cls):
            return status
    return 400


def problem(status: int, title: str | None = None, *, detail: str | None = None,
            instance: str | None = None, trace_id: str | None = None,
            headers: dict[str, str] | None = None) -> Response:
    """A ProblemDetails response; ``title`` defaults to the status phrase (never empty)."""
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    operation_id = secrets.token_hex(16)
    body = {
        "type": f"https://httpstatuses.io/{status}",
        "title": title or phrase,
        "status": status,
        "detail": detail if detail is not None else (title or phrase),
        "instance": instance,
        "operationId": operation_id,
        "errorSource": "Linkbase",
        "errorCode": status,
        "traceId": trace_id or operation_id,
    }
    all_headers = {"x-requestid": operation_id, **(headers or {})}
    if status == 401:
        all_headers.setdefault("WWW-Authenticate", "Bearer")
    return Response(orjson.dumps(body), status_code=status, media_type=MEDIA_TYPE,
                    headers=all_headers)


def problem_for(error: LinkbaseError, *, instance: str | None = None) -> Response:
    """Render a domain error (its messages are safe to show: they never name hidden objects)."""
    headers = None
    if isinstance(error, TooManyAttemptsError):
        headers = {"Retry-After": str(error.retry_after)}
    return problem(status_of(error), "; ".join(error.messages), instance=instance,
                   headers=headers)
