"""``GET /linkbase/v1/permissions/explain``: levels, paths and access rules, on both backends."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.reference.evaluator import Reference, Snapshot

from linkbase.api.app import create_app
from linkbase.settings import Settings

ROOT = "explainroot" + "0" * 30
SYSTEM_USER = "zzzzz-tpzed-000000000000000"
_LEVEL = {"none": 0, "can_read": 1, "can_write": 2, "can_manage": 3}


class Client:
    def __init__(self, client: TestClient) -> None:
        self.client = client

    def call(self, method: str, path: str, token: str = ROOT, **kw: Any) -> Any:
        return self.client.request(method, path, headers={"Authorization": f"Bearer {token}"},
                                   **kw)

    def make(self, resource: str, wrapper: str, attrs: dict[str, Any]) -> dict[str, Any]:
        resp = self.call("POST", f"/arvados/v1/{resource}", json={wrapper: attrs})
        assert resp.status_code == 200, resp.text
        body: dict[str, Any] = resp.json()
        return body

    def user(self, **attrs: Any) -> tuple[str, str]:
        user = self.make("users", "user", attrs)
        tok = self.make("api_client_authorizations", "api_client_authorization",
                        {"owner_uuid": user["uuid"]})
        return user["uuid"], f"v2/{tok['uuid']}/{tok['api_token']}"

    def grant(self, tail: str, head: str, name: str) -> str:
        return self.make("links", "link", {"link_class": "permission", "name": name,
                                           "tail_uuid": tail, "head_uuid": head})["uuid"]

    def explain(self, user: str, target: str, token: str = ROOT) -> Any:
        return self.call("GET", "/linkbase/v1/permissions/explain",
                         token=token, params={"user": user, "target": target})


@pytest.fixture
def cl(database_url: str) -> Iterator[Client]:
    app = create_app(Settings(database_url=database_url, system_root_token=ROOT))
    with TestClient(app) as client:
        yield Client(client)
    app.state.services.db.dispose()


def assert_valid_path(body: dict[str, Any]) -> None:
    """The path is a chain from the user to the target whose weakest step is the level."""
    path = body["path"]
    if body["level"] == "none" or body.get("admin"):
        assert path == []
        return
    assert path[0]["tail_uuid"] == body["user_uuid"]
    assert path[-1]["head_uuid"] == body["target_uuid"]
    for a, b in itertools.pairwise(path):
        assert a["head_uuid"] == b["tail_uuid"]
    assert min(_LEVEL[s["level"]] for s in path) == _LEVEL[body["level"]]
    for step in path:
        assert step["kind"] in ("permission", "ownership", "self")
        assert ("link_uuid" in step) == (step["kind"] == "permission")


def test_explain_nested_roles_projects_and_ownership(cl: Client) -> None:
    user, tok = cl.user(email="a@x")
    outer = cl.make("groups", "group", {"group_class": "role", "name": "outer"})["uuid"]
    inner = cl.make("groups", "group", {"group_class": "role", "name": "inner"})["uuid"]
    top = cl.make("groups", "group", {"group_class": "project", "name": "top"})["uuid"]
    sub = cl.make("groups", "group", {"group_class": "project", "name": "sub",
                                      "owner_uuid": top})["uuid"]
    coll = cl.make("collections", "collection", {"name": "c", "owner_uuid": sub})["uuid"]
    l1 = cl.grant(user, outer, "can_manage")
    cl.grant(outer, inner, "can_write")
    cl.grant(inner, top, "can_manage")
    resp = cl.explain(user, coll, token=tok)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["level"] == "can_write"
    assert_valid_path(body)
    assert body["path"][0]["link_uuid"] == l1
    assert [s["kind"] for s in body["path"]] == [
        "permission", "permission", "permission", "ownership", "ownership"]
    # own collection: via the owner, which is the user itself
    mine = cl.make("collections", "collection", {"name": "m", "owner_uuid": user})["uuid"]
    body = cl.explain(user, mine, token=tok).json()
    assert body["level"] == "can_manage"
    assert_valid_path(body)
    # self
    body = cl.explain(user, user, token=tok).json()
    assert body["level"] == "can_manage" and body["path"][0]["kind"] == "self"


def test_explain_through_users_step(cl: Client) -> None:
    """U manages B (edge level 3): U uses B's permissions (the USERS step of §4.4)."""
    u, tok = cl.user(email="u@x")
    b, _ = cl.user(email="b@x")
    proj = cl.make("groups", "group", {"group_class": "project", "name": "p",
                                       "owner_uuid": b})["uuid"]
    cl.grant(u, b, "can_manage")
    body = cl.explain(u, proj, token=tok).json()
    assert body["level"] == "can_manage"
    assert_valid_path(body)
    assert body["path"][0]["head_uuid"] == b


def test_explain_access_rules(cl: Client) -> None:
    u, tok = cl.user(email="u@x")
    other, other_tok = cl.user(email="o@x")
    admin, admin_tok = cl.user(email="adm@x", is_admin=True)
    secret = cl.make("collections", "collection", {"name": "s"})["uuid"]
    shared = cl.make("groups", "group", {"group_class": "project", "name": "sh"})["uuid"]
    cl.grant(u, shared, "can_read")
    cl.grant(other, shared, "can_manage")
    assert cl.explain(u, "nonsense", token=tok).status_code == 422
    assert cl.explain("bad", shared, token=tok).status_code == 422
    resp = cl.explain(u, secret, token=tok)
    assert resp.status_code == 404 and secret not in resp.text
    # explaining for someone else needs manage on the target
    assert cl.explain(other, shared, token=tok).status_code == 403
    body = cl.explain(u, shared, token=other_tok).json()
    assert body["level"] == "can_read"
    assert_valid_path(body)
    body = cl.explain(u, secret, token=admin_tok).json()
    assert body["level"] == "none" and body["path"] == []
    body = cl.explain(admin, secret, token=admin_tok).json()
    assert body["level"] == "can_manage" and body.get("admin") is True
    assert cl.call("GET", "/linkbase/v1/permissions/explain", token="nope",
                   params={"user": u, "target": shared}).status_code == 401


def explain_matches_reference(client: Client, snap: Snapshot) -> None:
    """Every (user, object) explanation has the reference level and a valid path."""
    ref = Reference(snap)
    objects = [*snap.users, *snap.groups, *snap.collections, *snap.links]
    for user in snap.users:
        for target in objects:
            resp = client.explain(user, target)
            assert resp.status_code == 200, resp.text
            body = resp.json()
            assert body["level"] == ref.explain_level(user, target), (user, target, body)
            assert_valid_path(body)
