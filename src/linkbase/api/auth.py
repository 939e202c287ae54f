"""Finding the bearer token of a request and turning it into a caller (shared by every face)."""

from __future__ import annotations

from collections.abc import Mapping

from linkbase.domain.scopes import require_scope
from linkbase.services.context import Caller, Services
from linkbase.services.tokens import authenticate_bearer


def bearer_from_header(authorization: str | None) -> str | None:
    """The token of ``Authorization: Bearer|OAuth2 <t>`` (scheme case-insensitive), or None."""
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() in ("bearer", "oauth2") and value.strip():
        return value.strip()
    return None


def token_from_params(params: Mapping[str, object]) -> str | None:
    """``api_token`` or ``oauth_token`` from query/form params."""
    for name in ("api_token", "oauth_token"):
        value = params.get(name)
        if isinstance(value, str) and value:
            return value
    return None


def resolve_caller(services: Services, token: str | None, method: str, path: str
                   ) -> Caller | None:
    """Authenticate ``token`` (None when missing or invalid) for the request ``method path``.

    Every face authenticates here, so this is where a token's scopes bind it on every face:
    PermissionDeniedError (403) when they do not allow the request.
    """
    caller = authenticate_bearer(services, token)
    if caller is not None:
        require_scope(caller.scopes, method, path)
    return caller
