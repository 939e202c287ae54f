"""``/linkbase/v1/graph/*`` over HTTP: parameters, bounds, errors in the native shape, no leaks.

The answers themselves are pinned against the Python reference in tests/services/test_graph.py;
here the wire: parameter parsing (repeated ``link_class``), 422 for every bound, 404 for what the
caller cannot read, 401 without a token, and the parameters listed in the API description.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.native.conftest import ADMIN


def _create(client: TestClient, resource: str, wrapper: str, attrs: dict[str, Any],
            headers: dict[str, str] = ADMIN) -> str:
    response = client.post(f"/arvados/v1/{resource}", json={wrapper: attrs}, headers=headers)
    assert response.status_code == 200, response.text
    return str(response.json()["uuid"])


@pytest.fixture
def chain(client: TestClient) -> dict[str, str]:
    """a -relation-> b -tag-> c, in a project only the admin reads."""
    project = _create(client, "groups", "group", {"group_class": "project", "name": "P"})
    a, b, c = (_create(client, "collections", "collection", {"name": n, "owner_uuid": project})
               for n in "abc")
    _create(client, "links", "link", {"link_class": "relation", "tail_uuid": a, "head_uuid": b})
    _create(client, "links", "link", {"link_class": "tag", "name": "t", "tail_uuid": b,
                                      "head_uuid": c})
    return {"project": project, "a": a, "b": b, "c": c}


def test_neighbors_follow_depth_direction_and_classes(client: TestClient,
                                                      chain: dict[str, str]) -> None:
    a, b, c = chain["a"], chain["b"], chain["c"]
    body = client.get("/linkbase/v1/graph/neighbors", params={"uuid": a, "depth": 2},
                      headers=ADMIN).json()
    assert {n["uuid"]: n["depth"] for n in body["nodes"]} == {a: 0, b: 1, c: 2}
    assert {n["name"] for n in body["nodes"]} == {"a", "b", "c"}
    assert {e["link_class"] for e in body["edges"]} == {"relation", "tag"}
    assert body["truncated"] is False
    only = client.get("/linkbase/v1/graph/neighbors",
                      params=[("uuid", a), ("depth", "3"), ("link_class", "relation"),
                              ("link_class", "star")], headers=ADMIN).json()
    assert {n["uuid"] for n in only["nodes"]} == {a, b}
    assert only["link_classes"] == ["relation", "star"]
    inward = client.get("/linkbase/v1/graph/neighbors",
                        params={"uuid": b, "direction": "in"}, headers=ADMIN).json()
    assert {n["uuid"] for n in inward["nodes"]} == {a, b}
    paths = client.get("/linkbase/v1/graph/paths", params={"from": a, "to": c, "max_depth": 2},
                       headers=ADMIN).json()
    assert [p["nodes"] for p in paths["paths"]] == [[a, b, c]]
    assert len(paths["paths"][0]["links"]) == 2 and len(paths["edges"]) == 2


@pytest.mark.parametrize(("path", "params", "word"), [
    ("neighbors", {"depth": "4"}, "depth"),
    ("neighbors", {"depth": "0"}, "depth"),
    ("neighbors", {"depth": "two"}, "depth"),
    ("neighbors", {"limit": "1001"}, "limit"),
    ("neighbors", {"direction": "sideways"}, "direction"),
    ("paths", {"max_depth": "5"}, "max_depth"),
    ("paths", {"limit": "101"}, "limit"),
])
def test_out_of_bounds_is_422_in_the_native_shape(client: TestClient, chain: dict[str, str],
                                                  path: str, params: dict[str, str],
                                                  word: str) -> None:
    base = {"uuid": chain["a"]} if path == "neighbors" else {"from": chain["a"], "to": chain["b"]}
    response = client.get(f"/linkbase/v1/graph/{path}", params={**base, **params}, headers=ADMIN)
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert any(word in e for e in errors), errors


def test_unreadable_ends_are_404_and_no_token_is_401(client: TestClient,
                                                     chain: dict[str, str]) -> None:
    user = _create(client, "users", "user", {"email": "eve@example.com"})
    token = client.post("/arvados/v1/api_client_authorizations",
                        json={"api_client_authorization": {"owner_uuid": user}},
                        headers=ADMIN).json()["api_token"]
    eve = {"Authorization": f"Bearer {token}"}
    for path, params in (("neighbors", {"uuid": chain["a"]}),
                         ("paths", {"from": user, "to": chain["a"]})):
        response = client.get(f"/linkbase/v1/graph/{path}", params=params, headers=eve)
        assert response.status_code == 404, response.text
        assert chain["a"] not in response.text
        assert client.get(f"/linkbase/v1/graph/{path}", params=params).status_code == 401
    mine = client.get("/linkbase/v1/graph/neighbors", params={"uuid": user, "depth": 3},
                      headers=eve).json()
    assert chain["a"] not in str(mine) and chain["project"] not in str(mine)


def test_the_api_description_lists_the_graph_parameters(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    neighbors = spec["paths"]["/linkbase/v1/graph/neighbors"]["get"]
    assert {p["name"] for p in neighbors["parameters"]} >= {"uuid", "depth", "direction",
                                                             "link_class", "limit"}
    paths = spec["paths"]["/linkbase/v1/graph/paths"]["get"]
    assert {p["name"] for p in paths["parameters"]} >= {"from", "to", "max_depth"}
