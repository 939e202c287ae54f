"""Bulk import throughput (``linkbase import``) side by side with a raw ``executemany`` insert.

How to run (from the repository root, with the venv)::

    .venv/bin/python -m bench.import_links                          # SQLite, 1,000,000 links
    .venv/bin/python -m bench.import_links --count 200000
    .venv/bin/python -m bench.import_links --database postgresql \\
        --postgres-url postgresql+psycopg://root@127.0.0.1:5432/test

What it does, in one run:

1. **Import.** Starts a real ``linkbase serve`` process (``tests/support/server.py``
   ``running_server``) on a fresh database (a temporary SQLite file, or a new PostgreSQL schema
   dropped afterwards); creates a few objects through the Arvados API (a user, projects,
   collections); writes ``--count`` links of mixed classes (``tag``, ``star``, ``relation`` and a
   free-form class, most with ``properties``, each with a ``uuid`` as ``linkbase export`` writes
   them) to a JSONL file; then times the real import path: ``linkbase import FILE`` run as a
   subprocess (CLI -> HTTP -> ``POST /linkbase/v1/links/batch`` -> admin fast path), from process
   start to exit, and checks that every link arrived.
2. **Raw insert.** Creates a second fresh database of the same engine, brings it to the same
   schema (``linkbase.storage.migrate.upgrade``, same engine settings and pragmas), builds the same
   rows with the same column values (uuid, owner, timestamps, etag, class, name, tail, head,
   properties as JSON text) as tuples, and times only the driver's own ``executemany``
   (``sqlite3`` or psycopg, through ``exec_driver_sql``) in chunks of ``--raw-chunk`` rows inside
   one transaction, plus the commit: no validation, no HTTP, no ORM, one transaction.

It prints both rates in links/s and their ratio (import / raw), and on SQLite whether the
import reached 25,000 links/s with its audit log written (the history issue's goal). 1M links
take about a minute on SQLite.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import sqlalchemy as sa
from tests.support.server import running_server

from bench.scratch import scratch_database
from linkbase.domain import uuids
from linkbase.services.records import etag_of
from linkbase.storage import migrate, tables
from linkbase.storage.bulk import prepare_sqlite_bulk
from linkbase.storage.engine import create_engine

DEFAULT_PG = os.environ.get("LINKBASE_TEST_POSTGRES_URL",
                            "postgresql+psycopg://root@127.0.0.1:5432/test")
TAGS = ["raw", "qc-passed", "qc-failed", "reviewed", "draft", "gold", "archive", "needs-review"]
RELATIONS = ["Related", "Derived from", "Supersedes"]


def create_objects(url: str, token: str) -> dict[str, Any]:
    """A user, three projects and six collections to point the links at."""
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"},
                      timeout=30) as http:
        def post(path: str, body: dict[str, Any]) -> str:
            response = http.post(path, json=body)
            response.raise_for_status()
            return str(response.json()["uuid"])

        user = post("/arvados/v1/users", {"user": {"email": "bench@example.com",
                                                    "username": "bench"}})
        projects = [post("/arvados/v1/groups", {"group": {"name": f"bench project {i}",
                                                          "group_class": "project"}})
                    for i in range(3)]
        collections = [post("/arvados/v1/collections",
                            {"collection": {"name": f"bench collection {i}",
                                            "owner_uuid": projects[i % 3]}})
                       for i in range(6)]
    return {"user": user, "projects": projects, "collections": collections}


def generate(path: Path, count: int, objects: dict[str, Any], cluster: str, seed: int) -> None:
    """``count`` JSONL links of mixed classes referencing ``objects``."""
    rng = random.Random(seed)
    user, projects, collections = objects["user"], objects["projects"], objects["collections"]
    with path.open("wb") as out:
        chunk: list[bytes] = []
        for i in range(count):
            kind = i % 4
            link: dict[str, Any] = {"uuid": uuids.new_uuid(cluster, uuids.LINK)}
            if kind == 0:
                link.update(link_class="tag", name=rng.choice(TAGS), tail_uuid=None,
                            head_uuid=rng.choice(collections), owner_uuid=rng.choice(projects),
                            properties={})
            elif kind == 1:
                link.update(link_class="star", name="", tail_uuid=user,
                            head_uuid=rng.choice(projects + collections), owner_uuid=user,
                            properties={"rank": rng.randint(1, 5)})
            elif kind == 2:
                head, tail = rng.sample(collections, 2)
                link.update(link_class="relation", name=rng.choice(RELATIONS), tail_uuid=tail,
                            head_uuid=head, owner_uuid=rng.choice(projects),
                            properties={"note": f"relation {i}", "confidence": rng.random()})
            else:
                link.update(link_class="annotation", name=f"sample-{i % 1000}",
                            tail_uuid=user, head_uuid=rng.choice(collections),
                            owner_uuid=rng.choice(projects),
                            properties={"batch": i // 1000, "tags": ["a", "b"],
                                        "meta": {"source": "bench", "ok": True}})
            chunk.append(orjson.dumps(link, option=orjson.OPT_SORT_KEYS))
            if len(chunk) >= 10_000:
                out.write(b"\n".join(chunk) + b"\n")
                chunk = []
        if chunk:
            out.write(b"\n".join(chunk) + b"\n")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds process ``pid`` has used so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children_cpu() -> float:
    """CPU seconds of this process's finished children (the ``linkbase import`` process)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def count_links(database_url: str) -> int:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(
                sa.select(sa.func.count()).select_from(tables.links)).scalar_one())
    finally:
        engine.dispose()


def run_import(args: argparse.Namespace, tmp: Path) -> tuple[float, int, str]:
    """Seconds the ``linkbase import`` subprocess took, links imported, the data file."""
    with scratch_database(args.database, args.postgres_url, "import") as url, \
            running_server(url, env={"LINKBASE_CLUSTER_ID": args.cluster}) as server:
        objects = create_objects(server.url, server.root_token)
        before = count_links(url)
        data = tmp / "links.jsonl"
        started = time.perf_counter()
        generate(data, args.count, objects, args.cluster, args.seed)
        print(f"generated {args.count:,} links in {time.perf_counter() - started:.1f}s "
              f"({data.stat().st_size / 1e6:.0f} MB)", flush=True)
        command = [sys.executable, "-m", "linkbase.cli.main", "import", str(data)]
        if args.batch_size:
            command[-1:-1] = ["--batch-size", str(args.batch_size)]
        server_cpu = _cpu_seconds(server.process.pid)
        cli_cpu = _children_cpu()
        started = time.perf_counter()
        done = subprocess.run(command, env=server.cli_env(), capture_output=True, text=True,
                              stdin=subprocess.DEVNULL)
        seconds = time.perf_counter() - started
        server_cpu = _cpu_seconds(server.process.pid) - server_cpu
        cli_cpu = _children_cpu() - cli_cpu
        if done.returncode != 0:
            raise SystemExit(f"linkbase import failed ({done.returncode}):\n{done.stderr[-3000:]}"
                             f"\n--- server ---\n{server.log()[-3000:]}")
        print(f"linkbase import: {done.stderr.strip().splitlines()[-1]}", flush=True)
        print(f"CPU during the import: server {server_cpu:.1f}s "
              f"({args.count / server_cpu:,.0f} links per server CPU second), "
              f"CLI {cli_cpu:.1f}s; wall {seconds:.1f}s", flush=True)
        imported = count_links(url) - before
        if imported != args.count:
            raise SystemExit(f"expected {args.count} new links, found {imported}")
        return seconds, imported, str(data)


RAW_COLUMNS = ("uuid", "owner_uuid", "created_at", "modified_at", "modified_by_user_uuid",
               "etag", "link_class", "name", "tail_uuid", "head_uuid", "properties")


def raw_rows(data: str, count: int, actor: str) -> Iterator[tuple[Any, ...]]:
    """Rows for the raw insert, shaped as the import stores them (properties as JSON text)."""
    now = time.time_ns() // 1000
    with open(data, "rb") as handle:
        for number, line in enumerate(handle):
            if number >= count:
                break
            link = orjson.loads(line)
            row = {
                "uuid": link["uuid"], "owner_uuid": link["owner_uuid"], "created_at": now,
                "modified_at": now, "modified_by_user_uuid": actor,
                "link_class": link["link_class"], "name": link["name"],
                "tail_uuid": link["tail_uuid"], "head_uuid": link["head_uuid"],
                "properties": link["properties"],
            }
            row["etag"] = etag_of(row)
            row["properties"] = orjson.dumps(row["properties"]).decode()
            yield tuple(row[column] for column in RAW_COLUMNS)


def run_raw(args: argparse.Namespace, tmp: Path, data: str) -> float:
    """Seconds spent in the driver's ``executemany`` (and the commit) for the same rows, in a
    fresh database of the same engine."""
    with scratch_database(args.database, args.postgres_url, "raw") as url:
        engine = create_engine(url)
        try:
            migrate.upgrade(engine)
            system_user = f"{args.cluster}-tpzed-000000000000000"
            # Pre-build every chunk outside the timed section: only the insert is measured.
            chunks: list[list[tuple[Any, ...]]] = []
            current: list[tuple[Any, ...]] = []
            for row in raw_rows(data, args.count, system_user):
                current.append(row)
                if len(current) >= args.raw_chunk:
                    chunks.append(current)
                    current = []
            if current:
                chunks.append(current)
            marker = "?" if args.database == "sqlite" else "%s"
            insert = (f"INSERT INTO {tables.links.name} ({', '.join(RAW_COLUMNS)}) "
                      f"VALUES ({', '.join(marker for _ in RAW_COLUMNS)})")
            with engine.connect() as conn:
                if args.database == "sqlite":
                    prepare_sqlite_bulk(conn)  # the same pragmas as the import's write path
                    conn.commit()
                started = time.perf_counter()
                with conn.begin():
                    for chunk in chunks:
                        conn.exec_driver_sql(insert, chunk)
                seconds = time.perf_counter() - started
            with engine.connect() as conn:
                stored = conn.execute(
                    sa.select(sa.func.count()).select_from(tables.links)
                    .where(tables.links.c.modified_by_user_uuid == system_user)
                    .where(tables.links.c.uuid.like(f"{args.cluster}-{uuids.LINK}-%"))
                ).scalar_one()
            if int(stored) < args.count:
                raise SystemExit(f"raw insert stored {stored} of {args.count} rows")
            return seconds
        finally:
            engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--count", type=int, default=1_000_000, help="links to import")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--postgres-url", default=DEFAULT_PG)
    parser.add_argument("--batch-size", type=int, default=0,
                        help="linkbase import --batch-size (default: the CLI's own default)")
    parser.add_argument("--raw-chunk", type=int, default=10_000,
                        help="rows per executemany call of the raw insert")
    parser.add_argument("--cluster", default="zzzzz")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-raw", action="store_true",
                        help="time the import only (no raw-insert baseline)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="linkbase-bench-import-") as tmpdir:
        tmp = Path(tmpdir)
        import_seconds, imported, data = run_import(args, tmp)
        if args.no_raw:
            print(f"\nimport: {imported / import_seconds:,.0f} links/s "
                  f"({import_seconds:.1f}s)")
            _print_goal(args, imported / import_seconds)
            return
        raw_seconds = run_raw(args, tmp, data)
    import_rate = imported / import_seconds
    raw_rate = args.count / raw_seconds
    print()
    print(f"{'database':<12}{'links':>12}{'import links/s':>18}{'raw links/s':>16}{'ratio':>9}")
    print(f"{args.database:<12}{args.count:>12,}{import_rate:>18,.0f}{raw_rate:>16,.0f}"
          f"{import_rate / raw_rate:>9.2f}")
    print(f"(import {import_seconds:.1f}s: `linkbase import` process start to exit; "
          f"raw {raw_seconds:.1f}s: executemany + commit only)")
    _print_goal(args, import_rate)


def _print_goal(args: argparse.Namespace, import_rate: float) -> None:
    """The history issue's goal: the import, audit log included, stays at 25,000 links/s."""
    if args.database == "sqlite":
        print(f"rate goal (>= 25,000 links/s on SQLite with the log): "
              f"{'met' if import_rate >= 25_000 else 'NOT met'}")


if __name__ == "__main__":
    main()
