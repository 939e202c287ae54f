"""``/linkbase/v1/changes`` pages and ``/linkbase/v1/logs/prune`` in process (both backends);
the Server-Sent Events stream and ``linkbase watch`` against a real server."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.api.native.conftest import ADMIN, ROOT
from tests.support.server import ServerHandle, cli_command, running_server


def _user(client: TestClient, name: str) -> tuple[str, dict[str, str]]:
    user = client.post("/arvados/v1/users", headers=ADMIN, json={"user": {
        "email": f"{name}@example.com", "username": name}}).json()
    tok = client.post("/arvados/v1/api_client_authorizations", headers=ADMIN, json={
        "api_client_authorization": {"owner_uuid": user["uuid"]}}).json()
    return user["uuid"], {"Authorization": f"Bearer {tok['api_token']}"}


def _collection(client: TestClient, headers: dict[str, str], name: str) -> str:
    resp = client.post("/arvados/v1/collections", headers=headers,
                       json={"collection": {"name": name}})
    assert resp.status_code == 200, resp.text
    return str(resp.json()["uuid"])


def test_pages_follow_the_cursor_and_skip_what_the_caller_cannot_read(
        client: TestClient) -> None:
    _, alice = _user(client, "alice")
    _, bob = _user(client, "bob")
    start = client.get("/linkbase/v1/changes", params={"after": "now"}, headers=alice).json()
    assert start["items"] == [] and start["more"] is False
    mine = [_collection(client, alice, f"a{i}") for i in range(3)]
    hidden = _collection(client, bob, "b")
    mine.append(_collection(client, alice, "a3"))
    seen: list[str] = []
    cursor = start["cursor"]
    while True:
        resp = client.get("/linkbase/v1/changes", headers=alice,
                          params={"after": cursor, "limit": 2})
        assert resp.status_code == 200, resp.text
        page = resp.json()
        assert page["kind"] == "linkbase#changeList"
        seen += [c["object_uuid"] for c in page["items"]]
        for change in page["items"]:
            assert change["cursor"] == str(change["id"])
            assert change["kind"] == "arvados#log"
        assert int(page["cursor"]) >= int(cursor)
        cursor = page["cursor"]
        if not page["more"]:
            break
    assert seen == mine and hidden not in seen
    # Idle: the cursor stays and nothing comes back.
    again = client.get("/linkbase/v1/changes", headers=alice, params={"after": cursor}).json()
    assert again == {"kind": "linkbase#changeList", "items": [], "cursor": cursor,
                     "more": False}
    # Filters, as in logs.list.
    only = client.get("/linkbase/v1/changes", headers=ADMIN, params={
        "filters": json.dumps([["object_uuid", "=", hidden]])}).json()
    assert [c["event_type"] for c in only["items"]] == ["create"]


def test_bad_parameters_are_422_and_no_token_401(client: TestClient) -> None:
    for params in ({"after": "abc"}, {"after": "-1"}, {"filters": "[[1]]"},
                   {"filters": '[["id", ">", "x"]]'}, {"limit": "0"}, {"limit": "5000"}):
        resp = client.get("/linkbase/v1/changes", headers=ADMIN, params=params)
        assert resp.status_code == 422, (params, resp.text)
        assert resp.json()["errors"]
    resp = client.get("/linkbase/v1/changes")
    assert resp.status_code == 401 and resp.json()["errors"][0].startswith("Not logged in")
    resp = client.get("/linkbase/v1/changes/stream", headers=ADMIN,
                      params={"filters": "not json"})
    assert resp.status_code == 422


def test_prune_is_for_admins_and_deletes_older_entries(client: TestClient) -> None:
    _, alice = _user(client, "alice")
    _collection(client, alice, "old")
    resp = client.post("/linkbase/v1/logs/prune", headers=alice,
                       params={"before": "2999-01-01T00:00:00Z"})
    assert resp.status_code == 403 and resp.json()["errors"]
    assert client.post("/linkbase/v1/logs/prune", headers=ADMIN,
                       params={"before": "yesterday"}).status_code == 422
    total = client.get("/arvados/v1/logs", headers=ADMIN).json()["items_available"]
    assert total > 0
    kept = client.post("/linkbase/v1/logs/prune", headers=ADMIN,
                       params={"before": "2000-01-01T00:00:00Z"}).json()
    assert kept == {"deleted": 0, "before": "2000-01-01T00:00:00.000000000Z"}
    gone = client.post("/linkbase/v1/logs/prune", headers=ADMIN,
                       params={"before": "2999-01-01T00:00:00Z"}).json()
    assert gone["deleted"] == total
    assert client.get("/arvados/v1/logs", headers=ADMIN).json()["items_available"] == 0


# -- a real server: the SSE stream and the CLI ------------------------------------------------


@pytest.fixture
def server(database_url: str) -> Iterator[ServerHandle]:
    with running_server(database_url, root_token=ROOT) as handle:
        yield handle


def _token(server: ServerHandle, name: str) -> str:
    with server.client() as http:
        user = http.post("/arvados/v1/users", json={"user": {
            "email": f"{name}@example.com", "username": name}}).json()
        tok = http.post("/arvados/v1/api_client_authorizations", json={
            "api_client_authorization": {"owner_uuid": user["uuid"]}}).json()
    return str(tok["api_token"])


def _create(server: ServerHandle, token: str, name: str) -> str:
    with server.client(token) as http:
        resp = http.post("/arvados/v1/collections", json={"collection": {"name": name}})
        assert resp.status_code == 200, resp.text
        return str(resp.json()["uuid"])


def _read_events(server: ServerHandle, token: str, count: int, *,
                 last_event_id: str | None = None) -> list[dict[str, Any]]:
    headers = {"Authorization": f"Bearer {token}"}
    if last_event_id is not None:
        headers["Last-Event-ID"] = last_event_id
    events: list[dict[str, Any]] = []
    with httpx.stream("GET", f"{server.url}/linkbase/v1/changes/stream", headers=headers,
                      timeout=httpx.Timeout(10.0)) as resp:
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/event-stream")
        block: dict[str, str] = {}
        for line in resp.iter_lines():
            if line and not line.startswith(":"):
                key, _, value = line.partition(": ")
                block[key] = value
            elif not line and block:
                assert block["event"] == "change"
                data = json.loads(block["data"])
                assert block["id"] == data["cursor"]
                events.append(data)
                block = {}
                if len(events) == count:
                    break
    return events


def test_stream_delivers_and_resumes_from_last_event_id(server: ServerHandle) -> None:
    alice = _token(server, "alice")
    bob = _token(server, "bob")
    created: list[str] = []

    def write_later() -> None:
        time.sleep(0.5)
        created.append(_create(server, bob, "hidden"))
        created.append(_create(server, alice, "first"))

    writer = threading.Thread(target=write_later)
    writer.start()
    first = _read_events(server, alice, 1)
    writer.join()
    assert [e["object_uuid"] for e in first] == [created[1]]
    # While nobody listens: two more; resuming from the first's id brings exactly those.
    more = [_create(server, alice, "second"), _create(server, alice, "third")]
    resumed = _read_events(server, alice, 2, last_event_id=first[0]["cursor"])
    assert [e["object_uuid"] for e in resumed] == more


def test_linkbase_watch_prints_changes_as_they_happen(server: ServerHandle,
                                                      tmp_path: Path) -> None:
    alice = _token(server, "alice")
    out = tmp_path / "watch.out"
    with out.open("wb") as sink:
        watcher = subprocess.Popen(
            cli_command("-s", "watch", "--filters", '[["event_type", "=", "create"]]'),
            env=server.cli_env(alice), stdout=sink, stderr=subprocess.STDOUT)
    try:
        # The watcher starts "from now", once its process is up and connected, which takes a
        # while on a busy machine: create until one of the creations shows up.
        created: list[str] = []
        seen: list[str] = []
        deadline = time.monotonic() + 60
        while not seen and time.monotonic() < deadline:
            created.append(_create(server, alice, f"watched {len(created)}"))
            time.sleep(0.5)
            seen = [x for x in out.read_text().splitlines() if any(u in x for u in created)]
        assert seen, out.read_text()
        cursor, event_type, object_uuid = seen[0].split()
        assert event_type == "create" and object_uuid in created and cursor.isdigit()
    finally:
        watcher.terminate()
        watcher.wait(timeout=10)
    result = subprocess.run(cli_command("logs", "prune", "--before", "2000-01-01"),
                            env=server.cli_env(alice), capture_output=True, text=True)
    assert result.returncode != 0 and "Only admins may prune the log" in result.stderr, result


def test_the_api_description_lists_the_new_routes(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    feed = spec["paths"]["/linkbase/v1/changes"]["get"]
    assert {p["name"] for p in feed["parameters"]} == {"after", "filters", "limit"}
    assert feed["tags"] == ["Linkbase: changes"]
    stream = spec["paths"]["/linkbase/v1/changes/stream"]["get"]
    assert "text/event-stream" in stream["responses"]["200"]["content"]
    assert {p["name"] for p in spec["paths"]["/linkbase/v1/logs/prune"]["post"]["parameters"]
            } == {"before"}
    reasons = spec["paths"]["/v2/Repositories/{repositoryId}/AuditReasons"]["get"]
    assert reasons["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/AuditReasonCollectionResponse"}
    delete = spec["paths"]["/v2/Repositories/{repositoryId}/Entries/{entryId}"]["delete"]
    assert delete["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/DeleteEntryWithAuditReason"}
