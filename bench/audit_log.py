"""What the audit log costs: single-create throughput with and without it, side by side in one
run, and the space a million changes take.

How to run (from the repository root, with the venv)::

    .venv/bin/python -m bench.audit_log                         # SQLite
    .venv/bin/python -m bench.audit_log --database postgresql \\
        --postgres-url postgresql+psycopg://root@127.0.0.1:5432/test

What it does:

1. **Single creates.** On one fresh database, creates ``--creates`` tag links one request-sized
   transaction at a time through the link service (``services.objects.create``, exactly what
   ``POST /arvados/v1/links`` runs, without HTTP), as an ordinary user, in ``--rounds`` rounds
   alternating *with* the log and *without* it (the audit notes and the flush replaced by
   no-ops for that round), so both see the same database size and the same machine load. It
   prints the median rate of each and their ratio. HTTP would add the same fixed cost to both
   and make the log look cheaper; this measures the transaction itself.
2. **Space.** Imports ``--space-links`` links in bulk (one ``services.batch`` transaction per
   10,000, as ``linkbase import`` does: one ``create`` entry each) and updates ``--space-updates``
   links one by one (an ``update`` entry each, with old and new attributes), then measures the
   log's size: on SQLite, the file size before and after deleting the log and ``VACUUM``; on
   PostgreSQL, ``pg_total_relation_size('logs')`` (table, TOAST and index) after ``VACUUM
   FULL``. It prints bytes per
   entry of each kind and the size of a million.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench.scratch import scratch_database
from linkbase.bootstrap import prepare_database
from linkbase.domain.resources import LINKS, RESOURCES
from linkbase.services import batch, objects
from linkbase.services.context import Caller, Services, system_caller
from linkbase.settings import Settings
from linkbase.storage import audit, tables, transaction

DEFAULT_PG = os.environ.get("LINKBASE_TEST_POSTGRES_URL",
                            "postgresql+psycopg://root@127.0.0.1:5432/test")


@contextmanager
def log_off() -> Iterator[None]:
    """No audit notes and no flush (the journal still works): the server as it was before."""
    real_note, real_bulk, real_flush = transaction.note, transaction.note_bulk, audit.flush

    def note(conn: Any, table: str, uuid: str, before: Any, after: Any, *,
             audit: bool = True) -> None:
        real_note(conn, table, uuid, before, after, audit=False)

    transaction.note = note  # type: ignore[assignment]
    transaction.note_bulk = lambda conn, links: None
    audit.flush = lambda conn, actor, request_id, reason=None: 0
    try:
        yield
    finally:
        transaction.note, transaction.note_bulk, audit.flush = real_note, real_bulk, real_flush


def make_user(services: Services) -> tuple[Caller, str]:
    """An ordinary active user (the caller of the creates) and a collection it owns."""
    root = system_caller(services.well_known)
    user = objects.create(services, root, RESOURCES["users"], {
        "email": "bench@example.com", "username": "bench"})
    caller = Caller(uuid=user["uuid"], is_admin=False, is_active=True, username="bench")
    coll = objects.create(services, caller, RESOURCES["collections"], {"name": "c"})
    return caller, str(coll["uuid"])


def time_creates(services: Services, caller: Caller, head: str, count: int
                 ) -> tuple[float, float]:
    """Creates per second of wall-clock time and of this process's CPU time (SQLite runs in
    the process; on PostgreSQL the server's share is not counted)."""
    started, cpu = time.perf_counter(), time.process_time()
    for i in range(count):
        objects.create(services, caller, LINKS, {"link_class": "tag", "name": f"t{i}",
                                                 "head_uuid": head})
    return count / (time.perf_counter() - started), count / (time.process_time() - cpu)


@dataclass
class Rates:
    """Median creates/s of the rounds of one mode, by wall clock and by CPU time."""

    wall: float
    cpu: float


def single_creates(services: Services, rounds: int, count: int) -> tuple[Rates, Rates]:
    """Median rates with and without the log; rounds alternate (on, off, off, on, ...) so a
    load change on a shared machine hits both modes alike."""
    caller, head = make_user(services)
    time_creates(services, caller, head, count // 4)  # warm up caches and the pool
    samples: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
    for index in range(rounds):
        for logging_on in ((True, False) if index % 2 == 0 else (False, True)):
            if logging_on:
                samples[True].append(time_creates(services, caller, head, count))
            else:
                with log_off():
                    samples[False].append(time_creates(services, caller, head, count))

    def medians(values: list[tuple[float, float]]) -> Rates:
        return Rates(statistics.median(v[0] for v in values),
                     statistics.median(v[1] for v in values))

    return medians(samples[True]), medians(samples[False])


def log_bytes(services: Services, url: str) -> int:
    """The space the log takes now (see the module docstring)."""
    engine = services.db.engine
    if engine.dialect.name == "postgresql":
        # VACUUM FULL first: the space of entries deleted before (by the previous measurement)
        # would otherwise be counted.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM FULL logs")
            return int(conn.exec_driver_sql(
                "SELECT pg_total_relation_size('logs')").scalar_one())
    path = Path(url.removeprefix("sqlite:///"))
    engine.dispose()
    with closing(sqlite3.connect(path, isolation_level=None)) as raw:
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        raw.execute("VACUUM")
        before = path.stat().st_size
        raw.execute("DELETE FROM logs")
        raw.execute("VACUUM")
        return before - path.stat().st_size


def count_logs(services: Services) -> int:
    with services.db.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(tables.logs)).scalar_one())


def space(services: Services, url: str, links: int, updates: int) -> tuple[float, float]:
    """Bytes per bulk-create entry and per single-update entry."""
    root = system_caller(services.well_known)
    caller, head = make_user(services)
    with services.db.engine.begin() as conn:
        conn.execute(tables.logs.delete())
    chunk = 10_000
    for start in range(0, links, chunk):
        items = [{"link_class": "tag", "name": f"bulk {i}", "head_uuid": head,
                  "tail_uuid": caller.uuid, "properties": {"source": "bench", "n": i}}
                 for i in range(start, min(links, start + chunk))]
        result = services.uow.write(root, batch.import_links, items, "error")
        assert not result.errors, result.errors
    assert count_logs(services) == links, count_logs(services)
    bulk_bytes = log_bytes(services, url)
    made = [objects.create(services, caller, LINKS, {"link_class": "tag", "name": f"u{i}",
                                                     "head_uuid": head,
                                                     "properties": {"n": i}})
            for i in range(updates)]
    with services.db.engine.begin() as conn:
        conn.execute(tables.logs.delete())
    for i, link in enumerate(made):
        objects.update(services, caller, LINKS, link["uuid"],
                       {"name": f"renamed {i}", "properties": {"n": i, "checked": True}})
    assert count_logs(services) == updates
    update_bytes = log_bytes(services, url)
    return bulk_bytes / links, update_bytes / updates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--postgres-url", default=DEFAULT_PG)
    parser.add_argument("--creates", type=int, default=300, help="creates per round")
    parser.add_argument("--rounds", type=int, default=15, help="pairs of rounds")
    parser.add_argument("--space-links", type=int, default=100_000)
    parser.add_argument("--space-updates", type=int, default=5_000)
    args = parser.parse_args()

    with scratch_database(args.database, args.postgres_url, "audit") as url:
        settings = Settings(database_url=url)
        services = Services(prepare_database(settings), settings)
        try:
            with_log, without = single_creates(services, args.rounds, args.creates)
        finally:
            services.db.dispose()
    print(f"single creates ({args.database}, {args.rounds} rounds of {args.creates} creates "
          "per mode, alternating, medians):")
    print(f"{'':18}{'wall creates/s':>16}{'CPU creates/s':>16}")
    print(f"{'  with the log':18}{with_log.wall:16,.0f}{with_log.cpu:16,.0f}")
    print(f"{'  without the log':18}{without.wall:16,.0f}{without.cpu:16,.0f}")
    wall_cost = 1 - with_log.wall / without.wall
    cpu_cost = 1 - with_log.cpu / without.cpu
    print(f"{'  cost of the log':18}{wall_cost:16.1%}{cpu_cost:16.1%}   (goal: at most 15%: "
          f"{'met' if max(wall_cost, cpu_cost) <= 0.15 else 'NOT met'})")

    with scratch_database(args.database, args.postgres_url, "audit_space") as url:
        settings = Settings(database_url=url)
        services = Services(prepare_database(settings), settings)
        try:
            per_create, per_update = space(services, url, args.space_links, args.space_updates)
        finally:
            services.db.dispose()
    print(f"space ({args.database}): {per_create:,.0f} bytes per bulk-created link "
          f"({per_create * 1e6 / 2**20:,.0f} MiB per million), {per_update:,.0f} bytes per "
          f"update ({per_update * 1e6 / 2**20:,.0f} MiB per million)")

if __name__ == "__main__":
    main()
