"""Laserfiche Links on an entry among 1M links: PUT of 100 links and GET pages, with baselines.

How to run (from the repository root, with the venv)::

    .venv/bin/python -m bench.laserfiche_links                 # SQLite, 1M links
    .venv/bin/python -m bench.laserfiche_links --links 200000 --repeat 20
    .venv/bin/python -m bench.laserfiche_links --database postgresql+psycopg://...

What it does: prepares a fresh database (temporary SQLite file by default), creates a folder
with ``--docs`` documents through the services, then bulk-inserts ``--links`` relation links
between random documents with SQLAlchemy Core (``executemany`` in chunks), so that the measured
entry ("hub") has ``--hub-links`` of them. It then times, in-process through FastAPI's TestClient
(the whole HTTP adapter, auth, permission filtering and rendering included):

* ``PUT 100``          — replace the links of a fresh entry with 100 links, alternating two sets
  so that every PUT deletes 100 and creates 100; baseline: the same deletes and inserts as raw
  SQL in one transaction;
* ``GET page``         — first page (100) of the hub's links with ``$count=true``, as a
  non-admin reader (permission-filtered); baseline: raw SQL of the same page and count;
* ``GET page skip``    — the page at ``$skip=500``; baseline: the same raw page;
* ``GET by path``      — first page ordered by ``targetFullPath`` (ordered in Python).

It prints median milliseconds per operation, the baseline's, and the ratio (how many times the
raw query's time the full request takes).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from linkbase.api.app import create_app
from linkbase.domain.timestamps import now_micros
from linkbase.services.users import set_password
from linkbase.settings import Settings
from linkbase.storage import tables

ROOT = "benchroottoken0123456789"
ADMIN = {"Authorization": f"Bearer {ROOT}"}
REPO = "r-default"
V2 = f"/v2/Repositories/{REPO}"
DEFS = ("Email Attachment", "Supersedes", "Agenda Packet")


def timed(fn: Callable[[], Any], repeat: int) -> float:
    """Median wall time of ``fn`` in milliseconds (after one warm-up call)."""
    fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def check(response: Any, status: int = 200) -> Any:
    """Abort on any unexpected status: a benchmark of errors measures nothing."""
    if response.status_code != status:
        sys.exit(f"unexpected {response.status_code}: {response.text[:500]}")
    return response.json()


def bulk_links(engine: sa.Engine, docs: list[str], hub: str, total: int, hub_links: int,
               owner: str) -> None:
    """Insert ``total`` relation links with Core executemany; ``hub_links`` touch ``hub``."""
    rng = random.Random(7)
    now = now_micros()
    chunk: list[dict[str, Any]] = []
    with engine.begin() as conn:
        for i in range(total):
            if i < hub_links:
                other = docs[i % len(docs)]
                tail, head = (hub, other) if i % 2 == 0 else (other, hub)
            else:
                tail, head = rng.sample(docs, 2)
            chunk.append({
                "uuid": f"zzzzz-o0j2j-b{i:014d}", "owner_uuid": owner, "created_at": now,
                "modified_at": now, "modified_by_user_uuid": owner, "etag": "bench",
                "link_class": "relation", "name": DEFS[i % 3], "tail_uuid": tail,
                "head_uuid": head, "properties": {"n": str(i)},
            })
            if len(chunk) == 20_000:
                conn.execute(tables.links.insert(), chunk)
                chunk = []
        if chunk:
            conn.execute(tables.links.insert(), chunk)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", help="database URL (default: a temporary SQLite file)")
    parser.add_argument("--links", type=int, default=1_000_000)
    parser.add_argument("--docs", type=int, default=2000)
    parser.add_argument("--hub-links", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    url = args.database or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    started = time.perf_counter()
    app = create_app(Settings(database_url=url, system_root_token=ROOT))
    services = app.state.services
    client = TestClient(app)
    folder = check(client.post(f"{V2}/Entries/1/Folder/Children", headers=ADMIN,
                               json={"name": "Bench", "entryType": "Folder"}), 201)
    user = check(client.post("/arvados/v1/users", headers=ADMIN, json={"user": {
        "username": "reader", "email": "reader@example.com"}}))
    with services.db.write() as conn:
        set_password(conn, user["uuid"], "pw")
    token = check(client.post(f"/v1/Repositories/{REPO}/Token", data={
        "grant_type": "password", "username": "reader", "password": "pw"}))["access_token"]
    reader = {"Authorization": f"Bearer {token}"}
    print(f"creating {args.docs} documents...", file=sys.stderr)
    docs: list[dict[str, Any]] = []
    for i in range(args.docs + 2):
        docs.append(check(client.post("/linkbase/v1/documents", headers=ADMIN, json={
            "repository_id": REPO, "parent_entry_id": folder["id"], "name": f"doc{i:05d}"})))
    folder_uuid = check(client.get("/arvados/v1/groups", headers=ADMIN, params={
        "filters": '[["name","=","Bench"]]'}))["items"][0]["uuid"]
    check(client.post("/arvados/v1/links", headers=ADMIN, json={"link": {
        "link_class": "permission", "name": "can_read", "tail_uuid": user["uuid"],
        "head_uuid": folder_uuid}}))
    hub, fresh, others = docs[0], docs[1], docs[2:]
    print(f"bulk-inserting {args.links} links...", file=sys.stderr)
    t0 = time.perf_counter()
    bulk_links(services.db.engine, [d["uuid"] for d in others], hub["uuid"], args.links,
               args.hub_links, services.well_known.system_user)
    insert_s = time.perf_counter() - t0
    if services.db.dialect == "sqlite":
        with services.db.engine.begin() as conn:
            conn.execute(sa.text("ANALYZE"))

    rows: list[tuple[str, float, float | None]] = []
    sets = [[{"linkDefinitionId": 1 + i % 3, "otherEntryId": d["id"], "isSource": i % 2 == 0}
             for i, d in enumerate(others[k * 100:(k + 1) * 100])] for k in (0, 1)]
    flip = [0]

    def put() -> None:
        flip[0] ^= 1
        check(client.put(f"{V2}/Entries/{fresh['id']}/Links", headers=ADMIN,
                         json={"links": sets[flip[0]]}))

    links = tables.links
    raw_flip = [0]

    def raw_put() -> None:
        raw_flip[0] ^= 1
        with services.db.write() as conn:
            conn.execute(links.delete().where(sa.or_(links.c.tail_uuid == fresh["uuid"],
                                                     links.c.head_uuid == fresh["uuid"])))
            conn.execute(links.insert(), [{
                "uuid": f"zzzzz-o0j2j-r{raw_flip[0]}{i:013d}", "owner_uuid": user["uuid"],
                "created_at": 0, "modified_at": 0, "modified_by_user_uuid": None,
                "etag": "x", "link_class": "relation", "name": DEFS[i % 3],
                "tail_uuid": fresh["uuid"], "head_uuid": d["uuid"], "properties": {},
            } for i, d in enumerate(others[:100])])

    rows.append(("PUT 100 links", timed(put, args.repeat), timed(raw_put, args.repeat)))
    with services.db.write() as conn:
        conn.execute(links.delete().where(links.c.tail_uuid == fresh["uuid"]))

    def raw_page(offset: int) -> Callable[[], None]:
        u = hub["uuid"]
        cond = sa.and_(links.c.link_class == "relation",
                       sa.or_(links.c.tail_uuid == u, links.c.head_uuid == u))

        def run() -> None:
            with services.db.read() as conn:
                list(conn.execute(sa.select(links).where(cond).order_by(links.c.id)
                                  .limit(100).offset(offset)))
                conn.execute(sa.select(sa.func.count()).where(cond)).scalar_one()
        return run

    def get(params: dict[str, str]) -> Callable[[], None]:
        def run() -> None:
            body = check(client.get(f"{V2}/Entries/{hub['id']}/Links", headers=reader,
                                    params=params))
            assert len(body["value"]) == 100, len(body["value"])
        return run

    rows.append(("GET page ($count)", timed(get({"$count": "true"}), args.repeat),
                 timed(raw_page(0), args.repeat)))
    rows.append(("GET page $skip=500", timed(get({"$skip": "500", "$count": "true"}),
                                             args.repeat), timed(raw_page(500), args.repeat)))
    rows.append(("GET by targetFullPath", timed(get({"$orderby": "targetFullPath"}),
                                                max(3, args.repeat // 3)), None))
    client.close()
    services.db.dispose()
    print(f"\n{services.db.dialect}: {args.links} links ({args.hub_links} on the hub entry), "
          f"{args.docs} documents; bulk insert {insert_s:.1f}s; total "
          f"{time.perf_counter() - started:.0f}s\n")
    print(f"{'operation':<24}{'linkbase ms':>12}{'raw SQL ms':>12}{'ratio':>8}")
    for name, ours, base in rows:
        ratio = f"{ours / base:8.1f}" if base else "       -"
        base_s = f"{base:12.2f}" if base is not None else "           -"
        print(f"{name:<24}{ours:12.2f}{base_s}{ratio}")


if __name__ == "__main__":
    main()
