"""The real ``arvados-python-client`` against a real ``linkbase serve`` process (both backends).

Spec §1.7: the SDK loads discovery, then calls ``rootUrl + servicePath``; errors surface as
``arvados.errors.ApiError`` with ``resp.status``; long GETs become POST + method override.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import arvados
import arvados.errors
import arvados.util
import httpx
import pytest

from tests.api.arvados.conftest import ALL_USERS, SYSTEM_USER, TIMESTAMP_RE, LiveServer

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def sdk(server: LiveServer, token: str) -> Any:
    """An SDK client for ``server`` acting with ``token`` (no cache, no retries)."""
    return arvados.api("v1", discoveryServiceUrl=server.discovery_url, token=token, cache=False,
                       num_retries=0)


@pytest.fixture(scope="module")
def arv(live_server: LiveServer) -> Any:
    """The SDK acting as the system root token."""
    return sdk(live_server, live_server.root_token)


@pytest.fixture(scope="module")
def http(live_server: LiveServer) -> Iterator[httpx.Client]:
    """A plain HTTP client (for bulk set-up and cross-checks), root token."""
    with httpx.Client(base_url=live_server.base_url, timeout=30,
                      headers={"Authorization": f"Bearer {live_server.root_token}"}) as client:
        yield client


@pytest.fixture(scope="module")
def user(arv: Any) -> dict[str, Any]:
    """A plain active user with a token (``token`` key: the v2 form)."""
    email = f"sdk{secrets.token_hex(3)}@example.com"
    record: dict[str, Any] = arv.users().create(body={"user": {
        "email": email, "first_name": "Sdk", "last_name": "User"}}).execute()
    tok = arv.api_client_authorizations().create(body={"api_client_authorization": {
        "owner_uuid": record["uuid"]}}).execute()
    record["token"] = f"v2/{tok['uuid']}/{tok['api_token']}"
    record["token_uuid"] = tok["uuid"]
    return record


@pytest.fixture(scope="module")
def as_user(live_server: LiveServer, user: dict[str, Any]) -> Any:
    """The SDK acting as ``user``."""
    return sdk(live_server, user["token"])


def link_count(http: httpx.Client) -> int:
    """Total links visible to root (admin: all)."""
    body = http.get("/arvados/v1/links", params={"limit": "0"}).json()
    return int(body["items_available"])


def status_of(exc_info: pytest.ExceptionInfo[arvados.errors.ApiError]) -> int:
    """The HTTP status the SDK saw."""
    return int(exc_info.value.resp.status)


# -- links CRUD and list machinery -------------------------------------------------------------


def test_link_create_get_update_delete(arv: Any) -> None:
    created = arv.links().create(body={"link": {
        "link_class": "tag", "name": "sdk-crud", "head_uuid": ALL_USERS,
        "properties": {"x": 1, "color": "red"}}}).execute()
    uuid = created["uuid"]
    assert created["kind"] == "arvados#link"
    assert created["owner_uuid"] == SYSTEM_USER
    assert created["head_kind"] == "arvados#group"
    assert TIMESTAMP_RE.match(created["created_at"])

    fetched = arv.links().get(uuid=uuid).execute()
    assert fetched == created

    updated = arv.links().update(uuid=uuid, body={"link": {"name": "sdk-crud-2"}}).execute()
    assert updated["name"] == "sdk-crud-2"
    assert updated["properties"] == {"x": 1, "color": "red"}
    assert updated["etag"] != created["etag"]
    assert updated["created_at"] == created["created_at"]

    deleted = arv.links().delete(uuid=uuid).execute()
    assert deleted["uuid"] == uuid and deleted["name"] == "sdk-crud-2"
    with pytest.raises(arvados.errors.ApiError) as exc:
        arv.links().get(uuid=uuid).execute()
    assert status_of(exc) == 404


def test_link_list_filters_order_limit_count_select(arv: Any) -> None:
    tag = "sdk-list-" + secrets.token_hex(4)
    made = [
        arv.links().create(body={"link": {
            "link_class": tag, "name": f"n{i}", "properties": {"x": i % 3, "i": i}}}).execute()
        for i in range(7)
    ]
    base = [["link_class", "=", tag]]

    everything = arv.links().list(filters=base).execute()
    assert everything["kind"] == "arvados#linkList"
    assert everything["items_available"] == 7
    assert {i["uuid"] for i in everything["items"]} == {m["uuid"] for m in made}

    sub = arv.links().list(filters=[*base, ["properties.x", "=", 1]]).execute()
    assert sorted(i["properties"]["i"] for i in sub["items"]) == [1, 4]

    ordered = arv.links().list(filters=base, order=["name desc"], limit=3, offset=1).execute()
    assert [i["name"] for i in ordered["items"]] == ["n5", "n4", "n3"]
    assert ordered["limit"] == 3 and ordered["offset"] == 1

    uncounted = arv.links().list(filters=base, count="none", limit=2).execute()
    assert "items_available" not in uncounted
    assert len(uncounted["items"]) == 2

    selected = arv.links().list(filters=base, select=["uuid", "name"], order=["name"]).execute()
    assert [set(i) for i in selected["items"]] == [{"kind", "uuid", "name"}] * 7
    assert [i["name"] for i in selected["items"]] == [f"n{i}" for i in range(7)]

    distinct = arv.links().list(filters=base, select=["link_class"], distinct=True).execute()
    assert distinct["items"] == [{"kind": "arvados#link", "link_class": tag}]

    like = arv.links().list(filters=[*base, ["name", "in", ["n0", "n6"]]],
                            order="name asc").execute()
    assert [i["name"] for i in like["items"]] == ["n0", "n6"]


def test_get_permissions(arv: Any, as_user: Any, user: dict[str, Any]) -> None:
    project = arv.groups().create(body={"group": {
        "group_class": "project", "name": "perm-" + secrets.token_hex(4)}}).execute()
    grant = arv.links().create(body={"link": {
        "link_class": "permission", "name": "can_read", "tail_uuid": user["uuid"],
        "head_uuid": project["uuid"]}}).execute()
    perms = arv.links().get_permissions(uuid=project["uuid"]).execute()
    assert perms["kind"] == "arvados#linkList"
    assert [p["uuid"] for p in perms["items"]] == [grant["uuid"]]
    assert perms["items_available"] == perms["limit"] == 1

    # The user can read the project but does not manage it: 403.
    assert as_user.groups().get(uuid=project["uuid"]).execute()["uuid"] == project["uuid"]
    with pytest.raises(arvados.errors.ApiError) as exc:
        as_user.links().get_permissions(uuid=project["uuid"]).execute()
    assert status_of(exc) == 403


def test_users_current_and_tokens(arv: Any, as_user: Any, user: dict[str, Any],
                                  live_server: LiveServer) -> None:
    me = arv.users().current().execute()
    assert me["uuid"] == SYSTEM_USER and me["is_admin"] is True
    assert as_user.users().current().execute()["uuid"] == user["uuid"]

    current = as_user.api_client_authorizations().current().execute()
    assert current["uuid"] == user["token_uuid"]
    assert current["owner_uuid"] == user["uuid"]

    root_current = arv.api_client_authorizations().current().execute()
    assert root_current["uuid"].endswith("-gj3su-000000000000000")
    assert root_current["scopes"] == ["all"] and root_current["expires_at"] is None

    # A user creates a token for itself; it works with the bare secret.
    mine = as_user.api_client_authorizations().create(
        body={"api_client_authorization": {"scopes": ["GET /arvados/v1/users/current"]}}
    ).execute()
    assert mine["owner_uuid"] == user["uuid"] and mine["api_token"]
    scoped = sdk(live_server, mine["api_token"])
    assert scoped.users().current().execute()["uuid"] == user["uuid"]
    with pytest.raises(arvados.errors.ApiError) as exc:
        scoped.links().list().execute()
    assert status_of(exc) == 403


@pytest.mark.parametrize("case", ["404", "422-filter", "422-body", "403", "401"])
def test_errors_surface_as_api_error(case: str, arv: Any, as_user: Any,
                                     live_server: LiveServer) -> None:
    expected = int(case[:3])
    with pytest.raises(arvados.errors.ApiError) as exc:
        if case == "404":
            arv.links().get(uuid="zzzzz-o0j2j-000000000000404").execute()
        elif case == "422-filter":
            arv.links().list(filters=[["nonesuch", "=", "x"]]).execute()
        elif case == "422-body":
            arv.links().create(body={"link": {"no_such_attr": 1}}).execute()
        elif case == "403":
            as_user.users().create(body={"user": {"email": "x@example.com"}}).execute()
        else:
            sdk(live_server, "not-a-valid-token").users().current().execute()
    assert status_of(exc) == expected
    # The SDK's reason is "; ".join(errors): non-empty text.
    assert str(exc.value)


# -- paging and the long-URL override ------------------------------------------------------------


def _bulk_links(http: httpx.Client, link_class: str, count: int) -> None:
    def one(i: int) -> None:
        resp = http.post("/arvados/v1/links", json={"link": {
            "link_class": link_class, "name": f"k{i:05d}"}})
        assert resp.status_code == 200, resp.text

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(one, range(count)))


def test_keyset_list_all_over_more_than_one_page(arv: Any, http: httpx.Client) -> None:
    link_class = "keyset-" + secrets.token_hex(4)
    _bulk_links(http, link_class, 1203)
    seen = list(arvados.util.keyset_list_all(arv.links().list,
                                             filters=[["link_class", "=", link_class]]))
    uuids = [item["uuid"] for item in seen]
    assert len(uuids) == 1203
    assert len(set(uuids)) == 1203
    keys = [(item["created_at"], item["uuid"]) for item in seen]
    assert keys == sorted(keys)

    descending = list(arvados.util.keyset_list_all(
        arv.links().list, ascending=False, filters=[["link_class", "=", link_class]],
        select=["uuid", "name"]))
    assert [i["uuid"] for i in descending] == uuids[::-1]


def test_long_filters_are_sent_as_post_override_and_list(arv: Any, http: httpx.Client) -> None:
    tag = "long-" + secrets.token_hex(4)
    wanted = [arv.links().create(body={"link": {"link_class": tag, "name": f"w{i}"}}).execute()
              for i in range(3)]
    decoys = [f"decoy-{i:04d}-{secrets.token_hex(8)}" for i in range(120)]
    names = [*decoys, *(w["name"] for w in wanted)]
    filters = [["link_class", "=", tag], ["name", "in", names]]
    assert len(json.dumps(filters)) > 2048
    before = link_count(http)
    result = arv.links().list(filters=filters, order=["name asc"]).execute()
    assert [i["uuid"] for i in result["items"]] == [w["uuid"] for w in wanted]
    assert result["items_available"] == 3
    assert link_count(http) == before

    # The same through the raw override, to be sure of what the SDK relies on.
    resp = http.post("/arvados/v1/links", headers={"X-HTTP-Method-Override": "GET"},
                     data={"filters": json.dumps(filters), "alt": "json"})
    assert resp.status_code == 200
    assert resp.json()["kind"] == "arvados#linkList"
    assert link_count(http) == before


def test_groups_collections_via_sdk(arv: Any) -> None:
    project = arv.groups().create(body={"group": {
        "group_class": "project", "name": "sdk-proj-" + secrets.token_hex(3)}}).execute()
    coll = arv.collections().create(body={"collection": {
        "owner_uuid": project["uuid"], "name": "c", "manifest_text": ""}}).execute()
    assert coll["portable_data_hash"] == "d41d8cd98f00b204e9800998ecf8427e+0"
    listed = arv.collections().list(filters=[["owner_uuid", "=", project["uuid"]]]).execute()
    assert [c["uuid"] for c in listed["items"]] == [coll["uuid"]]
    arv.groups().delete(uuid=project["uuid"]).execute()
    with pytest.raises(arvados.errors.ApiError) as exc:
        arv.collections().get(uuid=coll["uuid"]).execute()
    assert status_of(exc) == 404
