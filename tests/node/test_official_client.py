"""The official ``@laserfiche/lf-repository-api-client-v2`` against a real ``linkbase serve``.

The Node script (client-test.mjs) runs the client as an application would; this test prepares
the data over HTTP, runs it, and checks what it printed. ``npm ci`` installs the pinned client
from package-lock.json on first use.
"""

from __future__ import annotations

import json

import httpx

from tests.node.support import check as _check
from tests.node.support import ensure_node_modules, run_script, set_user_password
from tests.support.server import running_server

REPO = "r-default"


def test_official_client(database_url: str) -> None:
    ensure_node_modules()
    with running_server(database_url) as server:
        admin = server.client(server.root_token)
        user = _check(admin.post("/arvados/v1/users", json={"user": {
            "username": "nodeuser", "email": "nodeuser@example.com"}}))
        set_user_password(database_url, str(user["uuid"]), "node-pw")
        folder = _check(admin.post(f"/v2/Repositories/{REPO}/Entries/1/Folder/Children",
                                   json={"name": "NodeTest", "entryType": "Folder"}))
        docs = [
            _check(admin.post("/linkbase/v1/documents", json={
                "repository_id": REPO, "parent_entry_id": folder["id"], "name": f"doc{i}"}))
            for i in range(6)
        ]
        root_uuid = _check(admin.get("/arvados/v1/groups", params={
            "filters": json.dumps([["name", "=", f"Repository {REPO}"]])}))["items"]
        for head, level in ((root_uuid[0]["uuid"], "can_read"),  # type: ignore[index]
                            (docs[0]["uuid"], "can_write"), (_group_uuid(admin), "can_write")):
            _check(admin.post("/arvados/v1/links", json={"link": {
                "link_class": "permission", "name": level, "tail_uuid": user["uuid"],
                "head_uuid": head}}))
        env = {
            "LF_BASE_URL": f"{server.url}/LFRepositoryAPI",
            "LF_REPO": REPO,
            "LF_USER": "EXAMPLE\\nodeuser",
            "LF_PASSWORD": "node-pw",
            "LF_ENTRY": str(docs[0]["id"]),
            "LF_TARGETS": ",".join(str(d["id"]) for d in docs[1:]),
        }
        out = run_script("client-test.mjs", server, env)
        # Relation links made by the client are visible on the Arvados face.
        relations = _check(admin.get("/arvados/v1/links", params={
            "filters": json.dumps([["link_class", "=", "relation"]])}))["items"]
    pages = out["definitionPages"]
    assert [len(p) for p in pages] == [2, 1]
    assert pages[0][0] == [1, "Email", "Attachment", "Email Attachment"]
    assert out["definition2"] == "Supersedes"
    assert out["entry"] == {"id": docs[0]["id"], "name": "doc0", "fullPath": "\\NodeTest\\doc0",
                            "isDocument": True, "entryType": "Document"}
    assert out["rootIsFolder"] is True
    [single] = out["single"]
    assert (single["sourceId"], single["targetId"]) == (docs[0]["id"], docs[1]["id"])
    assert single["customProperties"] == {"via": "node"}
    assert single["sourceLink"].startswith(f"{server.url}/LFRepositoryAPI/v2/Repositories/")
    assert out["manyCount"] == 5 and out["firstIdKept"] is True
    assert out["page"]["count"] == 5 and len(out["page"]["ids"]) == 3
    assert out["page"]["ids"] == sorted(out["page"]["ids"], reverse=True)
    assert out["forEach"]["pages"] == 3 and len(out["forEach"]["ids"]) == 5
    assert out["missing"]["isApiException"] is True and out["missing"]["status"] == 404
    assert out["missing"]["problemStatus"] == 404 and out["missing"]["title"]
    assert out["badDefinition"] == {"isApiException": True, "status": 400}
    assert len(relations) == 5  # type: ignore[arg-type]


def _group_uuid(admin: httpx.Client) -> str:
    found = _check(admin.get("/arvados/v1/groups", params={
        "filters": json.dumps([["name", "=", "NodeTest"]])}))["items"]
    return str(found[0]["uuid"])  # type: ignore[index]
