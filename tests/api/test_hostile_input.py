"""The reproducers of issue 10: hostile input on every face gets a clear 4xx in the face's own
error format, on both backends, with nothing stored, and the server keeps answering.

Each case runs against one app per backend and checks: the status, the error body (Arvados
``{"errors", "error_token"}`` for the Arvados and native faces, ProblemDetails for Laserfiche),
that no row of any table changed, and that an admin's plain list still answers 200 afterwards.
The limits themselves are declared in ``linkbase.domain.limits``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from linkbase.api.app import create_app
from linkbase.domain import limits
from linkbase.settings import Settings
from tests.api.arvados.conftest import ROOT_TOKEN, Api, assert_error, table_snapshot
from tests.support.databases import BACKENDS, fresh_database_url

ADMIN = {"Authorization": f"Bearer {ROOT_TOKEN}"}
JSON = {**ADMIN, "Content-Type": "application/json"}
FORM_GET = {**ADMIN, "X-Http-Method-Override": "GET"}
LONG = "x" * (limits.MAX_STRING_LENGTH + 1)


def nested_object(depth: int) -> str:
    """``{"a": {"a": ... 1}}`` with ``depth`` objects, as JSON text."""
    return '{"a":' * depth + "1" + "}" * depth


def nested_array(depth: int) -> str:
    return "[" * depth + "]" * depth


@dataclass
class World:
    """One app per backend and a project to hang links on."""

    app: FastAPI
    client: TestClient
    project: str
    user_token: str


@pytest.fixture(scope="module", params=BACKENDS)
def world(request: pytest.FixtureRequest,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    url = fresh_database_url(str(request.param), tmp_path_factory.mktemp("hostile"))
    app = create_app(Settings(database_url=url, system_root_token=ROOT_TOKEN))
    with TestClient(app, raise_server_exceptions=False) as client:
        api = Api(client)
        project = api.create("groups", "group", {"group_class": "project", "name": "p"})
        api.link(link_class="tag", name="t", head_uuid=project["uuid"])
        _, user_token = api.new_user()
        yield World(app, client, project["uuid"], user_token)
    app.state.services.db.dispose()


Request = Callable[[World], httpx.Response]


def arvados_link(properties: str = "{}", **attrs: str) -> Request:
    """POST an Arvados link whose ``properties`` is the given JSON text."""
    def send(w: World) -> httpx.Response:
        fields = {"link_class": "tag", "name": "n", "head_uuid": w.project, **attrs}
        body = f'{{"link": {{{json.dumps(fields)[1:-1]}, "properties": {properties}}}}}'
        return w.client.post("/arvados/v1/links", headers=JSON, content=body)
    return send


def arvados_create(resource: str, wrapper: str, attrs: dict[str, Any]) -> Request:
    return lambda w: w.client.post(f"/arvados/v1/{resource}", headers=ADMIN,
                                   json={wrapper: attrs})


def links_list(**params: str) -> Request:
    return lambda w: w.client.get("/arvados/v1/links", headers=ADMIN, params=params)


def links_list_by_form(**params: str) -> Request:
    """A list sent as a form POST with a GET override (what the SDK does for long URLs)."""
    return lambda w: w.client.post("/arvados/v1/links", headers=FORM_GET, data=params)


def native(method: str, path: str, body: str) -> Request:
    return lambda w: w.client.request(method, path, headers=JSON, content=body)


def batch_with_properties(properties: str) -> Request:
    """A native batch of one link whose ``properties`` is the given JSON text."""
    body = '{"links": [{"link_class": "t", "properties": PROPS}]}'.replace("PROPS", properties)
    return native("POST", "/linkbase/v1/links/batch", body)


def laserfiche(method: str, path: str, headers: dict[str, str] | None = None,
               **kwargs: Any) -> Request:
    return lambda w: w.client.request(method, "/v2/Repositories/r-default" + path,
                                      headers=headers or ADMIN, **kwargs)


def token_request(username: str, password: str = "x") -> Request:
    return lambda w: w.client.post("/v1/Repositories/r-default/Token", data={
        "grant_type": "password", "username": username, "password": password})


INT64_OVERFLOW = str(2**64)
SURROGATE = '"\\ud800"'  # a lone-surrogate escape, as JSON text
CASES: dict[str, tuple[Request, int]] = {
    # properties: deep, huge numbers, NUL
    "properties-255-deep": (arvados_link(nested_object(255)), 422),
    "properties-1000-deep": (arvados_link(nested_object(1000)), 422),
    "properties-over-depth": (arvados_link(nested_object(limits.MAX_JSON_DEPTH + 1)), 422),
    "properties-2^64": (arvados_link(f'{{"a": {INT64_OVERFLOW}}}'), 422),
    "properties-2^63": (arvados_link(f'{{"a": {2**63}}}'), 422),
    "properties-1e19-float": (arvados_link('{"a": 1e19}'), 422),
    "properties-1e400": (arvados_link('{"a": 1e400}'), 422),
    "properties-nul": (arvados_link('{"a": "x\\u0000"}'), 422),
    "properties-surrogate": (arvados_link(f'{{"a": {SURROGATE}}}'), 422),
    "properties-surrogate-key": (arvados_link(f'{{{SURROGATE}: 1}}'), 422),
    # strings over 255 characters, on every resource
    "link-name-long": (arvados_create("links", "link", {"link_class": "tag", "name": LONG}), 422),
    "link-class-long": (arvados_create("links", "link", {"link_class": LONG}), 422),
    "group-name-long": (arvados_create("groups", "group", {"group_class": "project",
                                                           "name": LONG}), 422),
    "collection-name-long": (arvados_create("collections", "collection", {"name": LONG}), 422),
    "user-email-long": (arvados_create("users", "user", {"email": LONG}), 422),
    "user-username-long": (arvados_create("users", "user", {"username": LONG}), 422),
    "batch-link-class-long": (native("POST", "/linkbase/v1/links/batch", json.dumps(
        {"links": [{"link_class": LONG, "name": "n"}]})), 200),
    "batch-properties-deep": (batch_with_properties(nested_object(100)), 200),
    "batch-properties-2^63": (batch_with_properties(f'{{"a": {2**63}}}'), 200),
    "link-definition-long": (native("POST", "/linkbase/v1/link_definitions", json.dumps(
        {"source_label": LONG, "target_label": "t", "description": "d"})), 422),
    "link-definition-nul": (native("POST", "/linkbase/v1/link_definitions", json.dumps(
        {"source_label": "s\x00", "target_label": "t", "description": "d\x00"})), 422),
    "repository-name-long": (native("POST", "/linkbase/v1/repositories", json.dumps(
        {"id": "r-long", "name": LONG})), 422),
    "repository-nul": (native("POST", "/linkbase/v1/repositories", json.dumps(
        {"id": "r-nul", "name": "n\x00"})), 422),
    "document-parent-2^31": (native("POST", "/linkbase/v1/documents", json.dumps(
        {"repository_id": "r-default", "parent_entry_id": 2**31, "name": "d"})), 404),
    "document-properties-deep": (native("POST", "/linkbase/v1/documents",
                                        '{"repository_id": "r-default", "parent_entry_id": 1, '
                                        f'"name": "d", "properties": {nested_object(40)}}}'),
                                 422),
    # Laserfiche: NUL, big ids, deep bodies, long names
    "lf-bypath-nul": (laserfiche("GET", "/Entries/ByPath", params={"fullPath": "\\a\x00"}), 400),
    "lf-token-username-nul": (token_request("alice\x00"), 400),
    "lf-token-password-huge": (token_request("alice", "p" * (limits.MAX_SECRET_LENGTH + 1)),
                               400),
    "lf-other-entry-2^31": (laserfiche("PUT", "/Entries/1/Links", json={"links": [
        {"linkDefinitionId": 1, "otherEntryId": 2**31}]}), 400),
    "lf-parent-2^31": (laserfiche("PATCH", "/Entries/1", json={"parentId": 2**31}), 400),
    "lf-entry-id-path-2^31": (laserfiche("GET", f"/Entries/{2**31}"), 400),
    "lf-repository-nul": (lambda w: w.client.get("/v2/Repositories/r%00/Entries/1",
                                                 headers=ADMIN), 404),
    "lf-custom-properties-surrogate": (laserfiche(
        "PUT", "/Entries/1/Links", content='{"links": [{"linkDefinitionId": 1, "otherEntryId": '
        f'1, "customProperties": {{"a": {SURROGATE}}}}}]}}', headers=JSON), 400),
    "lf-body-1000-deep": (laserfiche("PUT", "/Entries/1/Links", content=nested_array(1000),
                                     headers=JSON), 400),
    "lf-folder-name-long": (laserfiche("POST", "/Entries/1/Folder/Children", json={
        "name": LONG, "entryType": "Folder"}), 400),
    "lf-folder-name-nul": (laserfiche("POST", "/Entries/1/Folder/Children", json={
        "name": "a\x00", "entryType": "Folder"}), 400),
    # list parameters
    "in-65536-values": (links_list_by_form(filters=json.dumps(
        [["uuid", "in", ["x"] * 65_536]])), 422),
    "filters-over-limit": (links_list_by_form(filters=json.dumps(
        [["name", "=", "x"]] * (limits.MAX_FILTERS + 1))), 422),
    "filters-2000": (links_list_by_form(filters=json.dumps([["name", "=", "x"]] * 2000)), 422),
    "filters-surrogate-query": (links_list(filters=f'[["name", "=", {SURROGATE}]]'), 422),
    "filters-surrogate-form": (links_list_by_form(filters=f'[["name", "=", {SURROGATE}]]'),
                               422),
    "where-surrogate": (links_list(where=f'{{"name": {SURROGATE}}}'), 422),
    "select-surrogate": (links_list(select=f"[{SURROGATE}]"), 422),
    "order-surrogate-form": (links_list_by_form(order='["\\ud800 asc"]'), 422),
    "filters-nul": (links_list(filters='[["name", "=", "a\\u0000"]]'), 422),
    "filters-1000-deep": (links_list(filters=nested_array(1000)), 422),
    "where-1000-deep": (links_list(where=nested_object(1000)), 422),
    "properties-filter-1000-deep": (links_list_by_form(filters=json.dumps(
        [["properties", "=", nested_object(1000)]])), 422),
    "offset-above-2^53": (links_list(offset=str(2**53 + 1)), 422),
    "offset-2^63": (links_list(offset=str(2**63)), 422),
    "offset-5000-digits": (links_list(offset="9" * 5000), 422),
    "limit-5000-digits": (links_list(limit="9" * 5000), 200),
    "uuid-nul-path": (lambda w: w.client.get("/arvados/v1/links/zzzzz-o0j2j-%00",
                                             headers=ADMIN), 404),
    "token-nul": (lambda w: w.client.get("/arvados/v1/links", params={"api_token": "a\x00"}),
                  401),
    "token-non-ascii": (lambda w: w.client.get("/arvados/v1/links",
                                               params={"api_token": "\u00e9t\u00e9"}), 401),
}


def assert_face_error(path: str, resp: httpx.Response, status: int) -> None:
    """An error body in the format of the face that owns ``path``."""
    if path.startswith(("/v1/", "/v2/", "/LFRepositoryAPI/")):
        assert resp.status_code == status, (resp.status_code, resp.text[:300])
        assert resp.headers["content-type"].startswith("application/problem+json")
        body = resp.json()
        assert body["status"] == status and body["title"], body
    else:
        assert_error(resp, status)


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_input_is_refused_and_stores_nothing(world: World, name: str) -> None:
    send, status = CASES[name]
    before = table_snapshot(world.app)
    resp = send(world)
    if status == 200:  # tolerated (clamped, dropped) or reported item by item (batches)
        assert resp.status_code == 200, resp.text[:300]
        body = resp.json()
        if "errors" in body:
            assert body.get("created", 0) == 0 and body["errors"], body
    else:
        assert_face_error(resp.request.url.path, resp, status)
    assert table_snapshot(world.app) == before
    after = world.client.get("/arvados/v1/links", headers=ADMIN)
    assert after.status_code == 200, after.text[:300]


def test_accepted_extremes_read_back_list_and_delete(world: World) -> None:
    """What is accepted at the limits can be read, listed, filtered and deleted."""
    properties = {"deep": json.loads(nested_object(limits.MAX_JSON_DEPTH - 1)),
                  "max": limits.MAX_JSON_INT, "min": limits.MIN_JSON_INT, "float": 1.5e18,
                  "tiny": 1e-300}
    resp = world.client.post("/arvados/v1/links", headers=ADMIN, json={"link": {
        "link_class": "x" * limits.MAX_STRING_LENGTH, "name": "n", "head_uuid": world.project,
        "properties": properties}})
    assert resp.status_code == 200, resp.text
    uuid = resp.json()["uuid"]
    got = world.client.get(f"/arvados/v1/links/{uuid}", headers=ADMIN)
    assert got.status_code == 200 and got.json()["properties"] == properties
    listed = world.client.get("/arvados/v1/links", headers=ADMIN, params={
        "filters": json.dumps([["properties.max", "=", limits.MAX_JSON_INT]])})
    assert listed.status_code == 200
    assert [item["uuid"] for item in listed.json()["items"]] == [uuid]
    deleted = world.client.delete(f"/arvados/v1/links/{uuid}", headers=ADMIN)
    assert deleted.status_code == 200


def test_a_batch_naming_an_unreadable_uuid_answers_as_for_a_missing_one(world: World) -> None:
    """A batch tells a caller nothing about objects it cannot read (issue 10)."""
    user = {"Authorization": f"Bearer {world.user_token}", "Content-Type": "application/json"}
    missing = "zzzzz-j7d0g-000000000000999"
    answers = []
    for head in (world.project, missing):  # the project exists but the user cannot read it
        resp = world.client.post("/linkbase/v1/links/batch", headers=user, content=json.dumps(
            {"links": [{"link_class": "tag", "name": "t", "head_uuid": head}]}))
        body = resp.json()
        answers.append((resp.status_code, [e["error"].replace(head, "U")
                                           for e in body.get("errors", [])]))
    assert answers[0] == answers[1], answers
    assert answers[0][0] < 500
