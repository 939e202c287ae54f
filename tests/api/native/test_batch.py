"""``POST /linkbase/v1/links/batch``: all-or-nothing batches, duplicates, permissions, errors."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from linkbase.api.app import create_app
from linkbase.settings import Settings
from linkbase.storage import tables
from tests.api.native.conftest import ADMIN, ROOT


def _link_count(client: TestClient) -> int:
    db = client.app.state.services.db  # type: ignore[attr-defined]
    with db.read() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(tables.links)).scalar_one())


def _user_token(client: TestClient, email: str) -> tuple[str, dict[str, str]]:
    user = client.post("/arvados/v1/users", json={"user": {"email": email}}, headers=ADMIN).json()
    token = client.post(
        "/arvados/v1/api_client_authorizations",
        json={"api_client_authorization": {"owner_uuid": user["uuid"]}}, headers=ADMIN,
    ).json()["api_token"]
    return user["uuid"], {"Authorization": f"Bearer {token}"}


def _project(client: TestClient, headers: dict[str, str], name: str) -> str:
    response = client.post("/arvados/v1/groups",
                           json={"group": {"name": name, "group_class": "project"}},
                           headers=headers)
    assert response.status_code == 200, response.text
    return str(response.json()["uuid"])


def _batch(client: TestClient, links: list[Any], headers: dict[str, str],
           on_duplicate: str = "error") -> dict[str, Any]:
    response = client.post("/linkbase/v1/links/batch",
                           json={"links": links, "on_duplicate": on_duplicate}, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_admin_batch_creates_every_link(client: TestClient) -> None:
    project = _project(client, ADMIN, "P")
    before = _link_count(client)
    body = _batch(client, [{"link_class": "tag", "name": f"t{i}", "head_uuid": project,
                            "properties": {"i": i}} for i in range(50)], ADMIN)
    assert body == {"created": 50, "updated": 0, "skipped": 0, "errors": [], "committed": True}
    assert _link_count(client) == before + 50
    listed = client.get("/arvados/v1/links", params={
        "filters": '[["link_class","=","tag"],["properties.i",">=",45]]'}, headers=ADMIN).json()
    assert sorted(item["name"] for item in listed["items"]) == [f"t{i}" for i in range(45, 50)]


def test_one_bad_item_writes_nothing_and_names_its_index(client: TestClient) -> None:
    project = _project(client, ADMIN, "P")
    before = _link_count(client)
    body = _batch(client, [
        {"link_class": "tag", "name": "ok", "head_uuid": project},
        {"link_class": "tag", "name": "bad", "head_uuid": "zzzzz-4zz18-000000000000000"},
        "not an object",
        {"link_class": "tag", "bogus": 1},
    ], ADMIN)
    assert body["committed"] is False
    assert [e["index"] for e in body["errors"]] == [2, 3]
    assert "unknown attribute 'bogus'" in body["errors"][1]["error"]
    assert _link_count(client) == before
    body = _batch(client, [
        {"link_class": "tag", "name": "ok", "head_uuid": project},
        {"link_class": "tag", "name": "bad", "head_uuid": "zzzzz-4zz18-000000000000000"},
    ], ADMIN)
    assert body["errors"] == [
        {"index": 1, "error": "Head uuid 'zzzzz-4zz18-000000000000000' not found"}]
    assert _link_count(client) == before


def test_duplicates_by_uuid_follow_on_duplicate(client: TestClient) -> None:
    project = _project(client, ADMIN, "P")
    link = {"uuid": "zzzzz-o0j2j-aaaaaaaaaaaaaaa", "link_class": "tag", "name": "one",
            "head_uuid": project}
    assert _batch(client, [link], ADMIN)["created"] == 1
    again = _batch(client, [link], ADMIN)
    assert again["committed"] is False
    assert again["errors"][0]["index"] == 0
    assert _batch(client, [link, link], ADMIN, "ignore")["skipped"] == 2
    updated = _batch(client, [{**link, "name": "two"}], ADMIN, "update")
    assert updated["updated"] == 1
    got = client.get(f"/arvados/v1/links/{link['uuid']}", headers=ADMIN).json()
    assert got["name"] == "two"


def test_non_admin_batch_is_permission_checked(client: TestClient) -> None:
    _alice, alice = _user_token(client, "alice@example.com")
    _bob, bob = _user_token(client, "bob@example.com")
    mine = _project(client, alice, "A")
    hidden = _project(client, bob, "B")
    before = _link_count(client)
    refused = _batch(client, [{"link_class": "tag", "name": "x", "head_uuid": hidden}], alice)
    assert refused["committed"] is False
    assert refused["errors"][0]["error"] == f"Head uuid '{hidden}' not found"
    assert _link_count(client) == before
    assigned = _batch(client, [{"uuid": "zzzzz-o0j2j-bbbbbbbbbbbbbbb", "link_class": "tag",
                                "head_uuid": mine}], alice)
    assert assigned["errors"][0]["error"] == "Uuid assignment not permitted"
    ok = _batch(client, [{"link_class": "tag", "name": "x", "head_uuid": mine}], alice)
    assert ok["created"] == 1
    assert _link_count(client) == before + 1


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        (b"{not json", 422, "Malformed JSON"),
        (b'{"links": {}}', 422, "'links' array"),
        (b"[]", 422, "'links' array"),
        (b'{"links": [], "on_duplicate": "merge"}', 422, "on_duplicate"),
        (b'{"links": [], "on_duplicate": 3}', 422, "on_duplicate"),
    ],
)
def test_malformed_batches_are_422(client: TestClient, body: bytes, status: int,
                                   fragment: str) -> None:
    before = _link_count(client)
    response = client.post("/linkbase/v1/links/batch", content=body,
                           headers={**ADMIN, "Content-Type": "application/json"})
    assert response.status_code == status
    payload = response.json()
    assert any(fragment in message for message in payload["errors"])
    assert "error_token" in payload
    assert _link_count(client) == before


def test_batch_needs_a_valid_token(client: TestClient) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}):
        response = client.post("/linkbase/v1/links/batch", json={"links": []}, headers=headers)
        assert response.status_code == 401
        assert response.json()["errors"][0].startswith("Not logged in")


def test_batch_size_is_limited(database_url: str) -> None:
    app = create_app(Settings(database_url=database_url, system_root_token=ROOT,
                              max_import_links=3))
    with TestClient(app) as client:
        response = client.post("/linkbase/v1/links/batch",
                               json={"links": [{"link_class": "tag"}] * 4}, headers=ADMIN)
        assert response.status_code == 422
        assert "At most 3 links" in response.json()["errors"][0]
    app.state.services.db.dispose()


def test_batch_body_size_is_limited(database_url: str) -> None:
    app = create_app(Settings(database_url=database_url, system_root_token=ROOT,
                              max_import_bytes=200))
    with TestClient(app) as client:
        before = _link_count(client)
        links = [{"link_class": "tag", "name": f"n{i}"} for i in range(10)]
        response = client.post("/linkbase/v1/links/batch", json={"links": links}, headers=ADMIN)
        assert response.status_code == 422  # the Arvados error format's status for bad input
        assert response.json()["errors"][0].startswith("Request body too large (req-")
        assert _link_count(client) == before
        small = client.post("/linkbase/v1/links/batch", json={"links": links[:1]}, headers=ADMIN)
        assert small.status_code == 200 and small.json()["created"] == 1
    app.state.services.db.dispose()


def test_import_limits_are_separate_from_the_laserfiche_ones() -> None:
    settings = Settings()
    assert settings.max_import_links == 50_000 > settings.max_batch_links
    assert settings.max_import_bytes > settings.max_request_bytes
