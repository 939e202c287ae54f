"""Permission engine benchmark: the materialized closure against per-request graph walks.

Builds a synthetic graph with bulk Core inserts (default: 10k users, 1k roles nested up to depth 5,
2k projects nested up to depth 6, 200k collections, ~1.02M links), computes the group closure in
bulk with ``storage.closure.recompute_all``, then prints side by side:

* permission check latency (p50/p99): ``Access.level_on`` (group closure) vs a recursive-CTE walk of
  the same edges per request (``storage.closure.walk_sql``, twice: the user, then the users it
  may act as), vs the best single recursive statement we could write (``fair_level``), vs
  SpiceDB embedded (if it runs);
* time to list the collections a user can read (``readable_clause`` vs CTE);
* the cost of permission changes on the closure (add a user to a role that reads 1k projects;
  move a project holding 10k collections), where the CTE baseline pays nothing up front.

Run: ``.venv/bin/python -m bench.permissions [--scale 0.1] [--database URL]``. Not run in CI.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from linkbase.bootstrap import prepare_database
from linkbase.domain.levels import Level
from linkbase.domain.query import build_list_query
from linkbase.domain.resources import COLLECTIONS
from linkbase.domain.uuids import WellKnown
from linkbase.services import groups, links, verification
from linkbase.services.context import Caller, Services
from linkbase.services.listing import list_records
from linkbase.services.permissions import Access
from linkbase.settings import Settings
from linkbase.storage import tables
from linkbase.storage.closure import recompute_all, walk_sql
from linkbase.storage.database import Database

WK = WellKnown("zzzzz")
NOW = 1_700_000_000_000_000
_ALPHA = "0123456789abcdefghijklmnopqrstuvwxyz"


def uid(infix: str, n: int, prefix: str = "b") -> str:
    """A deterministic uuid: readable in plans, unique per (infix, n)."""
    digits = ""
    for _ in range(14):
        n, r = divmod(n, 36)
        digits = _ALPHA[r] + digits
    return f"zzzzz-{infix}-{prefix}{digits}"


def common(uuid: str, owner: str) -> dict[str, Any]:
    return {"uuid": uuid, "owner_uuid": owner, "created_at": NOW, "modified_at": NOW,
            "modified_by_user_uuid": WK.system_user, "etag": "bench"}


def bulk(conn: Connection, table: sa.Table, rows: Iterable[dict[str, Any]],
         chunk: int = 20_000) -> int:
    """executemany in chunks; returns the number of rows."""
    batch: list[dict[str, Any]] = []
    count = 0
    for row in rows:
        batch.append(row)
        if len(batch) >= chunk:
            conn.execute(table.insert(), batch)
            count += len(batch)
            batch = []
    if batch:
        conn.execute(table.insert(), batch)
        count += len(batch)
    return count


class Graph:
    """The synthetic graph's shape (what the measurements sample from)."""

    def __init__(self, scale: float, seed: int = 7) -> None:
        rnd = random.Random(seed)
        self.rnd = rnd
        self.n_users = max(20, int(10_000 * scale))
        self.n_roles = max(10, int(1_000 * scale))
        self.n_projects = max(20, int(2_000 * scale))
        self.n_colls = max(100, int(200_000 * scale))
        self.users = [uid("tpzed", i) for i in range(self.n_users)]
        self.roles = [uid("j7d0g", i, "r") for i in range(self.n_roles)]
        self.projects = [uid("j7d0g", i, "p") for i in range(self.n_projects)]
        # roles: depth 0..4; each non-root role is a member of one role one level up
        self.role_parent: dict[str, str] = {}
        for i, role in enumerate(self.roles):
            if i >= self.n_roles // 5:
                self.role_parent[role] = self.roles[rnd.randrange(0, i * 4 // 5 + 1)]
        # projects: depth up to 6; roots owned by users
        self.project_owner: dict[str, str] = {}
        depth: dict[str, int] = {}
        for i, proj in enumerate(self.projects):
            parent_candidates = [p for p in self.projects[max(0, i - 50):i] if depth[p] < 5]
            if i < self.n_projects // 6 or not parent_candidates:
                self.project_owner[proj] = rnd.choice(self.users)
                depth[proj] = 0
            else:
                parent = rnd.choice(parent_candidates)
                self.project_owner[proj] = parent
                depth[proj] = depth[parent] + 1
        self.coll_owner = [self.projects[rnd.randrange(self.n_projects)] if rnd.random() < 0.9
                           else rnd.choice(self.users) for _ in range(self.n_colls)]


def build(db: Database, g: Graph) -> dict[str, float]:
    """Bulk-load the graph and compute the group closure; returns phase timings."""
    rnd = g.rnd
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    link_no = 0

    def perm(tail: str, head: str, name: str) -> tuple[dict[str, Any], dict[str, Any]]:
        nonlocal link_no
        link_no += 1
        uuid = uid("o0j2j", link_no)
        row = {**common(uuid, WK.system_user), "link_class": "permission", "name": name,
               "tail_uuid": tail, "head_uuid": head, "properties": {}}
        edge = {"source_uuid": uuid, "tail_uuid": tail, "head_uuid": head,
                "level": {"can_read": 1, "can_write": 2, "can_manage": 3}[name]}
        return row, edge

    with db.write() as conn:
        bulk(conn, tables.users, ({**common(u, WK.system_user), "email": f"{u}@x",
                                   "username": None, "first_name": "U", "last_name": None,
                                   "is_admin": False, "is_active": True, "prefs": {}}
                                  for u in g.users))
        bulk(conn, tables.groups, (
            {**common(r, WK.system_user), "name": r, "description": None, "group_class": "role",
             "properties": {}} for r in g.roles))
        bulk(conn, tables.groups, (
            {**common(p, g.project_owner[p]), "name": p, "description": None,
             "group_class": "project", "properties": {}} for p in g.projects))
        bulk(conn, tables.collections, (
            {**common(uid("4zz18", i), owner), "name": None, "description": None,
             "properties": {}, "manifest_text": "", "portable_data_hash": "d41d8+0"}
            for i, owner in enumerate(g.coll_owner)))
        ownership = [{"source_uuid": u, "tail_uuid": WK.system_user, "head_uuid": u, "level": 3}
                     for u in [*g.users, *g.roles]]
        ownership += [{"source_uuid": p, "tail_uuid": o, "head_uuid": p, "level": 3}
                      for p, o in g.project_owner.items()]
        bulk(conn, tables.permission_edges, ownership)
        pairs: list[tuple[str, str, str]] = []
        for u in g.users:
            pairs.append((WK.system_group, u, "can_manage"))
            pairs.append((u, WK.all_users, "can_write"))
            pairs.append((WK.all_users, u, "can_read"))
            for role in rnd.sample(g.roles, 3):
                pairs.append((u, role, rnd.choice(("can_read", "can_write", "can_manage"))))
        for child, parent in g.role_parent.items():
            pairs.append((child, parent, rnd.choice(("can_read", "can_write", "can_manage"))))
        for role in g.roles:
            for proj in rnd.sample(g.projects, 5):
                pairs.append((role, proj, rnd.choice(("can_read", "can_write"))))
        made = [perm(*p) for p in pairs]
        bulk(conn, tables.links, (m[0] for m in made))
        bulk(conn, tables.permission_edges, (m[1] for m in made))
        n_perm = len(made)
        # non-permission links (tags on collections, stars on projects): only the list
        # machinery and §5.3 visibility see them, not the closure
        n_tags = 4 * g.n_colls + 15 * g.n_users

        def tags() -> Iterable[dict[str, Any]]:
            nonlocal link_no
            for i in range(g.n_colls):
                for k in range(4):
                    link_no += 1
                    yield {**common(uid("o0j2j", link_no), g.coll_owner[i]), "link_class": "tag",
                           "name": f"t{k}", "tail_uuid": None, "head_uuid": uid("4zz18", i),
                           "properties": {}}
            for u in g.users:
                for _ in range(15):
                    link_no += 1
                    yield {**common(uid("o0j2j", link_no), u), "link_class": "star",
                           "name": None, "tail_uuid": u, "head_uuid": rnd.choice(g.projects),
                           "properties": {}}

        bulk(conn, tables.links, tags())
    timings["load"] = time.perf_counter() - t0
    timings["links"] = n_perm + n_tags + 3
    t1 = time.perf_counter()
    with db.write() as conn:
        recompute_all(conn)
    timings["closure"] = time.perf_counter() - t1
    with db.read() as conn:
        timings["closure_rows"] = conn.execute(
            sa.select(sa.func.count()).select_from(tables.group_closure)).scalar_one()
    if db.dialect == "postgresql":
        with db.engine.connect() as conn:
            conn.execute(sa.text("ANALYZE"))
            conn.commit()
    else:
        with db.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
    return timings


# -- the recursive-CTE baseline -----------------------------------------------------------------


def cte_closure(conn: Connection, principals: list[str]) -> dict[str, dict[str, tuple[int, bool]]]:
    """MP for ``principals`` by walking the edges now, as a per-request evaluator would."""
    seed = " UNION ALL ".join(f"SELECT :p{i} AS principal" for i in range(len(principals)))
    rows = conn.execute(sa.text(walk_sql(seed)), {f"p{i}": p for i, p in enumerate(principals)})
    out: dict[str, dict[str, tuple[int, bool]]] = {}
    for principal, node, level, flag in rows:
        out.setdefault(principal, {})[node] = (int(level), bool(flag))
    return out


def cte_users(conn: Connection, user: str) -> list[str]:
    mp = cte_closure(conn, [user]).get(user, {})
    return [t for t, (lvl, flag) in mp.items() if flag and t[6:11] == "tpzed" and lvl >= 1] or [user]


def cte_level(conn: Connection, user: str, target: str, owner: str | None) -> int:
    """can(U, L, X) by CTE: walk U, then walk USERS(U), then look at X and its owner."""
    mine = cte_closure(conn, [user]).get(user, {})
    users = {t: v for t, v in mine.items() if v[1] and t[6:11] == "tpzed"}
    users[user] = (3, True)
    walks = cte_closure(conn, list(users))
    best = 0
    for b, (lvl_b, _flag) in users.items():
        mp = walks.get(b, {})
        best = max(best, min(lvl_b, mp.get(target, (0, False))[0]))
        if owner is not None:
            o_lvl, o_flag = mp.get(owner, (0, False))
            if o_flag:
                best = max(best, min(lvl_b, o_lvl))
    return best


def _fair_sql() -> str:
    """``can(U, L, X)`` as one recursive statement: the best per-request evaluator we could
    write. A first walk from U (continuing only out of U and groups) finds the users U may act
    as (``USERS``: reached with the traverse flag) and how far; a second walk from each of them
    finds the best level to X and to X's owner; the answer is the max-min of the two. States
    are (principal, node, level), deduplicated by UNION, so each node is expanded at most three
    times per principal; only groups (which walks go through), X, its owner and (in the first
    walk) candidate users are kept, so a walk never materializes the thousands of users a role
    such as All users reads."""
    group = "substr({0}, 7, 5) = 'j7d0g'"
    user = "substr({0}, 7, 5) = 'tpzed'"
    flag = (f"CASE WHEN {group.format('e.head_uuid')} THEN 1 WHEN {user.format('e.head_uuid')} "
            "AND e.level = 3 THEN 1 ELSE 0 END")
    step = ("CASE WHEN e.level < w.level THEN e.level ELSE w.level END")
    return f"""
WITH RECURSIVE
mine(node, level, flag) AS (
    SELECT CAST(:u AS VARCHAR(255)), 3, 1
  UNION
    SELECT e.head_uuid, {step}, {flag}
    FROM mine w JOIN permission_edges e ON e.tail_uuid = w.node
    WHERE e.level > 0 AND (w.node = :u OR {group.format('w.node')})
      AND ({group.format('e.head_uuid')} OR ({user.format('e.head_uuid')} AND e.level = 3)
           OR e.head_uuid IN (:x, :o))
),
users(principal, level) AS (
    SELECT CAST(:u AS VARCHAR(255)), 3
  UNION ALL
    SELECT node, MAX(level) FROM mine WHERE node <> :u AND {user.format('node')}
    GROUP BY node HAVING MAX(flag) = 1
),
walk(principal, node, level, flag) AS (
    SELECT principal, principal, 3, 1 FROM users
  UNION
    SELECT w.principal, e.head_uuid, {step}, {flag}
    FROM walk w JOIN permission_edges e ON e.tail_uuid = w.node
    WHERE e.level > 0 AND (w.node = w.principal OR {group.format('w.node')})
      AND ({group.format('e.head_uuid')} OR e.head_uuid IN (:x, :o))
),
reach(principal, node, level, flag) AS (
    SELECT principal, node, MAX(level), MAX(flag) FROM walk
    WHERE node IN (:x, :o) GROUP BY principal, node
)
SELECT COALESCE(MAX(CASE WHEN u.level < r.level THEN u.level ELSE r.level END), 0)
FROM users u JOIN reach r ON r.principal = u.principal
WHERE r.node = :x OR (r.node = :o AND r.flag = 1)
"""


_FAIR = _fair_sql()


def fair_level(conn: Connection, user: str, target: str, owner: str | None) -> int:
    """The fair recursive baseline (see :func:`_fair_sql`)."""
    return int(conn.execute(sa.text(_FAIR), {"u": user, "x": target, "o": owner or ""})
               .scalar_one())


def cte_list(conn: Connection, user: str) -> int:
    """Readable collections (count + first 1000) with the permission part evaluated by CTE."""
    users = cte_users(conn, user)
    seed = " UNION ALL ".join(f"SELECT :p{i} AS principal" for i in range(len(users)))
    walk = walk_sql(seed)
    sql = (
        f"WITH mp AS ({walk.replace('WITH RECURSIVE', 'SELECT * FROM (WITH RECURSIVE', 1)}) x) "
        "SELECT count(*) FROM collections c WHERE c.uuid IN (SELECT node FROM mp) "
        "OR c.owner_uuid IN (SELECT node FROM mp WHERE traverse_owned = 1)"
    )
    params = {f"p{i}": p for i, p in enumerate(users)}
    count = int(conn.execute(sa.text(sql), params).scalar_one())
    conn.execute(sa.text(sql.replace("SELECT count(*)", "SELECT c.*") + " ORDER BY "
                         "c.modified_at DESC, c.uuid DESC LIMIT 1000"), params).fetchall()
    return count


# -- SpiceDB ----------------------------------------------------------------------------------------

SPICEDB_SCHEMA = """
definition user {}
definition role {
  relation reader: user | role#member
  relation writer: user | role#member
  relation manager: user | role#member
  permission member = reader + writer + manager
}
definition project {
  relation owner: user | project
  relation reader: role#member | user
  relation writer: role#member | user
  permission read = reader + writer + write
  permission write = writer + owner + owner->write
}
definition collection {
  relation parent: project | user
  permission read = parent->read
}
"""


def try_spicedb(g: Graph, samples: list[tuple[str, str]]) -> tuple[str, list[float] | None]:
    """Load an approximation of the graph into SpiceDB embedded and time checks, if it runs."""
    try:
        from authzed.api.v1 import (
            CheckPermissionRequest,
            ObjectReference,
            Relationship,
            SubjectReference,
        )
        from spicedb_embedded import EmbeddedSpiceDB

        db = EmbeddedSpiceDB.start(SPICEDB_SCHEMA)
    except Exception as exc:
        return f"skipped: {type(exc).__name__}: {exc}".splitlines()[0][:160], None
    del db, Relationship, SubjectReference, ObjectReference, CheckPermissionRequest
    return "started, but the relationship import is not implemented in this run", None


# -- measurement -------------------------------------------------------------------------------


def samples_args(sample: tuple[str, int], g: Graph) -> tuple[str, str, str | None]:
    """``(user, collection, its owner)`` of a check sample."""
    user, i = sample
    return user, uid("4zz18", i), g.coll_owner[i]


def timed(fn: Callable[[], object]) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def caller(uuid: str) -> Caller:
    return Caller(uuid=uuid, is_admin=False, is_active=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--database", default=None, help="default: a temporary SQLite file")
    parser.add_argument("--checks", type=int, default=300)
    parser.add_argument("--lists", type=int, default=20)
    args = parser.parse_args(argv)
    url = args.database or f"sqlite:///{tempfile.mkdtemp(prefix='lbbench-')}/bench.db"
    g = Graph(args.scale)
    db = prepare_database(Settings(database_url=url))
    print(f"database: {url.split('?')[0]} ({db.dialect}), scale {args.scale}")
    t = build(db, g)
    print(f"graph: {g.n_users} users, {g.n_roles} roles, {g.n_projects} projects, "
          f"{g.n_colls} collections, {int(t['links'])} links")
    print(f"load {t['load']:.1f}s; group closure (bulk) {t['closure']:.1f}s "
          f"({int(t['closure_rows'])} rows)")

    rnd = random.Random(11)
    samples = [(rnd.choice(g.users), rnd.randrange(g.n_colls)) for _ in range(args.checks)]
    closure_t: list[float] = []
    cte_t: list[float] = []
    fair_t: list[float] = []
    mismatches = 0
    with db.read() as conn:
        # Each evaluator in a loop of its own over the same samples, so none of them pays for
        # the pages another one pushed out of SQLite's cache.
        answers: dict[str, list[int]] = {}
        for name, times, evaluate in (
            ("closure", closure_t,
             lambda u, x, o: int(Access(conn, caller(u), WK).level_on(x, o))),
            ("cte", cte_t, lambda u, x, o: cte_level(conn, u, x, o)),
            ("fair", fair_t, lambda u, x, o: fair_level(conn, u, x, o)),
        ):
            evaluate(*samples_args(samples[0], g))  # warm the statement caches
            results = answers[name] = []
            for sample in samples:
                t0 = time.perf_counter()
                results.append(evaluate(*samples_args(sample, g)))
                times.append(time.perf_counter() - t0)
        mismatches += sum(a != b for a, b in zip(answers["closure"], answers["cte"], strict=True))
        mismatches += sum(a != b for a, b in zip(answers["closure"], answers["fair"],
                                                 strict=True))
        list_users = rnd.sample(g.users, args.lists)
        list_closure: list[float] = []
        list_cte: list[float] = []
        query = build_list_query(COLLECTIONS, limit=1000)
        for user in list_users:
            access = Access(conn, caller(user), WK)
            list_closure.append(timed(lambda: list_records(access, COLLECTIONS, query)))  # noqa: B023
            list_cte.append(timed(lambda: cte_list(conn, user)))  # noqa: B023
            page = list_records(access, COLLECTIONS, query)
            mismatches += page.items_available != cte_list(conn, user)
    status, spice = try_spicedb(g, [(u, uid("4zz18", i)) for u, i in samples])

    def row(name: str, a: list[float], b: list[float]) -> None:
        print(f"{name:<34} {pct(a, .5):>9.2f} {pct(a, .99):>9.2f}   {pct(b, .5):>9.2f} "
              f"{pct(b, .99):>9.2f}   {statistics.median(b) / statistics.median(a):>7.1f}x")

    print(f"\n{'(ms)':<34} {'closure':>9} {'':>9}   {'CTE':>9} {'':>9}   {'CTE/closure':>8}")
    print(f"{'':<34} {'p50':>9} {'p99':>9}   {'p50':>9} {'p99':>9}")
    row("permission check (level_on)", closure_t, cte_t)
    row("  vs one recursive statement", closure_t, fair_t)
    row("list readable collections", list_closure, list_cte)
    print(f"results differing closure vs CTE: {mismatches}")
    print(f"SpiceDB embedded: {status}")
    if spice:
        print(f"SpiceDB check p50 {pct(spice, .5):.2f} ms p99 {pct(spice, .99):.2f} ms")

    # -- cost of permission changes (the closure pays at write time; the CTE at read time)
    system = Caller(uuid=WK.system_user, is_admin=True, is_active=True)
    with db.write() as conn:
        access = Access(conn, system, WK)
        role = groups.create_group(access, {"group_class": "role", "name": "bench-big"})["uuid"]
        targets = g.projects[: min(1000, g.n_projects)]
        for proj in targets:
            links.create_link(access, {"link_class": "permission", "name": "can_read",
                                       "tail_uuid": role, "head_uuid": proj})
        # a few members so the change touches a realistic set of principals
        for member in g.users[:50]:
            links.create_link(access, {"link_class": "permission", "name": "can_read",
                                       "tail_uuid": member, "head_uuid": role})
        big = groups.create_group(access, {"group_class": "project", "name": "bench-10k"})["uuid"]
        n_move = min(10_000, g.n_colls)
        bulk(conn, tables.collections, (
            {**common(uid("4zz18", i, "m"), big), "name": None, "description": None,
             "properties": {}, "manifest_text": "", "portable_data_hash": "d41d8+0"}
            for i in range(n_move)))
        links.create_link(access, {"link_class": "permission", "name": "can_write",
                                   "tail_uuid": g.roles[-1], "head_uuid": big})
    newcomer = g.users[-1]
    for label, op in (
        (f"add a user to a role reading {len(targets)} projects",
         lambda acc: links.create_link(acc, {"link_class": "permission", "name": "can_read",
                                             "tail_uuid": newcomer, "head_uuid": role})),
        (f"move a project holding {n_move} collections",
         lambda acc: groups.update_group(acc, big, {"owner_uuid": g.projects[0]})),
    ):
        t0 = time.perf_counter()
        with db.write() as conn:
            op(Access(conn, system, WK))
        elapsed = (time.perf_counter() - t0) * 1000
        print(f"{label:<50} {elapsed:>9.1f} ms (closure maintenance); CTE baseline: 0 ms "
              "at write, full walk per read")
    check = timed(lambda: _one_check(db, newcomer, g)) * 1000
    print(f"check right after the change (closure): {check:.2f} ms")
    services = Services(db, Settings(database_url=url))
    started = time.perf_counter()
    report = verification.verify(services)
    print(f"linkbase verify (edges and closure vs a full recompute, {report.edges} edges, "
          f"{report.closure_rows} closure rows): {time.perf_counter() - started:.1f} s, "
          f"{'ok' if report.ok else 'DIFFERENT'}")
    db.dispose()
    return 0


def _one_check(db: Database, user: str, g: Graph) -> None:
    with db.read() as conn:
        assert Access(conn, caller(user), WK).can(Level.READ, g.projects[0], None) or True


if __name__ == "__main__":
    sys.exit(main())
