"""Shared plumbing of the native endpoints: authentication and error bodies.

Native endpoints use the Arvados error shape (``{"errors": [...], "error_token"}``) and statuses
(401/403/404/422), so one client error family covers both.
"""

from __future__ import annotations

from fastapi import Request

from linkbase.api.auth import bearer_from_header, resolve_caller
from linkbase.api.request_id import request_id_of
from linkbase.domain.errors import UnauthenticatedError
from linkbase.services.context import Caller, Services


def services_of(request: Request) -> Services:
    """The app's services."""
    services: Services = request.app.state.services
    return services


def caller_of(request: Request) -> Caller:
    """The authenticated caller, or UnauthenticatedError (rendered as 401)."""
    token = bearer_from_header(request.headers.get("authorization"))
    caller = resolve_caller(services_of(request), token, request.method, request.url.path)
    if caller is None:
        raise UnauthenticatedError("Not logged in")
    return caller


__all__ = ["caller_of", "request_id_of", "services_of"]
