"""Fuzzing every route of every face (issue 10): no 5xx, no dropped connection, and an admin's
plain list still answers 200 afterwards, on both backends.

The routes are read from the app's routing table (the Arvados face's own table for its one
catch-all route), so a new route is fuzzed without editing this file. Requests carry valid
tokens of several users (admin, two users, an inactive one, a scoped and an expired token) or
none or garbage, and go over one real keep-alive connection to uvicorn, as ``linkbase serve``
runs it. The short run is part of the suite; the long one (``-m slow``, 10,000 requests per
face and backend by default, ``LINKBASE_FUZZ_REQUESTS`` to change) gives the figures in the
README.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings

from linkbase.api.app import create_app
from linkbase.settings import Settings
from tests.api.arvados.conftest import ROOT_TOKEN, Api
from tests.support.databases import BACKENDS, fresh_database_url
from tests.support.fuzzing import (
    FACES,
    DroppedConnection,
    FuzzRequest,
    KeepAliveClient,
    Known,
    arvados_routes,
    face_of,
    requests,
)
from tests.support.routes import api_routes
from tests.support.uvicorn_thread import serving

SHORT_RUN = 1500
LONG_RUN = int(os.environ.get("LINKBASE_FUZZ_REQUESTS", "10000"))
#: Routes that are not part of any face (documentation, the UI page, health and metrics).
_NOT_A_FACE = ("/docs", "/redoc", "/openapi.json", "/ui", "/_health", "/metrics", "/")
#: Streams that never end by design (Server-Sent Events): a fuzzed request would wait on them
#: forever. Their bad input is tested in tests/api/native/test_changes.py.
_ENDLESS = ("/linkbase/v1/changes/stream",)
ADMIN_LISTS = ("/arvados/v1/links", "/arvados/v1/groups", "/v2/Repositories/r-default/"
               "Entries/1/Folder/Children", "/linkbase/v1/link_definitions")


@dataclass
class World:
    app: FastAPI
    known: Known
    host: str
    port: int


def _populate(app: FastAPI) -> Known:
    """A few users, tokens and objects of every kind, through the faces themselves."""
    with TestClient(app) as client:
        api = Api(client)
        alice, alice_token = api.new_user()
        bob, bob_token = api.new_user()
        _, inactive_token = api.new_user(is_active=False)
        project = api.create("groups", "group", {"group_class": "project", "name": "p",
                                                 "owner_uuid": alice["uuid"]})
        coll = api.create("collections", "collection", {"owner_uuid": project["uuid"],
                                                        "name": "c"})
        tag = api.link(link_class="tag", name="t", head_uuid=coll["uuid"])
        api.link(link_class="permission", name="can_read", tail_uuid=bob["uuid"],
                 head_uuid=project["uuid"])
        scoped = api.create("api_client_authorizations", "api_client_authorization", {
            "owner_uuid": alice["uuid"], "scopes": ["GET /arvados/v1/links"]})
        expired = api.create("api_client_authorizations", "api_client_authorization", {
            "owner_uuid": bob["uuid"], "expires_at": "2001-01-01T00:00:00Z"})
        admin = {"Authorization": f"Bearer {ROOT_TOKEN}"}
        base = "/v2/Repositories/r-default/Entries"
        folder = client.post(f"{base}/1/Folder/Children", headers=admin,
                             json={"name": "f", "entryType": "Folder"}).json()
        document = client.post("/linkbase/v1/documents", headers=admin, json={
            "repository_id": "r-default", "parent_entry_id": folder["id"], "name": "d"}).json()
        client.put(f"{base}/{folder['id']}/Links", headers=admin, json={"links": [
            {"linkDefinitionId": 1, "otherEntryId": document["id"]}]})
    return Known(
        uuids=[alice["uuid"], bob["uuid"], project["uuid"], coll["uuid"], tag["uuid"],
               scoped["uuid"], "zzzzz-tpzed-000000000000000", "zzzzz-j7d0g-fffffffffffffff",
               "zzzzz-o0j2j-000000000000000"],
        entry_ids=[1, int(folder["id"]), int(document["id"]), 999],
        tokens=[ROOT_TOKEN, alice_token, bob_token, inactive_token, None, "garbage",
                f"v2/{scoped['uuid']}/{scoped['api_token']}",
                f"v2/{expired['uuid']}/{expired['api_token']}"],
        usernames=[str(alice["username"]), str(bob["username"]), "root", "nobody"],
    )


@pytest.fixture(scope="module", params=BACKENDS)
def world(request: pytest.FixtureRequest,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    url = fresh_database_url(str(request.param), tmp_path_factory.mktemp("fuzz"))
    # Generous sign-in limits: the fuzzer's failed logins must not lock the users it needs.
    app = create_app(Settings(database_url=url, system_root_token=ROOT_TOKEN,
                              max_request_bytes=1024 * 1024, login_max_failures=10**9,
                              login_max_failures_per_address=10**9))
    known = _populate(app)
    with serving(app) as (host, port):
        yield World(app, known, host, port)
    app.state.services.db.dispose()


def routes_of(face: str) -> list[tuple[str, str]]:
    """Every (method, path template) of ``face``."""
    if face == "arvados":
        return arvados_routes()
    app = create_app(Settings(database_url="sqlite://"))
    routes = [(m, p) for m, p in api_routes(app)
              if "{rest:path}" not in p and p not in ("/v1", "/v2", "/LFRepositoryAPI")
              and not p.startswith(_NOT_A_FACE[:-1]) and p != "/" and p not in _ENDLESS
              and face_of(p) == face]
    app.state.services.db.dispose()
    return routes


def test_every_face_has_routes_to_fuzz() -> None:
    counts = {face: len(routes_of(face)) for face in FACES}
    assert all(counts.values()), counts
    assert any("LFRepositoryAPI" in p for _, p in routes_of("laserfiche"))


@dataclass
class Tally:
    requests: int = 0
    server_errors: int = 0
    dropped: int = 0
    statuses: Counter[int] = field(default_factory=Counter)


def fuzz(world: World, face: str, examples: int) -> Tally:
    """Send ``examples`` generated requests to ``face``; fail on the first 5xx or drop."""
    client = KeepAliveClient(world.host, world.port)
    admin = KeepAliveClient(world.host, world.port)
    tally = Tally()

    def check_admin_lists() -> None:
        for path in ADMIN_LISTS:
            answer = admin.send(FuzzRequest("GET", path, (), (
                ("Authorization", f"Bearer {ROOT_TOKEN}"),), None))
            assert answer.status == 200, (path, answer.status, answer.body[:300])

    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(request=requests(face, routes_of(face), world.known))
    def one(request: FuzzRequest) -> None:
        tally.requests += 1
        try:
            answer = client.send(request)
        except DroppedConnection:
            tally.dropped += 1
            raise
        tally.statuses[answer.status] += 1
        if answer.status >= 500:
            tally.server_errors += 1
        assert answer.status < 500, (answer.status, answer.body[:500], request)
        if tally.requests % 200 == 0:
            check_admin_lists()

    try:
        one()
        check_admin_lists()
    finally:
        client.close()
        admin.close()
    return tally


@pytest.mark.parametrize("face", FACES)
def test_fuzz_short(world: World, face: str) -> None:
    tally = fuzz(world, face, SHORT_RUN)
    assert tally.requests >= SHORT_RUN // 2 and tally.server_errors == tally.dropped == 0


@pytest.mark.slow
@pytest.mark.parametrize("face", FACES)
def test_fuzz_long(world: World, face: str) -> None:
    started = time.monotonic()
    tally = fuzz(world, face, LONG_RUN)
    print(f"\nfuzz {face}: {tally.requests} requests, {tally.server_errors} 5xx, "
          f"{tally.dropped} dropped connections, {time.monotonic() - started:.0f} s; "
          f"statuses {dict(sorted(tally.statuses.items()))}")
    assert tally.server_errors == tally.dropped == 0
