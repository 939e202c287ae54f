"""Randomized concurrent churn against real server processes, checked against the reference.

Two ``linkbase serve`` processes share one database (each backend). Each trial builds a small
world (users with tokens, roles, nested projects, collections, Laserfiche documents), then
several client threads, each talking to a random one of the two servers, race through random
writes: grants, memberships, level changes, revocations, project moves and Laserfiche
replace-all PUTs, as the admin and as the users themselves. Afterwards:

* no response was a 5xx and no connection failed (clients retry nothing: contention is the
  server's business);
* every (user, object) answer of the API — the effective level (``permissions/explain``) and
  the visibility of every group, collection and link in lists — equals what the reference
  evaluator (tests/reference) computes from the stored objects;
* no grant is duplicated and no relation link (definition, source, target) exists twice;
* the derived permission tables equal a full recompute (``services.verification``), and at the
  end ``linkbase verify`` (the CLI) agrees.

``LINKBASE_CHURN_TRIALS`` sets the number of trials (default 40 per backend, of 4 clients × 16 writes each).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from linkbase.services import verification
from linkbase.services.context import Services
from linkbase.settings import Settings
from linkbase.storage import tables
from linkbase.storage.database import Database
from tests.reference.evaluator import LEVEL_NAMES, Reference
from tests.reference.snapshot import snapshot
from tests.support.server import ServerHandle, clean_environment, cli_command, running_server

TRIALS = int(os.environ.get("LINKBASE_CHURN_TRIALS", "40"))
CLIENTS = 4
OPS_PER_CLIENT = 16
LEVELS = ("can_read", "can_write", "can_manage")
ROOT_TOKEN = "churn" + "0" * 40


@dataclass
class Cluster:
    servers: list[ServerHandle]
    database_url: str
    services: Services
    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _local: threading.local = field(default_factory=threading.local)

    def request(self, method: str, path: str, token: str = ROOT_TOKEN, *,
                server: int | None = None, **kwargs: Any) -> httpx.Response | None:
        """One request to a random server (or ``server``); records its status or failure."""
        index = random.randrange(len(self.servers)) if server is None else server
        try:
            response = self._client(index).request(
                method, path, headers={"Authorization": f"Bearer {token}"}, **kwargs)
        except httpx.HTTPError as exc:
            with self.lock:
                self.failures.append(f"{method} {path}: {type(exc).__name__}: {exc}")
            return None
        with self.lock:
            self.statuses[response.status_code] += 1
            if response.status_code >= 500:
                self.failures.append(f"{method} {path} -> {response.status_code}: "
                                     f"{response.text[:300]}")
        return response

    def _client(self, index: int) -> httpx.Client:
        """This thread's keep-alive connection to server ``index``."""
        clients: dict[int, httpx.Client] | None = getattr(self._local, "clients", None)
        if clients is None:
            clients = self._local.clients = {}
        if index not in clients:
            clients[index] = httpx.Client(base_url=self.servers[index].url, timeout=60)
        return clients[index]

    def ok(self, method: str, path: str, token: str = ROOT_TOKEN, **kwargs: Any) -> Any:
        response = self.request(method, path, token, server=0, **kwargs)
        assert response is not None and response.status_code == 200, (
            path, response.text if response is not None else self.failures[-1:])
        return response.json()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def cluster(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[Cluster]:
    from tests.support.databases import fresh_database_url

    url = fresh_database_url(str(request.param), tmp_path_factory.mktemp("churn"))
    with ExitStack() as stack:
        servers = [stack.enter_context(running_server(url, root_token=ROOT_TOKEN))
                   for _ in range(2)]
        settings = Settings(database_url=url, system_root_token=ROOT_TOKEN)
        services = Services(Database(url), settings)
        yield Cluster(servers, url, services)
        services.db.dispose()


@dataclass
class World:
    users: dict[str, str]  # uuid -> token
    roles: list[str]
    projects: list[str]
    collections: list[str]
    documents: list[int]
    grants: list[str] = field(default_factory=list)

    @property
    def objects(self) -> list[str]:
        return [*self.roles, *self.projects, *self.collections]


def _build(c: Cluster, rng: random.Random, n: int) -> World:
    users: dict[str, str] = {}
    for i in range(3):
        user = c.ok("POST", "/arvados/v1/users", json={"user": {"username": f"t{n}u{i}"}})
        token = c.ok("POST", "/arvados/v1/api_client_authorizations",
                     json={"api_client_authorization": {"owner_uuid": user["uuid"]}})
        users[user["uuid"]] = token["api_token"]
    roles = [c.ok("POST", "/arvados/v1/groups",
                  json={"group": {"name": f"t{n}r{i}", "group_class": "role"}})["uuid"]
             for i in range(3)]
    p1 = c.ok("POST", "/arvados/v1/groups",
              json={"group": {"name": f"t{n}p1", "group_class": "project"}})["uuid"]
    p2 = c.ok("POST", "/arvados/v1/groups",
              json={"group": {"name": "p2", "group_class": "project", "owner_uuid": p1}})["uuid"]
    p3 = c.ok("POST", "/arvados/v1/groups",
              json={"group": {"name": f"t{n}p3", "group_class": "project"}})["uuid"]
    collections = [c.ok("POST", "/arvados/v1/collections",
                        json={"collection": {"name": "c", "owner_uuid": owner}})["uuid"]
                   for owner in (p2, p3)]
    documents = [c.ok("POST", "/linkbase/v1/documents",
                      json={"repository_id": "r-default", "parent_entry_id": 1,
                            "name": f"t{n}d{i}"})["id"] for i in range(3)]
    world = World(users, roles, [p1, p2, p3], collections, documents)
    for _ in range(4):
        world.grants.append(c.ok("POST", "/arvados/v1/links", json={"link": _grant(rng, world)})
                            ["uuid"])
    return world


def _grant(rng: random.Random, w: World) -> dict[str, Any]:
    tail = rng.choice([*w.users, *w.roles])
    head = rng.choice([*w.roles, *w.projects, *w.collections, *w.users])
    return {"link_class": "permission", "name": rng.choice(LEVELS), "tail_uuid": tail,
            "head_uuid": head}


def _op(c: Cluster, rng: random.Random, w: World) -> None:
    """One random write, as the admin or (a third of the time) as one of the users."""
    token = rng.choice(list(w.users.values())) if rng.random() < 0.34 else ROOT_TOKEN
    verb = rng.choice(("grant", "grant", "member", "relevel", "revoke", "move", "put", "put"))
    if verb in ("grant", "member"):
        body = _grant(rng, w)
        if verb == "member":
            body.update(tail_uuid=rng.choice(list(w.users)), head_uuid=rng.choice(w.roles))
        response = c.request("POST", "/arvados/v1/links", token, json={"link": body})
        if response is not None and response.status_code == 200:
            with c.lock:
                w.grants.append(response.json()["uuid"])
    elif verb == "relevel" and w.grants:
        c.request("PUT", f"/arvados/v1/links/{rng.choice(w.grants)}", token,
                  json={"link": {"name": rng.choice(LEVELS)}})
    elif verb == "revoke" and w.grants:
        c.request("DELETE", f"/arvados/v1/links/{rng.choice(w.grants)}", token)
    elif verb == "move":
        project = rng.choice(w.projects)
        owner = rng.choice([*w.projects, *w.users])
        c.request("PUT", f"/arvados/v1/groups/{project}", token,
                  json={"group": {"owner_uuid": owner}})
    elif verb == "put":
        entry = rng.choice(w.documents)
        others = [d for d in w.documents if d != entry]
        links = [{"linkDefinitionId": rng.choice((1, 2)), "otherEntryId": other,
                  "isSource": rng.random() < 0.5, "customProperties": {"n": str(rng.random())}}
                 for other in rng.sample(others, rng.randrange(len(others) + 1))]
        c.request("PUT", f"/v2/Repositories/r-default/Entries/{entry}/Links", token,
                  json={"links": links})


def _check(c: Cluster, w: World) -> None:
    with c.services.db.engine.connect() as conn:
        ref = Reference(snapshot(conn))
        relations = conn.execute(
            sa.select(tables.links.c.name, tables.links.c.tail_uuid, tables.links.c.head_uuid,
                      sa.func.count())
            .where(tables.links.c.link_class == "relation")
            .group_by(tables.links.c.name, tables.links.c.tail_uuid, tables.links.c.head_uuid)
            .having(sa.func.count() > 1)).all()
    assert relations == [], "duplicate Laserfiche links"
    trial_links = [u for u, link in ref.snap.links.items()
                   if link.tail_uuid in w.users or link.head_uuid in w.users
                   or link.head_uuid in w.objects or link.tail_uuid in w.roles]
    jobs: list[tuple[str, str, str, Any]] = []
    for user, token in w.users.items():
        for target in w.objects:
            jobs.append(("level", user, token, target))
        for kind, uuids in (("groups", [*w.roles, *w.projects]),
                            ("collections", w.collections), ("links", trial_links)):
            jobs.append(("list", user, token, (kind, uuids)))

    def run(job: tuple[str, str, str, Any]) -> str | None:
        what, user, token, arg = job
        if what == "level":
            response = c.request("GET", "/linkbase/v1/permissions/explain", token,
                                 params={"user": user, "target": arg})
            want = LEVEL_NAMES[ref.level(user, arg)]
            if not ref.readable(user, arg):
                # An object the user cannot read does not exist for it, whatever it may do
                # (a project can be writable through its owner yet unreadable: spec §4.4).
                if response is None or response.status_code != 404:
                    return f"{user} on unreadable {arg}: want 404, got {_describe(response)}"
                return None
            got = response.json().get("level") if response is not None and \
                response.status_code == 200 else _describe(response)
            return None if got == want else f"{user} on {arg}: want {want}, got {got}"
        kind, uuids = arg
        visible: set[str] = set()
        for start in range(0, len(uuids), 200):
            chunk = uuids[start : start + 200]
            response = c.request("GET", f"/arvados/v1/{kind}", token, params={
                "filters": json.dumps([["uuid", "in", chunk]]), "limit": 1000,
                "select": json.dumps(["uuid"])})
            if response is None or response.status_code != 200:
                return f"list {kind} as {user}: {_describe(response)}"
            visible |= {item["uuid"] for item in response.json()["items"]}
        want_visible = {u for u in uuids if ref.readable(user, u)}
        if visible != want_visible:
            return (f"{kind} visible to {user}: extra {visible - want_visible}, "
                    f"missing {want_visible - visible}")
        return None

    with ThreadPoolExecutor(8) as pool:
        problems = [p for p in pool.map(run, jobs) if p is not None]
    report = verification.verify(c.services)
    if problems and os.environ.get("LINKBASE_CHURN_KEEP"):
        keep = Path(os.environ["LINKBASE_CHURN_KEEP"])
        keep.write_text(json.dumps({"problems": problems, "verify_ok": report.ok,
                                    "world": {"users": list(w.users), "objects": w.objects},
                                    "database": c.database_url}, indent=1))
    assert problems == [], (problems[:10], "verify ok" if report.ok else "verify DIFFERENT")
    assert report.ok, [d.describe() for d in report.differences[:10]]
    assert report.duplicate_grants == []


def _describe(response: httpx.Response | None) -> str:
    return "no response" if response is None else f"{response.status_code} {response.text[:200]}"


def test_concurrent_churn_matches_the_reference(cluster: Cluster) -> None:
    rng = random.Random(f"churn-{cluster.database_url[:10]}")
    for n in range(TRIALS):
        world = _build(cluster, rng, n)
        seeds = [rng.random() for _ in range(CLIENTS)]

        def client(seed: float, world: World = world) -> None:
            local = random.Random(seed)
            for _ in range(OPS_PER_CLIENT):
                _op(cluster, local, world)

        threads = [threading.Thread(target=client, args=(s,)) for s in seeds]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert cluster.failures == [], cluster.failures[:5]
        _check(cluster, world)
    assert sum(cluster.statuses[s] for s in cluster.statuses if s >= 500) == 0
    # The churn did real work: most writes succeeded, some were refused.
    assert cluster.statuses[200] > TRIALS * CLIENTS * OPS_PER_CLIENT // 3, cluster.statuses
    completed = subprocess.run(
        cli_command("verify", "--database", cluster.database_url),
        env=clean_environment(), capture_output=True, text=True,
        timeout=300)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert completed.stdout.strip().endswith("ok")
