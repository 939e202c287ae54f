"""The HTTP request path against the framework's ceiling, driven by an external load generator.

How to run (from the repository root, with the venv, as a module: ``bench/http.py`` run as a
script would shadow the standard library's ``http``; needs ``wrk``: ``apt-get install wrk``)::

    .venv/bin/python -m bench.http                                  # SQLite and PostgreSQL
    .venv/bin/python -m bench.http --backend sqlite --seconds 5 --workers 2

What it runs, in the same run:

1. a **bare FastAPI app** with one JSON endpoint (``bench/bare_app.py``), served by uvicorn as
   ``linkbase serve`` is (one process, uvloop, httptools): the ceiling of every ratio, kept
   running throughout and driven right before each measurement;
2. **``linkbase serve``** on a scratch SQLite database, then on a PostgreSQL schema, seeded with
   a world where non-admin users read through role groups: 40 users in 8 roles, 16 projects each
   granted to a role, 4 collections per project, 200 tag links, a Laserfiche entry with 100
   links and 20 more documents to link.

Each is driven by ``wrk`` (one thread, pinned to CPU 1 with ``--pin``, the server to CPU 0) at 1
and 32 connections, with ``bench/wrk/body.lua`` (which counts 5xx answers; any aborts the run):

* ``ping``: ``GET /_health/ping``;
* ``link get``: ``GET /arvados/v1/links/{uuid}`` (admin token);
* ``link list``: ``GET /arvados/v1/links?limit=10&filters=[["link_class","=","tag"]]``;
* ``link create``: ``POST /arvados/v1/links`` of a tag link;
* ``user get``: a non-admin's ``GET /arvados/v1/collections/{uuid}`` readable through a role;
* ``user list``: the same user's ``GET /arvados/v1/collections?limit=10``;
* ``lf get``: ``GET /v2/Repositories/r-default/Entries/{id}/Links?$top=25``;
* ``lf put``: ``PUT .../Entries/{id}/Links`` alternating two sets of 10 links.

It prints requests/s, p50 and p99 for each, and the ratio of requests/s to the bare endpoint
driven at the same concurrency just before it (the bare server runs beside ``linkbase serve``
the whole time, idle while the other is driven): this machine's speed drifts over a run, so
each ratio is taken against a ceiling measured under the same conditions.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import sys
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.scratch import (
    Wrk,
    free_port,
    run_wrk,
    running_process,
    running_server,
    scratch_database,
)

ROOT_TOKEN = "bench" + secrets.token_hex(20)
DEFAULT_PG = os.environ.get("LINKBASE_TEST_POSTGRES_URL",
                            "postgresql+psycopg://root@127.0.0.1:5432/test")
LUA = Path(__file__).parent / "wrk" / "body.lua"
CONCURRENCY = (1, 32)


@dataclass
class Op:
    """One benchmarked request."""

    name: str
    path: str
    token: str | None
    method: str = "GET"
    bodies: tuple[str, ...] = ()


@dataclass
class Row:
    server: str
    op: str
    connections: int
    result: Wrk
    #: The bare endpoint at the same concurrency, driven just before (the ratio's divisor).
    bare: Wrk


def drive(base: str, op: Op, connections: int, seconds: float, cpus: str | None) -> Wrk:
    env = {"LB_METHOD": op.method}
    env.update({f"LB_BODY_{i + 1}": body for i, body in enumerate(op.bodies)})
    result = run_wrk(base + op.path, connections, seconds, op.token, LUA, env, cpus)
    if result.server_errors or result.non_2xx:
        raise SystemExit(f"{op.name} at c={connections}: {result.server_errors} server errors, "
                         f"{result.non_2xx} non-2xx answers")
    return result


def seed(base: str) -> list[Op]:
    """The world of the module docstring; returns the operations to run against it."""
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {ROOT_TOKEN}"},
                      timeout=120) as http:
        def create(resource: str, wrapper: str, **attrs: object) -> dict[str, object]:
            response = http.post(f"/arvados/v1/{resource}", json={wrapper: attrs})
            response.raise_for_status()
            return dict(response.json())

        users = [str(create("users", "user", username=f"u{i}")["uuid"]) for i in range(40)]
        roles = [str(create("groups", "group", name=f"r{i}", group_class="role")["uuid"])
                 for i in range(8)]
        projects = [str(create("groups", "group", name=f"p{i}", group_class="project")["uuid"])
                    for i in range(16)]
        collections = [str(create("collections", "collection", name=f"c{j}",
                                  owner_uuid=p)["uuid"]) for p in projects for j in range(4)]
        for i, user in enumerate(users):
            create("links", "link", link_class="permission", name="can_read", tail_uuid=user,
                   head_uuid=roles[i % len(roles)])
        for i, project in enumerate(projects):
            create("links", "link", link_class="permission", name="can_read",
                   tail_uuid=roles[i % len(roles)], head_uuid=project)
        tags = [str(create("links", "link", link_class="tag", name=f"t{i}",
                           head_uuid=collections[i % len(collections)])["uuid"])
                for i in range(200)]
        token = http.post("/arvados/v1/api_client_authorizations",
                          json={"api_client_authorization": {"owner_uuid": users[0]}})
        token.raise_for_status()
        user_token = str(token.json()["api_token"])
        documents = []
        for i in range(121):
            response = http.post("/linkbase/v1/documents", json={
                "repository_id": "r-default", "parent_entry_id": 1, "name": f"d{i}"})
            response.raise_for_status()
            documents.append(int(response.json()["id"]))
        entry, others = documents[0], documents[1:]
        put = http.put(f"/v2/Repositories/r-default/Entries/{entry}/Links", json={"links": [
            {"linkDefinitionId": 1, "otherEntryId": other} for other in others[:100]]})
        put.raise_for_status()
    readable = collections[0]  # users[0] is in roles[0], which reads projects[0]

    def link_set(start: int) -> str:
        return json.dumps({"links": [{"linkDefinitionId": 2, "otherEntryId": other,
                                      "customProperties": {"n": str(start)}}
                                     for other in others[start : start + 10]]})

    tag = json.dumps({"link": {"link_class": "tag", "name": "bench", "head_uuid": readable}})
    filters = urllib.parse.quote(json.dumps([["link_class", "=", "tag"]]))
    return [
        Op("ping", "/_health/ping", None),
        Op("link get", f"/arvados/v1/links/{tags[0]}", ROOT_TOKEN),
        Op("link list", f"/arvados/v1/links?limit=10&filters={filters}", ROOT_TOKEN),
        Op("link create", "/arvados/v1/links", ROOT_TOKEN, "POST", (tag,)),
        Op("user get", f"/arvados/v1/collections/{readable}", user_token),
        Op("user list", "/arvados/v1/collections?limit=10", user_token),
        Op("lf get", f"/v2/Repositories/r-default/Entries/{entry}/Links?$top=25", ROOT_TOKEN),
        Op("lf put", f"/v2/Repositories/r-default/Entries/{others[-1]}/Links", ROOT_TOKEN,
           "PUT", (link_set(0), link_set(10))),
    ]


@contextmanager
def _bare_server(cpus: str | None) -> Iterator[str]:
    port = free_port()
    bare = [sys.executable, "-m", "uvicorn", "--app-dir", str(Path(__file__).parent.parent),
            "bench.bare_app:app", "--port", str(port), "--log-level", "warning",
            "--no-access-log"]
    with running_process(bare, port, cpus=cpus) as base:
        yield base


def bench(args: argparse.Namespace) -> list[Row]:
    server_cpus = "0" if args.pin else None
    load_cpus = "1" if args.pin else None
    rows: list[Row] = []
    ping = Op("ping", "/_health/ping", None)
    with _bare_server(server_cpus) as bare:
        for backend in args.backend or ["sqlite", "postgresql"]:
            extra = ("--workers", str(args.workers)) if args.workers > 1 else ()
            label = backend + (f" x{args.workers}" if args.workers > 1 else "")
            with scratch_database(backend, args.postgres_url, "http") as url, \
                    running_server(url, ROOT_TOKEN, *extra,
                                   cpus=None if args.workers > 1 else server_cpus) as base:
                for op in seed(base):
                    for connections in CONCURRENCY:
                        # The ceiling is driven right before each measurement: this machine's
                        # speed drifts over a run (other tenants), by up to 3x between runs a
                        # minute apart, and a ratio is only fair to a ceiling measured alike.
                        ceiling = drive(bare, ping, connections, args.seconds, load_cpus)
                        result = drive(base, op, connections, args.seconds, load_cpus)
                        rows.append(Row(label, op.name, connections, result, ceiling))
    return rows


def report(rows: list[Row]) -> None:
    print(f"\n{'server':<14}{'request':<13}{'c':>3}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}"
          f"{'bare/s':>9}{'vs bare':>9}")
    for row in rows:
        result = row.result
        print(f"{row.server:<14}{row.op:<13}{row.connections:>3}{result.rate:>9.0f}"
              f"{result.p50_ms:>9.2f}{result.p99_ms:>9.2f}{row.bare.rate:>9.0f}"
              f"{result.rate / row.bare.rate:>8.0%}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", action="append", choices=["sqlite", "postgresql"])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--pin", action="store_true",
                        help="pin the server to CPU 0 and wrk to CPU 1 (one worker only)")
    parser.add_argument("--postgres-url", default=DEFAULT_PG)
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")
    report(bench(args))


if __name__ == "__main__":
    main()
