"""The Arvados v1 routes: one dispatcher that applies the transport rules, then calls services.

Method overrides and parameter merging (spec §1.1, §1.3) need the whole request before the verb is
known, so the routing of ``/arvados/v1/...`` is done here, after those rules, rather than by
per-verb framework routes. Each action is a thin call into ``linkbase.services``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from linkbase.api.arvados import params as p
from linkbase.api.arvados.errors import error_response, render_error
from linkbase.api.arvados.render import render_list, render_object
from linkbase.api.auth import bearer_from_header, resolve_caller, token_from_params
from linkbase.api.body import read_body
from linkbase.api.request_id import request_id_of
from linkbase.api.responses import JSONBody
from linkbase.api.worker_threads import run_blocking
from linkbase.domain.errors import (
    InvalidArgumentError,
    LinkbaseError,
    PermissionDeniedError,
)
from linkbase.domain.limits import MAX_STRING_LENGTH
from linkbase.domain.query import ListQuery, build_list_query, parse_bool, parse_select
from linkbase.domain.resources import COMPUTED_PERMISSIONS, LOGS, RESOURCES, Resource
from linkbase.services import computed_permissions, links, logs, objects, tokens, users
from linkbase.services.context import Caller, Services
from linkbase.services.listing import ListPage

CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, HEAD, PUT, PATCH, POST, DELETE, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type, X-Http-Method-Override, "
    "X-Request-Id",
    "Access-Control-Max-Age": "86400",
}


_CORS_RAW = [(k.lower().encode(), v.encode()) for k, v in CORS_HEADERS.items()]
_CORS_PREFIXES = ("/arvados/", "/discovery/")


def _wants_cors(path: str) -> bool:
    # ``/`` too: Arvados clients probe the server root, which redirects to the UI.
    return path == "/" or path.startswith(_CORS_PREFIXES)


class ArvadosCors:
    """Pure ASGI middleware: CORS headers on every response under ``/arvados/`` and
    ``/discovery/`` (spec §1.1), including the discovery document and framework 404s, and on
    the ``GET /`` redirect."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _wants_cors(str(scope.get("path", ""))):
            await self.app(scope, receive, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(k, v) for k, v in _CORS_RAW if k not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_cors)


@dataclass
class Call:
    """One decoded Arvados call."""

    services: Services
    caller: Caller
    resource: Resource
    uuid: str | None
    params: dict[str, Any]


Handler = Callable[[Call], Any]


# -- actions: each parses its params, calls one service use case and renders ---------------


def _select(call: Call) -> tuple[str, ...] | None:
    return parse_select(call.resource, call.params.get("select"))


def _list_query(call: Call) -> ListQuery:
    """The validated list params of a call (spec §3), shared by every list method."""
    prm = call.params
    p.check_cluster_id(prm, call.services.cluster_id)
    _check_bypass(call)
    return build_list_query(
        call.resource, filters=prm.get("filters"), where=prm.get("where"),
        order=prm.get("order"), select=prm.get("select"), limit=prm.get("limit"),
        offset=prm.get("offset"), count=prm.get("count"), distinct=prm.get("distinct"),
    )


def do_list(call: Call) -> dict[str, Any]:
    """The list method of any resource (spec §3)."""
    prm = call.params
    query = _list_query(call)
    for name in ("include_trash", "include_old_versions"):
        parse_bool(prm.get(name), name)
    page = objects.list_page(call.services, call.caller, call.resource, query)
    return render_list(call.resource, page, query.select)


def do_list_computed_permissions(call: Call) -> dict[str, Any]:
    """``GET /arvados/v1/computed_permissions``: MP(user, target) rows (admins: all users)."""
    query = _list_query(call)
    page = computed_permissions.list_page(call.services, call.caller, query)
    return render_list(call.resource, page, query.select)


def _check_bypass(call: Call) -> None:
    if parse_bool(call.params.get("bypass_federation"), "bypass_federation") and not (
        call.caller.is_admin
    ):
        raise PermissionDeniedError("Forbidden")


def do_get(call: Call) -> dict[str, Any]:
    """Get one object the caller may read."""
    select = _select(call)
    parse_bool(call.params.get("include_trash"), "include_trash")
    assert call.uuid is not None
    row = objects.get(call.services, call.caller, call.resource, call.uuid)
    return render_object(call.resource, row, select)


def _body(call: Call) -> dict[str, Any]:
    return p.resource_body(call.params, call.resource.wrapper, call.resource.output_names)


def do_create(call: Call) -> dict[str, Any]:
    """Create an object; one transaction."""
    select = _select(call)
    p.check_cluster_id(call.params, call.services.cluster_id)
    unique = parse_bool(call.params.get("ensure_unique_name"), "ensure_unique_name")
    attrs = _body(call)
    row = objects.create(call.services, call.caller, call.resource, attrs,
                         ensure_unique_name=unique)
    return render_object(call.resource, row, select)


def do_update(call: Call) -> dict[str, Any]:
    """Partial update; one transaction."""
    select = _select(call)
    _check_bypass(call)
    unique = parse_bool(call.params.get("ensure_unique_name"), "ensure_unique_name")
    attrs = _body(call)
    assert call.uuid is not None
    row = objects.update(call.services, call.caller, call.resource, call.uuid, attrs,
                         ensure_unique_name=unique)
    return render_object(call.resource, row, select)


def do_delete(call: Call) -> dict[str, Any]:
    """Delete; returns the object as it was."""
    assert call.uuid is not None
    row = objects.delete(call.services, call.caller, call.resource, call.uuid)
    return render_object(call.resource, row)


def do_get_permissions(call: Call) -> dict[str, Any]:
    """``GET /arvados/v1/permissions/{uuid}`` (spec §5.7)."""
    assert call.uuid is not None
    rows = links.permissions_on(call.services, call.caller, call.uuid)
    page = ListPage(rows, len(rows), len(rows), 0)
    return render_list(RESOURCES["links"], page)


def do_list_logs(call: Call) -> dict[str, Any]:
    """``GET /arvados/v1/logs``: the audit entries the caller may read."""
    query = _list_query(call)
    page = logs.list_page(call.services, call.caller, query)
    return render_list(call.resource, page, query.select)


def do_get_log(call: Call) -> dict[str, Any]:
    """``GET /arvados/v1/logs/{uuid}``."""
    select = _select(call)
    assert call.uuid is not None
    return render_object(call.resource, logs.get(call.services, call.caller, call.uuid), select)


def do_delete_log(call: Call) -> dict[str, Any]:
    """``DELETE /arvados/v1/logs/{uuid}``: admins only."""
    assert call.uuid is not None
    return render_object(call.resource, logs.delete(call.services, call.caller, call.uuid))


def do_write_log(call: Call) -> dict[str, Any]:
    """Creating or updating a log entry: refused (the server writes the log)."""
    logs.refuse_write(call.caller)
    return {}  # pragma: no cover - refuse_write always raises


def do_current_user(call: Call) -> dict[str, Any]:
    """The caller's own user record (inactive callers too)."""
    return render_object(RESOURCES["users"], users.current_user(call.services, call.caller))


def do_current_token(call: Call) -> dict[str, Any]:
    """The token authenticating this request."""
    return render_object(RESOURCES["api_client_authorizations"],
                         tokens.current_token(call.services, call.caller))


# -- routing -------------------------------------------------------------------------------


def match_route(method: str, path: str) -> tuple[Resource, str | None, Handler] | None:
    """Map (verb, path under /arvados/v1/) to an action; None → 404."""
    parts = [s for s in path.split("/") if s != ""]
    if method == "HEAD":
        method = "GET"
    if len(parts) == 2 and parts[0] == "permissions" and method == "GET":
        return RESOURCES["links"], parts[1], do_get_permissions
    if parts == [COMPUTED_PERMISSIONS.name]:
        if method == "GET":
            return COMPUTED_PERMISSIONS, None, do_list_computed_permissions
        return None
    if parts and parts[0] == LOGS.name and len(parts) <= 2:
        return _log_route(method, parts[1] if len(parts) == 2 else None)
    if not parts or parts[0] not in RESOURCES:
        return None
    resource = RESOURCES[parts[0]]
    if len(parts) == 1:
        if method == "GET":
            return resource, None, do_list
        if method == "POST":
            return resource, None, do_create
        return None
    if len(parts) != 2:
        return None
    target = parts[1]
    if len(target) > MAX_STRING_LENGTH or not target.isprintable():
        return None  # no object has such a uuid (and a NUL cannot even be queried)
    if target == "current" and method == "GET":
        if resource.name == "users":
            return resource, None, do_current_user
        if resource.name == "api_client_authorizations":
            return resource, None, do_current_token
    if method == "GET":
        return resource, target, do_get
    if method in ("PUT", "PATCH") and resource.name != "api_client_authorizations":
        return resource, target, do_update
    if method == "DELETE":
        return resource, target, do_delete
    return None


def _log_route(method: str, target: str | None) -> tuple[Resource, str | None, Handler] | None:
    if target is None:
        handlers = {"GET": do_list_logs, "POST": do_write_log}
    else:
        handlers = {"GET": do_get_log, "PUT": do_write_log, "PATCH": do_write_log,
                    "DELETE": do_delete_log}
    handler = handlers.get(method)
    return None if handler is None else (LOGS, target, handler)


def scope_allows(scopes: tuple[str, ...], method: str, path: str) -> bool:
    """Token scopes (spec §1.2): ``all``, an exact ``VERB /path`` or a ``VERB /prefix/``."""
    if path == "/arvados/v1/api_client_authorizations/current" and method in ("GET", "HEAD"):
        return True
    verbs = {method, "GET"} if method == "HEAD" else {method}
    for scope in scopes:
        if scope == "all":
            return True
        verb, _, scoped = scope.partition(" ")
        if verb not in verbs:
            continue
        if scoped == path or (scoped.endswith("/") and path.startswith(scoped)):
            return True
    return False


class _Refused(Exception):
    """The request is refused before its handler runs (no or a bad token; out of scope)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


async def arvados_dispatch(request: Request) -> Response:
    """Entry point of every ``/arvados/v1/`` request."""
    rest = str(request.path_params["rest"])
    request_id = request_id_of(request)
    headers = {**CORS_HEADERS, "X-Request-Id": request_id}
    if request.method == "OPTIONS":
        return Response(status_code=200, headers=headers)
    services: Services = request.app.state.services
    try:
        body = await read_body(request, services.settings.max_request_bytes,
                               lambda: InvalidArgumentError("Request body too large"))
        body_params = p.parse_body(body, request.headers.get("content-type"))
        query = list(request.query_params.multi_items())
        params = p.merge_params({}, body_params, query)
        method = p.effective_method(
            request.method, request.headers.get("x-http-method-override"), params
        )
    except LinkbaseError as exc:
        return render_error(exc, request_id, headers=headers)
    route = match_route(method, rest)
    if route is None:
        return error_response(404, ["Path not found"], request_id, headers=headers)
    resource, uuid, handler = route
    token = bearer_from_header(request.headers.get("authorization")) or token_from_params(params)
    path = request.url.path

    def authorized_call() -> Any:
        # Authentication and the handler share one worker-thread hop: each hop costs a queue
        # handoff and a wake-up of an idle thread, a measurable share of a small request.
        with services.uow.request_snapshot():
            try:
                caller = resolve_caller(services, token, method, path)
            except PermissionDeniedError:  # the token's scopes do not allow this request
                raise _Refused(403, "Forbidden") from None
            if caller is None:
                raise _Refused(401, "Not logged in")
            return handler(Call(services, caller, resource, uuid, params))

    try:
        result = await run_blocking(authorized_call)
    except _Refused as refusal:
        return error_response(refusal.status, [refusal.message], request_id, headers=headers)
    except LinkbaseError as exc:
        bare = handler is do_get_permissions and isinstance(exc, PermissionDeniedError)
        return render_error(exc, request_id, bare=bare, headers=headers)
    if request.method == "HEAD":
        return Response(status_code=200, headers=headers, media_type="application/json")
    return JSONBody(result, headers=headers)


_PREFIX = "/arvados/v1/"


class ArvadosFace:
    """Pure ASGI middleware, innermost: every ``/arvados/v1/...`` HTTP request goes straight to
    :func:`arvados_dispatch`, ahead of the framework's router.

    The face routes its own requests (method overrides, spec §1.1), so the framework's route
    matching, its per-route request wrappers and its exception middleware would only add cost:
    they came to about a fifth of an Arvados get's CPU in the app (measured in-process).
    Anything else goes on to the app; an exception the dispatcher does not render reaches
    ``ErrorGuard`` as before.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith(_PREFIX):
            await self.app(scope, receive, send)
            return
        scope["path_params"] = {"rest": path[len(_PREFIX):]}
        request = Request(scope, receive, send)
        try:
            response = await arvados_dispatch(request)
        except LinkbaseError as exc:
            response = render_error(exc, request_id_of(request))
        await response(scope, receive, send)
