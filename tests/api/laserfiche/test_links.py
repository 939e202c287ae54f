"""Links of an entry: PUT replaces, GET lists; every error leaves links unchanged."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.laserfiche.conftest import ADMIN, LF, V2, assert_problem, make_settings


@pytest.fixture
def tree(lf: LF) -> dict[str, int]:
    """A folder with four documents."""
    folder = lf.folder(1, "F")
    ids = {"F": folder["id"]}
    for name in ("d1", "d2", "d3", "d4"):
        ids[name] = lf.document(folder["id"], name)["id"]
    return ids


def _ids(response: Any) -> list[tuple[int, int, int]]:
    return [(v["linkDefinitionId"], v["sourceId"], v["targetId"]) for v in response.json()["value"]]


def test_put_creates_links_with_full_shape(lf: LF, tree: dict[str, int]) -> None:
    response = lf.put_links(tree["d1"], [
        {"linkDefinitionId": 1, "otherEntryId": tree["d2"], "isSource": True,
         "customProperties": {"k": "v"}},
        {"linkDefinitionId": 2, "otherEntryId": tree["d3"], "isSource": False},
    ])
    assert response.status_code == 200, response.text
    value = response.json()["value"]
    assert len(value) == 2
    first, second = value
    assert first["sourceId"] == tree["d1"] and first["targetId"] == tree["d2"]
    assert first["sourceFullPath"] == "\\F\\d1" and first["targetFullPath"] == "\\F\\d2"
    assert first["sourceLabel"] == "Email" and first["targetLabel"] == "Attachment"
    assert first["linkDefinitionDescription"] == "Email Attachment"
    assert first["description"] == "Email Attachment"
    assert first["customProperties"] == {"k": "v"}
    assert first["sourceLink"] == f"http://testserver{V2}/Entries/{tree['d1']}"
    assert first["targetLink"] == f"http://testserver{V2}/Entries/{tree['d2']}"
    assert second["sourceId"] == tree["d3"] and second["targetId"] == tree["d1"]
    assert second["customProperties"] == {}
    assert set(first) == {"id", "description", "sourceId", "sourceFullPath", "sourceLabel",
                          "sourceLink", "targetId", "targetFullPath", "targetLabel",
                          "targetLink", "linkDefinitionId", "linkDefinitionDescription",
                          "customProperties"}
    # A link belongs to both ends.
    assert _ids(lf.get_links(tree["d2"])) == [(1, tree["d1"], tree["d2"])]
    assert _ids(lf.get_links(tree["d3"])) == [(2, tree["d3"], tree["d1"])]


def test_is_source_defaults_true_and_null_properties(lf: LF, tree: dict[str, int]) -> None:
    response = lf.put_links(tree["d1"], [
        {"linkDefinitionId": 1, "otherEntryId": tree["d2"], "customProperties": None},
    ])
    assert response.status_code == 200
    assert _ids(response) == [(1, tree["d1"], tree["d2"])]
    assert response.json()["value"][0]["customProperties"] == {}


def test_put_replaces_keeps_ids_and_is_idempotent(lf: LF, tree: dict[str, int]) -> None:
    links = [{"linkDefinitionId": 1, "otherEntryId": tree["d2"]},
             {"linkDefinitionId": 1, "otherEntryId": tree["d3"]}]
    first = lf.put_links(tree["d1"], links).json()["value"]
    again = lf.put_links(tree["d1"], links).json()["value"]
    assert first == again
    kept_id = first[0]["id"]
    replaced = lf.put_links(tree["d1"], [
        {"linkDefinitionId": 1, "otherEntryId": tree["d2"], "customProperties": {"a": "1"}},
        {"linkDefinitionId": 3, "otherEntryId": tree["d4"]},
        {"linkDefinitionId": 3, "otherEntryId": tree["d4"]},
    ]).json()["value"]
    assert replaced[0]["id"] == kept_id
    assert replaced[0]["customProperties"] == {"a": "1"}
    assert [(v["linkDefinitionId"], v["targetId"]) for v in replaced] == [
        (1, tree["d2"]), (3, tree["d4"])]
    assert lf.get_links(tree["d3"]).json()["value"] == []
    # PUT on the other end replaces there too (the link belongs to both entries).
    assert lf.put_links(tree["d4"], []).json()["value"] == []
    assert _ids(lf.get_links(tree["d1"])) == [(1, tree["d1"], tree["d2"])]
    assert lf.put_links(tree["d1"], []).json() == {"value": []}


def _unchanged(lf: LF, entry: int, before: Any) -> None:
    assert lf.get_links(entry).json() == before


@pytest.mark.parametrize("body", [
    {"links": [{"linkDefinitionId": "1", "otherEntryId": 3}]},
    {"links": [{"linkDefinitionId": 1.5, "otherEntryId": 3}]},
    {"links": [{"linkDefinitionId": True, "otherEntryId": 3}]},
    {"links": [{"linkDefinitionId": 1, "otherEntryId": "3"}]},
    {"links": [{"linkDefinitionId": 1}]},
    {"links": [{"otherEntryId": 3}]},
    {"links": [{"linkDefinitionId": 1, "otherEntryId": 3, "isSource": "true"}]},
    {"links": [{"linkDefinitionId": 1, "otherEntryId": 3, "isSource": 1}]},
    {"links": [{"linkDefinitionId": 1, "otherEntryId": 3, "customProperties": ["a"]}]},
    {"links": [{"linkDefinitionId": 1, "otherEntryId": 3, "customProperties": {"a": 1}}]},
    {"links": [{"linkDefinitionId": 1, "otherEntryId": 3, "customProperties": "x"}]},
    {"links": [5]},
    {"links": [[1, 3]]},
    {"links": {"linkDefinitionId": 1, "otherEntryId": 3}},
    {"links": None},
    {},
    [],
    "links",
])
def test_bad_shapes_are_400_and_change_nothing(lf: LF, tree: dict[str, int], body: Any) -> None:
    lf.put_links(tree["d1"], [{"linkDefinitionId": 2, "otherEntryId": tree["d4"]}])
    before = lf.get_links(tree["d1"]).json()
    response = lf.client.put(f"{V2}/Entries/{tree['d1']}/Links", headers=ADMIN, json=body)
    assert_problem(response, 400)
    _unchanged(lf, tree["d1"], before)


def test_semantic_errors(lf: LF, tree: dict[str, int]) -> None:
    lf.put_links(tree["d1"], [{"linkDefinitionId": 2, "otherEntryId": tree["d4"]}])
    before = lf.get_links(tree["d1"]).json()
    ok = {"linkDefinitionId": 1, "otherEntryId": tree["d2"]}
    cases = [
        ([ok, {"linkDefinitionId": 99, "otherEntryId": tree["d3"]}], 400),
        ([ok, {"linkDefinitionId": 1, "otherEntryId": tree["d1"]}], 400),
        ([ok, {"linkDefinitionId": 1, "otherEntryId": 9999}], 404),
    ]
    for links, status in cases:
        assert_problem(lf.put_links(tree["d1"], links), status)
        _unchanged(lf, tree["d1"], before)
    assert_problem(lf.put_links(9999, [ok]), 404)
    url = f"{V2}/Entries/{tree['d1']}/Links"
    for raw in (b"{", b"", b"nul", b'{"links": [}'):
        assert_problem(lf.client.put(url, headers={**ADMIN, "Content-Type": "application/json"},
                                     content=raw), 400)
    _unchanged(lf, tree["d1"], before)


def test_limits_are_413(database_url: str) -> None:
    from fastapi.testclient import TestClient

    from linkbase.api.app import create_app

    app = create_app(make_settings(database_url, max_batch_links=2, max_request_bytes=2000))
    with TestClient(app) as client:
        lf = LF(client)
        folder = lf.folder(1, "F")
        docs = [lf.document(folder["id"], f"d{i}")["id"] for i in range(4)]
        lf.put_links(docs[0], [{"linkDefinitionId": 1, "otherEntryId": docs[1]}])
        before = lf.get_links(docs[0]).json()
        too_many = [{"linkDefinitionId": 1, "otherEntryId": d} for d in docs[1:]]
        assert_problem(lf.put_links(docs[0], too_many), 413)
        big = [{"linkDefinitionId": 1, "otherEntryId": docs[1],
                "customProperties": {"x": "y" * 3000}}]
        assert_problem(lf.put_links(docs[0], big), 413)
        assert lf.get_links(docs[0]).json() == before
    app.state.services.db.dispose()


def test_permissions(lf: LF, tree: dict[str, int]) -> None:
    reader = lf.create_user("reader")
    writer = lf.create_user("writer")
    stranger = lf.create_user("stranger")
    hidden = lf.folder(1, "Hidden")
    secret = lf.document(hidden["id"], "secret")
    lf.grant("reader", lf.uuid_of(tree["F"]), "can_read")
    lf.grant("writer", lf.uuid_of(tree["F"]), "can_write")
    # Admin links d1 to d2 and to the hidden document.
    lf.put_links(tree["d1"], [{"linkDefinitionId": 1, "otherEntryId": tree["d2"]},
                              {"linkDefinitionId": 1, "otherEntryId": secret["id"]}])
    # The link to the unreadable entry is absent from value and count.
    body = lf.get_links(tree["d1"], headers=reader, **{"$count": "true"}).json()
    assert _ids_of(body) == [(1, tree["d1"], tree["d2"])] and body["@odata.count"] == 1
    assert "secret" not in str(body) and "Hidden" not in str(body)
    assert_problem(lf.get_links(tree["d1"], headers=stranger), 404)
    assert_problem(lf.get_links(secret["id"], headers=reader), 404)
    # PUT: reader 403, stranger 404, writer 200; unreadable other entry → 404 whole PUT.
    new = [{"linkDefinitionId": 2, "otherEntryId": tree["d3"]}]
    assert_problem(lf.put_links(tree["d1"], new, headers=reader), 403)
    assert_problem(lf.put_links(tree["d1"], new, headers=stranger), 404)
    hidden_ref = [{"linkDefinitionId": 2, "otherEntryId": secret["id"]}]
    problem = assert_problem(lf.put_links(tree["d1"], hidden_ref, headers=writer), 404)
    assert "secret" not in str(problem)
    done = lf.put_links(tree["d1"], new, headers=writer)
    assert done.status_code == 200
    assert _ids(done) == [(2, tree["d1"], tree["d3"])]
    # The writer could not see the hidden link, so its PUT left it alone.
    assert _ids(lf.get_links(tree["d1"])) == [(1, tree["d1"], secret["id"]),
                                               (2, tree["d1"], tree["d3"])]
    # The writer owns the link it created.
    links = lf.client.get("/arvados/v1/links", headers=ADMIN, params={
        "filters": '[["link_class","=","relation"],["name","=","Supersedes"]]'}).json()["items"]
    assert [link["owner_uuid"] for link in links] == [lf.users["writer"]["uuid"]]


def _ids_of(body: dict[str, Any]) -> list[tuple[int, int, int]]:
    return [(v["linkDefinitionId"], v["sourceId"], v["targetId"]) for v in body["value"]]


def test_reader_linking_from_writable_entry_to_readable_entry(lf: LF, tree: dict[str, int]
                                                              ) -> None:
    user = lf.create_user("mixed")
    mine = lf.folder(1, "Mine")
    doc = lf.document(mine["id"], "m")
    lf.grant("mixed", lf.uuid_of(mine["id"]), "can_write")
    lf.grant("mixed", lf.uuid_of(tree["F"]), "can_read")
    response = lf.put_links(doc["id"], [{"linkDefinitionId": 1, "otherEntryId": tree["d1"]}],
                            headers=user)
    assert response.status_code == 200
    assert _ids(lf.get_links(tree["d1"], headers=user)) == [(1, doc["id"], tree["d1"])]
    # From the read-only side it cannot replace links.
    assert_problem(lf.put_links(tree["d1"], [], headers=user), 403)


def test_tag_links_and_unknown_names_never_appear(lf: LF, tree: dict[str, int]) -> None:
    d1, d2 = lf.uuid_of(tree["d1"]), lf.uuid_of(tree["d2"])
    for link in ({"link_class": "tag", "name": "Email Attachment", "tail_uuid": d1,
                  "head_uuid": d2},
                 {"link_class": "relation", "name": "Not a definition", "tail_uuid": d1,
                  "head_uuid": d2}):
        created = lf.client.post("/arvados/v1/links", headers=ADMIN, json={"link": link})
        assert created.status_code == 200, created.text
    assert lf.get_links(tree["d1"]).json()["value"] == []
    # PUT [] does not touch what the face does not show.
    lf.put_links(tree["d1"], [])
    remaining = lf.client.get("/arvados/v1/links", headers=ADMIN, params={
        "filters": f'[["tail_uuid","=","{d1}"]]'}).json()["items"]
    assert len(remaining) == 2


def test_link_definitions_endpoints(lf: LF) -> None:
    body = lf.client.get(f"{V2}/LinkDefinitions", headers=ADMIN).json()
    assert body["value"][:3] == [
        {"id": 1, "sourceLabel": "Email", "targetLabel": "Attachment",
         "description": "Email Attachment"},
        {"id": 2, "sourceLabel": "Supersedes", "targetLabel": "Superseded by",
         "description": "Supersedes"},
        {"id": 3, "sourceLabel": "Agenda", "targetLabel": "Packet",
         "description": "Agenda Packet"},
    ]
    one = lf.client.get(f"{V2}/LinkDefinitions/2", headers=ADMIN,
                        params={"$select": "description"}).json()
    assert one == {"description": "Supersedes"}
    assert_problem(lf.client.get(f"{V2}/LinkDefinitions/99", headers=ADMIN), 404)
    assert_problem(lf.client.get(f"{V2}/LinkDefinitions/x", headers=ADMIN), 400)
    # Admins add definitions through the native API; others cannot.
    user = lf.create_user("plain")
    new = {"source_label": "Contract", "target_label": "Amendment", "description": "Amends"}
    assert lf.client.post("/linkbase/v1/link_definitions", headers=user, json=new
                          ).status_code == 403
    created = lf.client.post("/linkbase/v1/link_definitions", headers=ADMIN, json=new)
    assert created.status_code == 200 and created.json()["id"] == 4
    assert lf.client.post("/linkbase/v1/link_definitions", headers=ADMIN, json=new
                          ).status_code == 422
    assert lf.client.post("/linkbase/v1/link_definitions", headers=ADMIN,
                          json={"source_label": "x"}).status_code == 422
    listed = lf.client.get("/linkbase/v1/link_definitions", headers=user).json()
    assert [d["id"] for d in listed["items"]] == [1, 2, 3, 4]
    lf_def = lf.client.get(f"{V2}/LinkDefinitions/4", headers=user).json()
    assert lf_def == {"id": 4, "sourceLabel": "Contract", "targetLabel": "Amendment",
                      "description": "Amends"}


def test_native_documents_need_write(lf: LF, tree: dict[str, int]) -> None:
    reader = lf.create_user("docreader")
    lf.grant("docreader", lf.uuid_of(tree["F"]), "can_read")
    body = {"repository_id": "r-default", "parent_entry_id": tree["F"], "name": "x"}
    assert lf.client.post("/linkbase/v1/documents", headers=reader, json=body).status_code == 403
    assert lf.client.post("/linkbase/v1/documents", headers=ADMIN,
                          json={**body, "parent_entry_id": 999}).status_code == 404
    assert lf.client.post("/linkbase/v1/documents", headers=ADMIN,
                          json={**body, "name": "d1"}).status_code == 422
    made = lf.client.post("/linkbase/v1/documents", headers=ADMIN,
                          json={**body, "properties": {"mimeType": "application/pdf"}})
    assert made.status_code == 200 and made.json()["mimeType"] == "application/pdf"


def test_count_is_every_visible_link_whatever_the_page(lf: LF, tree: dict[str, int]) -> None:
    """``$count`` counts the entry's visible links on every page shape: a partial page, a page
    past the end, a page ordered in Python (by path), an entry without links, and for a reader
    who cannot see one of them."""
    hidden = lf.folder(1, "Hidden")
    secret = lf.document(hidden["id"], "secret")
    lf.put_links(tree["d1"], [{"linkDefinitionId": 1, "otherEntryId": tree[d]}
                              for d in ("d2", "d3", "d4")]
                 + [{"linkDefinitionId": 2, "otherEntryId": secret["id"]}])
    reader = lf.create_user("reader")
    lf.grant("reader", lf.uuid_of(tree["F"]), "can_read")
    for headers, visible in ((ADMIN, 4), (reader, 3)):
        for params, shown in (({"$top": "2"}, 2), ({"$skip": "2", "$top": "1"}, 1),
                              ({"$skip": "10"}, 0), ({"$orderby": "targetFullPath desc"}, visible),
                              ({"$orderby": "id desc", "$top": "1"}, 1)):
            body = lf.get_links(tree["d1"], headers=headers, **{"$count": "true"}, **params).json()
            assert body["@odata.count"] == visible, (params, body)
            assert len(body["value"]) == shown, params
    body = lf.get_links(tree["d2"], headers=reader, **{"$count": "true", "$skip": "1"}).json()
    assert body["@odata.count"] == 1 and body["value"] == []
    body = lf.get_links(tree["F"], **{"$count": "true"}).json()
    assert body["@odata.count"] == 0 and body["value"] == []
    assert "@odata.count" not in lf.get_links(tree["d1"]).json()
