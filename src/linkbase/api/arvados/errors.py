"""Arvados error bodies: ``{"errors": ["<message> (<request id>)"], "error_token": ...}``."""

from __future__ import annotations

import secrets
import time

from linkbase.api.responses import JSONBody
from linkbase.domain.errors import (
    InvalidArgumentError,
    LinkbaseError,
    NotFoundError,
    PermissionDeniedError,
    UnauthenticatedError,
)

STATUS_BY_ERROR: tuple[tuple[type[LinkbaseError], int], ...] = (
    (UnauthenticatedError, 401),
    (PermissionDeniedError, 403),
    (NotFoundError, 404),
    (InvalidArgumentError, 422),
)


def error_token() -> str:
    """``<unix seconds>+<8 lowercase hex>``, as Rails emits."""
    return f"{int(time.time())}+{secrets.token_hex(4)}"


def status_of(error: LinkbaseError) -> int:
    """The HTTP status the Arvados face uses for a domain error."""
    for cls, status in STATUS_BY_ERROR:
        if isinstance(error, cls):
            return status
    return 422


def error_response(status: int, messages: list[str], request_id: str, *,
                   bare: bool = False, headers: dict[str, str] | None = None) -> JSONBody:
    """An Arvados error body; ``bare`` skips the request-id suffix (get_permissions' 403)."""
    errors = messages if bare else [f"{m} ({request_id})" for m in messages]
    return JSONBody(
        {"errors": errors, "error_token": error_token()}, status_code=status, headers=headers
    )


def render_error(error: LinkbaseError, request_id: str, *, bare: bool = False,
                 headers: dict[str, str] | None = None) -> JSONBody:
    """Map a domain error to its Arvados status and body."""
    return error_response(status_of(error), error.messages, request_id, bare=bare,
                          headers=headers)
