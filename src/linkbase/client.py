"""A small, typed Python client for a Linkbase server.

One :class:`Client` speaks all three faces over one HTTP connection pool:

* the Arvados v1 resources (``client.links``, ``client.users``, ``client.groups``,
  ``client.collections``, ``client.api_client_authorizations``), with list, get, create, update,
  delete and the keyset pager that bulk export relies on;
* Linkbase's native endpoints (``explain``, ``batch_links``);
* the Laserfiche Repository v2 entries, links and link definitions.

Every failure surfaces as a :class:`~linkbase.client_errors.LinkbaseError`; a refusal by the
server is a :class:`~linkbase.client_errors.LinkbaseAPIError` carrying the HTTP status and the
server's messages, whatever dialect the face answers in.

Connection settings come from the arguments, else ``LINKBASE_URL``/``LINKBASE_TOKEN``, else the
variables the Arvados tools read (``ARVADOS_API_HOST``, ``ARVADOS_API_TOKEN``,
``ARVADOS_API_HOST_INSECURE``, also from ``~/.config/arvados/settings.conf``), so an existing
Arvados shell setup works unchanged.
"""

from __future__ import annotations

import errno
import json
import os
import ssl
import time
import urllib.parse
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import httpx
import orjson

from linkbase.client_errors import (
    LinkbaseAPIError,
    LinkbaseConfigError,
    LinkbaseConnectionError,
    LinkbaseError,
    messages_from_body,
)

__all__ = [
    "Client",
    "ConnectionSettings",
    "LinkbaseAPIError",
    "LinkbaseConfigError",
    "LinkbaseConnectionError",
    "LinkbaseError",
    "OnDuplicate",
    "Record",
    "resolve_settings",
]

#: A decoded JSON object as the server sent it.
Record = dict[str, Any]
#: Arvados filters as plain lists: ``[[attr, op, operand], ...]``.
FilterList = list[list[Any]]
#: Query parameters: a mapping, or pairs when a name repeats (``link_class=a&link_class=b``).
QueryParams = Mapping[str, str] | list[tuple[str, str | int | float | bool | None]]
#: One page of list items.
Page = list[Record]
#: What ``batch_links`` does with a link whose uuid already exists.
OnDuplicate = Literal["error", "ignore", "update"]

#: GET URLs longer than this travel as ``POST`` + ``X-Http-Method-Override: GET`` (as the
#: Arvados SDK does), so long ``in`` filters never hit a proxy's URL limit.
MAX_GET_URL = 2048
#: The server clamps list limits to this value (Arvados spec §3.1).
MAX_PAGE = 1000

_TRUE_FLAGS = frozenset({"1", "t", "true", "y", "yes"})
_USER_AGENT = "linkbase-client"


# --------------------------------------------------------------------------------------------
# Connection settings


@dataclass(frozen=True)
class ConnectionSettings:
    """Where the server is, how to authenticate, and whether to check its TLS certificate."""

    url: str
    token: str | None
    verify: bool = True
    #: Human description of where ``url`` came from, used in error messages.
    source: str = "argument"


def _arvados_settings_file(environ: Mapping[str, str]) -> dict[str, str]:
    """Read ``~/.config/arvados/settings.conf`` the way the Arvados tools do (KEY=VALUE lines)."""
    home = environ.get("HOME")
    config_home = environ.get("XDG_CONFIG_HOME") or (f"{home}/.config" if home else None)
    if not config_home:
        return {}
    path = Path(config_home) / "arvados" / "settings.conf"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return {}
    values: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        values[key.strip()] = value.strip()
    return values


def _url_from_arvados_host(host: str) -> str:
    """``ARVADOS_API_HOST`` is ``host[:port]`` meaning https, unless it spells out ``http://``."""
    host = host.strip()
    if host.startswith(("http://", "https://")):
        return host
    return f"https://{host}"


def resolve_settings(
    url: str | None = None,
    token: str | None = None,
    *,
    insecure: bool | None = None,
    environ: Mapping[str, str] | None = None,
) -> ConnectionSettings:
    """Work out the connection settings: arguments, then ``LINKBASE_*``, then ``ARVADOS_*``.

    The Arvados variables (and ``settings.conf``) are honoured so that a shell already set up for
    ``arv`` talks to Linkbase without changes. Raises :class:`LinkbaseConfigError` when no URL can
    be found, because guessing a server would send a token to the wrong place.
    """
    env = os.environ if environ is None else environ
    arv = _arvados_settings_file(env)
    arv.update({k: v for k, v in env.items() if k.startswith("ARVADOS_")})
    source = "argument"
    if not url:
        if env.get("LINKBASE_URL"):
            url, source = env["LINKBASE_URL"], "LINKBASE_URL"
        elif arv.get("ARVADOS_API_HOST"):
            url, source = _url_from_arvados_host(arv["ARVADOS_API_HOST"]), "ARVADOS_API_HOST"
    if not url:
        raise LinkbaseConfigError(
            "no server given: pass --url or set LINKBASE_URL (or ARVADOS_API_HOST)"
        )
    if "://" not in url:
        # Only ARVADOS_API_HOST is a bare host[:port] (converted above); guessing a scheme for
        # --url would send the token somewhere the user never named.
        raise LinkbaseConfigError(
            f"{'--url' if source == 'argument' else source} must be a URL such as "
            f"http://127.0.0.1:8000, not {url!r}"
        )
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise LinkbaseConfigError(f"not an http(s) URL: {url!r}")
    if token is None:
        token = env.get("LINKBASE_TOKEN") or arv.get("ARVADOS_API_TOKEN") or None
    if insecure is None:
        insecure = arv.get("ARVADOS_API_HOST_INSECURE", "").strip().lower() in _TRUE_FLAGS
    return ConnectionSettings(url=url.rstrip("/"), token=token, verify=not insecure, source=source)


# --------------------------------------------------------------------------------------------
# Helpers


def _jsonish(value: Any) -> str:
    """Structured params travel in query strings as JSON text (Arvados spec §1.3)."""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _bool_param(value: bool) -> str:
    return "true" if value else "false"


def _connection_reason(exc: BaseException) -> str:
    """A short, lowercase reason for a transport failure, e.g. ``connection refused``.

    httpx wraps the OS error two levels deep; the errno gives the clearest wording.
    """
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLCertVerificationError):
            return (
                f"TLS certificate not trusted ({current.verify_message}); "
                "set ARVADOS_API_HOST_INSECURE=1 to skip verification"
            )
        if isinstance(current, ssl.SSLError):
            return f"TLS error: {current.reason or current}"
        if isinstance(current, OSError) and current.errno is not None:
            if current.errno == errno.ECONNREFUSED:
                return "connection refused"
            text = current.strerror or os.strerror(current.errno)
            return text[:1].lower() + text[1:]
        current = current.__cause__ or current.__context__
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:1].lower() + text[1:]


def _graph_params(*, depth: int | None, direction: str | None, limit: int | None,
                  link_classes: Sequence[str], depth_name: str) -> list[tuple[str, str]]:
    """The optional query parameters shared by the two graph queries."""
    params = [("link_class", c) for c in link_classes]
    for name, value in ((depth_name, depth), ("direction", direction), ("limit", limit)):
        if value is not None:
            params.append((name, str(value)))
    return params


def _quote(part: str | int) -> str:
    return urllib.parse.quote(str(part), safe="")


# --------------------------------------------------------------------------------------------
# Arvados resources


class ResourceAPI:
    """One Arvados v1 resource (``links``, ``users``, ...): the verbs every resource shares."""

    def __init__(self, client: Client, resource: str, wrapper: str) -> None:
        self._client = client
        #: Path segment under ``/arvados/v1/``.
        self.resource = resource
        #: Key wrapping the attributes in create/update bodies (``link``, ``user``, ...).
        self.wrapper = wrapper

    @property
    def _path(self) -> str:
        return f"/arvados/v1/{self.resource}"

    def list(
        self,
        *,
        filters: Sequence[Sequence[Any]] | str | None = None,
        where: Mapping[str, Any] | str | None = None,
        order: Sequence[str] | str | None = None,
        limit: int | None = None,
        offset: int | None = None,
        select: Sequence[str] | str | None = None,
        count: Literal["exact", "none"] | str | None = None,
        distinct: bool | None = None,
        **extra: Any,
    ) -> Record:
        """One page of the resource's list envelope (``items``, ``items_available``, ...).

        String values are passed through untouched, so JSON text taken from a command line is
        sent exactly as typed and validated by the server in its own words.
        """
        params: dict[str, str] = {}
        for name, value in (
            ("filters", filters),
            ("where", where),
            ("order", order),
            ("select", select),
        ):
            if value is not None:
                params[name] = _jsonish(value)
        if limit is not None:
            params["limit"] = str(limit)
        if offset is not None:
            params["offset"] = str(offset)
        if count is not None:
            params["count"] = count
        if distinct is not None:
            params["distinct"] = _bool_param(distinct)
        for name, value in extra.items():
            if value is not None:
                params[name] = _bool_param(value) if isinstance(value, bool) else _jsonish(value)
        result: Record = self._client.get_json(self._path, params=params)
        return result

    def count(self, *, filters: Sequence[Sequence[Any]] | str | None = None) -> int:
        """How many objects match: a ``limit=0`` list, which the server answers from an index."""
        page = self.list(filters=filters, limit=0, count="exact")
        return int(page.get("items_available", 0))

    def keyset_pages(
        self,
        *,
        filters: Sequence[Sequence[Any]] | None = None,
        select: Sequence[str] | None = None,
        page_size: int = MAX_PAGE,
    ) -> Iterator[Page]:
        """Every matching object exactly once, page by page, oldest first.

        Offset paging skips or repeats rows when others are inserted meanwhile; keyset paging on
        ``(created_at, uuid)`` does not. There is no OR in Arvados filters, so "after (t, u)" is
        two queries: first the rest of timestamp ``t`` (``created_at = t and uuid > u``), then
        ``created_at > t``. Pages stay correct even when thousands of rows share a timestamp.
        """
        base = [list(f) for f in (filters or [])]
        page_size = max(1, min(page_size, MAX_PAGE))
        fields = list(select) if select else None
        if fields is not None:
            for needed in ("uuid", "created_at"):
                if needed not in fields:
                    fields.append(needed)
        order = ["created_at asc", "uuid asc"]

        def fetch(extra: FilterList, limit: int) -> Page:
            page = self.list(
                filters=base + extra, order=order, limit=limit, count="none", select=fields
            )
            items = page.get("items", [])
            return list(items) if isinstance(items, list) else []

        items = fetch([], page_size)
        while items:
            yield items
            last = items[-1]
            stamp, uuid = last.get("created_at"), last.get("uuid")
            if stamp is None or uuid is None:
                raise LinkbaseError("server returned an item without created_at/uuid to page on")
            items = fetch([["created_at", "=", stamp], ["uuid", ">", uuid]], page_size)
            if len(items) < page_size:
                items += fetch([["created_at", ">", stamp]], page_size - len(items))

    def iter_all(
        self,
        *,
        filters: Sequence[Sequence[Any]] | None = None,
        select: Sequence[str] | None = None,
        page_size: int = MAX_PAGE,
    ) -> Iterator[Record]:
        """Every matching object once (see :meth:`keyset_pages`)."""
        for page in self.keyset_pages(filters=filters, select=select, page_size=page_size):
            yield from page

    def get(self, uuid: str, *, select: Sequence[str] | str | None = None) -> Record:
        """One object by uuid; 404 when it does not exist or the caller cannot read it."""
        params = {"select": _jsonish(select)} if select is not None else None
        result: Record = self._client.get_json(f"{self._path}/{_quote(uuid)}", params=params)
        return result

    def create(
        self,
        attrs: Mapping[str, Any],
        *,
        select: Sequence[str] | str | None = None,
        ensure_unique_name: bool | None = None,
    ) -> Record:
        """Create an object from its attributes (the server answers 200 with the new object)."""
        body: dict[str, Any] = {self.wrapper: dict(attrs)}
        if select is not None:
            body["select"] = json.loads(select) if isinstance(select, str) else list(select)
        if ensure_unique_name is not None:
            body["ensure_unique_name"] = ensure_unique_name
        result: Record = self._client.request_json("POST", self._path, json_body=body)
        return result

    def update(
        self,
        uuid: str,
        attrs: Mapping[str, Any],
        *,
        select: Sequence[str] | str | None = None,
    ) -> Record:
        """Partial update: only the attributes given change."""
        body: dict[str, Any] = {self.wrapper: dict(attrs)}
        if select is not None:
            body["select"] = json.loads(select) if isinstance(select, str) else list(select)
        result: Record = self._client.request_json(
            "PUT", f"{self._path}/{_quote(uuid)}", json_body=body
        )
        return result

    def delete(self, uuid: str) -> Record:
        """Delete; the server returns the object as it was."""
        result: Record = self._client.request_json("DELETE", f"{self._path}/{_quote(uuid)}")
        return result


class LinksAPI(ResourceAPI):
    """``/arvados/v1/links`` plus ``get_permissions``."""

    def get_permissions(self, uuid: str) -> Record:
        """Every permission link whose head is ``uuid`` (needs ``can_manage`` on it)."""
        result: Record = self._client.get_json(f"/arvados/v1/permissions/{_quote(uuid)}")
        return result


class UsersAPI(ResourceAPI):
    """``/arvados/v1/users`` plus ``current``."""

    def current(self) -> Record:
        """The user the token acts as."""
        result: Record = self._client.get_json("/arvados/v1/users/current")
        return result


class TokensAPI(ResourceAPI):
    """``/arvados/v1/api_client_authorizations`` plus ``current``."""

    def current(self) -> Record:
        """The token record authenticating this client."""
        result: Record = self._client.get_json("/arvados/v1/api_client_authorizations/current")
        return result


# --------------------------------------------------------------------------------------------
# The client


def _mapping_as_dict(value: Any) -> dict[str, Any]:
    """orjson ``default``: serialise any other mapping as a dict."""
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"Type is not JSON serializable: {type(value).__name__}")


class Client:
    """A connection to one Linkbase server.

    >>> with Client("http://127.0.0.1:8000", token) as lb:          # doctest: +SKIP
    ...     lb.links.create({"link_class": "star", "head_uuid": p, "tail_uuid": u, "owner_uuid": u})

    ``url`` and ``token`` default to the environment (see :func:`resolve_settings`).
    ``transport`` is for tests (e.g. ``httpx.MockTransport``).
    """

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        insecure: bool | None = None,
        timeout: float = 60.0,
        transport: httpx.BaseTransport | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.settings = resolve_settings(url, token, insecure=insecure, environ=environ)
        headers = {"Accept": "application/json", "User-Agent": _USER_AGENT}
        if self.settings.token:
            headers["Authorization"] = f"Bearer {self.settings.token}"
        self._http = httpx.Client(
            base_url=self.settings.url,
            headers=headers,
            timeout=timeout,
            verify=self.settings.verify,
            transport=transport,
            follow_redirects=False,
        )
        self.links = LinksAPI(self, "links", "link")
        self.users = UsersAPI(self, "users", "user")
        self.groups = ResourceAPI(self, "groups", "group")
        self.collections = ResourceAPI(self, "collections", "collection")
        self.api_client_authorizations = TokensAPI(
            self, "api_client_authorizations", "api_client_authorization"
        )
        #: Short alias: tokens are ``api_client_authorizations`` in Arvados terms.
        self.tokens = self.api_client_authorizations

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The server's base URL, without trailing slash."""
        return self.settings.url

    def close(self) -> None:
        """Release the connection pool."""
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def resource(self, name: str) -> ResourceAPI:
        """The resource API by its Arvados name (``links``) or wrapper name (``link``)."""
        for api in (
            self.links,
            self.users,
            self.groups,
            self.collections,
            self.api_client_authorizations,
        ):
            if name in (api.resource, api.wrapper):
                return api
        raise KeyError(name)

    # -- transport -------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: QueryParams | None = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        content: bytes | None = None,
    ) -> httpx.Response:
        """Send one request; return the response when its status is 2xx, else raise.

        Long GETs are rewritten to ``POST`` with ``X-Http-Method-Override: GET`` and a form body,
        exactly as the Arvados SDK does, so URL length never limits a filter.
        """
        extra_headers = dict(headers or {})
        query = httpx.QueryParams(params) if params else None
        if method == "GET" and query:
            url = self._http.build_request("GET", path, params=query).url
            if len(str(url)) > MAX_GET_URL:
                method, content, query = "POST", str(query).encode(), None
                extra_headers["X-Http-Method-Override"] = "GET"
                extra_headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            response = self._http.request(
                method,
                path,
                params=query,
                json=json_body,
                content=content,
                headers=extra_headers or None,
                timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
            )
        except httpx.TransportError as exc:
            raise LinkbaseConnectionError(self.settings.url, _connection_reason(exc)) from exc
        except httpx.InvalidURL as exc:
            raise LinkbaseConfigError(f"invalid URL {self.settings.url!r}: {exc}") from exc
        if response.is_success:
            return response
        raise self._error(response)

    @staticmethod
    def _error(response: httpx.Response) -> LinkbaseAPIError:
        text = response.text
        try:
            body: Any = response.json()
        except ValueError:
            body = None
        messages, token = messages_from_body(
            response.status_code, body, text, response.reason_phrase
        )
        return LinkbaseAPIError(
            response.status_code,
            messages,
            error_token=token if isinstance(token, str) else None,
            body=body,
            method=response.request.method,
            url=str(response.request.url),
        )

    def request_json(
        self,
        method: str,
        path: str,
        *,
        params: QueryParams | None = None,
        json_body: Any = None,
        timeout: float | None = None,
    ) -> Any:
        """:meth:`request`, then decode the JSON body (``None`` for an empty one)."""
        response = self.request(
            method, path, params=params, json_body=json_body, timeout=timeout
        )
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise LinkbaseAPIError(
                response.status_code,
                [f"server sent a non-JSON response to {method} {path}"],
                method=method,
                url=str(response.request.url),
            ) from exc

    def get_json(self, path: str, *, params: QueryParams | None = None) -> Any:
        """GET and decode."""
        return self.request_json("GET", path, params=params)

    # -- operations and native API ---------------------------------------------------------

    def ping(self) -> Record:
        """``GET /_health/ping``: ``{"health": "OK"}`` when the server is up."""
        result: Record = self.get_json("/_health/ping")
        return result

    def get_permissions(self, uuid: str) -> Record:
        """Shortcut for :meth:`LinksAPI.get_permissions`."""
        return self.links.get_permissions(uuid)

    def explain(self, user: str | None, target: str) -> Record:
        """Why ``user`` (``None``: the caller) has the access it has on ``target``.

        Returns ``{"user_uuid", "target_uuid", "level", "path": [steps]}``: one path granting
        the effective level, so a surprising grant can be traced to the link causing it.
        """
        params = {"target": target}
        if user:
            params["user"] = user
        result: Record = self.get_json("/linkbase/v1/permissions/explain", params=params)
        return result

    def graph_neighbors(
        self,
        uuid: str,
        *,
        depth: int | None = None,
        direction: str | None = None,
        link_classes: Sequence[str] = (),
        limit: int | None = None,
    ) -> Record:
        """``GET /linkbase/v1/graph/neighbors``: the readable objects within ``depth`` links.

        Returns ``{"root", "nodes": [{uuid, kind, name, depth, ...}], "edges": [links],
        "truncated"}``.
        """
        params: list[tuple[str, str | int | float | bool | None]] = [("uuid", uuid)]
        params += _graph_params(depth=depth, direction=direction, limit=limit,
                                link_classes=link_classes, depth_name="depth")
        result: Record = self.get_json("/linkbase/v1/graph/neighbors", params=params)
        return result

    def graph_paths(
        self,
        source: str,
        target: str,
        *,
        max_depth: int | None = None,
        direction: str | None = None,
        link_classes: Sequence[str] = (),
        limit: int | None = None,
    ) -> Record:
        """``GET /linkbase/v1/graph/paths``: simple paths of readable links, shortest first.

        Returns ``{"paths": [{"nodes": [...], "links": [...]}], "nodes", "edges", "truncated"}``.
        """
        params: list[tuple[str, str | int | float | bool | None]] = [("from", source), ("to", target)]
        params += _graph_params(depth=max_depth, direction=direction, limit=limit,
                                link_classes=link_classes, depth_name="max_depth")
        result: Record = self.get_json("/linkbase/v1/graph/paths", params=params)
        return result

    def changes(
        self,
        *,
        after: str | None = None,
        filters: Sequence[Sequence[Any]] | str | None = None,
        limit: int | None = None,
    ) -> Record:
        """``GET /linkbase/v1/changes``: one page of the changes the caller may read after the
        cursor ``after`` (``"now"``: from now on); ``{"items", "cursor", "more"}``."""
        params: list[tuple[str, str | int | float | bool | None]] = []
        if after is not None:
            params.append(("after", after))
        if filters is not None:
            params.append(("filters", _jsonish(filters)))
        if limit is not None:
            params.append(("limit", limit))
        result: Record = self.get_json("/linkbase/v1/changes", params=params)
        return result

    def prune_logs(self, before: str) -> Record:
        """``POST /linkbase/v1/logs/prune``: delete log entries older than ``before`` (an ISO
        8601 time; admins only). Returns ``{"deleted", "before"}``."""
        result: Record = self.request_json("POST", "/linkbase/v1/logs/prune",
                                           params={"before": before})
        return result

    def watch(
        self,
        *,
        after: str | None = None,
        filters: Sequence[Sequence[Any]] | str | None = None,
        reconnect: bool = True,
    ) -> Iterator[Record]:
        """The changes the caller may read as they happen (``GET /linkbase/v1/changes/stream``,
        Server-Sent Events), forever. A dropped connection is reopened with ``Last-Event-ID``,
        so no change is lost or repeated (``reconnect=False``: end instead)."""
        params: list[tuple[str, str | int | float | bool | None]] = []
        if filters is not None:
            params.append(("filters", _jsonish(filters)))
        last = after
        while True:
            headers = {"Accept": "text/event-stream"}
            if last is not None:
                headers["Last-Event-ID"] = last
            try:
                with self._http.stream("GET", "/linkbase/v1/changes/stream", params=params,
                                       headers=headers, timeout=httpx.Timeout(
                                           30.0, read=None)) as response:
                    if not response.is_success:
                        response.read()
                        raise self._error(response)
                    data: list[str] = []
                    for line in response.iter_lines():
                        if line.startswith("data:"):
                            data.append(line[5:].lstrip())
                        elif line == "" and data:
                            change: Record = orjson.loads("\n".join(data))
                            data = []
                            last = str(change["cursor"])
                            yield change
            except httpx.TransportError as exc:
                if not reconnect:
                    raise LinkbaseConnectionError(self.settings.url,
                                                  _connection_reason(exc)) from exc
                time.sleep(1.0)
                continue
            if not reconnect:
                return
            time.sleep(0.2)

    def batch_links(
        self,
        links: Sequence[Mapping[str, Any] | orjson.Fragment],
        *,
        on_duplicate: OnDuplicate = "error",
        timeout: float | None = 300.0,
    ) -> Record:
        """Create (or update) many links in one transaction.

        Returns ``{"created", "updated", "skipped", "errors": [{"index", "error"}]}``. When
        ``errors`` is non-empty nothing of the batch was written. A link may be given already
        encoded, as an ``orjson.Fragment`` of one JSON object (``linkbase import`` sends the
        lines of its file that way, byte for byte).
        """
        body = orjson.dumps(
            {"links": links if isinstance(links, list) else list(links),
             "on_duplicate": on_duplicate},
            default=_mapping_as_dict,
        )
        response = self.request(
            "POST",
            "/linkbase/v1/links/batch",
            content=body,
            headers={"Content-Type": "application/json"},
            timeout=timeout,
        )
        try:
            result: Record = orjson.loads(response.content)
        except orjson.JSONDecodeError as exc:
            raise LinkbaseAPIError(
                response.status_code,
                ["server sent a non-JSON response to POST /linkbase/v1/links/batch"],
                method="POST",
                url=str(response.request.url),
            ) from exc
        return result

    # -- Laserfiche Repository v2 ----------------------------------------------------------

    @staticmethod
    def _odata(
        select: Sequence[str] | str | None,
        orderby: Sequence[str] | str | None,
        top: int | None,
        skip: int | None,
        count: bool | None,
    ) -> dict[str, str]:
        params: dict[str, str] = {}
        if select is not None:
            params["$select"] = select if isinstance(select, str) else ",".join(select)
        if orderby is not None:
            params["$orderby"] = orderby if isinstance(orderby, str) else ",".join(orderby)
        if top is not None:
            params["$top"] = str(top)
        if skip is not None:
            params["$skip"] = str(skip)
        if count is not None:
            params["$count"] = _bool_param(count)
        return params

    @staticmethod
    def _repo_path(repo: str) -> str:
        return f"/v2/Repositories/{_quote(repo)}"

    def list_repositories(self) -> Record:
        """``GET /v2/Repositories``: ``{"value": [{"id", "name", "webClientUrl"}]}``."""
        result: Record = self.get_json("/v2/Repositories")
        return result

    def get_entry(
        self, repo: str, entry_id: int, *, select: Sequence[str] | str | None = None
    ) -> Record:
        """One Laserfiche entry (Folder or Document)."""
        result: Record = self.get_json(
            f"{self._repo_path(repo)}/Entries/{int(entry_id)}",
            params=self._odata(select, None, None, None, None),
        )
        return result

    def get_entry_links(
        self,
        repo: str,
        entry_id: int,
        *,
        select: Sequence[str] | str | None = None,
        orderby: Sequence[str] | str | None = None,
        top: int | None = None,
        skip: int | None = None,
        count: bool | None = None,
    ) -> Record:
        """One page of an entry's links (``value``, ``@odata.nextLink``, ``@odata.count``)."""
        result: Record = self.get_json(
            f"{self._repo_path(repo)}/Entries/{int(entry_id)}/Links",
            params=self._odata(select, orderby, top, skip, count),
        )
        return result

    def iter_entry_links(self, repo: str, entry_id: int, **odata: Any) -> Iterator[Record]:
        """Every link of an entry, following ``@odata.nextLink``."""
        page = self.get_entry_links(repo, entry_id, **odata)
        while True:
            yield from page.get("value", [])
            next_link = page.get("@odata.nextLink")
            if not next_link:
                return
            page = self.request_json("GET", str(next_link))

    def set_entry_links(
        self, repo: str, entry_id: int, links: Sequence[Mapping[str, Any]]
    ) -> Record:
        """Replace the entry's links with ``links`` (``LinkToUpdate`` items); returns them all."""
        result: Record = self.request_json(
            "PUT",
            f"{self._repo_path(repo)}/Entries/{int(entry_id)}/Links",
            json_body={"links": [dict(link) for link in links]},
        )
        return result

    def list_link_definitions(
        self,
        repo: str,
        *,
        select: Sequence[str] | str | None = None,
        orderby: Sequence[str] | str | None = None,
        top: int | None = None,
        skip: int | None = None,
        count: bool | None = None,
    ) -> Record:
        """One page of the repository's link definitions."""
        result: Record = self.get_json(
            f"{self._repo_path(repo)}/LinkDefinitions",
            params=self._odata(select, orderby, top, skip, count),
        )
        return result

    def get_link_definition(
        self, repo: str, definition_id: int, *, select: Sequence[str] | str | None = None
    ) -> Record:
        """One link definition by id."""
        result: Record = self.get_json(
            f"{self._repo_path(repo)}/LinkDefinitions/{int(definition_id)}",
            params=self._odata(select, None, None, None, None),
        )
        return result
