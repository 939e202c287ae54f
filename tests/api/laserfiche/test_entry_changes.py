"""Moving and renaming entries, child info and shortcuts over raw HTTP (both backends): the
details and error bodies around what tests/node/test_entry_operations.py drives through the
official client."""

from __future__ import annotations

from typing import Any

from tests.api.laserfiche.conftest import ADMIN, LF, V2, assert_problem


def _patch(lf: LF, entry_id: int, body: dict[str, Any], headers: dict[str, str] = ADMIN,
           **params: str) -> Any:
    return lf.client.patch(f"{V2}/Entries/{entry_id}", headers=headers, json=body,
                           params=params)


def _shortcut(lf: LF, folder: int, target: int, name: str = "sc",
              headers: dict[str, str] = ADMIN) -> Any:
    return lf.client.post(f"{V2}/Entries/{folder}/Folder/Children", headers=headers,
                          json={"name": name, "entryType": "Shortcut", "targetId": target})


def _entry(lf: LF, entry_id: int, headers: dict[str, str] = ADMIN, **params: str) -> Any:
    return lf.client.get(f"{V2}/Entries/{entry_id}", headers=headers, params=params)


# -- move and rename -----------------------------------------------------------------------


def test_move_and_rename_through_the_object_services(lf: LF) -> None:
    a, b = lf.folder(1, "A"), lf.folder(1, "B")
    inner = lf.folder(a["id"], "Inner")
    doc = lf.document(inner["id"], "Doc")
    moved = _patch(lf, inner["id"], {"parentId": b["id"], "name": "  Moved  "})
    assert moved.status_code == 200, moved.text
    body = moved.json()
    assert (body["id"], body["parentId"], body["name"], body["fullPath"]) == (
        inner["id"], b["id"], "Moved", "\\B\\Moved")
    assert _entry(lf, doc["id"]).json()["fullPath"] == "\\B\\Moved\\Doc"
    # The same project, moved and renamed, on the Arvados face.
    project = lf.client.get(f"/arvados/v1/groups/{lf.uuid_of(inner['id'])}",
                            headers=ADMIN).json()
    assert (project["owner_uuid"], project["name"]) == (lf.uuid_of(b["id"]), "Moved")
    # A PATCH that changes nothing answers the entry as it is.
    same = _patch(lf, doc["id"], {})
    assert same.status_code == 200 and same.json()["fullPath"] == "\\B\\Moved\\Doc"
    renamed_only = _patch(lf, doc["id"], {"name": "Doc2"})
    assert renamed_only.json()["parentId"] == inner["id"]
    assert lf.client.get(f"/arvados/v1/collections/{doc['uuid']}",
                         headers=ADMIN).json()["name"] == "Doc2"


def test_name_conflicts_and_auto_rename(lf: LF) -> None:
    a, b = lf.folder(1, "A"), lf.folder(1, "B")
    lf.document(b["id"], "Same")
    lf.folder(b["id"], "Other")
    doc = lf.document(a["id"], "Same")
    conflict = assert_problem(_patch(lf, doc["id"], {"parentId": b["id"]}), 409)
    assert "Same" in conflict["title"]
    # A document cannot take a folder's name either: names are unique per folder.
    assert_problem(_patch(lf, doc["id"], {"parentId": b["id"], "name": "Other"}), 409)
    by_query = _patch(lf, doc["id"], {"parentId": b["id"]}, autoRename="true")
    assert by_query.status_code == 200 and by_query.json()["name"] == "Same (2)"
    other = lf.document(a["id"], "Same")
    by_body = _patch(lf, other["id"], {"parentId": b["id"], "autoRename": True},
                     autoRename="false")
    assert by_body.json()["name"] == "Same (3)"
    # Renaming to its own name is no conflict.
    assert _patch(lf, other["id"], {"name": "Same (3)"}).status_code == 200


def test_move_errors_are_problem_details(lf: LF) -> None:
    headers = lf.create_user("mover")
    mine, theirs, seen = lf.folder(1, "Mine"), lf.folder(1, "Theirs"), lf.folder(1, "Seen")
    doc = lf.document(mine["id"], "D")
    lf.grant("mover", lf.uuid_of(mine["id"]), "can_write")
    lf.grant("mover", lf.uuid_of(seen["id"]), "can_read")
    assert_problem(_patch(lf, doc["id"], {"parentId": theirs["id"]}, headers), 404)
    assert_problem(_patch(lf, doc["id"], {"parentId": 424242}, headers), 404)
    assert_problem(_patch(lf, doc["id"], {"parentId": seen["id"]}, headers), 403)
    assert_problem(_patch(lf, seen["id"], {"name": "Mine too"}, headers), 403)
    assert_problem(_patch(lf, theirs["id"], {"name": "x"}, headers), 404)
    assert_problem(_patch(lf, 1, {"name": "root"}), 403)
    assert_problem(_patch(lf, doc["id"], {"parentId": doc["id"]}), 400)  # not a folder
    assert_problem(_patch(lf, mine["id"], {"parentId": mine["id"]}), 400)  # into itself
    assert_problem(_patch(lf, doc["id"], {"name": "a/b"}), 400)
    assert_problem(_patch(lf, doc["id"], {"name": 5}), 400)
    assert_problem(_patch(lf, doc["id"], {"parentId": "2"}), 400)
    assert_problem(_patch(lf, doc["id"], {"autoRename": "yes"}), 400)
    assert_problem(_patch(lf, doc["id"], {}, autoRename="maybe"), 400)
    assert_problem(lf.client.patch(f"{V2}/Entries/{doc['id']}", headers=ADMIN,
                                   content=b"[]"), 400)
    # Nothing moved.
    assert _entry(lf, doc["id"]).json()["fullPath"] == "\\Mine\\D"
    assert _patch(lf, doc["id"], {"parentId": seen["id"]}).status_code == 200  # admin may


# -- child info ------------------------------------------------------------------------------


def test_child_info_only_when_asked_and_selectable(lf: LF) -> None:
    a = lf.folder(1, "A")
    lf.folder(a["id"], "F")
    doc = lf.document(a["id"], "D")
    assert _shortcut(lf, a["id"], doc["id"]).status_code == 201
    assert "childInfo" not in _entry(lf, a["id"]).json()
    info = _entry(lf, a["id"], includeChildInfo="true").json()["childInfo"]
    assert info == {"hasChildren": True, "childCount": 3, "folderCount": 1, "documentCount": 1,
                    "shortcutCount": 1}
    picked = _entry(lf, a["id"], includeChildInfo="true", **{"$select": "name,childInfo"})
    assert picked.json() == {"name": "A", "entryType": "Folder", "childInfo": info}
    unpicked = _entry(lf, a["id"], includeChildInfo="true", **{"$select": "name"})
    assert unpicked.json() == {"name": "A", "entryType": "Folder"}
    assert "childInfo" not in _entry(lf, doc["id"], includeChildInfo="true").json()
    assert_problem(_entry(lf, a["id"], includeChildInfo="maybe"), 400)


# -- shortcuts -------------------------------------------------------------------------------


def test_shortcut_entries(lf: LF) -> None:
    a, b = lf.folder(1, "A"), lf.folder(1, "B")
    doc = lf.document(b["id"], "Doc")
    made = _shortcut(lf, a["id"], doc["id"], "To doc")
    assert made.status_code == 201, made.text
    shortcut = made.json()
    assert made.headers["location"].endswith(f"/Entries/{shortcut['id']}")
    assert {k: shortcut[k] for k in ("entryType", "targetId", "targetType", "isContainer",
                                     "isLeaf", "fullPath", "parentId")} == {
        "entryType": "Shortcut", "targetId": doc["id"], "targetType": "Document",
        "isContainer": False, "isLeaf": True, "fullPath": "\\A\\To doc", "parentId": a["id"]}
    to_folder = _shortcut(lf, a["id"], b["id"], "To B").json()
    assert to_folder["targetType"] == "Folder"
    by_path = lf.client.get(f"{V2}/Entries/ByPath", headers=ADMIN,
                            params={"fullPath": "\\A\\To doc"}).json()
    assert by_path["entry"]["id"] == shortcut["id"]
    listed = lf.client.get(f"{V2}/Entries/{a['id']}/Folder/Children", headers=ADMIN,
                           params={"$select": "name,targetId", "$orderby": "name"}).json()
    assert listed["value"] == [
        {"name": "To B", "entryType": "Shortcut", "targetId": b["id"]},
        {"name": "To doc", "entryType": "Shortcut", "targetId": doc["id"]}]
    # Moving the target keeps the shortcut pointing at it.
    assert _patch(lf, doc["id"], {"parentId": a["id"]}).status_code == 200
    assert _entry(lf, shortcut["id"]).json()["targetId"] == doc["id"]
    # Deleting the shortcut leaves its target alone.
    deleted = lf.client.delete(f"{V2}/Entries/{to_folder['id']}", headers=ADMIN)
    assert deleted.status_code == 202
    assert_problem(_entry(lf, to_folder["id"]), 404)
    assert _entry(lf, b["id"]).status_code == 200


def test_shortcut_create_errors(lf: LF) -> None:
    a = lf.folder(1, "A")
    doc = lf.document(a["id"], "Doc")
    shortcut = _shortcut(lf, a["id"], doc["id"]).json()
    url = f"{V2}/Entries/{a['id']}/Folder/Children"
    assert_problem(_shortcut(lf, a["id"], shortcut["id"], "again"), 400)  # to a shortcut
    assert_problem(_shortcut(lf, a["id"], 424242, "nowhere"), 404)
    assert_problem(_shortcut(lf, doc["id"], doc["id"], "in a document"), 400)
    assert_problem(lf.client.post(url, headers=ADMIN, json={
        "name": "x", "entryType": "Shortcut"}), 400)
    assert_problem(lf.client.post(url, headers=ADMIN, json={
        "name": "x", "entryType": "Shortcut", "targetId": "1"}), 400)
    assert_problem(lf.client.post(url, headers=ADMIN, json={
        "name": "x", "entryType": "Document"}), 400)
    assert_problem(_shortcut(lf, a["id"], doc["id"], "Doc"), 409)  # the document's name


def test_shortcuts_are_links_on_the_arvados_face(lf: LF) -> None:
    a = lf.folder(1, "A")
    doc = lf.document(a["id"], "Doc")
    folder_uuid = lf.uuid_of(a["id"])
    # A shortcut link made on the Arvados face is a shortcut entry at once.
    made = lf.client.post("/arvados/v1/links", headers=ADMIN, json={"link": {
        "link_class": "shortcut", "name": "via arvados", "owner_uuid": folder_uuid,
        "head_uuid": doc["uuid"]}})
    assert made.status_code == 200, made.text
    link = made.json()
    children = lf.client.get(f"{V2}/Entries/{a['id']}/Folder/Children", headers=ADMIN).json()
    [entry] = [e for e in children["value"] if e["entryType"] == "Shortcut"]
    assert (entry["name"], entry["targetId"]) == ("via arvados", doc["id"])
    renamed = lf.client.put(f"/arvados/v1/links/{link['uuid']}", headers=ADMIN,
                            json={"link": {"name": "renamed"}})
    assert renamed.status_code == 200
    assert _entry(lf, entry["id"]).json()["name"] == "renamed"
    clash = lf.client.post("/arvados/v1/links", headers=ADMIN, json={"link": {
        "link_class": "shortcut", "name": "renamed", "owner_uuid": folder_uuid,
        "head_uuid": doc["uuid"]}})
    assert clash.status_code == 422
    # A link that stops being a shortcut stops being an entry.
    retagged = lf.client.put(f"/arvados/v1/links/{link['uuid']}", headers=ADMIN,
                             json={"link": {"link_class": "tag"}})
    assert retagged.status_code == 200
    assert_problem(_entry(lf, entry["id"]), 404)
    # Deleting the folder takes its shortcuts.
    other = _shortcut(lf, a["id"], doc["id"], "other").json()
    assert lf.client.delete(f"{V2}/Entries/{a['id']}", headers=ADMIN).status_code == 202
    assert_problem(_entry(lf, other["id"]), 404)
    gone = lf.client.get("/arvados/v1/links", headers=ADMIN, params={
        "filters": '[["link_class", "=", "shortcut"]]'}).json()
    assert gone["items"] == []


def test_shortcut_visibility_follows_link_and_target(lf: LF) -> None:
    headers = lf.create_user("viewer")
    shared, private = lf.folder(1, "Shared"), lf.folder(1, "Private")
    secret = lf.document(private["id"], "Secret")
    public = lf.document(shared["id"], "Public")
    lf.grant("viewer", lf.uuid_of(shared["id"]), "can_read")
    hidden = _shortcut(lf, shared["id"], secret["id"], "to secret").json()
    visible = _shortcut(lf, shared["id"], public["id"], "to public").json()
    assert_problem(_entry(lf, hidden["id"], headers), 404)
    assert _entry(lf, visible["id"], headers).json()["targetId"] == public["id"]
    names = [e["name"] for e in lf.client.get(f"{V2}/Entries/{shared['id']}/Folder/Children",
                                              headers=headers).json()["value"]]
    assert names == ["Public", "to public"]
    # Links with a shortcut at one end follow the same rule.
    assert lf.put_links(public["id"], [
        {"linkDefinitionId": 1, "otherEntryId": hidden["id"]},
        {"linkDefinitionId": 1, "otherEntryId": visible["id"]}]).status_code == 200
    seen = [x["targetId"] for x in lf.get_links(public["id"], headers).json()["value"]]
    assert seen == [visible["id"]]
    assert len(lf.get_links(public["id"]).json()["value"]) == 2
