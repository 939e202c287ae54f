"""Incremental maintenance of the materialized group closure (spec §4.3, DESIGN §2).

``group_closure`` holds, for every group G that is the head of some edge, ``GC(G, T) = (level,
traverse_owned)`` for each target T reached by a walk from G that continues only out of *groups*
(never out of users), with the spec's aggregates, plus the reflexive row ``(G, G, 3, true)``. A
user's closure ``MP(P, T)`` is derived from it at query time (``services.permissions``): a walk
from P starts with one of P's out-edges ``P -> H``, then is a group walk from H (walks that come
back through P are dominated, see ``services.permissions``). So nothing here is per user: the table
grows with groups × what they reach, and a change to an edge whose tail is a user touches no row.

An edge ``t -> h`` can only matter to the rows of groups that reach ``t`` (``GC(G, t)`` exists,
including ``t`` itself) when ``t`` is a group; whether G has rows at all depends on G being the
head of some edge. A :class:`ClosureChange` therefore, within one transaction:

1. collects, *before* each change, the groups reaching the tail of every removed or weakened edge
   (the set S; the table is not modified until :meth:`ClosureChange.apply`, so these are the
   reachers in the state before the whole batch), and the group heads of changed edges;
2. at :meth:`~ClosureChange.apply`: deletes rows naming dropped nodes; adds to S every candidate
   head whose having rows no longer matches being a head; recomputes the rows of S from the final
   edges with one recursive CTE;
3. then applies every added or strengthened edge ``t -> h`` (t a group) as a delta: for every
   group G now reaching t, ``GC(G, T) |= min(GC(G, t), e, GC(h, T))`` (an upsert keeping the max
   level and OR-ing the flag). Additions only add walks, and a walk using the new edge is
   dominated by one using it once, with prefix and suffix in the graph before it, so the delta is
   exact; the recomputed groups of step 2 already hold these walks and the upsert is idempotent.

Groups outside S never reached a removed tail, so their walks never used a removed edge: their
old rows are exact for the graph minus the removals, and step 3 brings them to the final graph.
The cost of a change grows with the rows of the groups it affects, not with the database.

**Concurrency.** Every method that reads or writes edges or closure rows first takes the
permission-graph lock (``storage.locks``), so two transactions changing edges never interleave:
the second one's reads happen after the first one committed, and the deltas above are computed
from the exact committed closure. Services that know they will change edges take the lock
earlier (before their own checks); taking it here as well makes it impossible to forget.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from linkbase import checkpoints
from linkbase.domain import uuids
from linkbase.storage.locks import lock_permission_graph
from linkbase.storage.tables import group_closure, permission_edges

_GROUP = uuids.GROUP
_USER = uuids.USER
_CHUNK = 500


def is_kind_sql(column: str, infix: str) -> str:
    """SQL text: ``column`` is a well-formed-length uuid of ``infix`` (portable)."""
    return f"(length({column}) = 27 AND substr({column}, 7, 5) = '{infix}')"


#: One walk state per (group, node, walk level, traverse flag); UNION keeps the set finite, so
#: the recursion terminates on cyclic graphs. A walk continues out of a node only if it is a
#: group (the seeds are groups), so a group node is expanded at most once per level.
_WALK_CTE = f"""
WITH RECURSIVE walk(grp, node, level, to_flag) AS (
    SELECT CAST(s.grp AS TEXT), CAST(s.grp AS TEXT), 3, 1 FROM closure_seed s
  UNION
    SELECT w.grp, CAST(e.head_uuid AS TEXT),
           CASE WHEN e.level < w.level THEN e.level ELSE w.level END,
           CASE WHEN {is_kind_sql('e.head_uuid', _GROUP)} THEN 1
                WHEN {is_kind_sql('e.head_uuid', _USER)} AND e.level = 3 THEN 1
                ELSE 0 END
    FROM walk w JOIN permission_edges e ON e.tail_uuid = w.node
    WHERE e.level > 0 AND {is_kind_sql('w.node', _GROUP)}
)
"""

_RECOMPUTE_SQL = (
    _WALK_CTE
    + f"""
INSERT INTO group_closure (group_uuid, target_uuid, level, traverse_owned, target_is_user)
SELECT grp, node, MAX(level), MAX(to_flag) = 1, {is_kind_sql('node', _USER)}
FROM walk GROUP BY grp, node
"""
)

#: Every group that is the head of an edge: the groups that have rows.
_ALL_GROUP_HEADS = (
    "SELECT DISTINCT head_uuid AS grp FROM permission_edges "
    f"WHERE level > 0 AND {is_kind_sql('head_uuid', _GROUP)}"
)

_UPSERT = """
ON CONFLICT (group_uuid, target_uuid) DO UPDATE SET
  level = CASE WHEN excluded.level > group_closure.level THEN excluded.level
               ELSE group_closure.level END,
  traverse_owned = (group_closure.traverse_owned OR excluded.traverse_owned)
"""

#: Delta of an added edge ``t -> h`` with h a group: every reacher of t gains h's rows.
_DELTA_GROUP_SQL = (
    """
INSERT INTO group_closure (group_uuid, target_uuid, level, traverse_owned, target_is_user)
SELECT r.group_uuid, s.target_uuid,
       CASE WHEN s.level < (CASE WHEN r.level < CAST(:e AS INTEGER) THEN r.level
                                 ELSE CAST(:e AS INTEGER) END)
            THEN s.level
            ELSE (CASE WHEN r.level < CAST(:e AS INTEGER) THEN r.level
                       ELSE CAST(:e AS INTEGER) END) END,
       s.traverse_owned, s.target_is_user
FROM group_closure r JOIN group_closure s ON s.group_uuid = :h
WHERE r.target_uuid = :t
"""
    + _UPSERT
)

#: Delta of an added edge ``t -> h`` with h a terminal target (user, collection, foreign, ...).
_DELTA_TERMINAL_SQL = (
    """
INSERT INTO group_closure (group_uuid, target_uuid, level, traverse_owned, target_is_user)
SELECT r.group_uuid, :h,
       CASE WHEN r.level < CAST(:e AS INTEGER) THEN r.level ELSE CAST(:e AS INTEGER) END,
       :flag, :is_user
FROM group_closure r
WHERE r.target_uuid = :t
"""
    + _UPSERT
)


def walk_sql(seed_sql: str) -> str:
    """The per-user closure ``MP`` as one recursive SELECT over ``seed_sql`` (yielding
    ``principal``): columns ``principal, node, level, traverse_owned``.

    This walks the edges from scratch on every call; the benchmark uses it as the recursive-CTE
    baseline that evaluates permissions per request, without any materialization.
    """
    return f"""
WITH RECURSIVE walk(principal, node, level, to_flag) AS (
    SELECT CAST(p.principal AS TEXT), CAST(p.principal AS TEXT), 3, 1 FROM ({seed_sql}) p
  UNION
    SELECT w.principal, CAST(e.head_uuid AS TEXT),
           CASE WHEN e.level < w.level THEN e.level ELSE w.level END,
           CASE WHEN {is_kind_sql('e.head_uuid', _GROUP)} THEN 1
                WHEN {is_kind_sql('e.head_uuid', _USER)} AND e.level = 3 THEN 1
                ELSE 0 END
    FROM walk w JOIN permission_edges e ON e.tail_uuid = w.node
    WHERE e.level > 0 AND (w.node = w.principal OR {is_kind_sql('w.node', _GROUP)})
)
SELECT principal, node, MAX(level) AS level, MAX(to_flag) AS traverse_owned
FROM walk GROUP BY principal, node
"""


def groups_reaching(conn: Connection, nodes: Iterable[str | None]) -> set[str]:
    """Groups whose rows may change when an edge out of one of ``nodes`` is removed.

    Users among ``nodes`` contribute nothing: no group walk continues out of a user.
    """
    groups = sorted({n for n in nodes if n is not None and uuids.infix_of(n) == _GROUP})
    found: set[str] = set(groups)
    for start in range(0, len(groups), _CHUNK):
        chunk = groups[start : start + _CHUNK]
        rows = conn.execute(
            sa.select(group_closure.c.group_uuid)
            .where(group_closure.c.target_uuid.in_(chunk))
            .distinct()
        )
        found.update(row[0] for row in rows)
    return found


def recompute(conn: Connection, nodes: Iterable[str]) -> None:
    """Replace the rows of the groups among ``nodes`` by a fresh walk over the current edges.

    Users are ignored (they have no rows of their own). A group gets rows only if it is the
    head of some edge. This does not touch groups reaching ``nodes``: see :class:`ClosureChange`.
    """
    todo = sorted({n for n in nodes if uuids.infix_of(n) == _GROUP})
    for start in range(0, len(todo), _CHUNK):
        chunk = todo[start : start + _CHUNK]
        conn.execute(group_closure.delete().where(group_closure.c.group_uuid.in_(chunk)))
        seed = " UNION ALL ".join(f"SELECT :g{i} AS grp" for i in range(len(chunk)))
        heads = (
            f"SELECT s.grp FROM ({seed}) s WHERE EXISTS (SELECT 1 FROM permission_edges e "
            "WHERE e.head_uuid = s.grp AND e.level > 0)"
        )
        sql = _RECOMPUTE_SQL.replace("closure_seed s", f"({heads}) s")
        conn.execute(sa.text(sql), {f"g{i}": uuid for i, uuid in enumerate(chunk)})


def recompute_all(conn: Connection) -> None:
    """Rebuild the whole table from the edges in bulk (one recursive query)."""
    lock_permission_graph(conn)
    conn.execute(group_closure.delete())
    conn.execute(sa.text(_RECOMPUTE_SQL.replace("closure_seed s", f"({_ALL_GROUP_HEADS}) s")))


ClosureRow = tuple[str, str, int, bool]
"""``(group_uuid, target_uuid, level, traverse_owned)``."""


def _ordered(column: str, dialect: str) -> str:
    # Byte order on both backends, which is Python's order for the ASCII uuids stored here.
    return f'{column} COLLATE "C"' if dialect == "postgresql" else column


def expected_closure(conn: Connection) -> Iterator[ClosureRow]:
    """The whole closure as a full recompute from the edges gives it, in byte order of
    ``(group_uuid, target_uuid)``, streamed (nothing is written)."""
    dialect = conn.dialect.name
    sql = (_WALK_CTE.replace("closure_seed s", f"({_ALL_GROUP_HEADS}) s")
           + "SELECT grp, node, MAX(level), MAX(to_flag) FROM walk GROUP BY grp, node "
           + f"ORDER BY {_ordered('grp', dialect)}, {_ordered('node', dialect)}")
    for row in conn.execution_options(stream_results=True, yield_per=10_000).execute(
            sa.text(sql)):
        yield str(row[0]), str(row[1]), int(row[2]), bool(row[3])


def stored_closure(conn: Connection) -> Iterator[ClosureRow]:
    """The stored closure, in the order of :func:`expected_closure`, streamed."""
    dialect = conn.dialect.name
    sql = ("SELECT group_uuid, target_uuid, level, traverse_owned FROM group_closure ORDER BY "
           f"{_ordered('group_uuid', dialect)}, {_ordered('target_uuid', dialect)}")
    for row in conn.execution_options(stream_results=True, yield_per=10_000).execute(
            sa.text(sql)):
        yield str(row[0]), str(row[1]), int(row[2]), bool(row[3])


def _add_edge_delta(conn: Connection, tail: str, head: str, level: int) -> None:
    """Apply the walks an added edge ``tail -> head`` (tail a group) gives every reacher."""
    if uuids.infix_of(head) == _GROUP:
        conn.execute(sa.text(_DELTA_GROUP_SQL), {"t": tail, "h": head, "e": level})
    else:
        is_user = uuids.infix_of(head) == _USER
        conn.execute(
            sa.text(_DELTA_TERMINAL_SQL),
            {"t": tail, "h": head, "e": level, "flag": is_user and level == 3,
             "is_user": is_user},
        )


class ClosureChange:
    """Collects the edge changes of one transaction and updates the group closure at the end."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        #: Groups to recompute from scratch (reachers of removed or weakened edges' tails).
        self.affected: set[str] = set()
        #: Group heads of changed edges: their having rows may need to follow being a head.
        self.heads: set[str] = set()
        #: Sources of inserted edges, applied as deltas (in order).
        self.added: dict[str, None] = {}
        self.dropped: set[str] = set()

    def _removed(self, tail: str, head: str) -> None:
        self.affected |= groups_reaching(self.conn, [tail])
        if uuids.infix_of(head) == _GROUP:
            self.heads.add(head)

    def set_edge(self, source_uuid: str, tail_uuid: str | None, head_uuid: str | None,
                 level: int) -> None:
        """Create, replace or (with a null end or level 0) remove the edge of ``source_uuid``."""
        lock_permission_graph(self.conn)
        old = self.conn.execute(
            sa.select(permission_edges.c.tail_uuid, permission_edges.c.head_uuid,
                      permission_edges.c.level)
            .where(permission_edges.c.source_uuid == source_uuid)
        ).first()
        keep = tail_uuid is not None and head_uuid is not None and level > 0
        if old is not None:
            same_ends = keep and (old[0], old[1]) == (tail_uuid, head_uuid)
            if same_ends and int(old[2]) == level:
                return
            if not (same_ends and level > int(old[2])):
                # removed, moved or weakened: strengthening only adds walks (a delta)
                self._removed(old[0], old[1])
            self.conn.execute(
                permission_edges.delete().where(permission_edges.c.source_uuid == source_uuid)
            )
        if keep:
            assert tail_uuid is not None and head_uuid is not None
            self.conn.execute(
                permission_edges.insert().values(
                    source_uuid=source_uuid, tail_uuid=tail_uuid, head_uuid=head_uuid,
                    level=level,
                )
            )
            self.added[source_uuid] = None
            if uuids.infix_of(head_uuid) == _GROUP:
                self.heads.add(head_uuid)

    def remove_edges(self, source_uuids: Iterable[str]) -> None:
        """Remove the edges contributed by these sources (deleted links or objects)."""
        sources = list(source_uuids)
        for start in range(0, len(sources), _CHUNK):
            chunk = sources[start : start + _CHUNK]
            ends = self.conn.execute(
                sa.select(permission_edges.c.tail_uuid, permission_edges.c.head_uuid).where(
                    permission_edges.c.source_uuid.in_(chunk)
                )
            ).all()
            if ends:
                lock_permission_graph(self.conn)
                self.affected |= groups_reaching(self.conn, [row[0] for row in ends])
                self.heads.update(row[1] for row in ends if uuids.infix_of(row[1]) == _GROUP)
                self.conn.execute(
                    permission_edges.delete().where(permission_edges.c.source_uuid.in_(chunk))
                )

    def add_principal(self, user_uuid: str) -> None:
        """A new user: nothing to materialize (a user's closure is derived from its edges)."""

    def drop_node(self, uuid: str) -> None:
        """A deleted object: no row may keep naming it, as group or target."""
        lock_permission_graph(self.conn)
        self.affected |= groups_reaching(self.conn, [uuid])
        self.dropped.add(uuid)

    def apply(self) -> None:
        """Bring the group closure up to date (call once, after all edge changes)."""
        conn = self.conn
        if not (self.affected or self.heads or self.added or self.dropped):
            return
        lock_permission_graph(conn)
        dropped = sorted(self.dropped)
        for start in range(0, len(dropped), _CHUNK):
            chunk = dropped[start : start + _CHUNK]
            conn.execute(group_closure.delete().where(sa.or_(
                group_closure.c.group_uuid.in_(chunk), group_closure.c.target_uuid.in_(chunk)
            )))
        candidates = sorted(self.heads - self.affected)
        for start in range(0, len(candidates), _CHUNK):
            chunk = candidates[start : start + _CHUNK]
            has_rows = {
                row[0] for row in conn.execute(
                    sa.select(group_closure.c.group_uuid).where(
                        group_closure.c.group_uuid.in_(chunk),
                        group_closure.c.target_uuid == group_closure.c.group_uuid,
                    )
                )
            }
            is_head = {
                row[0] for row in conn.execute(
                    sa.select(permission_edges.c.head_uuid).where(
                        permission_edges.c.head_uuid.in_(chunk), permission_edges.c.level > 0
                    ).distinct()
                )
            }
            self.affected |= has_rows ^ is_head
        if self.affected:
            recompute(conn, self.affected)
        added = list(self.added)
        for start in range(0, len(added), _CHUNK):
            chunk = added[start : start + _CHUNK]
            rows: dict[str, Any] = {
                row[0]: row for row in conn.execute(
                    sa.select(permission_edges.c.source_uuid, permission_edges.c.tail_uuid,
                              permission_edges.c.head_uuid, permission_edges.c.level)
                    .where(permission_edges.c.source_uuid.in_(chunk))
                )
            }
            for source in chunk:
                row = rows.get(source)
                if row is not None and uuids.infix_of(row[1]) == _GROUP and int(row[3]) > 0:
                    _add_edge_delta(conn, row[1], row[2], int(row[3]))
        self.affected.clear()
        self.heads.clear()
        self.added.clear()
        self.dropped.clear()
        checkpoints.reach("closure.applied")


@contextmanager
def closure_change(conn: Connection) -> Iterator[ClosureChange]:
    """``with closure_change(conn) as change: change.set_edge(...)`` — updated on exit."""
    change = ClosureChange(conn)
    yield change
    change.apply()
