"""Entry operations of the official ``@laserfiche/lf-repository-api-client-v2`` against a real
``linkbase serve`` (both backends): ``updateEntry`` (move and rename), ``getEntry`` with
``includeChildInfo``, ``createEntry`` of a Shortcut and its life, and ``webClientUrl``.

This test prepares the data over HTTP as an administrator, runs entry-operations.mjs (the client
acting as a user with write on one folder and read on another, and as an admin), and checks what
the client made of each answer, errors included.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.node.support import check, ensure_node_modules, run_script, set_user_password
from tests.support.server import running_server

REPO = "r-default"
V2 = f"/v2/Repositories/{REPO}"


def _user(admin: httpx.Client, database_url: str, username: str, password: str,
          **attrs: Any) -> dict[str, Any]:
    user = check(admin.post("/arvados/v1/users", json={"user": {
        "username": username, "email": f"{username}@example.com", **attrs}}))
    set_user_password(database_url, str(user["uuid"]), password)
    return user


def _folder(admin: httpx.Client, parent: int, name: str) -> dict[str, Any]:
    """A folder made through the Laserfiche face, with its project's uuid added."""
    entry = check(admin.post(f"{V2}/Entries/{parent}/Folder/Children",
                             json={"name": name, "entryType": "Folder"}))
    [project] = check(admin.get("/arvados/v1/groups", params={
        "filters": json.dumps([["name", "=", name]])}))["items"]
    return entry | {"uuid": project["uuid"]}


def _document(admin: httpx.Client, parent: int, name: str) -> dict[str, Any]:
    return check(admin.post("/linkbase/v1/documents", json={
        "repository_id": REPO, "parent_entry_id": parent, "name": name}))


def _grant(admin: httpx.Client, user: dict[str, Any], head: str, level: str) -> None:
    check(admin.post("/arvados/v1/links", json={"link": {
        "link_class": "permission", "name": level, "tail_uuid": user["uuid"],
        "head_uuid": head}}))


def _problem(status: int) -> dict[str, Any]:
    """What the client reports for a ProblemDetails error of ``status``."""
    return {"isApiException": True, "status": status, "problemStatus": status,
            "title": _ANY_TITLE}


class _AnyTitle(str):
    """Equal to any non-empty string (ProblemDetails titles are free text)."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and bool(other)

    __hash__ = str.__hash__


_ANY_TITLE = _AnyTitle("<title>")


def test_entry_operations(database_url: str) -> None:
    ensure_node_modules()
    with running_server(database_url) as server:
        admin = server.client(server.root_token)
        user = _user(admin, database_url, "entryuser", "user-pw")
        _user(admin, database_url, "entryadmin", "admin-pw", is_admin=True)
        work, read, hidden = (_folder(admin, 1, n) for n in ("Work", "Read", "Hidden"))
        sub = _folder(admin, work["id"], "Sub")
        doc1, doc2 = (_document(admin, work["id"], n) for n in ("doc1", "doc2"))
        read_doc = _document(admin, read["id"], "r1")
        hidden_doc = _document(admin, hidden["id"], "h1")
        _grant(admin, user, work["uuid"], "can_write")
        _grant(admin, user, read["uuid"], "can_read")
        # The admin's shortcut to a document the user cannot read: invisible to the user.
        admin_shortcut = check(admin.post(f"{V2}/Entries/{work['id']}/Folder/Children", json={
            "name": "admin shortcut", "entryType": "Shortcut", "targetId": hidden_doc["id"]}))
        ids = {"work": work["id"], "read": read["id"], "hidden": hidden["id"],
               "sub": sub["id"], "doc1": doc1["id"], "doc2": doc2["id"],
               "readDoc": read_doc["id"], "hiddenDoc": hidden_doc["id"]}
        out = run_script("entry-operations.mjs", server, {
            "LF_BASE_URL": f"{server.url}/LFRepositoryAPI", "LF_REPO": REPO,
            "LF_USER": "entryuser", "LF_PASSWORD": "user-pw",
            "LF_ADMIN": "entryadmin", "LF_ADMIN_PASSWORD": "admin-pw",
            "LF_IDS": json.dumps(ids),
        })
        # On the Arvados face a shortcut is a ``shortcut`` link owned by its folder.
        shortcuts = check(admin.get("/arvados/v1/links", params={
            "filters": json.dumps([["link_class", "=", "shortcut"]]),
            "order": json.dumps(["name asc"])}))["items"]

    # 12: webClientUrl names the repository.
    assert out["repositories"] == [
        {"id": REPO, "webClientUrl": f"{server.url}/ui/?repository={REPO}"}]

    # 11: childInfo counts readable children only; only folders, only when asked.
    assert out["childInfo"]["user"] == {"hasChildren": True, "childCount": 3, "folderCount": 1,
                                        "documentCount": 2, "shortcutCount": 0}
    assert out["childInfo"]["admin"] == {"hasChildren": True, "childCount": 4, "folderCount": 1,
                                         "documentCount": 2, "shortcutCount": 1}
    assert out["childInfo"]["withoutOption"] is None
    assert out["childInfo"]["document"] is None
    assert out["childInfo"]["emptyFolder"] == {"hasChildren": False, "childCount": 0,
                                               "folderCount": 0, "documentCount": 0,
                                               "shortcutCount": 0}

    # 13: shortcuts.
    shortcut = out["shortcut"]
    assert shortcut == {
        "id": shortcut["id"], "name": "Shortcut to r1", "parentId": work["id"],
        "fullPath": "\\Work\\Shortcut to r1", "entryType": "Shortcut", "isShortcut": True,
        "isFolder": False, "targetId": read_doc["id"], "targetType": "Document",
        "childInfo": None}
    assert out["shortcutGot"] == shortcut
    assert out["listed"] == [shortcut]
    assert out["childInfoWithShortcut"]["shortcutCount"] == 1
    assert out["childInfoWithShortcut"]["childCount"] == 4
    assert out["shortcutErrors"] == {"hiddenTarget": _problem(404),
                                     "readOnlyFolder": _problem(403),
                                     "nameTaken": _problem(409)}
    assert out["autoRenamedShortcut"]["name"] == "Shortcut to r1 (2)"
    assert out["autoRenamedShortcut"]["targetId"] == doc2["id"]
    assert out["shortcutLinks"] == [[shortcut["id"], doc1["id"], {"via": "shortcut"}]]
    assert out["doc1Links"] == [[shortcut["id"], doc1["id"]]]

    # 10: move and rename keep the id and update parentId, name and fullPath.
    assert out["moved"] | {"childInfo": None} == {
        "id": doc1["id"], "name": "moved", "parentId": sub["id"],
        "fullPath": "\\Work\\Sub\\moved", "entryType": "Document", "isShortcut": False,
        "isFolder": False, "targetId": None, "targetType": None, "childInfo": None}
    assert out["renamedFolder"]["id"] == sub["id"]
    assert out["renamedFolder"]["fullPath"] == "\\Work\\Sub2"
    assert out["movedAfterFolderRename"]["fullPath"] == "\\Work\\Sub2\\moved"
    assert out["moveErrors"] == {
        "conflict": _problem(409), "hiddenFolder": _problem(404),
        "unknownFolder": _problem(404), "readOnlyFolder": _problem(403),
        "readOnlyEntry": _problem(403), "intoItself": _problem(400),
        "unknownEntry": _problem(404)}
    assert out["autoRenamed"]["name"] == "moved (2)"
    assert out["autoRenamed"]["parentId"] == sub["id"]
    assert out["movedShortcut"] | {"childInfo": None} == shortcut | {
        "name": "sc", "parentId": sub["id"], "fullPath": "\\Work\\Sub2\\sc"}
    assert out["subChildInfo"] == {"hasChildren": True, "childCount": 3, "folderCount": 0,
                                   "documentCount": 2, "shortcutCount": 1}

    # 13: the shortcut disappears with its target, and its links with it.
    assert out["afterTargetDeleted"] == {
        "shortcut": _problem(404),
        "subChildInfo": {"hasChildren": True, "childCount": 2, "folderCount": 0,
                         "documentCount": 2, "shortcutCount": 0},
        "doc1Links": 0}
    assert [(s["name"], s["owner_uuid"], s["head_uuid"]) for s in shortcuts] == [
        ("Shortcut to r1 (2)", work["uuid"], doc2["uuid"]),
        ("admin shortcut", work["uuid"], hidden_doc["uuid"])]
    assert admin_shortcut["entryType"] == "Shortcut"
