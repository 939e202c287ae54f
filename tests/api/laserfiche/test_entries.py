"""Entries: get, ByPath, children (list/create), delete, with permissions."""

from __future__ import annotations

from tests.api.laserfiche.conftest import ADMIN, LF, V2, assert_problem


def test_root_and_children_shape(lf: LF) -> None:
    root = lf.client.get(f"{V2}/Entries/1", headers=ADMIN).json()
    assert root["id"] == 1 and root["name"] == "" and root["fullPath"] == "\\"
    assert root["parentId"] is None and root["entryType"] == "Folder"
    assert root["isContainer"] is True and root["isLeaf"] is False
    a = lf.folder(1, "A")
    b = lf.folder(a["id"], "B")
    doc = lf.document(b["id"], "Report")
    assert (a["fullPath"], b["fullPath"], doc["fullPath"]) == ("\\A", "\\A\\B", "\\A\\B\\Report")
    assert b["parentId"] == a["id"] and b["folderPath"] == "\\A"
    got = lf.client.get(f"{V2}/Entries/{doc['id']}", headers=ADMIN).json()
    for key in ("id", "name", "parentId", "fullPath", "folderPath", "creator", "creationTime",
                "lastModifiedTime", "entryType", "isContainer", "isLeaf", "templateName",
                "templateId", "volumeName", "extension", "mimeType", "pageCount", "isLocked",
                "lockedBy", "electronicDocumentSize"):
        assert key in got, key
    assert got["entryType"] == "Document" and got["isLeaf"] is True
    assert got["creationTime"].endswith("Z")


def test_get_entry_select_keeps_entry_type(lf: LF) -> None:
    a = lf.folder(1, "A")
    body = lf.client.get(f"{V2}/Entries/{a['id']}", headers=ADMIN,
                         params={"$select": "name,fullPath"}).json()
    assert body == {"name": "A", "fullPath": "\\A", "entryType": "Folder"}
    assert_problem(lf.client.get(f"{V2}/Entries/{a['id']}", headers=ADMIN,
                                 params={"$select": "nope"}), 400)
    assert_problem(lf.client.get(f"{V2}/Entries/999", headers=ADMIN), 404)
    assert_problem(lf.client.get(f"{V2}/Entries/abc", headers=ADMIN), 400)


def test_by_path(lf: LF) -> None:
    a = lf.folder(1, "A")
    doc = lf.document(a["id"], "D")
    body = lf.client.get(f"{V2}/Entries/ByPath", headers=ADMIN,
                         params={"fullPath": "\\A\\D"}).json()
    assert body["entry"]["id"] == doc["id"] and body["ancestorEntry"] is None
    root = lf.client.get(f"{V2}/Entries/ByPath", headers=ADMIN, params={"fullPath": "\\"}).json()
    assert root["entry"]["id"] == 1
    assert_problem(lf.client.get(f"{V2}/Entries/ByPath", headers=ADMIN,
                                 params={"fullPath": "\\A\\missing"}), 404)
    fallback = lf.client.get(f"{V2}/Entries/ByPath", headers=ADMIN,
                             params={"fullPath": "\\A\\missing\\x",
                                     "fallbackToClosestAncestor": "true"}).json()
    assert fallback["entry"] is None and fallback["ancestorEntry"]["id"] == a["id"]
    assert_problem(lf.client.get(f"{V2}/Entries/ByPath", headers=ADMIN), 400)


def test_children_listing_and_paging(lf: LF) -> None:
    a = lf.folder(1, "A")
    made = [lf.folder(a["id"], f"F{i:02d}")["id"] for i in range(5)]
    made.append(lf.document(a["id"], "Doc")["id"])
    url = f"{V2}/Entries/{a['id']}/Folder/Children"
    body = lf.client.get(url, headers=ADMIN, params={"$count": "true"}).json()
    assert [e["id"] for e in body["value"]] == made and body["@odata.count"] == 6
    assert "@odata.nextLink" not in body
    seen: list[int] = []
    page = lf.client.get(url, headers={**ADMIN, "Prefer": "maxpagesize=4"},
                         params={"$orderby": "name desc", "$select": "name"}).json()
    while True:
        assert all(set(e) == {"name", "entryType"} for e in page["value"])
        seen += [e["name"] for e in page["value"]]
        if "@odata.nextLink" not in page:
            break
        page = lf.client.get(page["@odata.nextLink"], headers={**ADMIN, "Prefer": "maxpagesize=4"}
                             ).json()
    assert seen == sorted(["F00", "F01", "F02", "F03", "F04", "Doc"], reverse=True)
    assert_problem(lf.client.get(f"{V2}/Entries/{made[-1]}/Folder/Children", headers=ADMIN), 400)


def test_create_folder_rules(lf: LF) -> None:
    url = f"{V2}/Entries/1/Folder/Children"
    lf.folder(1, "Same")
    clash = lf.client.post(url, headers=ADMIN, json={"name": "Same", "entryType": "Folder"})
    assert_problem(clash, 409)
    renamed = lf.client.post(url, headers=ADMIN,
                             json={"name": "Same", "entryType": "Folder", "autoRename": True})
    assert renamed.status_code == 201 and renamed.json()["name"] == "Same (2)"
    again = lf.client.post(url, headers=ADMIN,
                           json={"name": "Same", "entryType": "Folder", "autoRename": True})
    assert again.json()["name"] == "Same (3)"
    for bad in ({"entryType": "Folder"}, {"name": "", "entryType": "Folder"},
                {"name": "x", "entryType": "Document"}, {"name": "x"},
                {"name": "a\\b", "entryType": "Folder"}, {"name": 5, "entryType": "Folder"},
                {"name": "x", "entryType": "Folder", "autoRename": "yes"}, [1]):
        assert_problem(lf.client.post(url, headers=ADMIN, json=bad), 400)
    assert_problem(lf.client.post(url, headers={**ADMIN, "Content-Type": "application/json"},
                                  content=b"{not json"), 400)


def test_reader_gets_403_writer_201_stranger_404(lf: LF) -> None:
    reader = lf.create_user("reader")
    writer = lf.create_user("writer")
    stranger = lf.create_user("stranger")
    shared = lf.folder(1, "Shared")
    shared_uuid = lf.client.get(f"{V2}/Entries/ByPath", headers=ADMIN,
                                params={"fullPath": "\\Shared"}).json()["entry"]["id"]
    assert shared_uuid == shared["id"]
    uuid = lf.uuid_of(shared["id"])
    lf.grant("reader", uuid, "can_read")
    lf.grant("writer", uuid, "can_write")
    url = f"{V2}/Entries/{shared['id']}/Folder/Children"
    body = {"name": "Sub", "entryType": "Folder"}
    assert_problem(lf.client.post(url, headers=reader, json=body), 403)
    assert_problem(lf.client.post(url, headers=stranger, json=body), 404)
    created = lf.client.post(url, headers=writer, json=body)
    assert created.status_code == 201
    assert created.json()["fullPath"] == "\\Shared\\Sub"
    # Readers see the child; strangers see nothing.
    names = [e["name"] for e in lf.client.get(url, headers=reader).json()["value"]]
    assert names == ["Sub"]
    assert_problem(lf.client.get(url, headers=stranger), 404)
    # Delete: reader 403, writer 202 with a string taskId.
    sub = created.json()["id"]
    assert_problem(lf.client.delete(f"{V2}/Entries/{sub}", headers=reader), 403)
    assert_problem(lf.client.delete(f"{V2}/Entries/{sub}", headers=stranger), 404)
    deleted = lf.client.delete(f"{V2}/Entries/{sub}", headers=writer)
    assert deleted.status_code == 202 and isinstance(deleted.json()["taskId"], str)
    assert_problem(lf.client.get(f"{V2}/Entries/{sub}", headers=writer), 404)


def test_delete_subtree_and_links_and_root(lf: LF) -> None:
    a = lf.folder(1, "A")
    b = lf.folder(a["id"], "B")
    doc = lf.document(b["id"], "D")
    other = lf.document(1, "Other")
    assert lf.put_links(other["id"], [{"linkDefinitionId": 1, "otherEntryId": doc["id"]}]
                        ).status_code == 200
    assert lf.client.delete(f"{V2}/Entries/{a['id']}", headers=ADMIN).status_code == 202
    for gone in (a, b, doc):
        assert_problem(lf.client.get(f"{V2}/Entries/{gone['id']}", headers=ADMIN), 404)
    assert lf.get_links(other["id"]).json()["value"] == []
    assert_problem(lf.client.delete(f"{V2}/Entries/1", headers=ADMIN), 403)
    assert_problem(lf.client.delete(f"{V2}/Entries/12345", headers=ADMIN), 404)


def test_no_response_names_a_folder_the_caller_cannot_read(lf: LF) -> None:
    """Entry, children, ByPath and Links responses show an unreadable folder above a shared one
    as ``<entry id>``; its name appears in none of them."""
    secret = lf.folder(1, "Secret merger")
    shared = lf.folder(secret["id"], "Shared")
    doc = lf.document(shared["id"], "Minutes")
    public = lf.folder(1, "Public")
    assert lf.put_links(public["id"], [{"linkDefinitionId": 1, "otherEntryId": doc["id"],
                                        "isSource": True}]).status_code == 200
    reader = lf.create_user("reader")
    lf.grant("reader", lf.uuid_of(shared["id"]), "can_read")
    lf.grant("reader", lf.uuid_of(public["id"]), "can_read")
    hidden = f"\\<{secret['id']}>"
    responses = [
        lf.client.get(f"{V2}/Entries/{doc['id']}", headers=reader),
        lf.client.get(f"{V2}/Entries/{shared['id']}/Folder/Children", headers=reader),
        lf.client.get(f"{V2}/Entries/ByPath", headers=reader,
                      params={"fullPath": f"{hidden}\\Shared\\Minutes"}),
        lf.client.get(f"{V2}/Entries/ByPath", headers=reader,
                      params={"fullPath": f"{hidden}\\Shared\\Gone",
                              "fallbackToClosestAncestor": "true"}),
        lf.get_links(public["id"], headers=reader),
        lf.get_links(doc["id"], headers=reader),
    ]
    for response in responses:
        assert response.status_code == 200, response.text
        assert "Secret merger" not in response.text
    assert responses[0].json()["fullPath"] == f"{hidden}\\Shared\\Minutes"
    assert responses[0].json()["folderPath"] == f"{hidden}\\Shared"
    assert responses[2].json()["entry"]["id"] == doc["id"]
    assert responses[3].json()["ancestorEntry"]["id"] == shared["id"]
    assert responses[4].json()["value"][0]["targetFullPath"] == f"{hidden}\\Shared\\Minutes"
    admin_view = lf.get_links(public["id"]).json()["value"][0]
    assert admin_view["targetFullPath"] == "\\Secret merger\\Shared\\Minutes"
