"""``GET /arvados/v1/computed_permissions`` on both backends: MP(user, target) rows through the
normal list machinery, checked against the reference evaluator."""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI

from tests.api.arvados.conftest import ALL_USERS, ROOT_TOKEN, SYSTEM_USER, Api
from tests.reference.evaluator import LEVEL_NAMES, Reference
from tests.services.test_permissions_property import snapshot


def _group(api: Api, group_class: str, name: str, **attrs: Any) -> dict[str, Any]:
    return api.create("groups", "group", {"group_class": group_class, "name": name, **attrs})


def _grant(api: Api, tail: str, head: str, name: str) -> dict[str, Any]:
    return api.link(link_class="permission", name=name, tail_uuid=tail, head_uuid=head)


def _list(api: Api, token: str = ROOT_TOKEN, **params: Any) -> dict[str, Any]:
    encoded = {k: json.dumps(v) if isinstance(v, list | dict) else v for k, v in params.items()}
    body: dict[str, Any] = api.ok("GET", "computed_permissions", token=token, params=encoded)
    return body


def _rows(body: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(r["user_uuid"], r["target_uuid"], r["perm_level"]) for r in body["items"]}


def _all_rows(api: Api, token: str = ROOT_TOKEN, **params: Any) -> set[tuple[str, str, str]]:
    found: set[tuple[str, str, str]] = set()
    offset = 0
    while True:
        body = _list(api, token, limit=1000, offset=offset, **params)
        found |= _rows(body)
        offset += len(body["items"])
        if offset >= body["items_available"] or not body["items"]:
            return found


def _expected(app: FastAPI, users: list[str] | None = None) -> set[tuple[str, str, str]]:
    with app.state.services.db.read() as conn:
        snap = snapshot(conn)
    ref = Reference(snap)
    rows: set[tuple[str, str, str]] = set()
    for user in users if users is not None else list(snap.users):
        for target, (level, _flag) in ref.mp(user).items():
            if target != user and level > 0:
                rows.add((user, target, LEVEL_NAMES[level]))
    return rows


def test_rows_levels_and_visibility(api: Api, app: FastAPI) -> None:
    alice, alice_tok = api.new_user()
    bob, bob_tok = api.new_user()
    outer = _group(api, "role", "outer")
    inner = _group(api, "role", "inner")
    top = _group(api, "project", "top")
    sub = _group(api, "project", "sub", owner_uuid=top["uuid"])
    _grant(api, alice["uuid"], outer["uuid"], "can_manage")
    _grant(api, outer["uuid"], inner["uuid"], "can_write")
    _grant(api, inner["uuid"], top["uuid"], "can_manage")
    _grant(api, bob["uuid"], sub["uuid"], "can_read")

    mine = _all_rows(api, alice_tok)
    assert (alice["uuid"], outer["uuid"], "can_manage") in mine
    assert (alice["uuid"], inner["uuid"], "can_write") in mine
    assert (alice["uuid"], top["uuid"], "can_write") in mine  # weakest edge on the path
    assert (alice["uuid"], sub["uuid"], "can_write") in mine  # through ownership
    assert (alice["uuid"], ALL_USERS, "can_write") in mine
    assert (alice["uuid"], bob["uuid"], "can_read") in mine  # via All users
    assert all(row[0] == alice["uuid"] for row in mine)  # only the caller's own rows
    assert all(row[1] != alice["uuid"] for row in mine)  # never the user itself
    assert mine == _expected(app, [alice["uuid"]])

    # a non-admin asking for someone else's rows gets nothing
    other = _list(api, bob_tok, filters=[["user_uuid", "=", alice["uuid"]]])
    assert other["items"] == [] and other["items_available"] == 0
    assert (bob["uuid"], sub["uuid"], "can_read") in _all_rows(api, bob_tok)

    # admins see every user's rows, and they equal the reference evaluator's MP
    everything = _all_rows(api)
    assert {row[0] for row in everything} >= {alice["uuid"], bob["uuid"], SYSTEM_USER}
    assert everything == _expected(app)

    # revoking a grant is visible on the next request
    links = api.ok("GET", "links", params={"filters": json.dumps(
        [["tail_uuid", "=", outer["uuid"]], ["head_uuid", "=", inner["uuid"]]])})
    api.ok("DELETE", f"links/{links['items'][0]['uuid']}")
    after = _all_rows(api, alice_tok)
    assert not {r for r in after if r[1] in (inner["uuid"], top["uuid"], sub["uuid"])}
    assert _all_rows(api) == _expected(app)


def test_list_machinery(api: Api) -> None:
    alice, alice_tok = api.new_user()
    projects = [_group(api, "project", f"p{i}") for i in range(3)]
    for project, name in zip(projects, ("can_read", "can_write", "can_manage"), strict=True):
        _grant(api, alice["uuid"], project["uuid"], name)
    uuids = sorted(p["uuid"] for p in projects)

    body = _list(api, alice_tok, filters=[["target_uuid", "in", uuids]],
                 order=["target_uuid desc"])
    assert body["kind"] == "arvados#computedPermissionList"
    assert [r["target_uuid"] for r in body["items"]] == sorted(uuids, reverse=True)
    assert body["items_available"] == 3
    item = body["items"][0]
    assert set(item) == {"kind", "user_uuid", "target_uuid", "perm_level"}
    assert item["kind"] == "arvados#computedPermission"

    managed = _list(api, alice_tok, filters=[["perm_level", "=", "can_manage"],
                                             ["target_uuid", "in", uuids]])
    assert [r["target_uuid"] for r in managed["items"]] == [projects[2]["uuid"]]

    paged = _list(api, alice_tok, filters=[["target_uuid", "in", uuids]], limit=1, offset=1,
                  count="none")
    assert [r["target_uuid"] for r in paged["items"]] == [uuids[1]]  # default order: asc
    assert "items_available" not in paged and paged["limit"] == 1 and paged["offset"] == 1

    selected = _list(api, alice_tok, filters=[["target_uuid", "like", uuids[0][:12] + "%"],
                                              ["target_uuid", "in", uuids]],
                     select=["target_uuid", "perm_level"])
    assert all(set(r) == {"kind", "target_uuid", "perm_level"} for r in selected["items"])

    levels = _list(api, alice_tok, select=["perm_level"], distinct=True, order=["perm_level"])
    assert [r["perm_level"] for r in levels["items"]] == ["can_manage", "can_read", "can_write"]

    bad = api.call("GET", "computed_permissions", token=alice_tok,
                   params={"filters": json.dumps([["nonesuch", "=", "x"]])})
    assert bad.status_code == 422
    assert api.call("POST", "computed_permissions", json={}).status_code == 404
    assert api.call("GET", f"computed_permissions/{alice['uuid']}").status_code == 404
    assert api.call("GET", "computed_permissions", token=None).status_code == 401


def test_discovery_declares_list_only(api: Api) -> None:
    doc = api.ok("GET", "/discovery/v1/apis/arvados/v1/rest", token=None)
    methods = doc["resources"]["computed_permissions"]["methods"]
    assert set(methods) == {"list"}
    assert methods["list"]["path"] == "computed_permissions"
    assert methods["list"]["response"] == {"$ref": "ComputedPermissionList"}
    assert set(doc["schemas"]["ComputedPermission"]["properties"]) == {
        "kind", "user_uuid", "target_uuid", "perm_level"}
