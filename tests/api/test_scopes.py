"""Token scopes bind a token on every face (spec ``arvados.md`` §1.2 "Scopes").

Every route of every face that takes a token is called with a token scoped to something else:
each answers 403 in its own error format and stores nothing. Tokens scoped to a route reach it
(a trailing slash on the request ignored) and nothing beside it. The workbench has no API of
its own: its calls are these faces' routes, so they are covered here too.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from linkbase.api.app import create_app
from linkbase.domain.scopes import scope_allows
from linkbase.settings import Settings
from tests.api.arvados.conftest import ROOT_TOKEN, Api, assert_error, table_snapshot
from tests.support.databases import BACKENDS, fresh_database_url
from tests.support.routes import api_routes

ARVADOS_RESOURCES = ("links", "users", "groups", "collections", "api_client_authorizations")
ARVADOS_UUID = "zzzzz-tpzed-000000000000000"
#: Path parameters of the native and Laserfiche routes, with values that exist.
PATH_VALUES = {"repositoryId": "r-default", "repository_id": "r-default", "entryId": "1",
               "entry_id": "1", "linkDefinitionId": "1", "uuid": ARVADOS_UUID}
#: Routes that take no token at all (the Token exchange, the repository list, docs, health).
NO_TOKEN = ("/v1/Repositories/{repositoryId}/Token", "/v2/Repositories")
FACE_PREFIXES = ("/v1/", "/v2/", "/LFRepositoryAPI/", "/linkbase/v1/")


@dataclass
class World:
    """One app per backend with a user and tokens of several scopes."""

    app: FastAPI
    api: Api
    user_uuid: str

    def token(self, *scopes: str) -> str:
        """A new token of the user with exactly ``scopes``."""
        tok = self.api.create("api_client_authorizations", "api_client_authorization",
                              {"owner_uuid": self.user_uuid, "scopes": list(scopes)},
                              token=ROOT_TOKEN)
        return f"v2/{tok['uuid']}/{tok['api_token']}"


@pytest.fixture(scope="module", params=BACKENDS)
def world(request: pytest.FixtureRequest,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    url = fresh_database_url(str(request.param), tmp_path_factory.mktemp("scopes"))
    app = create_app(Settings(database_url=url, system_root_token=ROOT_TOKEN))
    with TestClient(app) as client:
        api = Api(client)
        user, _ = api.new_user(is_admin=True)  # an admin: only the scope can refuse
        yield World(app, api, user["uuid"])
    app.state.services.db.dispose()


def arvados_requests() -> list[tuple[str, str]]:
    """Every (verb, path) the Arvados face routes (spec §1.1)."""
    calls = [("GET", "/arvados/v1/computed_permissions"),
             ("GET", f"/arvados/v1/permissions/{ARVADOS_UUID}"),
             ("GET", "/arvados/v1/users/current")]
    for resource in ARVADOS_RESOURCES:
        base = f"/arvados/v1/{resource}"
        calls += [("GET", base), ("POST", base), ("GET", f"{base}/{ARVADOS_UUID}"),
                  ("DELETE", f"{base}/{ARVADOS_UUID}")]
        if resource != "api_client_authorizations":
            calls += [("PUT", f"{base}/{ARVADOS_UUID}"), ("PATCH", f"{base}/{ARVADOS_UUID}")]
    return calls


def _fill(path: str) -> str:
    for name, value in PATH_VALUES.items():
        path = path.replace("{" + name + "}", value)
    return path


def face_requests() -> list[tuple[str, str]]:
    """Every (verb, path) of the Laserfiche and native faces that takes a token, read from the
    app's own routing table (so a new route is covered without editing this test)."""
    app = create_app(Settings(database_url="sqlite://"))
    calls = []
    for method, path in api_routes(app):
        if not path.startswith(FACE_PREFIXES) or "{rest:path}" in path:
            continue
        if path.removeprefix("/LFRepositoryAPI") not in NO_TOKEN:
            calls.append((method, _fill(path)))
    app.state.services.db.dispose()
    return calls


ALL_REQUESTS = arvados_requests() + face_requests()


def assert_face_error(path: str, resp: Any, status: int) -> None:
    """The error is in the format of the face that owns ``path``."""
    if path.startswith(("/v1/", "/v2/", "/LFRepositoryAPI/")):
        assert resp.status_code == status, (path, resp.status_code, resp.text[:300])
        assert resp.headers["content-type"].startswith("application/problem+json")
        assert resp.json()["status"] == status and resp.json()["title"]
    else:
        assert_error(resp, status)


def test_every_face_is_enumerated() -> None:
    faces = {path.split("/")[1] for _, path in ALL_REQUESTS}
    assert faces == {"arvados", "v2", "LFRepositoryAPI", "linkbase"}, faces
    methods = {method for method, _ in ALL_REQUESTS}
    assert {"GET", "POST", "PUT", "PATCH", "DELETE"} <= methods


@pytest.mark.parametrize(("method", "path"), ALL_REQUESTS, ids=lambda v: str(v))
def test_a_token_scoped_elsewhere_is_refused(world: World, method: str, path: str) -> None:
    token = world.token("GET /arvados/v1/nothing", "POST /linkbase/v1/nothing/")
    before = table_snapshot(world.app)
    # Well-formed query parameters: a malformed request is refused (422) before its token is.
    params = {"uuid": ARVADOS_UUID, "from": ARVADOS_UUID, "to": ARVADOS_UUID,
              "before": "2000-01-01T00:00:00Z"}
    resp = world.api.call(method, path, token=token, json={}, params=params)
    assert_face_error(path, resp, 403)
    assert table_snapshot(world.app) == before


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/arvados/v1/links"),
    ("GET", "/v2/Repositories/r-default/LinkDefinitions"),
    ("GET", "/LFRepositoryAPI/v2/Repositories/r-default/Entries/1"),
    ("GET", "/linkbase/v1/link_definitions"),
], ids=lambda v: str(v))
def test_a_token_scoped_to_a_route_reaches_it_with_or_without_a_trailing_slash(
        world: World, method: str, path: str) -> None:
    token = world.token(f"{method} {path}")
    assert world.api.call(method, path, token=token).status_code == 200
    # The trailing slash is ignored for matching the scope (not by the router, which may 404).
    assert world.api.call(method, path + "/", token=token).status_code != 403
    assert_error(world.api.call("GET", "groups", token=token), 403)


def test_a_prefix_scope_reaches_what_is_under_it(world: World) -> None:
    token = world.token("GET /v2/Repositories/r-default/")
    ok = world.api.call("GET", "/v2/Repositories/r-default/Entries/1", token=token)
    assert ok.status_code == 200, ok.text
    refused = world.api.call("GET", "/linkbase/v1/link_definitions", token=token)
    assert_face_error("/linkbase/v1/link_definitions", refused, 403)


def test_scoped_token_exchange_never_widens(world: World) -> None:
    """The Laserfiche Token endpoint with a scoped token as password keeps its scopes."""
    token = world.token("GET /arvados/v1/users/current")
    user = world.api.ok("GET", "users/current", token=token)
    resp = world.api.client.post("/v1/Repositories/r-default/Token", data={
        "grant_type": "password", "username": user["username"], "password": token})
    assert resp.status_code == 200, resp.text
    traded = resp.json()["access_token"]
    assert world.api.call("GET", "users/current", token=traded).status_code == 200
    assert_error(world.api.call("GET", "links", token=traded), 403)
    assert_face_error("/linkbase/v1/links/batch", world.api.call(
        "POST", "/linkbase/v1/links/batch", token=traded, json={"links": []}), 403)


@pytest.mark.parametrize(("scopes", "method", "path", "allowed"), [
    (["all"], "DELETE", "/anything", True),
    (["GET /arvados/v1/users"], "GET", "/arvados/v1/users", True),
    (["GET /arvados/v1/users"], "GET", "/arvados/v1/users/", True),
    (["GET /arvados/v1/users"], "HEAD", "/arvados/v1/users", True),
    (["GET /arvados/v1/users"], "POST", "/arvados/v1/users", False),
    (["GET /arvados/v1/users"], "GET", "/arvados/v1/users/x", False),
    (["GET /arvados/v1/users/"], "GET", "/arvados/v1/users/x", True),
    (["GET /arvados/v1/users/"], "GET", "/arvados/v1/usersx", False),
    (["get /arvados/v1/users"], "GET", "/arvados/v1/users", False),
    ([], "GET", "/arvados/v1/api_client_authorizations/current", True),
    ([], "GET", "/arvados/v1/api_client_authorizations/current/", True),
    ([], "POST", "/arvados/v1/api_client_authorizations/current", False),
    (["GET"], "GET", "/", False),
])
def test_scope_rule(scopes: list[str], method: str, path: str, allowed: bool) -> None:
    assert scope_allows(scopes, method, path) is allowed
