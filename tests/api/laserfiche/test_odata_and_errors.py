"""OData options on Links/LinkDefinitions and ProblemDetails for every kind of error."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.api.laserfiche.conftest import ADMIN, LF, V2, assert_problem


@pytest.fixture
def hub(lf: LF) -> dict[str, Any]:
    """Entry ``hub`` linked to 12 documents (all definitions used), as admin."""
    folder = lf.folder(1, "H")
    hub = lf.document(folder["id"], "hub")["id"]
    docs = [lf.document(folder["id"], f"n{i:02d}")["id"] for i in range(12)]
    links = [{"linkDefinitionId": 1 + i % 3, "otherEntryId": d, "isSource": i % 2 == 0}
             for i, d in enumerate(docs)]
    assert lf.put_links(hub, links).status_code == 200
    return {"hub": hub, "docs": docs}


def _follow(lf: LF, first: Any, headers: dict[str, str]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    body = first.json()
    pages = 0
    while True:
        items += body["value"]
        pages += 1
        link = body.get("@odata.nextLink")
        if not link:
            return items
        assert link.startswith("http://testserver/")
        body = lf.client.get(link, headers=headers).json()
        assert pages < 50


def test_default_order_top_skip_count(lf: LF, hub: dict[str, Any]) -> None:
    all_links = lf.get_links(hub["hub"]).json()["value"]
    ids = [v["id"] for v in all_links]
    assert ids == sorted(ids) and len(ids) == 12
    body = lf.get_links(hub["hub"], **{"$top": 5, "$skip": 2, "$count": "true"}).json()
    assert [v["id"] for v in body["value"]] == ids[2:7]
    assert body["@odata.count"] == 12
    assert "@odata.nextLink" not in body  # $top satisfied
    assert "@odata.count" not in lf.get_links(hub["hub"], **{"$count": "false"}).json()
    assert lf.get_links(hub["hub"], **{"$top": 0}).json()["value"] == []


def test_prefer_paging_follows_next_links(lf: LF, hub: dict[str, Any]) -> None:
    ids = [v["id"] for v in lf.get_links(hub["hub"]).json()["value"]]
    for prefer in ("maxpagesize=5", "odata.maxpagesize=5"):
        headers = {**ADMIN, "Prefer": prefer}
        first = lf.get_links(hub["hub"], headers=headers, **{"$count": "true"})
        assert len(first.json()["value"]) == 5 and first.json()["@odata.count"] == 12
        assert [v["id"] for v in _follow(lf, first, headers)] == ids
    # Empty Prefer is accepted; $top above page size pages too.
    headers = {**ADMIN, "Prefer": ""}
    assert lf.get_links(hub["hub"], headers=headers).status_code == 200
    paged = lf.get_links(hub["hub"], headers={**ADMIN, "Prefer": "maxpagesize=4"},
                         **{"$top": 10})
    assert [v["id"] for v in _follow(lf, paged, {**ADMIN, "Prefer": "maxpagesize=4"})] == ids[:10]


def test_orderby_five_keys_kept_in_next_link(lf: LF, hub: dict[str, Any]) -> None:
    order = "linkDefinitionId desc,targetFullPath,sourceId asc,description,id desc"
    headers = {**ADMIN, "Prefer": "maxpagesize=5"}
    first = lf.get_links(hub["hub"], headers=headers, **{"$orderby": order})
    assert first.status_code == 200, first.text
    link = first.json()["@odata.nextLink"]
    assert parse_qs(urlsplit(link).query)["$orderby"][0].startswith("linkDefinitionId desc")
    items = _follow(lf, first, headers)
    expected = sorted(lf.get_links(hub["hub"]).json()["value"], key=lambda v: -v["id"])
    expected.sort(key=lambda v: v["sourceId"])
    expected.sort(key=lambda v: v["targetFullPath"])
    expected.sort(key=lambda v: -v["linkDefinitionId"])
    assert [v["id"] for v in items] == [v["id"] for v in expected]
    by_path = lf.get_links(hub["hub"], **{"$orderby": "targetFullPath desc"}).json()["value"]
    paths = [v["targetFullPath"] for v in by_path]
    assert paths == sorted(paths, reverse=True)
    assert_problem(lf.get_links(hub["hub"], **{"$orderby": "id,id,id,id,id,id"}), 400)
    assert_problem(lf.get_links(hub["hub"], **{"$orderby": "nope"}), 400)
    assert_problem(lf.get_links(hub["hub"], **{"$orderby": "id sideways"}), 400)
    assert_problem(lf.get_links(hub["hub"], **{"$orderby": "customProperties"}), 400)


def test_select(lf: LF, hub: dict[str, Any]) -> None:
    body = lf.get_links(hub["hub"], **{"$select": "id,targetId", "$top": 2}).json()
    assert all(set(v) == {"id", "targetId"} for v in body["value"])
    headers = {**ADMIN, "Prefer": "maxpagesize=5"}
    first = lf.get_links(hub["hub"], headers=headers, **{"$select": "sourceLink"})
    assert "$select=sourceLink" in first.json()["@odata.nextLink"]
    assert all(set(v) == {"sourceLink"} for v in _follow(lf, first, headers))
    assert_problem(lf.get_links(hub["hub"], **{"$select": "id,bogus"}), 400)


@pytest.mark.parametrize("params,prefer", [
    ({"$top": "151"}, None), ({"$top": "-1"}, None), ({"$top": "x"}, None),
    ({"$skip": "-3"}, None), ({"$count": "maybe"}, None), ({"$select": ""}, None),
    ({}, "maxpagesize=0"), ({}, "odata.maxpagesize=abc"),
])
def test_bad_options_are_400(lf: LF, hub: dict[str, Any], params: dict[str, str],
                             prefer: str | None) -> None:
    headers = {**ADMIN, **({"Prefer": prefer} if prefer is not None else {})}
    assert_problem(lf.get_links(hub["hub"], headers=headers, **params), 400)
    assert_problem(lf.client.get(f"{V2}/LinkDefinitions", headers=headers, params=params), 400)


def test_top_150_is_accepted(lf: LF, hub: dict[str, Any]) -> None:
    assert lf.get_links(hub["hub"], **{"$top": "150"}).status_code == 200


def test_link_definitions_paging_and_order(lf: LF) -> None:
    for i in range(6):
        assert lf.client.post("/linkbase/v1/link_definitions", headers=ADMIN, json={
            "source_label": f"S{i}", "target_label": f"T{i}", "description": f"D{i}"}
        ).status_code == 200
    headers = {**ADMIN, "Prefer": "maxpagesize=4"}
    first = lf.client.get(f"{V2}/LinkDefinitions", headers=headers,
                          params={"$count": "true", "$orderby": "description desc"})
    body = first.json()
    assert body["@odata.count"] == 9 and len(body["value"]) == 4
    items = _follow(lf, first, headers)
    descriptions = [d["description"] for d in items]
    assert descriptions == sorted(descriptions, reverse=True) and len(items) == 9
    sel = lf.client.get(f"{V2}/LinkDefinitions", headers=ADMIN,
                        params={"$select": "id", "$top": 2, "$skip": 1}).json()
    assert sel["value"] == [{"id": 2}, {"id": 3}]


def test_next_link_uses_base_url_and_prefix(database_url: str) -> None:
    from fastapi.testclient import TestClient

    from linkbase.api.app import create_app
    from tests.api.laserfiche.conftest import make_settings

    app = create_app(make_settings(database_url, base_url="https://lf.example.org/"))
    with TestClient(app) as client:
        lf = LF(client)
        folder = lf.folder(1, "F")
        docs = [lf.document(folder["id"], f"d{i}")["id"] for i in range(3)]
        lf.put_links(docs[0], [{"linkDefinitionId": 1, "otherEntryId": d} for d in docs[1:]])
        body = client.get(f"/LFRepositoryAPI{V2}/Entries/{docs[0]}/Links",
                          headers={**ADMIN, "Prefer": "maxpagesize=1"}).json()
        assert body["@odata.nextLink"].startswith(
            f"https://lf.example.org/LFRepositoryAPI{V2}/Entries/{docs[0]}/Links?")
        assert body["value"][0]["sourceLink"] == (
            f"https://lf.example.org/LFRepositoryAPI{V2}/Entries/{docs[0]}")
    app.state.services.db.dispose()


@pytest.mark.parametrize("method,path", [
    ("GET", "/v2/Nope"), ("GET", "/LFRepositoryAPI/v2/Repositories/r-default/Nope"),
    ("GET", "/LFRepositoryAPI/whatever"), ("GET", f"{V2}/Entries/1/Nope"),
    ("POST", "/v1/Repositories/r-default/Nothing"),
])
def test_unknown_paths_are_problem_404(lf: LF, method: str, path: str) -> None:
    assert_problem(lf.client.request(method, path, headers=ADMIN), 404)


@pytest.mark.parametrize("method,path", [
    ("POST", f"{V2}/Entries/1/Links"), ("PATCH", f"{V2}/Entries/1/Links"),
    ("DELETE", "/v2/Repositories"), ("PUT", f"/LFRepositoryAPI{V2}/LinkDefinitions/1"),
])
def test_wrong_methods_are_problem_405(lf: LF, method: str, path: str) -> None:
    assert_problem(lf.client.request(method, path, headers=ADMIN), 405)


def test_arvados_errors_keep_their_shape(lf: LF) -> None:
    response = lf.client.get("/arvados/v1/nothing", headers=ADMIN)
    assert response.status_code == 404 and "errors" in response.json()
