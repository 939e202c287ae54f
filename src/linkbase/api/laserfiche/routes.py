"""The Laserfiche Repository API v2 routes: a thin adapter from the wire to the services.

Served at the root and under ``/LFRepositoryAPI`` (the self-hosted prefix). Each handler parses its
own input (bodies by hand, so a malformed one is a 400 ProblemDetails rather than a framework
validation body), calls one service in a threadpool inside one transaction, and renders the
result. Every error of this face, including unknown paths and wrong methods under its prefixes,
is an ``application/problem+json`` ProblemDetails.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode

import orjson
from fastapi import APIRouter, FastAPI, Request
from fastapi.routing import APIRoute
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

from linkbase.api.auth import bearer_from_header, resolve_caller
from linkbase.api.body import read_body
from linkbase.api.laserfiche import bodies, odata, schemas
from linkbase.api.laserfiche.openapi import route_docs
from linkbase.api.laserfiche.problems import problem, problem_for
from linkbase.api.worker_threads import run_blocking
from linkbase.domain.errors import (
    InvalidArgumentError,
    LinkbaseError,
    PayloadTooLargeError,
    UnauthenticatedError,
)
from linkbase.request_context import AUDIT_REASON
from linkbase.services import audit_reasons
from linkbase.services import entries as entry_service
from linkbase.services import laserfiche_links as link_service
from linkbase.services import link_definitions as definition_service
from linkbase.services import repositories as repository_service
from linkbase.services import tokens as token_service
from linkbase.services.context import Caller, Services
from linkbase.services.laserfiche_links import LinkSpec

log = logging.getLogger(__name__)

PREFIXES = ("", "/LFRepositoryAPI")
LINKS_PAGE = 100
DEFINITIONS_PAGE = 100
CHILDREN_PAGE = 150
_INT_RE = re.compile(r"^\d{1,9}$")
#: Request models' property names (matched case-insensitively, ``bodies.model``).
_TOKEN_FIELDS = ("grant_type", "username", "password")
_CREATE_ENTRY_FIELDS = ("name", "entryType", "autoRename", "targetId", "volumeName")
_UPDATE_ENTRY_FIELDS = ("parentId", "name", "autoRename")
_LINK_FIELDS = ("linkDefinitionId", "otherEntryId", "isSource", "customProperties")
_JSON = "application/json"

router = APIRouter()


@dataclass
class Ctx:
    """One decoded request: services, caller (if authenticated), body and URL bases."""

    request: Request
    services: Services
    caller: Caller | None
    body: bytes
    root: str
    prefix: str

    @property
    def base(self) -> str:
        """The API base URL (with the ``/LFRepositoryAPI`` prefix when the request used it)."""
        return self.root + self.prefix

    @property
    def url(self) -> str:
        """This request's absolute URL without query (nextLinks repeat it)."""
        return self.root + self.request.url.path

    def param(self, name: str) -> str:
        """A path parameter."""
        return str(self.request.path_params[name])

    def query(self, name: str) -> str | None:
        """A query parameter (case-sensitive OData names)."""
        return self.request.query_params.get(name)

    @property
    def user(self) -> Caller:
        """The authenticated caller (every route but Token and Repositories has one)."""
        assert self.caller is not None
        return self.caller


Impl = Callable[[Ctx], Response]


def _json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type=_JSON)


def _root_of(request: Request, services: Services) -> str:
    if services.settings.base_url:
        return services.settings.base_url.rstrip("/")
    return f"{request.url.scheme}://{request.url.netloc}"


def _prefix_of(path: str) -> str:
    return "/LFRepositoryAPI" if path.lower().startswith("/lfrepositoryapi/") else ""


async def _handle(request: Request, impl: Impl, *, auth: bool = True) -> Response:
    """Shared request plumbing: size limit, authentication, error rendering."""
    services: Services = request.app.state.services
    instance = request.url.path
    try:
        limit = services.settings.max_request_bytes
        body = await read_body(request, limit, lambda: PayloadTooLargeError(
            f"The request body is larger than {limit} bytes"))
        token = bearer_from_header(request.headers.get("authorization")) if auth else None
        root, prefix = _root_of(request, services), _prefix_of(request.url.path)

        def authenticated_call() -> Response:
            # One worker-thread hop for authentication and the handler (each hop is a queue
            # handoff and a thread wake-up).
            with services.uow.request_snapshot():
                caller = None
                if auth:
                    caller = resolve_caller(services, token, request.method, instance)
                    if caller is None:
                        raise UnauthenticatedError("Access token is missing, invalid or expired")
                return impl(Ctx(request, services, caller, body, root, prefix))

        return await run_blocking(authenticated_call)
    except LinkbaseError as exc:
        return problem_for(exc, instance=instance)
    except Exception:  # the client needs JSON even for server bugs
        log.exception("Unhandled error on %s %s", request.method, instance)
        return problem(500, "An unexpected server-side error occurred", instance=instance)


def _int_param(raw: str, what: str) -> int:
    if not _INT_RE.match(raw):
        raise InvalidArgumentError(f"Invalid {what} '{raw}': expected a positive integer")
    return int(raw)


def _bool_query(raw: str | None, name: str) -> bool:
    if raw is None:
        return False
    if raw.strip().lower() in ("true", "false"):
        return raw.strip().lower() == "true"
    raise InvalidArgumentError(f"Invalid {name}: expected true or false")


# -- token and repositories ----------------------------------------------------------------


def _token(ctx: Ctx) -> Response:
    """Password grant: the password is the user's password or one of their API tokens."""
    form = _form(ctx)
    token = token_service.exchange_password(
        ctx.services, ctx.param("repositoryId"), form.get("grant_type"), form.get("username"),
        form.get("password"), ctx.request.client.host if ctx.request.client else None)
    return _json({"access_token": token.api_token, "expires_in": token.expires_in,
                  "token_type": "bearer"})


def _form(ctx: Ctx) -> dict[str, str]:
    content_type = (ctx.request.headers.get("content-type") or "").lower()
    if "json" in content_type:
        data = bodies.model(bodies.parse(ctx.body), _TOKEN_FIELDS, "The request body")
        return {k: v for k, v in data.items() if isinstance(v, str)}
    try:
        parsed = parse_qs(ctx.body.decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError as exc:
        raise InvalidArgumentError("The form body is not UTF-8") from exc
    return {k: v[0] for k, v in parsed.items()}


def _repositories(ctx: Ctx) -> Response:
    rows = repository_service.all_repositories(ctx.services)
    return _json({"value": [
        {"id": r["id"], "name": r["name"], "webClientUrl": web_client_url(ctx.root, r["id"])}
        for r in rows
    ]})


def web_client_url(root: str, repository_id: str) -> str:
    """The browser UI opened on a repository (``LINKBASE_BASE_URL`` or the request's root)."""
    return f"{root}/ui/?{urlencode({'repository': repository_id})}"


# -- link definitions ----------------------------------------------------------------------


def _definitions(ctx: Ctx) -> Response:
    repository_id = ctx.param("repositoryId")
    query = _odata(ctx, schemas.DEFINITION_PROPERTIES, schemas.DEFINITION_PROPERTIES,
                   DEFINITIONS_PAGE)
    items = [schemas.render_definition(r)
             for r in definition_service.for_repository(ctx.services, ctx.user, repository_id)]
    page, total, more = odata.page_in_memory(items, query)
    return _collection(ctx, query, [odata.select_fields(i, query.select) for i in page],
                       total, more)


def _definition(ctx: Ctx) -> Response:
    repository_id = ctx.param("repositoryId")
    definition_id = _int_param(ctx.param("linkDefinitionId"), "link definition id")
    select = odata.parse_select(ctx.query("$select"), schemas.DEFINITION_PROPERTIES)
    row = definition_service.one_for_repository(ctx.services, ctx.user, repository_id,
                                                definition_id)
    return _json(odata.select_fields(schemas.render_definition(row), select))


def _odata(ctx: Ctx, properties: tuple[str, ...], orderable: tuple[str, ...],
           default_page: int) -> odata.ODataQuery:
    return odata.parse_query(ctx.request.query_params, ctx.request.headers.get("prefer"),
                             properties=properties, orderable=orderable,
                             default_page=default_page)


def _collection(ctx: Ctx, query: odata.ODataQuery, value: list[dict[str, Any]],
                total: int | None, more: bool) -> Response:
    body: dict[str, Any] = {"value": value}
    link = odata.next_link(query, ctx.url, len(value), more)
    if link is not None:
        body["@odata.nextLink"] = link
    if query.count and total is not None:
        body["@odata.count"] = total
    return _json(body)


# -- entries -------------------------------------------------------------------------------


def _entry_body(entry: entry_service.Entry, select: tuple[str, ...] | None) -> dict[str, Any]:
    return odata.select_fields(schemas.render_entry(entry), select, always=("entryType",))


def _get_entry(ctx: Ctx) -> Response:
    repository_id = ctx.param("repositoryId")
    entry_id = _int_param(ctx.param("entryId"), "entry id")
    select = odata.parse_select(ctx.query("$select"), schemas.ENTRY_PROPERTIES)
    child_info = _bool_query(ctx.query("includeChildInfo"), "includeChildInfo")
    _bool_query(ctx.query("includeTotalSize"), "includeTotalSize")  # accepted, no sizes kept
    entry = entry_service.get_entry(ctx.services, ctx.user, repository_id, entry_id,
                                    child_info=child_info)
    return _json(_entry_body(entry, select))


def _update_entry(ctx: Ctx) -> Response:
    """Move and/or rename (``UpdateEntryRequest``); ``autoRename`` in the body or the query."""
    repository_id = ctx.param("repositoryId")
    entry_id = _int_param(ctx.param("entryId"), "entry id")
    data = bodies.model(bodies.parse(ctx.body), _UPDATE_ENTRY_FIELDS, "The request body")
    parent_id = data.get("parentId")
    if parent_id is not None:
        parent_id = bodies.int32(parent_id, "'parentId'")
    name = data.get("name")
    if name is not None and not isinstance(name, str):
        raise InvalidArgumentError("'name' must be a string")
    auto_rename = bodies.boolean(
        data.get("autoRename"), "'autoRename'",
        default=_bool_query(ctx.query("autoRename"), "autoRename"))
    entry = entry_service.change_entry(ctx.services, ctx.user, repository_id, entry_id,
                                       parent_id=parent_id, name=name, auto_rename=auto_rename)
    return _json(schemas.render_entry(entry))


def _by_path(ctx: Ctx) -> Response:
    repository_id = ctx.param("repositoryId")
    full_path = ctx.query("fullPath")
    if full_path is None:
        raise InvalidArgumentError("The fullPath query parameter is required")
    fallback = _bool_query(ctx.query("fallbackToClosestAncestor"), "fallbackToClosestAncestor")
    entry, ancestor = entry_service.find_by_path(ctx.services, ctx.user, repository_id,
                                                 full_path, fallback_to_closest_ancestor=fallback)
    return _json({
        "entry": schemas.render_entry(entry) if entry is not None else None,
        "ancestorEntry": schemas.render_entry(ancestor) if ancestor is not None else None,
    })


def _children(ctx: Ctx) -> Response:
    repository_id = ctx.param("repositoryId")
    entry_id = _int_param(ctx.param("entryId"), "entry id")
    query = _odata(ctx, schemas.ENTRY_PROPERTIES, schemas.ENTRY_ORDERABLE, CHILDREN_PAGE)
    found = entry_service.list_children(ctx.services, ctx.user, repository_id, entry_id)
    items = [schemas.render_entry(e) for e in found]
    page, total, more = odata.page_in_memory(items, query)
    return _collection(ctx, query, [_select_entry(i, query.select) for i in page], total, more)


def _select_entry(item: dict[str, Any], select: tuple[str, ...] | None) -> dict[str, Any]:
    return odata.select_fields(item, select, always=("entryType",))


def _create_child(ctx: Ctx) -> Response:
    """``CreateEntryRequest``: a Folder, or a Shortcut to ``targetId``."""
    repository_id = ctx.param("repositoryId")
    entry_id = _int_param(ctx.param("entryId"), "entry id")
    data = bodies.model(bodies.parse(ctx.body), _CREATE_ENTRY_FIELDS, "The request body")
    name = data.get("name")
    if not isinstance(name, str):
        raise InvalidArgumentError("'name' is required and must be a string")
    entry_type = data.get("entryType")
    kind = entry_type.lower() if isinstance(entry_type, str) else None
    if kind not in ("folder", "shortcut"):
        raise InvalidArgumentError("'entryType' must be 'Folder' or 'Shortcut'")
    auto_rename = bodies.boolean(data.get("autoRename"), "'autoRename'")
    if kind == "shortcut":
        if data.get("targetId") is None:
            raise InvalidArgumentError("'targetId' is required to create a shortcut")
        target_id = bodies.int32(data["targetId"], "'targetId'")
        entry = entry_service.add_shortcut(ctx.services, ctx.user, repository_id, entry_id,
                                           name, target_id, auto_rename=auto_rename)
    else:
        entry = entry_service.add_folder(ctx.services, ctx.user, repository_id, entry_id, name,
                                         auto_rename=auto_rename)
    response = _json(schemas.render_entry(entry), status=201)
    response.headers["Location"] = schemas.entry_url(ctx.base, repository_id, entry.entry_id)
    return response


def _delete_entry(ctx: Ctx) -> Response:
    repository_id = ctx.param("repositoryId")
    entry_id = _int_param(ctx.param("entryId"), "entry id")
    reason_id: int | None = None
    comment: str | None = None
    if ctx.body.strip():
        data = bodies.model(bodies.parse(ctx.body), ("auditReasonId", "comment"),
                            "The request body")
        if data.get("auditReasonId") is not None:
            reason_id = bodies.int32(data["auditReasonId"], "auditReasonId")
        if data.get("comment") is not None:
            if not isinstance(data["comment"], str):
                raise InvalidArgumentError("comment must be a string")
            comment = data["comment"]
    reason = audit_reasons.for_delete(ctx.services, reason_id, comment)
    token = AUDIT_REASON.set(reason)  # recorded in the log entries of what is deleted
    try:
        task_id = entry_service.remove_entry(ctx.services, ctx.user, repository_id, entry_id)
    finally:
        AUDIT_REASON.reset(token)
    return _json({"taskId": task_id}, status=202)


def _audit_reasons(ctx: Ctx) -> Response:
    repository_id = ctx.param("repositoryId")
    query = _odata(ctx, schemas.AUDIT_REASON_PROPERTIES, schemas.AUDIT_REASON_PROPERTIES,
                   DEFINITIONS_PAGE)
    items = audit_reasons.for_repository(ctx.services, ctx.user, repository_id)
    page, total, more = odata.page_in_memory(items, query)
    return _json_collection(ctx, query, page, total, more)


def _json_collection(ctx: Ctx, query: odata.ODataQuery, page: list[dict[str, Any]],
                     total: int | None, more: bool) -> Response:
    return _collection(ctx, query, [odata.select_fields(i, query.select) for i in page],
                       total, more)


# -- links ---------------------------------------------------------------------------------


def _list_links(ctx: Ctx) -> Response:
    repository_id = ctx.param("repositoryId")
    entry_id = _int_param(ctx.param("entryId"), "entry id")
    query = _odata(ctx, schemas.LINK_PROPERTIES, tuple(schemas.LINK_ORDER_KEYS), LINKS_PAGE)
    order = [(schemas.LINK_ORDER_KEYS[k], desc) for k, desc in query.orderby]
    page = link_service.page_of_links(ctx.services, ctx.user, repository_id, entry_id,
                                      order=order, offset=query.skip, limit=query.limit,
                                      count=query.count)
    value = [odata.select_fields(schemas.render_link(link, ctx.base, repository_id),
                                 query.select) for link in page.items]
    return _collection(ctx, query, value, page.total, page.has_more)


def parse_link_specs(data: Any, max_links: int) -> list[LinkSpec]:
    """Check a ``SetLinksRequest`` body's JSON shape (InvalidArgumentError → 400); property
    names match case-insensitively (``bodies``)."""
    items = bodies.model(data, ("links",), "The request body").get("links")
    if not isinstance(items, list):
        raise InvalidArgumentError("'links' is required and must be an array")
    if len(items) > max_links:
        raise PayloadTooLargeError(f"At most {max_links} links can be set in one request")
    specs: list[LinkSpec] = []
    for index, raw in enumerate(items):
        where = f"links[{index}]"
        item = bodies.model(raw, _LINK_FIELDS, where)
        numbers: dict[str, int] = {}
        for key in ("linkDefinitionId", "otherEntryId"):
            value = item.get(key)
            if value is None:
                raise InvalidArgumentError(f"{where}.{key} is required")
            numbers[key] = bodies.int32(value, f"{where}.{key}")
        is_source = bodies.boolean(item.get("isSource"), f"{where}.isSource", default=True)
        props = item.get("customProperties")
        if props is None:
            props = {}
        if not isinstance(props, dict):
            raise InvalidArgumentError(f"{where}.customProperties must be an object")
        for key, value in props.items():
            if not isinstance(value, str):
                raise InvalidArgumentError(
                    f"{where}.customProperties values must be strings ('{key}' is not)")
        specs.append(LinkSpec(numbers["linkDefinitionId"], numbers["otherEntryId"], is_source,
                              dict(props)))
    return specs


def _set_links(ctx: Ctx) -> Response:
    repository_id = ctx.param("repositoryId")
    entry_id = _int_param(ctx.param("entryId"), "entry id")
    specs = parse_link_specs(bodies.parse(ctx.body), ctx.services.settings.max_batch_links)
    links = link_service.replace_links(ctx.services, ctx.user, repository_id, entry_id, specs)
    value = [schemas.render_link(link, ctx.base, repository_id) for link in links]
    return _json({"value": value})


# -- routing -------------------------------------------------------------------------------


def _endpoint(impl: Impl, *, auth: bool = True) -> Callable[[Request], Any]:
    async def endpoint(request: Request) -> Response:
        return await _handle(request, impl, auth=auth)

    endpoint.__name__ = impl.__name__.lstrip("_")
    endpoint.__doc__ = impl.__doc__
    return endpoint


_REPO = "/v2/Repositories/{repositoryId}"
_ROUTES: tuple[tuple[str, str, Impl, bool], ...] = (
    ("POST", "/v1/Repositories/{repositoryId}/Token", _token, False),
    ("GET", "/v2/Repositories", _repositories, False),
    ("GET", f"{_REPO}/LinkDefinitions", _definitions, True),
    ("GET", f"{_REPO}/LinkDefinitions/{{linkDefinitionId}}", _definition, True),
    ("GET", f"{_REPO}/Entries/ByPath", _by_path, True),
    ("GET", f"{_REPO}/Entries/{{entryId}}", _get_entry, True),
    ("PATCH", f"{_REPO}/Entries/{{entryId}}", _update_entry, True),
    ("DELETE", f"{_REPO}/Entries/{{entryId}}", _delete_entry, True),
    ("GET", f"{_REPO}/AuditReasons", _audit_reasons, True),
    ("GET", f"{_REPO}/Entries/{{entryId}}/Folder/Children", _children, True),
    ("POST", f"{_REPO}/Entries/{{entryId}}/Folder/Children", _create_child, True),
    ("GET", f"{_REPO}/Entries/{{entryId}}/Links", _list_links, True),
    ("PUT", f"{_REPO}/Entries/{{entryId}}/Links", _set_links, True),
)
_ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

for _prefix in PREFIXES:
    for _method, _path, _impl, _auth in _ROUTES:
        # Described once, at the root; the /LFRepositoryAPI copies are the same operations.
        _docs = route_docs(_method, _path) if not _prefix else {"include_in_schema": False}
        router.add_api_route(f"{_prefix}{_path}", _endpoint(_impl, auth=_auth),
                             methods=[_method], **_docs)


async def _fallback(request: Request) -> Response:
    """Unknown paths (404) and wrong methods (405) under this face's prefixes, as ProblemDetails.

    Starlette would otherwise answer with the app's generic (Arvados-shaped) errors.
    """
    allowed: set[str] = set()
    for route in router.routes:
        scope = dict(request.scope)
        scope["method"] = "__NONE__"
        match, _ = route.matches(scope)
        if match == Match.PARTIAL:
            allowed |= set(getattr(route, "methods", None) or ())
    if allowed:
        return problem(405, f"Method {request.method} is not allowed on this resource",
                       instance=request.url.path,
                       headers={"Allow": ", ".join(sorted(allowed))})
    return problem(404, "The requested resource was not found", instance=request.url.path)


_FALLBACK_PATHS = ("/v1/{rest:path}", "/v2/{rest:path}", "/v2", "/v1",
                   "/LFRepositoryAPI/{rest:path}", "/LFRepositoryAPI")


class LaserficheFace:
    """Pure ASGI middleware, innermost: a request that fully matches one of this face's routes
    goes straight to the route's endpoint, ahead of the framework's router and its per-route
    request handling (dependency solving, response wrapping), which the face does not use: each
    endpoint takes the bare request and renders its own response and errors (:func:`_handle`).

    The routes are the ones registered on the framework (one table, above, also describes them
    in the API description); anything else (an unknown path, a wrong method: the fallbacks'
    ProblemDetails) goes on to the app.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("path", "").startswith(_FACE_PATHS):
            for route in router.routes:
                match, child_scope = route.matches(scope)
                if match is Match.FULL and isinstance(route, APIRoute):
                    scope.update(child_scope)
                    response = await route.endpoint(Request(scope, receive, send))
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)


#: Where this face's routes live (the fallbacks' prefixes, as the router matches them).
_FACE_PATHS = ("/v1/", "/v2/", "/LFRepositoryAPI/")

#: Installed by the app innermost, inside the request id, metrics and error guard.
MIDDLEWARE = (LaserficheFace,)


def register(app: FastAPI) -> None:
    """Mount the face; the catch-all routes go last so every real route matches first."""
    app.include_router(router)
    for path in _FALLBACK_PATHS:
        app.add_api_route(path, _fallback, methods=_ALL_METHODS, include_in_schema=False)


__all__ = ["MIDDLEWARE", "parse_link_specs", "register", "router"]
