"""One graph, two faces: Laserfiche links are Arvados ``relation`` links and vice versa."""

from __future__ import annotations

import json

from tests.api.laserfiche.conftest import ADMIN, LF, V2


def _relations(lf: LF, headers: dict[str, str] = ADMIN) -> list[dict[str, object]]:
    response = lf.client.get("/arvados/v1/links", headers=headers, params={
        "filters": json.dumps([["link_class", "=", "relation"]]), "order": "created_at"})
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def test_lf_link_is_arvados_relation(lf: LF) -> None:
    folder = lf.folder(1, "F")
    a, b = (lf.document(folder["id"], n) for n in ("a", "b"))
    lf.put_links(a["id"], [{"linkDefinitionId": 3, "otherEntryId": b["id"], "isSource": False,
                            "customProperties": {"page": "4"}}])
    [link] = _relations(lf)
    assert link["tail_uuid"] == b["uuid"] and link["head_uuid"] == a["uuid"]
    assert link["name"] == "Agenda Packet" and link["properties"] == {"page": "4"}
    # Updating the properties through Arvados shows on the Laserfiche face.
    updated = lf.client.put(f"/arvados/v1/links/{link['uuid']}", headers=ADMIN,
                            json={"link": {"properties": {"page": "5"}}})
    assert updated.status_code == 200
    [lf_link] = lf.get_links(a["id"]).json()["value"]
    assert lf_link["customProperties"] == {"page": "5"}
    # PUT [] deletes the Arvados link.
    lf.put_links(b["id"], [])
    assert _relations(lf) == []
    assert lf.client.get(f"/arvados/v1/links/{link['uuid']}", headers=ADMIN).status_code == 404


def test_arvados_relation_appears_on_both_entries(lf: LF) -> None:
    user = lf.create_user("ursula")
    folder = lf.folder(1, "F")
    lf.grant("ursula", lf.uuid_of(folder["id"]), "can_read")
    a, b = (lf.document(folder["id"], n) for n in ("a", "b"))
    user_token = user["Authorization"].split()[1]
    created = lf.client.post("/arvados/v1/links", headers={"Authorization": f"Bearer {user_token}"},
                             json={"link": {"link_class": "relation", "name": "Supersedes",
                                            "tail_uuid": a["uuid"], "head_uuid": b["uuid"],
                                            "properties": {"why": "v2"}}})
    assert created.status_code == 200, created.text
    assert created.json()["owner_uuid"] == lf.users["ursula"]["uuid"]
    for entry in (a, b):
        [link] = lf.get_links(entry["id"], headers=user).json()["value"]
        assert (link["sourceId"], link["targetId"]) == (a["id"], b["id"])
        assert link["linkDefinitionId"] == 2 and link["customProperties"] == {"why": "v2"}
    # A PUT re-sending it keeps its id (identity is definition + source + target).
    before = lf.get_links(a["id"]).json()["value"][0]["id"]
    after = lf.put_links(a["id"], [{"linkDefinitionId": 2, "otherEntryId": b["id"],
                                    "customProperties": {"why": "v3"}}]).json()["value"]
    assert after[0]["id"] == before and after[0]["customProperties"] == {"why": "v3"}
    # Deleting through Arvados removes it from the Laserfiche face.
    assert lf.client.delete(f"/arvados/v1/links/{created.json()['uuid']}",
                            headers=ADMIN).status_code == 200
    assert lf.get_links(a["id"]).json()["value"] == []


def test_rename_and_move_show_in_paths(lf: LF) -> None:
    top = lf.folder(1, "Top")
    other = lf.folder(1, "Other")
    inner = lf.folder(top["id"], "Inner")
    a = lf.document(inner["id"], "a")
    b = lf.document(other["id"], "b")
    lf.put_links(a["id"], [{"linkDefinitionId": 1, "otherEntryId": b["id"]}])
    inner_uuid = lf.uuid_of(inner["id"])
    renamed = lf.client.put(f"/arvados/v1/groups/{inner_uuid}", headers=ADMIN,
                            json={"group": {"name": "Renamed"}})
    assert renamed.status_code == 200
    [link] = lf.get_links(b["id"]).json()["value"]
    assert link["sourceFullPath"] == "\\Top\\Renamed\\a"
    moved = lf.client.put(f"/arvados/v1/groups/{inner_uuid}", headers=ADMIN,
                          json={"group": {"owner_uuid": lf.uuid_of(other["id"])}})
    assert moved.status_code == 200
    [link] = lf.get_links(b["id"]).json()["value"]
    assert link["sourceFullPath"] == "\\Other\\Renamed\\a"
    assert link["sourceId"] == a["id"]
    entry = lf.client.get(f"{V2}/Entries/{inner['id']}", headers=ADMIN).json()
    assert entry["fullPath"] == "\\Other\\Renamed" and entry["parentId"] == other["id"]


def test_arvados_created_project_is_a_folder(lf: LF) -> None:
    created = lf.client.post("/arvados/v1/groups", headers=ADMIN, json={"group": {
        "group_class": "project", "name": "ViaArvados", "owner_uuid": lf.root_uuid()}})
    assert created.status_code == 200, created.text
    body = lf.client.get(f"{V2}/Entries/ByPath", headers=ADMIN,
                         params={"fullPath": "\\ViaArvados"}).json()
    assert body["entry"]["entryType"] == "Folder" and body["entry"]["parentId"] == 1
    coll = lf.client.post("/arvados/v1/collections", headers=ADMIN, json={"collection": {
        "name": "C", "owner_uuid": created.json()["uuid"]}})
    assert coll.status_code == 200
    children = lf.client.get(f"{V2}/Entries/{body['entry']['id']}/Folder/Children",
                             headers=ADMIN).json()["value"]
    assert [(c["name"], c["entryType"]) for c in children] == [("C", "Document")]
