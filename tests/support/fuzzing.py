"""Hypothesis strategies for requests to every route of every face, and a client that sends them
on one real keep-alive connection and tells a dropped connection from an answer.

Requests mix what a real client sends (the routes' own parameter names, attribute names,
operators, ids that exist, valid tokens of several users) with what an attacker sends (huge
and negative numbers, deep nesting, NUL and non-ASCII characters, wrong JSON types, malformed
bodies), so that both the validation and the code behind it are reached.
"""

from __future__ import annotations

import http.client
import json
import string
import time
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from linkbase.api.laserfiche import schemas
from linkbase.domain.query import OPERATORS
from linkbase.domain.resources import RESOURCES

FACES = ("arvados", "laserfiche", "native")
ARVADOS_RESOURCES = ("links", "users", "groups", "collections", "api_client_authorizations")


def arvados_routes() -> list[tuple[str, str]]:
    """Every (verb, path template) the Arvados face routes (spec §1.1); it has one catch-all
    framework route, so its table is spelled out here."""
    routes = [("GET", "/arvados/v1/computed_permissions"),
              ("GET", "/arvados/v1/permissions/{uuid}"),
              ("GET", "/arvados/v1/users/current"),
              ("GET", "/arvados/v1/api_client_authorizations/current")]
    for resource in ARVADOS_RESOURCES:
        base = f"/arvados/v1/{resource}"
        routes += [("GET", base), ("POST", base), ("GET", base + "/{uuid}"),
                   ("PUT", base + "/{uuid}"), ("PATCH", base + "/{uuid}"),
                   ("DELETE", base + "/{uuid}")]
    return routes


def face_of(path: str) -> str:
    if path.startswith(("/arvados/", "/discovery/")):
        return "arvados"
    if path.startswith(("/v1/", "/v2/", "/LFRepositoryAPI")):
        return "laserfiche"
    return "native"


@dataclass
class Known:
    """Values that exist in the fuzzed world, so requests reach past the 404s."""

    uuids: list[str] = field(default_factory=list)
    entry_ids: list[int] = field(default_factory=list)
    tokens: list[str | None] = field(default_factory=list)
    usernames: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class FuzzRequest:
    """One request: method, path (already encoded), query, headers, body."""

    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    headers: tuple[tuple[str, str], ...]
    body: bytes | None

    @property
    def target(self) -> str:
        return self.path + ("?" + urllib.parse.urlencode(self.query) if self.query else "")

    def __repr__(self) -> str:  # what hypothesis prints for a failing example
        body = (self.body or b"")[:300]
        return f"{self.method} {self.target[:500]} headers={self.headers} body={body!r}"


# -- values ------------------------------------------------------------------------------------

HOSTILE_INTS = st.sampled_from([0, -1, 1, 2**31 - 1, 2**31, 2**53, 2**53 + 1, 2**63 - 1, 2**63,
                                2**64, -(2**63) - 1, 10**30])
#: Text an attacker sends: any Unicode (NUL included) and long runs.
TEXT = st.one_of(
    st.text(max_size=20),
    st.text(alphabet=string.ascii_letters + string.digits + "-_ %\\/.:", max_size=40),
    st.sampled_from(["", "\x00", "a\x00b", "x" * 256, "x" * 5000, "é", "💥", "%", "\\", "null",
                     "[]", "{}", "true", "zzzzz-tpzed-000000000000000", "r-default",
                     "zzzzz-j7d0g-fffffffffffffff", "\u202e", "../..", "%00"]),
)
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), HOSTILE_INTS,
                    st.floats(allow_nan=False, allow_infinity=False), TEXT)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(TEXT, children, max_size=4)),
    max_leaves=12,
)


def nested(depth: int, leaf: Any = 1) -> Any:
    value = leaf
    for _ in range(depth):
        value = {"a": value}
    return value


DEEP = st.integers(1, 1200).map(nested)
ANY_JSON = st.one_of(JSON_VALUES, DEEP)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


@st.composite
def filters(draw: st.DrawFn) -> Any:
    """An Arvados ``filters`` value: mostly well-shaped conditions on real attributes."""
    resource = RESOURCES[draw(st.sampled_from(ARVADOS_RESOURCES))]
    attrs = [a.name for a in resource.attributes] + ["properties.a", "any", "head_kind", "nope"]
    ops = [*sorted(OPERATORS), "<>", "@@", "IN", "bogus"]
    condition = st.tuples(st.sampled_from(attrs), st.sampled_from(ops), ANY_JSON).map(list)
    return draw(st.one_of(st.lists(condition, max_size=4), ANY_JSON,
                          st.integers(0, 3000).map(lambda n: [["name", "=", "x"]] * n),
                          st.integers(0, 70_000).map(lambda n: [["uuid", "in", ["x"] * n]])))


def _encoded(value: Any) -> st.SearchStrategy[str]:
    return st.one_of(st.just(_dumps(value)), st.just(str(value)))


ARVADOS_PARAMS = {
    "filters": filters().flatmap(_encoded),
    "where": ANY_JSON.flatmap(_encoded),
    "order": st.one_of(st.lists(st.sampled_from(["name asc", "uuid desc", "created_at",
                                                 "nope", "properties.a asc"]), max_size=3)
                       .map(_dumps), TEXT),
    "select": st.one_of(st.lists(st.sampled_from(["uuid", "name", "kind", "etag", "nope",
                                                  "properties", "head_kind"]), max_size=4)
                        .map(_dumps), TEXT),
    "limit": st.one_of(HOSTILE_INTS.map(str), TEXT),
    "offset": st.one_of(HOSTILE_INTS.map(str), TEXT),
    "count": st.sampled_from(["exact", "none", "", "bogus"]),
    "distinct": st.sampled_from(["true", "false", "1", "x"]),
    "ensure_unique_name": st.sampled_from(["true", "false", "maybe"]),
    "cluster_id": st.sampled_from(["", "zzzzz", "other"]),
    "bypass_federation": st.sampled_from(["true", "false"]),
    "_method": st.sampled_from(["GET", "PUT", "PATCH", "DELETE", "POST", "x"]),
    "include_trash": st.sampled_from(["true", "no"]),
}
LASERFICHE_PARAMS = {
    "$top": st.one_of(HOSTILE_INTS.map(str), TEXT),
    "$skip": st.one_of(HOSTILE_INTS.map(str), TEXT),
    "$count": st.sampled_from(["true", "false", "x"]),
    "$orderby": st.one_of(st.lists(st.sampled_from([*schemas.LINK_PROPERTIES, "name desc",
                                                    "id asc", "nope"]),
                                   max_size=6).map(",".join), TEXT),
    "$select": st.one_of(st.lists(st.sampled_from([*schemas.ENTRY_PROPERTIES, "nope"]),
                                  max_size=4).map(",".join), TEXT),
    "fullPath": st.one_of(st.sampled_from(["\\", "\\f", "\\f\\d", "\\\x00"]), TEXT),
    "includeChildInfo": st.sampled_from(["true", "false", "x"]),
    "autoRename": st.sampled_from(["true", "false", "x"]),
}
NATIVE_PARAMS = {
    "uuid": TEXT, "from": TEXT, "to": TEXT, "user": TEXT, "target": TEXT,
    "depth": st.one_of(HOSTILE_INTS.map(str), TEXT),
    "max_depth": st.one_of(HOSTILE_INTS.map(str), TEXT),
    "limit": st.one_of(HOSTILE_INTS.map(str), TEXT),
    "direction": st.sampled_from(["in", "out", "both", "x"]),
    "link_class": TEXT,
}
PARAMS = {"arvados": ARVADOS_PARAMS, "laserfiche": LASERFICHE_PARAMS, "native": NATIVE_PARAMS}


@st.composite
def attributes(draw: st.DrawFn, names: Sequence[str]) -> dict[str, Any]:
    keys = draw(st.lists(st.sampled_from([*names, "nope"]), max_size=5, unique=True))
    return {key: draw(ANY_JSON) for key in keys}


def _resource_of(path: str) -> str:
    parts = path.split("/")
    return parts[3] if len(parts) > 3 and parts[3] in RESOURCES else "links"


@st.composite
def bodies(draw: st.DrawFn, face: str, path: str, known: Known) -> tuple[bytes | None, str]:
    """``(body, content type)`` for a request to ``path``."""
    uuid = st.one_of(st.sampled_from(known.uuids), TEXT)
    entry = st.one_of(st.sampled_from(known.entry_ids), HOSTILE_INTS, TEXT)
    if face == "arvados":
        resource = RESOURCES[_resource_of(path)]
        names = [a.name for a in resource.attributes]
        attrs = attributes(names)
        shaped = st.one_of(attrs.map(lambda a: {resource.wrapper: a}), attrs,
                           st.fixed_dictionaries({"link": st.fixed_dictionaries({
                               "link_class": st.sampled_from(["tag", "permission", "star",
                                                              "relation", "x"]),
                               "name": st.one_of(st.sampled_from(["can_read", "can_write",
                                                                  "can_manage"]), TEXT),
                               "head_uuid": uuid, "tail_uuid": uuid,
                               "properties": ANY_JSON})}))
    elif face == "laserfiche":
        link = st.fixed_dictionaries({
            "linkDefinitionId": st.one_of(st.integers(1, 4), HOSTILE_INTS, TEXT),
            "otherEntryId": entry, "isSource": st.one_of(st.booleans(), TEXT),
            "customProperties": st.one_of(st.none(), st.dictionaries(TEXT, TEXT, max_size=3),
                                          ANY_JSON)})
        shaped = st.one_of(
            st.fixed_dictionaries({"links": st.one_of(st.lists(link, max_size=4), ANY_JSON)}),
            st.fixed_dictionaries({"name": TEXT, "entryType": st.sampled_from(
                ["Folder", "Document", "Shortcut", "x"]), "autoRename": st.booleans(),
                "targetId": entry}),
            st.fixed_dictionaries({"parentId": entry, "name": TEXT}))
        if path.endswith("/Token"):
            form = st.fixed_dictionaries({
                "grant_type": st.sampled_from(["password", "client_credentials", ""]),
                "username": st.one_of(st.sampled_from(known.usernames), TEXT),
                "password": st.one_of(st.sampled_from([t or "" for t in known.tokens]), TEXT)})
            return draw(form.map(lambda f: (urllib.parse.urlencode(f).encode(),
                                            "application/x-www-form-urlencoded")))
    else:
        item = attributes([a.name for a in RESOURCES["links"].attributes])
        shaped = st.one_of(
            st.fixed_dictionaries({"links": st.lists(item, max_size=4),
                                   "on_duplicate": st.sampled_from(["error", "skip", "x"])}),
            st.fixed_dictionaries({"source_label": TEXT, "target_label": TEXT,
                                   "description": TEXT}),
            st.fixed_dictionaries({"id": TEXT, "name": TEXT}),
            st.fixed_dictionaries({"repository_id": st.sampled_from(["r-default", "x"]),
                                   "parent_entry_id": entry, "name": TEXT,
                                   "properties": ANY_JSON}))
    kind = draw(st.sampled_from(["none", "json", "json", "json", "raw", "form", "trailing",
                                 "large"]))
    if kind == "none":
        return None, ""
    if kind == "large":
        # Larger than the header limit and the server's read buffer, within the body limit
        # or over it: often answered (a refused token, a wrong verb) before it has all
        # arrived, and the connection must go on serving the next request.
        size = draw(st.sampled_from([200_000, 900_000, 2_000_000]))
        value = draw(st.one_of(shaped, st.just({})))
        large = {**value, "name": "x" * size} if isinstance(value, dict) else {"name": "x" * size}
        return _dumps(large).encode("utf-8", "surrogatepass"), "application/json"
    if kind == "raw":
        return draw(st.binary(max_size=64)), draw(st.sampled_from(
            ["application/json", "text/plain", "", "application/x-www-form-urlencoded"]))
    value = draw(st.one_of(shaped, shaped, ANY_JSON))
    text = _dumps(value)
    if kind == "form" and isinstance(value, dict):
        form = {k: v if isinstance(v, str) else _dumps(v) for k, v in value.items()}
        return urllib.parse.urlencode(form).encode(), "application/x-www-form-urlencoded"
    if kind == "trailing":
        text = text.replace("}", ",}").replace("]", ",]")
    return text.encode("utf-8", "surrogatepass"), "application/json"


@st.composite
def requests(draw: st.DrawFn, face: str, routes: Sequence[tuple[str, str]],
             known: Known) -> FuzzRequest:
    """A request to one of ``routes`` (method, template) of ``face``."""
    method, template = draw(st.sampled_from(list(routes)))
    if draw(st.integers(0, 9)) == 0:  # now and then, a verb the route does not take
        method = draw(st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD",
                                       "OPTIONS"]))
    values = {
        "uuid": st.one_of(st.sampled_from(known.uuids), TEXT),
        "entryId": st.one_of(st.sampled_from(known.entry_ids).map(str),
                             HOSTILE_INTS.map(str), TEXT),
        "repositoryId": st.one_of(st.just("r-default"), TEXT),
        "linkDefinitionId": st.one_of(st.integers(1, 4).map(str), HOSTILE_INTS.map(str), TEXT),
    }
    values["entry_id"], values["repository_id"] = values["entryId"], values["repositoryId"]
    path = template
    for name, strategy in values.items():
        if "{" + name + "}" in path:
            raw = draw(strategy)
            path = path.replace("{" + name + "}", urllib.parse.quote(raw, safe="") or "x")
    if draw(st.integers(0, 19)) == 0:
        path += "/"
    params = PARAMS[face]
    chosen = draw(st.lists(st.sampled_from(sorted(params)), max_size=4, unique=True))
    query = tuple((name, draw(params[name])) for name in chosen)
    headers = [("Accept", "application/json")]
    token = draw(st.sampled_from(known.tokens))
    if token is not None:
        scheme = draw(st.sampled_from(["Bearer", "OAuth2", "bearer"]))
        headers.append(("Authorization", f"{scheme} {token}"))
    if face == "arvados" and draw(st.integers(0, 9)) == 0:
        headers.append(("X-Http-Method-Override", draw(st.sampled_from(["GET", "DELETE",
                                                                         "x"]))))
    if face == "laserfiche" and draw(st.booleans()):
        headers.append(("Prefer", draw(st.sampled_from(["maxpagesize=2", "odata.maxpagesize=0",
                                                          "maxpagesize=999999999999", "",
                                                          "x"]))))
    body = None
    if method in ("POST", "PUT", "PATCH"):
        body, content_type = draw(bodies(face, template, known))
        if content_type:
            headers.append(("Content-Type", content_type))
    return FuzzRequest(method, path, query, tuple(headers), body)


# -- sending -----------------------------------------------------------------------------------


class DroppedConnection(AssertionError):
    """The server closed or reset the connection without answering."""


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


class KeepAliveClient:
    """Sends requests on one connection; reconnects only when the server said it would close."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.conn: http.client.HTTPConnection | None = None
        self.sent = 0
        self.last_used = 0.0
        #: Half the server's default keep-alive timeout (5 s).
        self.idle_limit = 2.5

    def send(self, request: FuzzRequest) -> Answer:
        if self.conn is not None and time.monotonic() - self.last_used > self.idle_limit:
            # The server closes idle kept-alive connections (by design, after its keep-alive
            # timeout); a real client reconnects rather than reuse one that may be closing.
            self.conn.close()
            self.conn = None
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        try:
            self.conn.request(request.method, request.target, body=request.body,
                              headers=dict(request.headers))
            resp = self.conn.getresponse()
            body = resp.read()
        except (http.client.HTTPException, OSError) as exc:
            self.conn.close()
            self.conn = None
            raise DroppedConnection(f"{type(exc).__name__}: {exc} on {request!r}") from exc
        self.sent += 1
        self.last_used = time.monotonic()
        headers = {k.lower(): v for k, v in resp.getheaders()}
        if headers.get("connection", "").lower() == "close":
            self.conn.close()
            self.conn = None
        return Answer(resp.status, headers, body)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
