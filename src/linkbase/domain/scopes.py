"""Token scopes: which requests a token may make (spec ``arvados.md`` §1.2 "Scopes").

A token's scopes bind it on every face, so this is the one rule every face applies, through
:func:`linkbase.api.auth.resolve_caller`. A request is the effective verb (after any method
override) and the request path without its query, whichever face serves it.
"""

from __future__ import annotations

from collections.abc import Iterable

from linkbase.domain.errors import PermissionDeniedError

ALL = "all"
#: Always allowed, so that a client can learn what its token is (spec §1.2).
_ALWAYS = ("GET", "/arvados/v1/api_client_authorizations/current")


def _without_trailing_slash(path: str) -> str:
    """``/a/b/`` → ``/a/b``: one trailing slash is ignored when matching (not ``/`` itself)."""
    return path[:-1] if len(path) > 1 and path.endswith("/") else path


def scope_allows(scopes: Iterable[str], method: str, path: str) -> bool:
    """True iff a token with ``scopes`` may make the request ``method path``.

    ``all``; an entry ``"VERB /path"`` equal to the request (a trailing slash on the request
    ignored); or an entry ``"VERB /prefix/"`` whose prefix starts the request path. A ``GET``
    scope also allows ``HEAD``.
    """
    method = method.upper()
    verbs = {method, "GET"} if method == "HEAD" else {method}
    trimmed = _without_trailing_slash(path)
    if "GET" in verbs and trimmed == _ALWAYS[1]:
        return True
    for scope in scopes:
        if scope == ALL:
            return True
        verb, _, scoped = scope.partition(" ")
        if verb not in verbs or not scoped:
            continue
        if scoped.endswith("/"):
            if path.startswith(scoped):
                return True
        elif scoped in (trimmed, path):
            return True
    return False


def require_scope(scopes: Iterable[str], method: str, path: str) -> None:
    """Raise ``PermissionDeniedError("Forbidden")`` (403 on every face) unless allowed."""
    if not scope_allows(scopes, method, path):
        raise PermissionDeniedError("Forbidden")
