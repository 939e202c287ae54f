"""The official ``@laserfiche/lf-repository-api-client-v2`` against a real ``linkbase serve``.

The Node script (client-test.mjs) runs the client as an application would; this test prepares
the data over HTTP, runs it, and checks what it printed. ``npm ci`` installs the pinned client
from package-lock.json on first use.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from linkbase.services.users import set_password
from linkbase.storage.database import Database
from tests.support.server import running_server

NODE_DIR = Path(__file__).parent
REPO = "r-default"


def _ensure_node_modules() -> None:
    if shutil.which("node") is None or shutil.which("npm") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("node/npm are required under CI")
        pytest.skip("node and npm are not installed")
    if not (NODE_DIR / "node_modules" / "@laserfiche" / "lf-repository-api-client-v2").exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR, check=True,
                       capture_output=True, timeout=300)


def _check(response: httpx.Response) -> dict[str, object]:
    assert response.status_code < 300, response.text
    return dict(response.json())


def test_official_client(database_url: str) -> None:
    _ensure_node_modules()
    with running_server(database_url) as server:
        admin = server.client(server.root_token)
        user = _check(admin.post("/arvados/v1/users", json={"user": {
            "username": "nodeuser", "email": "nodeuser@example.com"}}))
        db = Database(database_url)
        try:
            with db.write() as conn:
                set_password(conn, str(user["uuid"]), "node-pw")
        finally:
            db.dispose()
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
            **os.environ,
            "LF_BASE_URL": f"{server.url}/LFRepositoryAPI",
            "LF_REPO": REPO,
            "LF_USER": "EXAMPLE\\nodeuser",
            "LF_PASSWORD": "node-pw",
            "LF_ENTRY": str(docs[0]["id"]),
            "LF_TARGETS": ",".join(str(d["id"]) for d in docs[1:]),
        }
        run = subprocess.run(
            ["node", "--import", "./register-hooks.mjs", "client-test.mjs"], cwd=NODE_DIR,
            env=env, capture_output=True, text=True, timeout=120,
        )
        assert run.returncode == 0, f"{run.stdout}\n{run.stderr}\n{server.log()}"
        out = json.loads(run.stdout.strip().splitlines()[-1])
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
