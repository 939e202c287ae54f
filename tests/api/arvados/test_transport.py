"""Transport rules of the Arvados face (spec §1.1–§1.5, §3.1, §11), in-process, both backends."""

from __future__ import annotations

import json
from typing import Any

import pytest

from linkbase.domain.timestamps import parse_timestamp
from tests.api.arvados.conftest import (
    REQUEST_ID_RE,
    ROOT_TOKEN,
    SYSTEM_USER,
    TIMESTAMP_RE,
    Api,
    assert_error,
    table_snapshot,
)

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _links(api: Api, n: int, link_class: str = "tag") -> list[dict[str, Any]]:
    return [api.link(link_class=link_class, name=f"n{i}") for i in range(n)]


def _count(api: Api) -> int:
    return int(api.ok("GET", "links", params={"limit": "0"})["items_available"])


# -- authentication -----------------------------------------------------------------------------


def test_token_forms(api: Api) -> None:
    user, v2 = api.new_user()
    secret = v2.split("/")[2]
    forms: list[dict[str, Any]] = [
        {"headers": {"Authorization": f"Bearer {secret}"}},
        {"headers": {"Authorization": f"Bearer {v2}"}},
        {"headers": {"Authorization": f"OAuth2 {secret}"}},
        {"headers": {"Authorization": f"oauth2 {v2}"}},
        {"headers": {"Authorization": f"bearer {secret}"}},
        {"params": {"api_token": secret}},
        {"params": {"oauth_token": v2}},
        {"content": f"api_token={secret}".encode(), "headers": FORM, "method": "POST",
         "path": "users/current", "override": "GET"},
    ]
    for form in forms:
        method = form.pop("method", "GET")
        path = form.pop("path", "users/current")
        override = form.pop("override", None)
        headers = dict(form.pop("headers", {}))
        if override:
            headers["X-Http-Method-Override"] = override
        resp = api.call(method, path, token=None, headers=headers, **form)
        assert resp.status_code == 200, (form, resp.text)
        assert resp.json()["uuid"] == user["uuid"]


def test_header_token_wins_over_param(api: Api) -> None:
    resp = api.call("GET", "users/current", params={"api_token": "garbage"})
    assert resp.json()["uuid"] == SYSTEM_USER
    resp = api.call("GET", "users/current", token="garbage", params={"api_token": ROOT_TOKEN})
    assert_error(resp, 401)


def test_v2_token_must_match_its_record(api: Api) -> None:
    _, v2 = api.new_user()
    _, other_v2 = api.new_user()
    _, uuid, secret = v2.split("/")
    other_uuid = other_v2.split("/")[1]
    assert_error(api.call("GET", "users/current", token=f"v2/{other_uuid}/{secret}"), 401)
    assert_error(api.call("GET", "users/current", token=f"v2/{uuid}/{secret}x"), 401)
    assert_error(api.call("GET", "users/current", token=f"v2/{uuid}"), 401)
    root_current = api.ok("GET", "api_client_authorizations/current",
                          token=f"v2/zzzzz-gj3su-000000000000000/{ROOT_TOKEN}")
    assert root_current["uuid"] == "zzzzz-gj3su-000000000000000"


def test_revoked_token_and_deleted_user(api: Api) -> None:
    user, v2 = api.new_user()
    token_uuid = v2.split("/")[1]
    assert api.ok("GET", "users/current", token=v2)["uuid"] == user["uuid"]
    api.ok("DELETE", f"api_client_authorizations/{token_uuid}", token=v2)
    assert_error(api.call("GET", "users/current", token=v2), 401)

    other, other_token = api.new_user()
    api.ok("DELETE", f"users/{other['uuid']}")
    assert_error(api.call("GET", "users/current", token=other_token), 401)


def test_discovery_and_ping_ignore_tokens(api: Api) -> None:
    for token in (None, "garbage", ROOT_TOKEN):
        assert api.call("GET", "/discovery/v1/apis/arvados/v1/rest", token=token
                        ).status_code == 200
        assert api.call("GET", "/_health/ping", token=token).json() == {"health": "OK"}


# -- method override ------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["header", "header-lower", "query", "form", "json"])
def test_get_override_on_list_lists(api: Api, how: str) -> None:
    _links(api, 3, "ovr")
    before = table_snapshot(api.client.app)  # type: ignore[union-attr]
    filters = json.dumps([["link_class", "=", "ovr"]])
    kwargs: dict[str, Any] = {}
    if how == "header":
        kwargs = {"headers": {"X-HTTP-Method-Override": "GET", **FORM},
                  "content": f"filters={filters}".encode()}
    elif how == "header-lower":
        kwargs = {"headers": {"x-http-method-override": "get"},
                  "json": {"filters": [["link_class", "=", "ovr"]]}}
    elif how == "query":
        kwargs = {"params": {"_method": "GET", "filters": filters}}
    elif how == "form":
        kwargs = {"headers": FORM, "content": f"_method=GET&filters={filters}".encode()}
    else:
        kwargs = {"json": {"_method": "GET", "filters": [["link_class", "=", "ovr"]]}}
    body = api.ok("POST", "links", **kwargs)
    assert body["kind"] == "arvados#linkList"
    assert body["items_available"] == 3
    assert table_snapshot(api.client.app) == before  # type: ignore[union-attr]


def test_put_patch_delete_overrides(api: Api) -> None:
    link = api.link(link_class="tag", name="a")
    path = f"links/{link['uuid']}"
    updated = api.ok("POST", path, headers={"X-Http-Method-Override": "PUT"},
                     json={"link": {"name": "b"}})
    assert updated["name"] == "b"
    patched = api.ok("POST", path, params={"_method": "PATCH"}, json={"link": {"name": "c"}})
    assert patched["name"] == "c"
    form = api.ok("POST", path, headers=FORM,
                  content=b"_method=PUT&link=%7B%22name%22%3A%22d%22%7D")
    assert form["name"] == "d"
    deleted = api.ok("POST", path, headers=FORM, content=b"_method=DELETE")
    assert deleted["uuid"] == link["uuid"]
    assert_error(api.call("GET", path), 404)


def test_override_on_other_verbs_is_ignored(api: Api) -> None:
    link = api.link(link_class="tag", name="keep")
    path = f"links/{link['uuid']}"
    got = api.ok("GET", path, headers={"X-Http-Method-Override": "DELETE"})
    assert got["uuid"] == link["uuid"]
    got = api.ok("GET", path, params={"_method": "DELETE"})
    assert api.ok("GET", path)["uuid"] == got["uuid"]
    # POST with an unknown override value stays a create.
    made = api.ok("POST", "links", headers={"X-Http-Method-Override": "FROB"},
                  json={"link": {"link_class": "tag"}})
    assert made["kind"] == "arvados#link"


def test_head_and_options(api: Api) -> None:
    resp = api.call("HEAD", "links")
    assert resp.status_code == 200 and resp.content == b""
    resp = api.call("OPTIONS", "links", token=None)
    assert resp.status_code == 200 and resp.content == b""
    assert resp.headers["access-control-allow-origin"] == "*"


# -- params ---------------------------------------------------------------------------------------


def test_param_precedence_body_over_query(api: Api) -> None:
    _links(api, 5, "prec")
    flt = json.dumps([["link_class", "=", "prec"]])
    body = api.ok("POST", "links", params={"_method": "GET", "limit": "3", "filters": flt},
                  json={"limit": 2})
    assert body["limit"] == 2 and len(body["items"]) == 2
    body = api.ok("POST", "links", params={"limit": "3", "filters": flt},
                  headers={**FORM, "X-Http-Method-Override": "GET"}, content=b"limit=1")
    assert body["limit"] == 1
    body = api.ok("GET", "links", params={"limit": "4", "filters": flt})
    assert body["limit"] == 4


def test_path_uuid_wins_over_body(api: Api) -> None:
    a = api.link(link_class="tag", name="a")
    b = api.link(link_class="tag", name="b")
    got = api.ok("POST", f"links/{a['uuid']}", headers={**FORM, "X-Http-Method-Override": "GET"},
                 content=f"uuid={b['uuid']}".encode())
    assert got["uuid"] == a["uuid"]


def test_structured_params_json_body_native(api: Api) -> None:
    _links(api, 4, "native")
    body = api.ok("POST", "links", headers={"X-Http-Method-Override": "GET"}, json={
        "filters": [["link_class", "=", "native"]], "order": ["name desc"], "limit": "2",
        "select": ["name"], "count": "none"})
    assert [i["name"] for i in body["items"]] == ["n3", "n2"]
    assert "items_available" not in body
    comma = api.ok("GET", "links", params={"filters": '[["link_class","=","native"]]',
                                           "order": "name desc, uuid asc"})
    assert [i["name"] for i in comma["items"]] == ["n3", "n2", "n1", "n0"]


def test_unknown_params_are_ignored(api: Api) -> None:
    link = api.link(link_class="tag", name="u")
    extra = {"alt": "json", "frobnicate": "yes", "reader_tokens": '["x"]'}
    assert api.ok("GET", "links", params=extra)["kind"] == "arvados#linkList"
    assert api.ok("GET", f"links/{link['uuid']}", params=extra)["uuid"] == link["uuid"]
    made = api.ok("POST", "links", params=extra, json={"link": {"link_class": "tag"}})
    assert made["kind"] == "arvados#link"
    # Without a wrapper, top-level attribute names of a JSON body are the attrs.
    bare = api.ok("POST", "links", json={"link_class": "bare", "name": "top", "other": 1})
    assert (bare["link_class"], bare["name"]) == ("bare", "top")


# -- headers ----------------------------------------------------------------------------------


@pytest.mark.parametrize("method,path,status", [
    ("GET", "links", 200), ("GET", "links/zzzzz-o0j2j-000000000000000", 404),
    ("GET", "nonesuch", 404), ("OPTIONS", "links", 200),
])
def test_cors_headers(api: Api, method: str, path: str, status: int) -> None:
    resp = api.call(method, path)
    assert resp.status_code == status
    assert resp.headers["access-control-allow-origin"] == "*"
    methods = resp.headers["access-control-allow-methods"]
    for verb in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        assert verb in methods
    allowed = resp.headers["access-control-allow-headers"].lower()
    for header in ("authorization", "content-type", "x-http-method-override", "x-request-id"):
        assert header in allowed
    unauth = api.call(method, path, token=None)
    assert unauth.headers["access-control-allow-origin"] == "*"


def test_cors_on_discovery(api: Api) -> None:
    resp = api.call("GET", "/discovery/v1/apis/arvados/v1/rest", token=None)
    assert resp.headers["access-control-allow-origin"] == "*"


def test_request_id(api: Api) -> None:
    assert api.call("GET", "links", headers={"X-Request-Id": "my-id-42"}
                    ).headers["x-request-id"] == "my-id-42"
    assert REQUEST_ID_RE.match(api.call("GET", "links").headers["x-request-id"])
    for bad in ("has space", "x" * 1025):
        resp = api.call("GET", "links", headers={"X-Request-Id": bad})
        assert REQUEST_ID_RE.match(resp.headers["x-request-id"])
    err = api.call("GET", "links", token=None, headers={"X-Request-Id": "e-1"})
    assert err.headers["x-request-id"] == "e-1"
    assert assert_error(err, 401) == ["Not logged in (e-1)"]


# -- objects and timestamps ---------------------------------------------------------------------


def test_timestamps_round_trip_exactly(api: Api) -> None:
    links = _links(api, 3, "ts")
    for link in links:
        for key in ("created_at", "modified_at"):
            assert TIMESTAMP_RE.match(link[key]), link[key]
    target = links[1]
    for op, expected in (("=", {target["uuid"]}),
                         ("<=", {links[0]["uuid"], target["uuid"]}),
                         (">=", {target["uuid"], links[2]["uuid"]})):
        body = api.ok("GET", "links", params={"filters": json.dumps(
            [["link_class", "=", "ts"], ["created_at", op, target["created_at"]]])})
        got = {i["uuid"] for i in body["items"]}
        if op == "=":
            assert got == expected
        else:
            assert expected <= got
    # Same instant written differently still matches.
    micros = parse_timestamp(target["created_at"])
    assert parse_timestamp(target["created_at"].replace("000Z", "+00:00")) == micros


def test_etag_and_modified_at(api: Api) -> None:
    link = api.link(link_class="tag", name="e", properties={"a": 1})
    path = f"links/{link['uuid']}"
    same = api.ok("PUT", path, json={"link": {"name": "e", "properties": {"a": 1}}})
    assert same["etag"] == link["etag"]
    assert same["modified_at"] == link["modified_at"]
    ignored = api.ok("PUT", path, json={"link": {"etag": "x", "kind": "y", "uuid": link["uuid"],
                                                 "created_at": "2000-01-01T00:00:00Z"}})
    assert ignored["etag"] == link["etag"]
    assert ignored["created_at"] == link["created_at"]
    changed = api.ok("PATCH", path, json={"link": {"properties": {"a": 2}}})
    assert changed["etag"] != link["etag"]
    assert changed["modified_at"] > link["modified_at"]
    assert changed["created_at"] == link["created_at"]
    assert api.ok("GET", path) == changed
    import re
    assert re.fullmatch(r"[0-9a-z]{20,26}", changed["etag"])


def test_object_shape_and_nulls(api: Api) -> None:
    link = api.link(link_class="tag", tail_uuid="", head_uuid=SYSTEM_USER)
    assert link["tail_uuid"] is None
    assert link["properties"] == {}
    assert link["head_kind"] == "arvados#user" and link["tail_kind"] is None
    assert set(link) == {"kind", "etag", "uuid", "owner_uuid", "created_at", "modified_at",
                         "modified_by_user_uuid", "link_class", "name", "tail_uuid",
                         "head_uuid", "properties", "head_kind", "tail_kind"}
    picked = api.ok("GET", f"links/{link['uuid']}", params={"select": '["uuid", "head_kind"]'})
    assert picked == {"kind": "arvados#link", "uuid": link["uuid"],
                      "head_kind": "arvados#user"}
    created = api.ok("POST", "links", params={"select": '["name"]'},
                     json={"link": {"link_class": "tag", "name": "sel"}})
    assert created == {"kind": "arvados#link", "name": "sel"}


# -- list envelope ------------------------------------------------------------------------------


def test_list_envelope(api: Api) -> None:
    _links(api, 3, "env")
    flt = json.dumps([["link_class", "=", "env"]])
    body = api.ok("GET", "links", params={"filters": flt})
    assert set(body) == {"kind", "etag", "self_link", "offset", "limit", "items",
                         "items_available"}
    assert (body["kind"], body["etag"], body["self_link"]) == ("arvados#linkList", "", "")
    assert (body["offset"], body["limit"], body["items_available"]) == (0, 100, 3)

    clamped = api.ok("GET", "links", params={"filters": flt, "limit": "5000"})
    assert clamped["limit"] == 1000 and len(clamped["items"]) == 3

    beyond = api.ok("GET", "links", params={"filters": flt, "offset": "10"})
    assert beyond["items"] == [] and beyond["items_available"] == 3 and beyond["offset"] == 10

    zero = api.ok("GET", "links", params={"filters": flt, "limit": "0"})
    assert zero["items"] == [] and zero["items_available"] == 3 and zero["limit"] == 0

    none = api.ok("GET", "links", params={"filters": flt, "count": "none"})
    assert "items_available" not in none and len(none["items"]) == 3

    paged = [api.ok("GET", "links", params={"filters": flt, "limit": "1", "offset": str(i),
                                            "order": '["name asc"]'})["items"][0]["name"]
             for i in range(3)]
    assert paged == ["n0", "n1", "n2"]


@pytest.mark.parametrize("resource,kind", [
    ("users", "arvados#userList"), ("groups", "arvados#groupList"),
    ("collections", "arvados#collectionList"),
    ("api_client_authorizations", "arvados#apiClientAuthorizationList"),
])
def test_list_kinds(api: Api, resource: str, kind: str) -> None:
    assert api.ok("GET", resource)["kind"] == kind


def test_select_and_distinct(api: Api) -> None:
    for cls, name in (("d1", "x"), ("d1", "x"), ("d1", "y"), ("d2", "x")):
        api.link(link_class=cls, name=name)
    flt = json.dumps([["link_class", "in", ["d1", "d2"]]])
    plain = api.ok("GET", "links", params={"filters": flt, "select": '["link_class", "name"]'})
    assert len(plain["items"]) == 4
    assert all(set(i) == {"kind", "link_class", "name"} for i in plain["items"])
    distinct = api.ok("GET", "links", params={"filters": flt, "distinct": "true",
                                              "select": '["link_class", "name"]'})
    pairs = [(i["link_class"], i["name"]) for i in distinct["items"]]
    assert pairs == [("d1", "x"), ("d1", "y"), ("d2", "x")]
    assert distinct["items_available"] == 3
    kinds = api.ok("GET", "links", params={"filters": flt, "distinct": "1",
                                           "select": '["head_kind"]'})
    assert kinds["items"] == [{"kind": "arvados#link", "head_kind": None}]
    no_select = api.ok("GET", "links", params={"filters": flt, "distinct": "true"})
    assert len(no_select["items"]) == 4


# -- discovery ------------------------------------------------------------------------------------


def test_discovery_document(api: Api) -> None:
    resp = api.call("GET", "/discovery/v1/apis/arvados/v1/rest", token=None,
                    headers={"Host": "example.org:8123"})
    assert resp.status_code == 200
    assert resp.headers["cache-control"] == "no-cache"
    doc = resp.json()
    expected = {
        "kind": "discovery#restDescription", "discoveryVersion": "v1", "id": "arvados:v1",
        "name": "arvados", "version": "v1", "protocol": "rest",
        "rootUrl": "http://example.org:8123/", "servicePath": "arvados/v1/",
        "basePath": "/arvados/v1/", "baseUrl": "http://example.org:8123/arvados/v1/",
        "batchPath": "batch", "uuidPrefix": "zzzzz", "maxItemsPerResponse": 1000,
    }
    for key, value in expected.items():
        assert doc[key] == value, key
    assert isinstance(doc["revision"], str) and doc["revision"]
    assert doc["parameters"]["alt"]["type"] == "string"
    assert doc["parameters"]["alt"]["default"] == "json"
    assert doc["parameters"]["alt"]["location"] == "query"
    assert "configs" not in doc["resources"]
    assert set(doc["resources"]) == {"links", "users", "groups", "collections",
                                     "api_client_authorizations", "computed_permissions",
                                     "logs"}
    assert doc["websocketUrl"] == "ws://example.org:8123/websocket"
    assert set(doc["schemas"]) >= {
        "Link", "LinkList", "User", "UserList", "Group", "GroupList", "Collection",
        "CollectionList", "ApiClientAuthorization", "ApiClientAuthorizationList"}
    assert doc["schemas"]["Link"]["uuidPrefix"] == "o0j2j"

    methods = {r: set(v["methods"]) for r, v in doc["resources"].items()}
    assert methods == {
        "links": {"list", "get", "create", "update", "delete", "get_permissions"},
        "users": {"current", "list", "get", "create", "update", "delete"},
        "groups": {"list", "get", "create", "update", "delete"},
        "collections": {"list", "get", "create", "update", "delete"},
        "api_client_authorizations": {"create", "list", "get", "delete", "current"},
        "computed_permissions": {"list"},
        "logs": {"list", "get", "delete"},
    }
    links = doc["resources"]["links"]["methods"]
    assert links["list"]["id"] == "arvados.links.list"
    assert (links["list"]["httpMethod"], links["list"]["path"]) == ("GET", "links")
    assert links["list"]["response"] == {"$ref": "LinkList"}
    list_types = {k: v["type"] for k, v in links["list"]["parameters"].items()}
    assert list_types == {
        "filters": "array", "where": "object", "order": "array", "select": "array",
        "distinct": "boolean", "limit": "integer", "offset": "integer", "count": "string",
        "cluster_id": "string", "bypass_federation": "boolean"}
    assert links["get"]["parameters"]["uuid"]["location"] == "path"
    assert links["get"]["parameters"]["uuid"]["required"] is True
    assert links["update"]["httpMethod"] == "PUT"
    assert links["create"]["request"]["properties"]["link"] == {"$ref": "Link"}
    assert set(links["create"]["parameters"]) == {"select", "ensure_unique_name", "cluster_id"}
    assert links["get_permissions"]["path"] == "permissions/{uuid}"
    assert links["get_permissions"]["response"] == {"$ref": "LinkList"}
    assert doc["resources"]["users"]["methods"]["current"]["path"] == "users/current"
    assert "include_old_versions" in doc["resources"]["collections"]["methods"]["list"][
        "parameters"]
    assert "bypass_federation" in doc["resources"]["users"]["methods"]["update"]["parameters"]

    posted = api.call("POST", "/discovery/v1/apis/arvados/v1/rest", token="garbage")
    assert posted.status_code == 200 and posted.json()["id"] == "arvados:v1"


def test_unknown_routes_are_404(api: Api) -> None:
    for method, path in (("GET", "/arvados/v1/configs"), ("GET", "/arvados/v1/config"),
                         ("DELETE", "/arvados/v1/links"), ("GET", "/nonesuch"),
                         ("PUT", "/discovery/v1/apis/arvados/v1/rest")):
        assert_error(api.call(method, path), 404)
