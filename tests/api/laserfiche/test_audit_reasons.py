"""``GET .../AuditReasons`` (configured, none by default) and the audit reason of an entry
delete, recorded in the audit log of everything the delete removes (both backends)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from linkbase.api.app import create_app
from tests.api.laserfiche.conftest import ADMIN, LF, V2, assert_problem, make_settings


@pytest.fixture
def lf_reasons(database_url: str) -> Iterator[LF]:
    app = create_app(make_settings(database_url,
                                   audit_reasons=["Retention period over", "Duplicate"]))
    with TestClient(app) as client:
        yield LF(client)
    app.state.services.db.dispose()


def _log_of(lf: LF, uuid: str) -> list[dict[str, Any]]:
    body = lf.client.get("/arvados/v1/logs", headers=ADMIN, params={
        "filters": json.dumps([["object_uuid", "=", uuid]]), "order": "id asc"}).json()
    return list(body["items"])


def test_no_reasons_by_default(lf: LF) -> None:
    user = lf.create_user("ann")
    resp = lf.client.get(f"{V2}/AuditReasons", headers=user)
    assert resp.status_code == 200 and resp.json() == {"value": []}
    assert_problem(lf.client.get("/v2/Repositories/r-nope/AuditReasons", headers=user), 404)
    assert_problem(lf.client.get(f"{V2}/AuditReasons"), 401)
    # A reason id that is not configured is a 400, and nothing is deleted.
    folder = lf.folder(1, "F")
    assert_problem(lf.client.request("DELETE", f"{V2}/Entries/{folder['id']}", headers=ADMIN,
                                     json={"auditReasonId": 1}), 400)
    assert lf.client.get(f"{V2}/Entries/{folder['id']}", headers=ADMIN).status_code == 200


def test_configured_reasons_are_listed_with_odata(lf_reasons: LF) -> None:
    lf = lf_reasons
    user = lf.create_user("ann")
    body = lf.client.get(f"{V2}/AuditReasons", headers=user).json()
    assert body == {"value": [
        {"id": 1, "name": "Retention period over", "auditEventType": "DeleteEntry"},
        {"id": 2, "name": "Duplicate", "auditEventType": "DeleteEntry"}]}
    page = lf.client.get(f"/LFRepositoryAPI{V2}/AuditReasons", headers=user,
                         params={"$select": "name", "$top": "1", "$count": "true"}).json()
    assert page["value"] == [{"name": "Retention period over"}]
    assert page["@odata.count"] == 2
    assert_problem(lf.client.get(f"{V2}/AuditReasons", headers=user,
                                 params={"$select": "nope"}), 400)


def test_delete_records_the_reason_in_the_log_of_everything_removed(lf_reasons: LF) -> None:
    lf = lf_reasons
    folder = lf.folder(1, "Old")
    doc = lf.document(folder["id"], "Contract")
    folder_uuid, doc_uuid = lf.uuid_of(folder["id"]), lf.uuid_of(doc["id"])
    for body, status in (({"auditReasonId": "1"}, 400), ({"auditReasonId": 9}, 400),
                         ({"comment": 5}, 400), ([1], 400)):
        assert_problem(lf.client.request("DELETE", f"{V2}/Entries/{folder['id']}",
                                         headers=ADMIN, json=body), status)
    resp = lf.client.request("DELETE", f"{V2}/Entries/{folder['id']}", headers=ADMIN,
                             json={"AuditReasonId": 2, "comment": "merged into New"})
    assert resp.status_code == 202, resp.text
    expected = {"auditReasonId": 2, "name": "Duplicate", "comment": "merged into New"}
    for uuid in (folder_uuid, doc_uuid):
        entries = _log_of(lf, uuid)
        assert [e["event_type"] for e in entries] == ["create", "delete"]
        assert entries[-1]["properties"]["reason"] == expected
        assert "reason" not in entries[0]["properties"]
    # A delete without a body records no reason.
    other = lf.folder(1, "Other")
    other_uuid = lf.uuid_of(other["id"])
    assert lf.client.delete(f"{V2}/Entries/{other['id']}", headers=ADMIN).status_code == 202
    last = _log_of(lf, other_uuid)[-1]
    assert last["event_type"] == "delete" and "reason" not in last["properties"]
