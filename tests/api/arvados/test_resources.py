"""Resource semantics over HTTP (spec §7 users, §8 groups, §9 collections, §10 tokens, §6
deletion), in-process, both backends."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from tests.api.arvados.conftest import (
    ALL_USERS,
    SYSTEM_GROUP,
    SYSTEM_USER,
    Api,
    assert_error,
)


def _perm_links(api: Api, **match: str) -> list[dict[str, Any]]:
    filters = [["link_class", "=", "permission"], *([k, "=", v] for k, v in match.items())]
    items: list[dict[str, Any]] = api.ok("GET", "links", params={
        "filters": json.dumps(filters), "limit": "1000"})["items"]
    return items


def _user(api: Api, **attrs: Any) -> dict[str, Any]:
    return api.create("users", "user", attrs)


def _token(api: Api, **attrs: Any) -> dict[str, Any]:
    return api.create("api_client_authorizations", "api_client_authorization", attrs)


def _project(api: Api, name: str, **attrs: Any) -> dict[str, Any]:
    return api.create("groups", "group", {"group_class": "project", "name": name, **attrs})


# -- users ----------------------------------------------------------------------------------------


def test_username_derivation(api: Api) -> None:
    assert _user(api, email="John.Doe+tag@example.com")["username"] == "JohnDoe"
    assert _user(api, email="john.doe@elsewhere.org")["username"] == "johndoe"
    assert _user(api, email="JohnDoe@x.org")["username"] == "JohnDoe2"
    assert _user(api, email="JohnDoe@y.org")["username"] == "JohnDoe3"
    assert _user(api, email="123_abc@x.org")["username"] == "abc"
    assert _user(api, email="1234@x.org")["username"] is None
    assert _user(api)["username"] is None
    assert _user(api, email="z@x.org", username="chosen")["username"] == "chosen"


def test_user_create_sets_up_active_users(api: Api) -> None:
    user = _user(api, email="a@example.com", first_name="Ada", last_name="L")
    assert user["is_active"] is True and user["is_admin"] is False
    assert user["owner_uuid"] == SYSTEM_USER
    assert user["full_name"] == "Ada L" and user["prefs"] == {}
    grants = {(link["tail_uuid"], link["name"], link["head_uuid"])
              for link in _perm_links(api, head_uuid=user["uuid"])
              + _perm_links(api, tail_uuid=user["uuid"])}
    assert grants == {
        (SYSTEM_GROUP, "can_manage", user["uuid"]),
        (user["uuid"], "can_write", ALL_USERS),
        (ALL_USERS, "can_read", user["uuid"]),
    }
    for link in _perm_links(api, head_uuid=user["uuid"]):
        assert link["owner_uuid"] == SYSTEM_USER

    inactive = _user(api, email="b@example.com", is_active=False)
    assert inactive["is_active"] is False
    assert _perm_links(api, tail_uuid=inactive["uuid"]) == []
    # Activating sets it up; deactivating removes its grants and admin flag.
    api.ok("PUT", f"users/{inactive['uuid']}", json={"user": {"is_active": True}})
    assert {link["head_uuid"] for link in _perm_links(api, tail_uuid=inactive["uuid"])} == {
        ALL_USERS}
    done = api.ok("PUT", f"users/{inactive['uuid']}",
                  json={"user": {"is_admin": True}})
    assert done["is_admin"] is True
    off = api.ok("PUT", f"users/{inactive['uuid']}", json={"user": {"is_active": False}})
    assert off["is_active"] is False and off["is_admin"] is False
    assert _perm_links(api, tail_uuid=inactive["uuid"]) == []


def test_user_visibility_and_self_update(api: Api) -> None:
    user, token = api.new_user()
    other, _ = api.new_user()
    seen = {u["uuid"] for u in api.ok("GET", "users", token=token)["items"]}
    assert {user["uuid"], other["uuid"]} <= seen
    mine = api.ok("PUT", f"users/{user['uuid']}", token=token,
                  json={"user": {"first_name": "New", "is_admin": True, "prefs": {"a": 1}}})
    assert mine["first_name"] == "New" and mine["is_admin"] is False
    assert mine["prefs"] == {"a": 1}
    assert_error(api.call("PUT", f"users/{user['uuid']}", token=token,
                          json={"user": {"username": "renamed"}}), 403)


# -- tokens ---------------------------------------------------------------------------------------


def test_token_expiry(api: Api) -> None:
    user, _ = api.new_user()
    past = _token(api, owner_uuid=user["uuid"], expires_at="2000-01-01T00:00:00Z")
    assert past["expires_at"] == "2000-01-01T00:00:00.000000000Z"
    assert_error(api.call("GET", "users/current", token=past["api_token"]), 401)
    future = _token(api, owner_uuid=user["uuid"], expires_at="2999-01-01T00:00:00Z")
    assert api.ok("GET", "users/current", token=future["api_token"])["uuid"] == user["uuid"]
    assert future["scopes"] == ["all"] and len(future["api_token"]) >= 32


def test_token_ownership_and_listing(api: Api) -> None:
    user, token = api.new_user()
    other, other_token = api.new_user()
    mine = _token(api, owner_uuid=user["uuid"])
    listed = {t["uuid"] for t in api.ok("GET", "api_client_authorizations",
                                        token=token)["items"]}
    assert mine["uuid"] in listed and token.split("/")[1] in listed
    assert other_token.split("/")[1] not in listed
    assert_error(api.call("GET", f"api_client_authorizations/{mine['uuid']}",
                          token=other_token), 404)
    own = api.create("api_client_authorizations", "api_client_authorization", {}, token=token)
    assert own["owner_uuid"] == user["uuid"]
    assert other["uuid"] != user["uuid"]
    # An admin may choose a token uuid (§1.4).
    chosen = _token(api, owner_uuid=user["uuid"], uuid="zzzzz-gj3su-chosenuuid00001")
    assert chosen["uuid"] == "zzzzz-gj3su-chosenuuid00001"
    current = api.ok("GET", "api_client_authorizations/current",
                     token=f"v2/{chosen['uuid']}/{chosen['api_token']}")
    assert current["uuid"] == chosen["uuid"]


@pytest.mark.parametrize("scope,method,path,allowed", [
    ("GET /arvados/v1/links", "GET", "links", True),
    ("GET /arvados/v1/links", "GET", "links/{link}", False),
    ("GET /arvados/v1/links", "POST", "links", False),
    ("GET /arvados/v1/links/", "GET", "links/{link}", True),
    ("GET /arvados/v1/links/", "GET", "links", False),
    ("GET /arvados/v1/links/", "HEAD", "links/{link}", True),
    ("GET /arvados/v1/", "GET", "groups", True),
    ("POST /arvados/v1/links", "POST", "links", True),
    ("POST /arvados/v1/links", "GET", "links", False),
    ("PUT /arvados/v1/links/", "PUT", "links/{link}", True),
    ("GET /arvados/v1/users/current", "GET", "api_client_authorizations/current", True),
    ("GET /arvados/v1/users/current", "GET", "users/current", True),
    ("GET /arvados/v1/users/current", "GET", "users", False),
])
def test_scopes(api: Api, scope: str, method: str, path: str, allowed: bool) -> None:
    user, _ = api.new_user()
    link = api.link(link_class="tag", owner_uuid=user["uuid"])
    tok = _token(api, owner_uuid=user["uuid"], scopes=[scope])
    body = {"link": {"link_class": "tag"}} if method in ("POST", "PUT") else None
    resp = api.call(method, path.format(link=link["uuid"]), token=tok["api_token"], json=body)
    if allowed:
        assert resp.status_code == 200, resp.text
    else:
        assert_error(resp, 403)


def test_scope_applies_after_override(api: Api) -> None:
    user, _ = api.new_user()
    tok = _token(api, owner_uuid=user["uuid"], scopes=["GET /arvados/v1/links"])
    resp = api.call("POST", "links", token=tok["api_token"],
                    headers={"X-Http-Method-Override": "GET"})
    assert resp.status_code == 200 and resp.json()["kind"] == "arvados#linkList"


# -- groups ---------------------------------------------------------------------------------------


def test_group_names_unique_per_owner(api: Api) -> None:
    first = _project(api, "dup")
    assert_error(api.call("POST", "groups", json={"group": {"group_class": "project",
                                                            "name": "dup"}}), 422)
    renamed = api.ok("POST", "groups", params={"ensure_unique_name": "true"},
                     json={"group": {"group_class": "project", "name": "dup"}})
    assert renamed["name"] == f"dup ({renamed['uuid'][-15:]})"
    inside = _project(api, "dup", owner_uuid=first["uuid"])
    assert inside["name"] == "dup"
    long = _project(api, "L" * 250)
    again = api.ok("POST", "groups", params={"ensure_unique_name": "1"},
                   json={"group": {"group_class": "project", "name": "L" * 250}})
    assert again["name"] == "L" * 237 + f" ({again['uuid'][-15:]})"
    assert long["uuid"] != again["uuid"]
    # Renaming onto a taken name: 422.
    assert_error(api.call("PUT", f"groups/{inside['uuid']}",
                          json={"group": {"owner_uuid": SYSTEM_USER}}), 422)


def test_role_names_unique_cluster_wide_and_empty_name(api: Api) -> None:
    user, token = api.new_user()
    role = api.create("groups", "group", {"group_class": "role", "name": "team"}, token=token)
    assert role["owner_uuid"] == SYSTEM_USER
    managers = _perm_links(api, head_uuid=role["uuid"])
    assert [(m["tail_uuid"], m["name"]) for m in managers] == [(user["uuid"], "can_manage")]
    assert_error(api.call("POST", "groups", json={"group": {"group_class": "role",
                                                            "name": "team"}}), 422)
    unnamed = _project(api, "")
    assert unnamed["name"] == unnamed["uuid"]
    assert_error(api.call("PUT", f"groups/{role['uuid']}",
                          json={"group": {"group_class": "project"}}), 422)


def test_filter_group_validation(api: Api) -> None:
    good = api.create("groups", "group", {"group_class": "filter", "name": "f", "properties": {
        "filters": [["uuid", "is_a", "arvados#collection"], ["collections.name", "=", "x"]]}})
    assert good["group_class"] == "filter"
    for bad in ([["name", "=", "x"]], [["x.y", "is_a", "arvados#user"]], "nope", [["uuid"]],
                [["x.y", "~", "a"]]):
        assert_error(api.call("POST", "groups", json={"group": {
            "group_class": "filter", "properties": {"filters": bad}}}), 422)


# -- collections ----------------------------------------------------------------------------------


def test_collection_portable_data_hash(api: Api) -> None:
    manifest = ". acbd18db4cc2f85cedef654fccc4a4d8+3 0:3:foo.txt\n"
    pdh = f"{hashlib.md5(manifest.encode()).hexdigest()}+{len(manifest.encode())}"
    coll = api.create("collections", "collection", {"manifest_text": manifest})
    assert coll["portable_data_hash"] == pdh
    assert coll["manifest_text"] == manifest
    same = api.create("collections", "collection", {"manifest_text": manifest,
                                                    "portable_data_hash": pdh})
    assert same["portable_data_hash"] == pdh
    empty = api.create("collections", "collection", {})
    assert empty["portable_data_hash"] == "d41d8cd98f00b204e9800998ecf8427e+0"
    assert empty["manifest_text"] == ""
    updated = api.ok("PUT", f"collections/{empty['uuid']}",
                     json={"collection": {"manifest_text": manifest}})
    assert updated["portable_data_hash"] == pdh
    assert_error(api.call("POST", "collections", json={"collection": {
        "manifest_text": manifest, "portable_data_hash": "d41d8cd98f00b204e9800998ecf8427e+0"}}),
        422)
    found = api.ok("GET", "collections", params={"filters": json.dumps(
        [["portable_data_hash", "=", pdh]])})
    assert {c["uuid"] for c in found["items"]} == {coll["uuid"], same["uuid"], updated["uuid"]}


def test_collection_names_unique_per_owner(api: Api) -> None:
    project = _project(api, "cp")
    api.create("collections", "collection", {"name": "c", "owner_uuid": project["uuid"]})
    assert_error(api.call("POST", "collections", json={"collection": {
        "name": "c", "owner_uuid": project["uuid"]}}), 422)
    renamed = api.ok("POST", "collections", params={"ensure_unique_name": "true"},
                     json={"collection": {"name": "c", "owner_uuid": project["uuid"]}})
    assert renamed["name"] == f"c ({renamed['uuid'][-15:]})"
    nameless = [api.create("collections", "collection", {"owner_uuid": project["uuid"]})
                for _ in range(2)]
    assert all(c["name"] is None for c in nameless)


# -- deletion ---------------------------------------------------------------------------------------


def test_deleting_a_project_deletes_contents_and_links(api: Api) -> None:
    user, token = api.new_user()
    top = _project(api, "top", owner_uuid=user["uuid"])
    sub = _project(api, "sub", owner_uuid=top["uuid"])
    coll = api.create("collections", "collection", {"name": "c", "owner_uuid": sub["uuid"]})
    keep = api.create("collections", "collection", {"name": "keep"})
    owned_link = api.link(link_class="tag", name="in-project", owner_uuid=top["uuid"],
                          head_uuid=keep["uuid"])
    tag_on_coll = api.link(link_class="tag", name="on-coll", head_uuid=coll["uuid"])
    star = api.link(link_class="star", tail_uuid=user["uuid"], owner_uuid=user["uuid"],
                    head_uuid=sub["uuid"])
    other, other_token = api.new_user()
    grant = api.link(link_class="permission", name="can_read", tail_uuid=other["uuid"],
                     head_uuid=top["uuid"])
    assert api.ok("GET", f"collections/{coll['uuid']}", token=other_token)

    deleted = api.ok("DELETE", f"groups/{top['uuid']}", token=token)
    assert deleted["uuid"] == top["uuid"] and deleted["name"] == "top"
    for path in (f"groups/{top['uuid']}", f"groups/{sub['uuid']}",
                 f"collections/{coll['uuid']}", f"links/{owned_link['uuid']}",
                 f"links/{tag_on_coll['uuid']}", f"links/{star['uuid']}",
                 f"links/{grant['uuid']}"):
        assert_error(api.call("GET", path), 404)
    assert api.ok("GET", f"collections/{keep['uuid']}")["uuid"] == keep["uuid"]
    assert_error(api.call("GET", f"collections/{coll['uuid']}", token=other_token), 404)


def test_deleting_a_link_cascades_duplicates_and_referencing_links(api: Api) -> None:
    user, token = api.new_user()
    project = _project(api, "g")
    grant = api.link(link_class="permission", name="can_read", tail_uuid=user["uuid"],
                     head_uuid=project["uuid"])
    upgraded = api.link(link_class="permission", name="can_write", tail_uuid=user["uuid"],
                        head_uuid=project["uuid"])
    assert upgraded["uuid"] == grant["uuid"] and upgraded["name"] == "can_write"
    about = api.link(link_class="tag", name="about-grant", head_uuid=grant["uuid"])
    api.ok("DELETE", f"links/{grant['uuid']}")
    assert_error(api.call("GET", f"links/{about['uuid']}"), 404)
    assert_error(api.call("GET", f"groups/{project['uuid']}", token=token), 404)


def test_deleting_a_user_takes_tokens_and_owned_links(api: Api) -> None:
    user, token = api.new_user()
    link = api.link(link_class="tag", name="mine", owner_uuid=user["uuid"])
    project = _project(api, "owned", owner_uuid=user["uuid"])
    assert_error(api.call("DELETE", f"users/{user['uuid']}"), 422)
    api.ok("DELETE", f"groups/{project['uuid']}")
    api.ok("DELETE", f"users/{user['uuid']}")
    assert_error(api.call("GET", f"links/{link['uuid']}"), 404)
    assert_error(api.call("GET", "users/current", token=token), 401)
    assert _perm_links(api, head_uuid=user["uuid"]) == []
    assert _perm_links(api, tail_uuid=user["uuid"]) == []
