"""Graph query benchmark: neighbourhoods at depth 1, 2 and 3 over a 1M-link world.

Reuses the permission benchmark's builder (``bench/permissions.py``: 10k users, 1k roles, 2k
projects, 200k collections, ~1.02M links: permission grants, tags on collections, stars on
projects), adds relation links between collections (chains within projects, the kind of links
the workbench's graph view draws), then times ``services.graph.neighbourhood`` as random
non-admin users on objects they can read, and as the admin, at each depth.

Run: ``.venv/bin/python -m bench.graph [--scale 1.0] [--database URL] [--samples 200]``.
Not run in CI. Figures depend on the machine (and here it is shared with other work).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from typing import Any

from bench.permissions import WK, Graph, build, bulk, common, pct, uid
from linkbase.bootstrap import prepare_database
from linkbase.domain.errors import InvalidArgumentError, NotFoundError
from linkbase.services import graph
from linkbase.services.context import Caller, Services
from linkbase.settings import Settings
from linkbase.storage import tables


def add_relations(services: Services, g: Graph, count: int) -> int:
    """``count`` relation links between collections of the same owner (owned by that owner)."""
    rnd = random.Random(5)
    by_owner: dict[str, list[int]] = {}
    for i, owner in enumerate(g.coll_owner):
        by_owner.setdefault(owner, []).append(i)
    groups = [v for v in by_owner.values() if len(v) > 1]
    rows: list[dict[str, Any]] = []
    for n in range(count):
        members = rnd.choice(groups)
        a, b = rnd.sample(members, 2)
        rows.append({**common(uid("o0j2j", n, "g"), g.coll_owner[a]), "link_class": "relation",
                     "name": "cites", "tail_uuid": uid("4zz18", a), "head_uuid": uid("4zz18", b),
                     "properties": {}})
    with services.db.write() as conn:
        bulk(conn, tables.links, rows)
    return count


def owning_user(g: Graph, owner: str) -> str:
    """The user at the top of an object's ownership chain (who can read it)."""
    while owner in g.project_owner:
        owner = g.project_owner[owner]
    return owner


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--database", default=None, help="default: a temporary SQLite file")
    parser.add_argument("--samples", type=int, default=200)
    args = parser.parse_args(argv)
    url = args.database or f"sqlite:///{tempfile.mkdtemp(prefix='lbbench-')}/graph.db"
    g = Graph(args.scale)
    settings = Settings(database_url=url)
    services = Services(prepare_database(settings), settings)
    t0 = time.perf_counter()
    timings = build(services.db, g)
    relations = add_relations(services, g, max(1000, int(100_000 * args.scale)))
    print(f"database: {url.split('?')[0]} ({services.db.dialect}), scale {args.scale}: "
          f"{int(timings['links']) + relations} links, built in {time.perf_counter() - t0:.0f}s")
    rnd = random.Random(13)
    admin = Caller(uuid=WK.system_user, is_admin=True, is_active=True)
    print(f"\n{'(ms)':<46} {'p50':>8} {'p99':>8}  {'mean nodes':>10}  {'refused':>7}")
    for label, as_admin, start_of in (
        ("user, own collection, all links", False, "collection"),
        ("user, own collection, relation links", False, "relation"),
        ("admin, any collection, all links", True, "collection"),
    ):
        for depth in (1, 2, 3):
            times: list[float] = []
            nodes = 0
            refused = 0
            for _ in range(args.samples):
                i = rnd.randrange(g.n_colls)
                caller = admin if as_admin else Caller(
                    uuid=owning_user(g, g.coll_owner[i]), is_admin=False, is_active=True)
                classes = ["relation"] if start_of == "relation" else []
                t = time.perf_counter()
                try:
                    result = graph.neighbourhood(services, caller, uid("4zz18", i), depth=depth,
                                                 link_classes=classes)
                    nodes += len(result.nodes)
                except (InvalidArgumentError, NotFoundError):
                    refused += 1
                times.append(time.perf_counter() - t)
            print(f"{label + f', depth {depth}':<46} {pct(times, .5):>8.1f} {pct(times, .99):>8.1f}"
                  f"  {nodes / max(1, args.samples - refused):>10.1f}  {refused:>7}")
    services.db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
