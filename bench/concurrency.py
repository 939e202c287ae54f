"""Permission-write throughput at 1, 4 and 16 clients, and check latency while they run.

How to run (from the repository root, with the venv; needs ``wrk``: ``apt-get install wrk``)::

    .venv/bin/python -m bench.concurrency                               # both backends
    .venv/bin/python -m bench.concurrency --backend sqlite --seconds 8

What it does, per backend: starts a real ``linkbase serve`` (SQLite: one process; PostgreSQL:
``--workers 2``) on a scratch database, seeds a world (60 users, 20 roles, 20 projects, users in
roles, roles granted on projects, a collection per project) and a reader: a non-admin user who
reads one collection through a role. Then, with the external load generator ``wrk``:

* **quiet checks**: the reader's permission-checked ``GET /arvados/v1/collections/{uuid}`` on one
  connection, nothing else running — the single-client baseline of latency;
* for 1, 4 and 16 writer connections: ``wrk`` running ``bench/wrk/grants.lua`` (half of the
  requests create a random grant among users, roles and projects, a quarter change the level of
  a grant it created, a quarter revoke one) *while* the checks run again on their own
  connection.

Every one of these writes changes the permission graph, so they are ordered by the
permission-graph lock (``storage.locks``): the point of the figures is what that order costs.
It prints writes/s and the ratio to one writer, and the checks' p50/p99 beside the quiet ones.
Non-2xx answers are counted (a revocation of a grant already revoked is a 404); a 5xx aborts.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.scratch import Wrk, run_wrk, running_server, scratch_database

ROOT_TOKEN = "bench" + secrets.token_hex(20)
DEFAULT_PG = os.environ.get("LINKBASE_TEST_POSTGRES_URL",
                            "postgresql+psycopg://root@127.0.0.1:5432/test")
LUA = Path(__file__).parent / "wrk" / "grants.lua"


@dataclass
class World:
    principals: list[str]
    heads: list[str]
    reader_token: str
    checked: str


def seed(base: str) -> World:
    """Users, roles, projects, memberships and grants; a reader who reads through a role."""
    headers = {"Authorization": f"Bearer {ROOT_TOKEN}"}
    with httpx.Client(base_url=base, headers=headers, timeout=60) as http:
        def create(resource: str, wrapper: str, **attrs: object) -> str:
            response = http.post(f"/arvados/v1/{resource}", json={wrapper: attrs})
            response.raise_for_status()
            return str(response.json()["uuid"])

        users = [create("users", "user", username=f"bench{i}") for i in range(60)]
        roles = [create("groups", "group", name=f"role {i}", group_class="role")
                 for i in range(20)]
        projects = [create("groups", "group", name=f"project {i}", group_class="project")
                    for i in range(20)]
        collections = [create("collections", "collection", name="c", owner_uuid=p)
                       for p in projects]
        for i, user in enumerate(users):
            create("links", "link", link_class="permission", name="can_read",
                   tail_uuid=user, head_uuid=roles[i % len(roles)])
        for i, role in enumerate(roles):
            create("links", "link", link_class="permission", name="can_read",
                   tail_uuid=role, head_uuid=projects[i % len(projects)])
        token = http.post("/arvados/v1/api_client_authorizations",
                          json={"api_client_authorization": {"owner_uuid": users[0]}})
        token.raise_for_status()
    # The writers never touch the reader's own path (users[0] -> roles[0] -> projects[0]), so
    # every check must succeed however the writes interleave.
    return World([*users[1:], *roles[1:]], [*roles[1:], *projects[1:]],
                 token.json()["api_token"], collections[0])


def bench_backend(backend: str, pg_url: str, seconds: float) -> list[tuple[str, Wrk, Wrk]]:
    extra = ("--workers", "2") if backend == "postgresql" else ()
    rows: list[tuple[str, Wrk, Wrk]] = []
    with scratch_database(backend, pg_url, "concurrency") as url, \
            running_server(url, ROOT_TOKEN, *extra) as base:
        world = seed(base)
        check_url = f"{base}/arvados/v1/collections/{world.checked}"
        env = {"LB_PRINCIPALS": json.dumps(world.principals),
               "LB_HEADS": json.dumps(world.heads)}
        quiet = run_wrk(check_url, 1, seconds, world.reader_token)
        rows.append(("quiet", quiet, quiet))
        for clients in (1, 4, 16):
            checks: list[Wrk] = []
            reader = threading.Thread(target=lambda out=checks: out.append(
                run_wrk(check_url, 1, seconds, world.reader_token)))
            reader.start()
            writes = run_wrk(f"{base}/arvados/v1/links", clients, seconds, ROOT_TOKEN, LUA, env)
            reader.join()
            if writes.server_errors or checks[0].non_2xx:
                raise SystemExit(f"{backend}: {writes.server_errors} server errors, "
                                 f"{checks[0].non_2xx} failed checks at {clients} writers")
            rows.append((f"{clients} writers", writes, checks[0]))
    return rows


def report(backend: str, rows: list[tuple[str, Wrk, Wrk]]) -> None:
    quiet = rows[0][2]
    single = rows[1][1].rate
    print(f"\n{backend}: permission writes and concurrent permission-checked reads")
    print(f"{'load':<12}{'writes/s':>10}{'vs 1':>7}{'non-2xx':>9}"
          f"{'check p50':>11}{'p99':>9}{'p99 vs quiet':>14}")
    for label, writes, checks in rows:
        if label == "quiet":
            print(f"{label:<12}{'-':>10}{'-':>7}{'-':>9}{checks.p50_ms:>9.2f}ms"
                  f"{checks.p99_ms:>7.2f}ms{1.0:>13.2f}x")
            continue
        print(f"{label:<12}{writes.rate:>10.0f}{writes.rate / single:>7.2f}{writes.non_2xx:>9}"
              f"{checks.p50_ms:>9.2f}ms{checks.p99_ms:>7.2f}ms"
              f"{checks.p99_ms / quiet.p99_ms:>13.2f}x")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", action="append", choices=["sqlite", "postgresql"])
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--postgres-url", default=DEFAULT_PG)
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")
    for backend in args.backend or ["sqlite", "postgresql"]:
        report(backend, bench_backend(backend, args.postgres_url, args.seconds))


if __name__ == "__main__":
    sys.exit(main())
