"""Bad input on every Arvados endpoint: the right 401/403/404/422, an Arvados error body, never a
5xx, and nothing written (spec §1.2, §1.3, §1.4, §1.6, §3).

One app per backend is shared by the whole module: every case must leave every table exactly as
it found it, which each case checks with a digest of all rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from linkbase.api.app import create_app
from linkbase.settings import Settings
from tests.api.arvados.conftest import (
    ALL_USERS,
    ANON_USER,
    PUBLIC_FAVORITES,
    ROOT_TOKEN,
    SYSTEM_USER,
    Api,
    assert_error,
    table_snapshot,
)
from tests.support.databases import BACKENDS, fresh_database_url

MAX_BODY = 64 * 1024
JSON_HEADERS = {"Content-Type": "application/json"}


@dataclass
class World:
    """A shared database with a few objects of every kind and tokens of every flavour."""

    app: FastAPI
    api: Api
    ids: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, str | None] = field(default_factory=dict)


@pytest.fixture(scope="module", params=BACKENDS)
def world(request: pytest.FixtureRequest,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    backend = str(request.param)
    url = fresh_database_url(backend, tmp_path_factory.mktemp(f"bad-{backend}"))
    app = create_app(Settings(database_url=url, system_root_token=ROOT_TOKEN,
                              max_request_bytes=MAX_BODY))
    with TestClient(app) as client:
        api = Api(client)
        user, user_token = api.new_user()
        other, _ = api.new_user()
        inactive, inactive_token = api.new_user(is_active=False)
        project = api.create("groups", "group", {"group_class": "project", "name": "p"})
        user_project = api.create("groups", "group", {"group_class": "project", "name": "up",
                                                      "owner_uuid": user["uuid"]})
        role = api.create("groups", "group", {"group_class": "role", "name": "r"})
        coll = api.create("collections", "collection", {"owner_uuid": project["uuid"],
                                                        "name": "c"})
        hidden = api.create("collections", "collection", {"name": "hidden"})
        other_project = api.create("groups", "group", {"group_class": "project", "name": "op",
                                                       "owner_uuid": other["uuid"]})
        link = api.link(link_class="tag", name="t", head_uuid=coll["uuid"])
        grant = api.link(link_class="permission", name="can_read", tail_uuid=user["uuid"],
                         head_uuid=project["uuid"])
        token = api.create("api_client_authorizations", "api_client_authorization",
                           {"owner_uuid": user["uuid"]})
        expired = api.create("api_client_authorizations", "api_client_authorization",
                             {"owner_uuid": user["uuid"],
                              "expires_at": "2001-01-01T00:00:00Z"})
        scoped = api.create("api_client_authorizations", "api_client_authorization",
                            {"owner_uuid": user["uuid"],
                             "scopes": ["GET /arvados/v1/users/current"]})
        w = World(app, api)
        w.ids = {
            "user": user["uuid"], "other": other["uuid"], "inactive": inactive["uuid"],
            "project": project["uuid"], "user_project": user_project["uuid"],
            "role": role["uuid"], "collection": coll["uuid"], "link": link["uuid"],
            "grant": grant["uuid"], "token": token["uuid"], "hidden": hidden["uuid"],
            "other_project": other_project["uuid"],
            "system_user": SYSTEM_USER, "all_users": ALL_USERS, "anon_user": ANON_USER,
            "favorites": PUBLIC_FAVORITES,
        }
        w.tokens = {
            "root": ROOT_TOKEN,
            "user": user_token,
            "inactive": inactive_token,
            "none": None,
            "unknown": "thisisnotatokenthisisnotatokenthisisnotatoken1234",
            "v2-mismatch": f"v2/{expired['uuid']}/{token['api_token']}",
            "v2-malformed": f"v2/{token['api_token']}",
            "v2-root-mismatch": f"v2/{token['uuid']}/{ROOT_TOKEN}",
            "expired": expired["api_token"],
            "expired-v2": f"v2/{expired['uuid']}/{expired['api_token']}",
            "scoped": scoped["api_token"],
        }
        yield w
    app.state.services.db.dispose()


@dataclass(frozen=True)
class Case:
    """One request and the status it must get."""

    id: str
    method: str
    path: str
    status: int
    token: str = "root"
    params: dict[str, str] | None = None
    json: Any = None
    content: bytes | None = None
    headers: dict[str, str] | None = None


def run_case(world: World, case: Case) -> list[str]:
    """Send ``case``, check the error body and that no table changed."""
    before = table_snapshot(world.app)
    path = case.path.format(**world.ids)
    token = world.tokens.get(case.token, case.token)
    kwargs: dict[str, Any] = {}
    if case.params is not None:
        kwargs["params"] = case.params
    if case.json is not None:
        kwargs["json"] = case.json
    if case.content is not None:
        kwargs["content"] = case.content
    headers = dict(case.headers or {})
    if token is None:
        resp = world.api.client.request(case.method, "/arvados/v1/" + path, headers=headers,
                                        **kwargs)
    else:
        resp = world.api.call(case.method, path, token=token, headers=headers, **kwargs)
    messages = assert_error(resp, case.status)
    assert table_snapshot(world.app) == before, "a refused request wrote to the database"
    return messages


# -- the catalogue ------------------------------------------------------------------------------

RESOURCES = {
    "links": ("link", "link"),
    "users": ("user", "other"),
    "groups": ("group", "project"),
    "collections": ("collection", "collection"),
    "api_client_authorizations": ("api_client_authorization", "token"),
}
UPDATABLE = [r for r in RESOURCES if r != "api_client_authorizations"]


def endpoints() -> list[tuple[str, str, str]]:
    """(name, method, path) of every authenticated endpoint, with a valid target."""
    out: list[tuple[str, str, str]] = []
    for res, (_, target) in RESOURCES.items():
        out += [
            (f"{res}.list", "GET", res),
            (f"{res}.create", "POST", res),
            (f"{res}.get", "GET", f"{res}/{{{target}}}"),
            (f"{res}.delete", "DELETE", f"{res}/{{{target}}}"),
        ]
        if res in UPDATABLE:
            out.append((f"{res}.update", "PUT", f"{res}/{{{target}}}"))
            out.append((f"{res}.patch", "PATCH", f"{res}/{{{target}}}"))
    out += [
        ("links.get_permissions", "GET", "permissions/{project}"),
        ("users.current", "GET", "users/current"),
        ("api_client_authorizations.current", "GET", "api_client_authorizations/current"),
    ]
    return out


def auth_cases() -> list[Case]:
    """Every endpoint with every kind of invalid token: 401."""
    cases: list[Case] = []
    for name, method, path in endpoints():
        body = {RESOURCES.get(name.split(".")[0], ("link",))[0]: {}} if method in (
            "POST", "PUT", "PATCH") else None
        for token in ("none", "unknown", "v2-mismatch", "v2-malformed", "v2-root-mismatch",
                      "expired", "expired-v2"):
            cases.append(Case(f"{name}-{token}", method, path, 401, token=token, json=body))
    bad = [
        Case("bearer-empty", "GET", "links", 401, headers={"Authorization": "Bearer "}),
        Case("basic-scheme", "GET", "links", 401, headers={"Authorization": f"Basic {ROOT_TOKEN}"}),
        Case("api_token-param-unknown", "GET", "links", 401, token="none",
             params={"api_token": "nope"}),
        Case("api_token-param-expired-form", "POST", "links", 401, token="none",
             content=b"_method=GET&api_token=nope",
             headers={"Content-Type": "application/x-www-form-urlencoded"}),
    ]
    return cases + bad


def scope_cases() -> list[Case]:
    """A token scoped to ``GET /arvados/v1/users/current`` may do nothing else: 403."""
    return [Case(f"scoped-{name}", method, path, 403, token="scoped",
                 json={RESOURCES[name.split('.')[0]][0]: {}}
                 if method in ("POST", "PUT", "PATCH") else None)
            for name, method, path in endpoints()
            if name not in ("users.current", "api_client_authorizations.current")]


def body_cases() -> list[Case]:
    """Malformed bodies, wrappers, attribute types and unknown attributes: 422."""
    cases: list[Case] = []
    raw_bodies = {
        "bad-json": b'{"W": {',
        "json-array": b"[1, 2]",
        "json-string": b'"text"',
        "json-trailing": b'{"W": {}} x',
        "lone-surrogate": b'{"W": {"name": "\\ud800"}}',
        "infinite-number": b'{"W": {"properties": {"x": 1e400}}}',
        "nan": b'{"W": {"properties": {"x": NaN}}}',
        "bad-utf8": b'{"W": {"name": "\xff\xfe"}}',
    }
    for res, (wrapper, target) in RESOURCES.items():
        writes = [("create", "POST", res)]
        if res in UPDATABLE:
            writes.append(("update", "PUT", f"{res}/{{{target}}}"))
        for action, method, path in writes:
            for key, raw in raw_bodies.items():
                cases.append(Case(f"{res}.{action}-{key}", method, path, 422,
                                  content=raw.replace(b"W", wrapper.encode()),
                                  headers=JSON_HEADERS))
            for key, value in {"list": [1], "number": 5, "bad-string": "not json",
                               "string-array": "[1]", "true": True}.items():
                cases.append(Case(f"{res}.{action}-wrapper-{key}", method, path, 422,
                                  json={wrapper: value}))
            cases.append(Case(f"{res}.{action}-form-wrapper-bad", method, path, 422,
                              content=f"{wrapper}=%7Bnope".encode(),
                              headers={"Content-Type": "application/x-www-form-urlencoded"}))
            cases.append(Case(f"{res}.{action}-unknown-attr", method, path, 422,
                              json={wrapper: {"no_such_attribute": 1}}))
            cases.append(Case(f"{res}.{action}-unsupported-type", method, path, 422,
                              content=b"<xml/>", headers={"Content-Type": "text/xml"}))
            cases.append(Case(f"{res}.{action}-oversized", method, path, 422,
                              json={wrapper: {"name": "x" * (MAX_BODY + 10)}}))
    wrong_types: dict[str, list[tuple[str, Any]]] = {
        "links": [("name", 5), ("link_class", ["a"]), ("properties", []), ("properties", "x"),
                  ("head_uuid", 5), ("tail_uuid", {"a": 1}), ("owner_uuid", False),
                  ("name", "bad\u0000nul"), ("properties", {"k": "nul\u0000"})],
        "users": [("email", 5), ("is_admin", "yes"), ("is_active", 1), ("prefs", []),
                  ("first_name", ["x"]), ("username", 7), ("username", "1bad"),
                  ("username", "bad name")],
        "groups": [("name", 5), ("group_class", 5), ("properties", []),
                   ("description", {}), ("name", "a/b"), ("name", "..")],
        "collections": [("manifest_text", 5), ("name", []), ("properties", "x"),
                        ("portable_data_hash", 5), ("name", "a/b"),
                        ("portable_data_hash", "00000000000000000000000000000000+1"),
                        ("description", True)],
    }
    for res, pairs in wrong_types.items():
        wrapper, target = RESOURCES[res]
        for i, (attr, value) in enumerate(pairs):
            cases.append(Case(f"{res}.create-type-{attr}-{i}", "POST", res, 422,
                              json={wrapper: {**_minimal(res), attr: value}}))
            cases.append(Case(f"{res}.update-type-{attr}-{i}", "PUT", f"{res}/{{{target}}}", 422,
                              json={wrapper: {attr: value}}))
    token_bad: list[tuple[str, Any]] = [
        ("scopes", "all"), ("scopes", [1]), ("scopes", ["DANCE /x"]), ("scopes", ["GET x"]),
        ("expires_at", 5), ("expires_at", "not a time"), ("owner_uuid", 5),
        ("owner_uuid", "zzzzz-tpzed-000000000000999"), ("uuid", "zzzzz-o0j2j-000000000000999"),
        ("uuid", "not-a-uuid"), ("uuid", "zzzzz-gj3su-000000000000000"), ("uuid", "{token}"),
    ]
    for i, (attr, value) in enumerate(token_bad):
        cases.append(Case(f"api_client_authorizations.create-{attr}-{i}", "POST",
                          "api_client_authorizations", 422,
                          json={"api_client_authorization": {attr: value}}))
    # Immutable and ill-formed uuids, owner references, group classes.
    cases += [
        Case("links.update-uuid-change", "PUT", "links/{link}", 422,
             json={"link": {"uuid": "zzzzz-o0j2j-000000000000999"}}),
        Case("groups.update-class-change", "PUT", "groups/{project}", 422,
             json={"group": {"group_class": "role"}}),
        Case("groups.create-no-class", "POST", "groups", 422, json={"group": {"name": "x"}}),
        Case("groups.create-bad-class", "POST", "groups", 422,
             json={"group": {"group_class": "folder"}}),
        Case("groups.create-name-taken", "POST", "groups", 422,
             json={"group": {"group_class": "project", "name": "p"}}),
        Case("collections.create-unknown-owner", "POST", "collections", 422,
             json={"collection": {"owner_uuid": "zzzzz-j7d0g-000000000000999"}}),
        Case("links.create-unknown-head", "POST", "links", 422,
             json={"link": {"link_class": "tag", "head_uuid": "zzzzz-4zz18-000000000000999"}}),
        Case("links.create-bad-permission-name", "POST", "links", 422,
             json={"link": {"link_class": "permission", "name": "can_fly",
                            "tail_uuid": "{user}", "head_uuid": ALL_USERS}}),
        Case("links.create-permission-no-tail", "POST", "links", 422,
             json={"link": {"link_class": "permission", "name": "can_read",
                            "head_uuid": ALL_USERS}}),
        Case("links.create-head-kind-mismatch", "POST", "links", 422,
             json={"link": {"link_class": "tag", "head_uuid": ALL_USERS,
                            "head_kind": "arvados#user"}}),
        Case("links.create-name-class", "POST", "links", 422,
             json={"link": {"link_class": "name", "name": "x"}}),
        Case("links.update-permission-head", "PUT", "links/{grant}", 422,
             json={"link": {"head_uuid": ALL_USERS}}),
        Case("links.create-uuid-by-admin-wrong-infix", "POST", "links", 422,
             json={"link": {"link_class": "tag", "uuid": "zzzzz-4zz18-000000000000999"}}),
        Case("links.create-uuid-by-user", "POST", "links", 422, token="user",
             json={"link": {"link_class": "tag", "uuid": "zzzzz-o0j2j-000000000000999"}}),
        Case("links.create-uuid-in-use", "POST", "links", 422,
             json={"link": {"link_class": "tag", "uuid": "{link}"}}),
        Case("groups.create-uuid-by-user", "POST", "groups", 422, token="user",
             json={"group": {"group_class": "project", "uuid": "zzzzz-j7d0g-000000000000999"}}),
        Case("collections.create-uuid-by-user", "POST", "collections", 422, token="user",
             json={"collection": {"uuid": "zzzzz-4zz18-000000000000999"}}),
        Case("tokens.create-uuid-by-user", "POST", "api_client_authorizations", 422,
             token="user", json={"api_client_authorization": {
                 "uuid": "zzzzz-gj3su-000000000000999"}}),
        Case("users.create-admin-inactive", "POST", "users", 422,
             json={"user": {"is_admin": True, "is_active": False}}),
        Case("users.create-username-taken", "POST", "users", 422,
             json={"user": {"username": "root"}}),
        Case("users.update-system-deactivate", "PUT", "users/{system_user}", 422,
             json={"user": {"is_active": False}}),
        Case("users.delete-owner-of-project", "DELETE", "users/{user}", 422),
    ]
    return cases


def _minimal(res: str) -> dict[str, Any]:
    return {"groups": {"group_class": "project"}}.get(res, {})


LIST_BAD: list[tuple[str, dict[str, str]]] = [
    ("filters-not-json", {"filters": "[[nope"}),
    ("filters-object", {"filters": '{"a": 1}'}),
    ("filters-string", {"filters": '"uuid"'}),
    ("filters-short", {"filters": '[["uuid", "="]]'}),
    ("filters-flat", {"filters": '["uuid", "=", "x"]'}),
    ("filters-attr-number", {"filters": '[[1, "=", "x"]]'}),
    ("filters-unknown-attr", {"filters": '[["nope", "=", "x"]]'}),
    ("filters-unknown-op", {"filters": '[["uuid", "~", "x"]]'}),
    ("filters-diamond", {"filters": '[["uuid", "<>", "x"]]'}),
    ("filters-fulltext", {"filters": '[["uuid", "@@", "x"]]'}),
    ("filters-in-scalar", {"filters": '[["uuid", "in", "x"]]'}),
    ("filters-eq-object", {"filters": '[["uuid", "=", {"a": 1}]]'}),
    ("filters-bad-time", {"filters": '[["created_at", "<", "yesterday"]]'}),
    ("filters-like-on-time", {"filters": '[["created_at", "like", "2%"]]'}),
    ("filters-subprop-on-string", {"filters": '[["uuid.x", "=", "x"]]'}),
    ("filters-nul", {"filters": '[["uuid", "=", "a\\u0000b"]]'}),
    ("filters-any-bad-op", {"filters": '[["any", "<", "x"]]'}),
    ("where-array", {"where": "[1]"}),
    ("where-not-json", {"where": "{nope"}),
    ("order-numbers", {"order": "[1, 2]"}),
    ("order-bad-json", {"order": "[nope"}),
    ("select-unknown", {"select": '["nope"]'}),
    ("select-string", {"select": '"uuid"'}),
    ("select-numbers", {"select": "[1]"}),
    ("select-bad-json", {"select": "[nope"}),
    ("limit-negative", {"limit": "-1"}),
    ("limit-word", {"limit": "ten"}),
    ("limit-float", {"limit": "1.5"}),
    ("offset-negative", {"offset": "-5"}),
    ("offset-word", {"offset": "x"}),
    ("count-bad", {"count": "maybe"}),
    ("distinct-bad", {"distinct": "maybe"}),
    ("cluster-other", {"cluster_id": "yyyyy"}),
]


def list_cases() -> list[Case]:
    """Bad list params on every list: 422 (bypass_federation by a non-admin: 403)."""
    cases = [Case(f"{res}.list-{key}", "GET", res, 422, params=params)
             for res in RESOURCES for key, params in LIST_BAD]
    cases += [Case(f"{res}.list-{key}", "GET", res, 422, json=body)
              for res in RESOURCES
              for key, body in (("json-filters-object", {"filters": {"a": 1}}),
                                ("json-limit-negative", {"limit": -3}),
                                ("json-order-object", {"order": {"a": 1}}),
                                ("json-order-number", {"order": 5}),
                                ("json-limit-bool", {"limit": True}),
                                ("json-select-object", {"select": {"a": 1}}))]
    cases += [Case(f"{res}.list-bypass-federation-user", "GET", res, 403, token="user",
                   params={"bypass_federation": "true"}) for res in RESOURCES]
    cases += [
        Case("groups.list-include-trash-bad", "GET", "groups", 422,
             params={"include_trash": "maybe"}),
        Case("collections.list-include-old-bad", "GET", "collections", 422,
             params={"include_old_versions": "2"}),
        Case("links.get-select-unknown", "GET", "links/{link}", 422, params={"select": '["x"]'}),
        Case("links.create-select-unknown", "POST", "links", 422,
             params={"select": '["x"]'}, json={"link": {"link_class": "tag"}}),
        Case("links.create-ensure-unique-bad", "POST", "links", 422,
             params={"ensure_unique_name": "maybe"}, json={"link": {"link_class": "tag"}}),
        Case("links.create-cluster-other", "POST", "links", 422,
             params={"cluster_id": "yyyyy"}, json={"link": {"link_class": "tag"}}),
    ]
    return cases


MISSING = {
    "links": "zzzzz-o0j2j-000000000000999",
    "users": "zzzzz-tpzed-000000000000999",
    "groups": "zzzzz-j7d0g-000000000000999",
    "collections": "zzzzz-4zz18-000000000000999",
    "api_client_authorizations": "zzzzz-gj3su-000000000000999",
}


def not_found_cases() -> list[Case]:
    """Unknown, garbage, invisible uuids and unknown routes or verbs: 404."""
    cases: list[Case] = []
    for res, (wrapper, _) in RESOURCES.items():
        for label, uuid in (("missing", MISSING[res]), ("garbage", "not-a-uuid"),
                            ("other-kind", MISSING["links" if res != "links" else "users"])):
            cases.append(Case(f"{res}.get-{label}", "GET", f"{res}/{uuid}", 404))
            cases.append(Case(f"{res}.delete-{label}", "DELETE", f"{res}/{uuid}", 404))
            if res in UPDATABLE:
                cases.append(Case(f"{res}.update-{label}", "PUT", f"{res}/{uuid}", 404,
                                  json={wrapper: {}}))
    cases += [
        Case("permissions-missing", "GET", f"permissions/{MISSING['groups']}", 404),
        Case("aca.update-no-method", "PUT", "api_client_authorizations/{token}", 404,
             json={"api_client_authorization": {}}),
        Case("aca.patch-no-method", "PATCH", "api_client_authorizations/{token}", 404,
             json={"api_client_authorization": {}}),
        Case("unknown-resource", "GET", "widgets", 404),
        Case("too-deep", "GET", "links/{link}/extra", 404),
        Case("put-on-collection-path", "PUT", "links", 404, json={"link": {}}),
        Case("delete-on-collection-path", "DELETE", "links", 404),
        Case("post-on-item", "POST", "links/{link}", 404, json={"link": {}}),
        Case("empty-path", "GET", "", 404),
        # Invisible to the plain user: 404, never 403.
        Case("user-get-invisible-link", "GET", "links/{link}", 404, token="user"),
        Case("user-update-invisible-coll", "PUT", "collections/{hidden}", 404,
             token="user", json={"collection": {"name": "x"}}),
        Case("user-delete-invisible-token", "DELETE", "api_client_authorizations/{token}", 404,
             token="inactive"),
        Case("user-permissions-invisible", "GET", "permissions/{hidden}", 404, token="user"),
        Case("user-get-invisible-coll", "GET", "collections/{hidden}", 404, token="user"),
        Case("user-delete-invisible-coll", "DELETE", "collections/{hidden}", 404, token="user"),
        Case("user-get-invisible-project", "GET", "groups/{other_project}", 404, token="user"),
    ]
    return cases


def forbidden_cases() -> list[Case]:
    """Authenticated but not allowed: 403."""
    return [
        Case("user-creates-user", "POST", "users", 403, token="user",
             json={"user": {"email": "x@example.com"}}),
        Case("user-deletes-user", "DELETE", "users/{other}", 403, token="user"),
        Case("user-updates-other-user", "PUT", "users/{other}", 403, token="user",
             json={"user": {"first_name": "X"}}),
        Case("user-changes-own-email", "PUT", "users/{user}", 403, token="user",
             json={"user": {"email": "new@example.com"}}),
        Case("user-token-for-other", "POST", "api_client_authorizations", 403, token="user",
             json={"api_client_authorization": {"owner_uuid": "{other}"}}),
        Case("user-writes-read-only-project", "PUT", "groups/{project}", 403, token="user",
             json={"group": {"name": "renamed"}}),
        Case("user-deletes-read-only-project", "DELETE", "groups/{project}", 403, token="user"),
        Case("user-creates-in-read-only-project", "POST", "collections", 403, token="user",
             json={"collection": {"owner_uuid": "{project}"}}),
        Case("user-grants-on-read-only-project", "POST", "links", 403, token="user",
             json={"link": {"link_class": "permission", "name": "can_read",
                            "tail_uuid": "{user}", "head_uuid": "{project}"}}),
        Case("user-deletes-own-grant", "DELETE", "links/{grant}", 403, token="user"),
        Case("user-upgrades-own-grant", "PUT", "links/{grant}", 403, token="user",
             json={"link": {"name": "can_manage"}}),
        Case("user-get-permissions-read-only", "GET", "permissions/{project}", 403,
             token="user"),
        Case("user-modifies-role", "PUT", "groups/{role}", 403, token="user",
             json={"group": {"name": "x"}}),
        Case("user-owner-role", "POST", "collections", 403, token="user",
             json={"collection": {"owner_uuid": "{role}"}}),
        Case("inactive-creates-link", "POST", "links", 403, token="inactive",
             json={"link": {"link_class": "tag"}}),
        Case("inactive-creates-project", "POST", "groups", 403, token="inactive",
             json={"group": {"group_class": "project"}}),
        Case("admin-deletes-system-user", "DELETE", "users/{system_user}", 403),
        Case("admin-deletes-anonymous", "DELETE", "users/{anon_user}", 403),
        Case("admin-deletes-all-users", "DELETE", "groups/{all_users}", 403),
        Case("admin-deletes-favorites", "DELETE", "groups/{favorites}", 403),
        Case("user-update-bypass-federation", "PUT", "users/{user}", 403, token="user",
             params={"bypass_federation": "1"}, json={"user": {}}),
    ]


ALL_CASES = (auth_cases() + scope_cases() + body_cases() + list_cases() + not_found_cases()
             + forbidden_cases())


def _resolve(world: World, case: Case) -> Case:
    """Fill ``{name}`` placeholders inside JSON bodies too."""
    if case.json is None:
        return case
    text = json.dumps(case.json)
    for key, value in world.ids.items():
        text = text.replace("{" + key + "}", value)
    return Case(**{**case.__dict__, "json": json.loads(text)})


@pytest.mark.parametrize("case", ALL_CASES, ids=[c.id for c in ALL_CASES])
def test_bad_input(world: World, case: Case) -> None:
    run_case(world, _resolve(world, case))


def test_case_ids_are_unique() -> None:
    ids = [c.id for c in ALL_CASES]
    assert len(ids) == len(set(ids))


def test_get_permissions_forbidden_message_is_bare(world: World) -> None:
    messages = run_case(world, Case("gp", "GET", "permissions/{project}", 403, token="user"))
    assert messages == ["Forbidden"]


def test_messages_carry_request_id(world: World) -> None:
    resp = world.api.call("GET", "links/" + MISSING["links"], headers={"X-Request-Id": "abc-1"})
    assert assert_error(resp, 404) == ["Path not found (abc-1)"]
    resp = world.api.call("GET", "links", token=None)
    messages = assert_error(resp, 401)
    assert messages[0].startswith("Not logged in (req-")


@pytest.mark.parametrize("params", [
    {"order": '["nope asc", "name sideways", "properties", "uuid desc extra", "name desc"]'},
    {"order": "nope, name desc"},
    {"order": '"name desc"'},
    {"limit": "99999999999999999999"},
    {"offset": str(2**53)},  # the largest allowed (spec §1.3)
    {"filters": '[["name", "like", "%"], ["uuid", "not in", []]]', "unknown_param": "x",
     "alt": "json"},
    {"filters": "", "order": "", "select": "", "where": "", "count": ""},
    {"filters": "null", "where": "null", "select": "[]"},
])
def test_tolerated_list_params_are_not_errors(world: World, params: dict[str, str]) -> None:
    """Invalid order entries are dropped (§3.5), unknown params ignored, "" means absent."""
    before = table_snapshot(world.app)
    resp = world.api.call("GET", "links", params=params)
    assert resp.status_code == 200, resp.text
    assert resp.json()["kind"] == "arvados#linkList"
    assert table_snapshot(world.app) == before
