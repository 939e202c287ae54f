"""The permission rules over HTTP (spec §4, §5.3–§5.8, §6), on both backends.

Each test builds a small graph as the admin, then acts as unprivileged users through the Arvados
face and checks statuses, messages and — for the no-leak test — that no body names an object the
caller cannot read.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.api.arvados.conftest import (
    ALL_USERS,
    PUBLIC_FAVORITES,
    ROOT_TOKEN,
    Api,
    assert_error,
    table_snapshot,
)


def _group(api: Api, group_class: str, name: str, token: str = ROOT_TOKEN,
           **attrs: Any) -> dict[str, Any]:
    return api.create("groups", "group", {"group_class": group_class, "name": name, **attrs},
                      token=token)


def _coll(api: Api, name: str, owner: str, token: str = ROOT_TOKEN) -> dict[str, Any]:
    return api.create("collections", "collection", {"name": name, "owner_uuid": owner},
                      token=token)


def _grant(api: Api, tail: str, head: str, name: str, token: str = ROOT_TOKEN,
           **attrs: Any) -> dict[str, Any]:
    return api.create("links", "link", {"link_class": "permission", "name": name,
                                        "tail_uuid": tail, "head_uuid": head, **attrs},
                      token=token)


def _status(api: Api, token: str, method: str, path: str, **kw: Any) -> int:
    return api.call(method, path, token=token, **kw).status_code


def _can_write_collection(api: Api, token: str, uuid: str) -> int:
    return _status(api, token, "PUT", f"collections/{uuid}",
                   json={"collection": {"description": "x"}})


def test_transitive_grants_through_nested_roles_and_projects(api: Api) -> None:
    user, tok = api.new_user()
    outer = _group(api, "role", "outer")
    inner = _group(api, "role", "inner")
    top = _group(api, "project", "top")
    sub = _group(api, "project", "sub", owner_uuid=top["uuid"])
    coll = _coll(api, "deep", sub["uuid"])
    assert _status(api, tok, "GET", f"collections/{coll['uuid']}") == 404
    _grant(api, user["uuid"], outer["uuid"], "can_manage")
    _grant(api, outer["uuid"], inner["uuid"], "can_manage")
    _grant(api, inner["uuid"], top["uuid"], "can_write")
    assert _status(api, tok, "GET", f"collections/{coll['uuid']}") == 200
    assert _status(api, tok, "GET", f"groups/{sub['uuid']}") == 200
    assert _can_write_collection(api, tok, coll["uuid"]) == 200
    # manage is not reached (weakest edge is can_write): get_permissions refused
    resp = api.call("GET", f"permissions/{coll['uuid']}", token=tok)
    assert assert_error(resp, 403) == ["Forbidden"]
    listed = api.ok("GET", "collections", token=tok,
                    params={"filters": json.dumps([["uuid", "=", coll["uuid"]]])})
    assert [c["uuid"] for c in listed["items"]] == [coll["uuid"]]


def test_weakest_edge_and_best_path(api: Api) -> None:
    user, tok = api.new_user()
    role = _group(api, "role", "weak")
    proj = _group(api, "project", "p")
    coll = _coll(api, "c", proj["uuid"])
    _grant(api, user["uuid"], role["uuid"], "can_read")
    _grant(api, role["uuid"], proj["uuid"], "can_manage")
    assert _status(api, tok, "GET", f"collections/{coll['uuid']}") == 200
    assert _can_write_collection(api, tok, coll["uuid"]) == 403
    strong = _grant(api, user["uuid"], proj["uuid"], "can_write")
    assert _can_write_collection(api, tok, coll["uuid"]) == 200
    api.ok("DELETE", f"links/{strong['uuid']}")
    assert _can_write_collection(api, tok, coll["uuid"]) == 403


@pytest.mark.parametrize(("first", "second", "result"), [
    ("can_read", "can_read", "can_read"),
    ("can_read", "can_write", "can_write"),
    ("can_read", "can_manage", "can_manage"),
    ("can_write", "can_read", "can_write"),
    ("can_manage", "can_write", "can_manage"),
])
def test_dedupe_upgrade_matrix(api: Api, first: str, second: str, result: str) -> None:
    user, _ = api.new_user()
    proj = _group(api, "project", "p")
    one = _grant(api, user["uuid"], proj["uuid"], first)
    two = _grant(api, user["uuid"], proj["uuid"], second, properties={"k": "v"})
    assert two["uuid"] == one["uuid"]
    assert two["name"] == result
    if first != result:
        assert two["properties"] == {"k": "v"}
    perms = api.ok("GET", f"permissions/{proj['uuid']}")
    assert [p["uuid"] for p in perms["items"]] == [one["uuid"]]


def test_dedupe_never_reveals_or_changes_for_a_caller_who_cannot_create(api: Api) -> None:
    user, _ = api.new_user()
    _, tok = api.new_user()
    proj = _group(api, "project", "secret-proj")
    existing = _grant(api, user["uuid"], proj["uuid"], "can_read")
    before = table_snapshot(api.client.app)  # type: ignore[union-attr]
    # the head is unreadable for the outsider: 422 naming only what it sent
    resp = api.call("POST", "links", token=tok, json={"link": {
        "link_class": "permission", "name": "can_manage", "tail_uuid": user["uuid"],
        "head_uuid": proj["uuid"]}})
    messages = assert_error(resp, 422)
    assert existing["uuid"] not in resp.text
    assert "secret-proj" not in resp.text
    assert any("Head uuid" in m for m in messages)
    # readable head without manage: 403, nothing changed, existing grant not revealed
    _grant(api, api.ok("GET", "users/current", token=tok)["uuid"], proj["uuid"], "can_write")
    before = table_snapshot(api.client.app)  # type: ignore[union-attr]
    resp = api.call("POST", "links", token=tok, json={"link": {
        "link_class": "permission", "name": "can_manage", "tail_uuid": user["uuid"],
        "head_uuid": proj["uuid"]}})
    assert_error(resp, 403)
    assert existing["uuid"] not in resp.text
    assert table_snapshot(api.client.app) == before  # type: ignore[union-attr]


def test_update_restrictions(api: Api) -> None:
    user, tok = api.new_user()
    other, _ = api.new_user()
    proj = _group(api, "project", "p")
    link = _grant(api, user["uuid"], proj["uuid"], "can_read")
    for change in ({"head_uuid": ALL_USERS}, {"tail_uuid": other["uuid"]},
                   {"link_class": "tag"}):
        resp = api.call("PUT", f"links/{link['uuid']}", json={"link": change})
        assert assert_error(resp, 422)[0].startswith("Can only alter permission link level")
    resp = api.call("PUT", f"links/{link['uuid']}", json={"link": {"name": "can_fly"}})
    assert_error(resp, 422)
    # the grantee cannot raise its own grant without manage on the head
    resp = api.call("PUT", f"links/{link['uuid']}", token=tok,
                    json={"link": {"name": "can_manage"}})
    assert_error(resp, 403)
    # a non-permission link cannot become one
    tag = api.link(link_class="tag", name="t", head_uuid=proj["uuid"])
    resp = api.call("PUT", f"links/{tag['uuid']}", json={"link": {"link_class": "permission"}})
    assert assert_error(resp, 422)[0].startswith("Can only alter permission link level")
    changed = api.ok("PUT", f"links/{link['uuid']}",
                     json={"link": {"name": "can_write", "properties": {"a": 1}}})
    assert changed["name"] == "can_write" and changed["properties"] == {"a": 1}


def _raw_insert_duplicate(api: Api, link: dict[str, Any], name: str) -> str:
    """A legacy duplicate grant, written with an admin-assigned uuid through the service."""
    import sqlalchemy as sa

    from linkbase.storage import tables

    db = api.client.app.state.services.db  # type: ignore[union-attr]
    uuid = "zzzzz-o0j2j-dup" + name[-4:].rjust(12, "0")
    with db.write() as conn:
        row = conn.execute(sa.select(tables.links).where(
            tables.links.c.uuid == link["uuid"])).mappings().one()
        values = {k: v for k, v in row.items() if k != "id"}
        values.update(uuid=uuid, name=name)
        conn.execute(tables.links.insert().values(**values))
        conn.execute(tables.permission_edges.insert().values(
            source_uuid=uuid, tail_uuid=row["tail_uuid"], head_uuid=row["head_uuid"],
            level={"can_read": 1, "can_write": 2, "can_manage": 3}[name]))
    return uuid


def test_merge_on_update_and_cascade_on_delete(api: Api) -> None:
    user, tok = api.new_user()
    proj = _group(api, "project", "p")
    coll = _coll(api, "c", proj["uuid"])
    link = _grant(api, user["uuid"], proj["uuid"], "can_read")
    dup = _raw_insert_duplicate(api, link, "can_manage")
    # recompute the user's closure after the raw insert
    from linkbase.storage.closure import recompute

    db = api.client.app.state.services.db  # type: ignore[union-attr]
    with db.write() as conn:
        recompute(conn, [user["uuid"]])
    merged = api.ok("PUT", f"links/{link['uuid']}",
                    json={"link": {"properties": {"merged": True}}})
    assert merged["name"] == "can_manage"
    assert _status(api, ROOT_TOKEN, "GET", f"links/{dup}") == 404
    # delete cascade: a second legacy duplicate goes with the link
    dup2 = _raw_insert_duplicate(api, link, "can_read")
    api.ok("DELETE", f"links/{link['uuid']}")
    assert _status(api, ROOT_TOKEN, "GET", f"links/{dup2}") == 404
    assert _status(api, tok, "GET", f"collections/{coll['uuid']}") == 404


def test_delete_cascade_of_objects(api: Api) -> None:
    user, tok = api.new_user()
    role = _group(api, "role", "r")
    proj = _group(api, "project", "p")
    sub = _group(api, "project", "s", owner_uuid=proj["uuid"])
    coll = _coll(api, "c", sub["uuid"])
    g1 = _grant(api, user["uuid"], role["uuid"], "can_read")
    g2 = _grant(api, role["uuid"], proj["uuid"], "can_read")
    tag = api.link(link_class="tag", name="t", head_uuid=coll["uuid"])
    assert _status(api, tok, "GET", f"collections/{coll['uuid']}") == 200
    api.ok("DELETE", f"groups/{role['uuid']}")
    for uuid in (g1["uuid"], g2["uuid"]):
        assert _status(api, ROOT_TOKEN, "GET", f"links/{uuid}") == 404
    assert _status(api, tok, "GET", f"collections/{coll['uuid']}") == 404
    api.ok("DELETE", f"groups/{proj['uuid']}")
    for path in (f"groups/{sub['uuid']}", f"collections/{coll['uuid']}", f"links/{tag['uuid']}"):
        assert _status(api, ROOT_TOKEN, "GET", path) == 404


def test_get_permissions_statuses(api: Api) -> None:
    user, tok = api.new_user()
    proj = _group(api, "project", "p")
    coll = _coll(api, "c", proj["uuid"])
    assert_error(api.call("GET", "permissions/not-a-uuid", token=tok), 422)
    assert_error(api.call("GET", f"permissions/{coll['uuid']}", token=tok), 404)
    assert_error(api.call("GET", "permissions/zzzzz-4zz18-000000000000404", token=tok), 404)
    _grant(api, user["uuid"], proj["uuid"], "can_read")
    resp = api.call("GET", f"permissions/{coll['uuid']}", token=tok)
    assert resp.status_code == 403 and resp.json()["errors"] == ["Forbidden"]
    own = _grant(api, user["uuid"], proj["uuid"], "can_manage")
    direct = _grant(api, ALL_USERS, coll["uuid"], "can_read")
    body = api.ok("GET", f"permissions/{coll['uuid']}", token=tok)  # manage via the owner
    assert [i["uuid"] for i in body["items"]] == [direct["uuid"]]
    assert body["items_available"] == body["limit"] == 1 and body["offset"] == 0
    body = api.ok("GET", f"permissions/{proj['uuid']}", token=tok)
    assert own["uuid"] in {i["uuid"] for i in body["items"]}


def test_favourites_listing(api: Api) -> None:
    user, tok = api.new_user()
    other, other_tok = api.new_user()
    mine = _group(api, "project", "mine", token=tok)
    shared = _group(api, "project", "shared")
    star = api.create("links", "link", {"link_class": "star", "owner_uuid": user["uuid"],
                                        "tail_uuid": user["uuid"], "head_uuid": mine["uuid"]},
                      token=tok)
    public = api.link(link_class="star", owner_uuid=PUBLIC_FAVORITES,
                      tail_uuid=PUBLIC_FAVORITES, head_uuid=shared["uuid"])
    # a non-admin cannot write Public favorites
    resp = api.call("POST", "links", token=tok, json={"link": {
        "link_class": "star", "owner_uuid": PUBLIC_FAVORITES, "tail_uuid": PUBLIC_FAVORITES,
        "head_uuid": mine["uuid"]}})
    assert_error(resp, 403)

    def favourites(token: str, uuid: str) -> set[str]:
        filters = [["link_class", "=", "star"], ["tail_uuid", "in", [PUBLIC_FAVORITES, uuid]]]
        body = api.ok("GET", "links", token=token, params={"filters": json.dumps(filters)})
        return {i["uuid"] for i in body["items"]}

    assert favourites(tok, user["uuid"]) == {star["uuid"], public["uuid"]}
    assert favourites(other_tok, other["uuid"]) == {public["uuid"]}


def test_inactive_users_are_read_only(api: Api) -> None:
    user, tok = api.new_user(is_active=False)
    proj = _group(api, "project", "p")
    coll = _coll(api, "c", proj["uuid"])
    _grant(api, user["uuid"], proj["uuid"], "can_manage")
    assert _status(api, tok, "GET", f"collections/{coll['uuid']}") == 200
    assert_error(api.call("PUT", f"collections/{coll['uuid']}", token=tok,
                          json={"collection": {"name": "x"}}), 403)
    assert_error(api.call("DELETE", f"collections/{coll['uuid']}", token=tok), 403)
    assert_error(api.call("POST", "collections", token=tok,
                          json={"collection": {"name": "n"}}), 403)
    assert_error(api.call("POST", "groups", token=tok,
                          json={"group": {"group_class": "role", "name": "r"}}), 403)
    assert_error(api.call("POST", "links", token=tok, json={"link": {
        "link_class": "permission", "name": "can_read", "tail_uuid": user["uuid"],
        "head_uuid": coll["uuid"]}}), 403)
    # own record may still be updated
    api.ok("PUT", f"users/{user['uuid']}", token=tok, json={"user": {"first_name": "Z"}})


def test_roles_visible_to_all_active_users(api: Api) -> None:
    _, tok = api.new_user()
    _, inactive_tok = api.new_user(is_active=False)
    role = _group(api, "role", "visible-role")
    assert _status(api, tok, "GET", f"groups/{role['uuid']}") == 200
    listed = api.ok("GET", "groups", token=tok,
                    params={"filters": json.dumps([["group_class", "=", "role"]])})
    assert role["uuid"] in {g["uuid"] for g in listed["items"]}
    assert _status(api, inactive_tok, "GET", f"groups/{role['uuid']}") == 404
    # visible is not modifiable: roles need manage
    assert_error(api.call("PUT", f"groups/{role['uuid']}", token=tok,
                          json={"group": {"description": "x"}}), 403)


def test_no_leak_of_unreadable_objects(api: Api) -> None:
    user, tok = api.new_user()
    victim, _ = api.new_user(is_active=False, first_name="Hidden", last_name="Person")
    secret_proj = _group(api, "project", "TopSecretProject")
    secret_coll = _coll(api, "TopSecretCollection", secret_proj["uuid"])
    secret_role = _group(api, "role", "SecretRoleName")
    grant = _grant(api, victim["uuid"], secret_coll["uuid"], "can_read")
    tag = api.link(link_class="tag", name="SecretTagName", head_uuid=secret_coll["uuid"])
    readable_proj = _group(api, "project", "Readable")
    _grant(api, user["uuid"], readable_proj["uuid"], "can_read")
    secrets = [secret_proj["uuid"], secret_coll["uuid"], grant["uuid"], tag["uuid"],
               victim["uuid"], "TopSecretProject", "TopSecretCollection", "SecretTagName",
               "Hidden Person"]
    responses = []
    for uuid, res in ((secret_proj["uuid"], "groups"), (secret_coll["uuid"], "collections"),
                      (grant["uuid"], "links"), (tag["uuid"], "links"),
                      (victim["uuid"], "users")):
        responses.append(api.call("GET", f"{res}/{uuid}", token=tok))
        responses.append(api.call("PUT", f"{res}/{uuid}", token=tok,
                                  json={res[:-1]: {"owner_uuid": user["uuid"]}}))
        responses.append(api.call("DELETE", f"{res}/{uuid}", token=tok))
        responses.append(api.call("GET", f"permissions/{uuid}", token=tok))
    for res in ("links", "groups", "collections", "users"):
        responses.append(api.call("GET", res, token=tok, params={"limit": "1000"}))
        responses.append(api.call("GET", res, token=tok, params={
            "filters": json.dumps([["uuid", "in", secrets[:5]]])}))
    # creates referencing unreadable objects
    responses.append(api.call("POST", "collections", token=tok, json={"collection": {
        "name": "x", "owner_uuid": secret_proj["uuid"]}}))
    responses.append(api.call("POST", "links", token=tok, json={"link": {
        "link_class": "tag", "name": "x", "head_uuid": secret_coll["uuid"]}}))
    responses.append(api.call("POST", "links", token=tok, json={"link": {
        "link_class": "permission", "name": "can_read", "tail_uuid": user["uuid"],
        "head_uuid": secret_coll["uuid"]}}))
    responses.append(api.call("POST", "links", token=tok, json={"link": {
        "link_class": "permission", "name": "can_read", "tail_uuid": victim["uuid"],
        "head_uuid": readable_proj["uuid"]}}))
    responses.append(api.call("PUT", f"groups/{readable_proj['uuid']}", token=tok, json={
        "group": {"owner_uuid": secret_proj["uuid"]}}))
    responses.append(api.call("PUT", f"groups/{secret_role['uuid']}", token=tok, json={
        "group": {"name": "renamed"}}))
    responses.append(api.call("GET", f"/linkbase/v1/permissions/explain?user={user['uuid']}"
                                     f"&target={secret_coll['uuid']}", token=tok))
    assert all(r.status_code in (200, 403, 404, 422) for r in responses)
    for resp in responses:
        sent = str(resp.request.url) + resp.request.content.decode()
        text = resp.text if resp.status_code == 200 else json.dumps(resp.json())
        for secret in secrets:
            # an error may echo what the caller itself sent (spec: "Owner uuid '<x>' not
            # found"), never anything else about an unreadable object
            if secret not in sent:
                assert secret not in text, (resp.request.url, resp.status_code, secret, text)
        if resp.status_code != 200:
            assert "TopSecret" not in text or "TopSecret" in sent
