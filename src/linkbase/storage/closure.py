"""Incremental maintenance of the materialized permission closure (spec §4.3, DESIGN §2).

The closure holds, for every user P, ``MP(P, T) = (level, traverse_owned)`` for each target T
reachable from P. A change to the edge set can only alter the rows of principals whose walks
pass through the tail of a changed edge: the tail itself when it is a user, and every principal
that already reaches a tail that is a group. Those principals are collected *before* each change
(a removed edge may be what made the tail reachable) and recomputed *after* all changes, in the
same transaction, with one recursive query. The cost of a change therefore grows with the number
of affected principals and the size of their closures, not with the database.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from linkbase.domain import uuids
from linkbase.storage.tables import permission_closure, permission_edges

_GROUP = uuids.GROUP
_USER = uuids.USER

#: One walk state per (principal, node, walk level, traverse flag); UNION keeps the set finite,
#: so the recursion terminates on cyclic graphs. A walk continues out of a node only if the node
#: is the principal itself or a group (permission never flows through another user's grants).
_WALK_CTE = f"""
WITH RECURSIVE walk(principal, node, level, to_flag) AS (
    SELECT CAST(p.principal AS TEXT), CAST(p.principal AS TEXT), 3, 1 FROM closure_seed p
  UNION
    SELECT w.principal, CAST(e.head_uuid AS TEXT),
           CASE WHEN e.level < w.level THEN e.level ELSE w.level END,
           CASE WHEN substr(e.head_uuid, 7, 5) = '{_GROUP}' THEN 1
                WHEN substr(e.head_uuid, 7, 5) = '{_USER}' AND e.level = 3 THEN 1
                ELSE 0 END
    FROM walk w JOIN permission_edges e ON e.tail_uuid = w.node
    WHERE e.level > 0 AND (w.node = w.principal OR substr(w.node, 7, 5) = '{_GROUP}')
)
"""

_RECOMPUTE_SQL = (
    _WALK_CTE
    + """
INSERT INTO permission_closure (principal_uuid, target_uuid, level, traverse_owned, target_is_user)
SELECT principal, node, MAX(level), MAX(to_flag) = 1, substr(node, 7, 5) = '"""
    + _USER
    + """'
FROM walk GROUP BY principal, node
"""
)


def walk_sql(seed_sql: str) -> str:
    """The closure walk as a SELECT over ``seed_sql`` (a query yielding ``principal``).

    Used by the benchmark's recursive-CTE baseline, which evaluates permissions per request.
    """
    return (
        _WALK_CTE.replace("closure_seed p", f"({seed_sql}) p")
        + "SELECT principal, node, MAX(level) AS level, MAX(to_flag) AS traverse_owned"
        " FROM walk GROUP BY principal, node"
    )


def principals_reaching(conn: Connection, nodes: Iterable[str | None]) -> set[str]:
    """Users whose closure may change when an edge out of one of ``nodes`` changes."""
    users: set[str] = set()
    groups: list[str] = []
    for node in nodes:
        infix = uuids.infix_of(node)
        if infix == _USER and node is not None:
            users.add(node)
        elif infix == _GROUP and node is not None:
            groups.append(node)
    if groups:
        rows = conn.execute(
            sa.select(permission_closure.c.principal_uuid)
            .where(permission_closure.c.target_uuid.in_(groups))
            .distinct()
        )
        users.update(row[0] for row in rows)
    return users


def recompute(conn: Connection, principals: Iterable[str]) -> None:
    """Replace the closure rows of ``principals`` by a fresh walk over the current edges."""
    todo = sorted(set(principals))
    for start in range(0, len(todo), 500):
        chunk = todo[start : start + 500]
        conn.execute(
            permission_closure.delete().where(permission_closure.c.principal_uuid.in_(chunk))
        )
        existing = [
            row[0]
            for row in conn.execute(
                sa.text("SELECT uuid FROM users WHERE uuid IN :chunk").bindparams(
                    sa.bindparam("chunk", expanding=True)
                ),
                {"chunk": chunk},
            )
        ]
        if not existing:
            continue
        seed = " UNION ALL ".join(f"SELECT :p{i} AS principal" for i in range(len(existing)))
        sql = _RECOMPUTE_SQL.replace("closure_seed p", f"({seed}) p")
        conn.execute(sa.text(sql), {f"p{i}": uuid for i, uuid in enumerate(existing)})


class ClosureChange:
    """Collects edge changes of one transaction and recomputes the affected principals at the end."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.affected: set[str] = set()

    def _touch(self, *nodes: str | None) -> None:
        self.affected |= principals_reaching(self.conn, nodes)

    def set_edge(self, source_uuid: str, tail_uuid: str | None, head_uuid: str | None,
                 level: int) -> None:
        """Create, replace or (with a null end or level 0) remove the edge of ``source_uuid``."""
        old = self.conn.execute(
            sa.select(permission_edges.c.tail_uuid).where(
                permission_edges.c.source_uuid == source_uuid
            )
        ).first()
        self._touch(tail_uuid, old[0] if old else None)
        if old is not None:
            self.conn.execute(
                permission_edges.delete().where(permission_edges.c.source_uuid == source_uuid)
            )
        if tail_uuid is not None and head_uuid is not None and level > 0:
            self.conn.execute(
                permission_edges.insert().values(
                    source_uuid=source_uuid, tail_uuid=tail_uuid, head_uuid=head_uuid,
                    level=level,
                )
            )

    def remove_edges(self, source_uuids: Iterable[str]) -> None:
        """Remove the edges contributed by these sources (deleted links or objects)."""
        sources = list(source_uuids)
        for start in range(0, len(sources), 500):
            chunk = sources[start : start + 500]
            tails = [
                row[0]
                for row in self.conn.execute(
                    sa.select(permission_edges.c.tail_uuid).where(
                        permission_edges.c.source_uuid.in_(chunk)
                    )
                )
            ]
            if tails:
                self._touch(*tails)
                self.conn.execute(
                    permission_edges.delete().where(permission_edges.c.source_uuid.in_(chunk))
                )

    def add_principal(self, user_uuid: str) -> None:
        """A new user: its own closure must be computed."""
        self.affected.add(user_uuid)

    def drop_node(self, uuid: str) -> None:
        """A deleted object: no closure row may keep naming it, as principal or target."""
        self._touch(uuid)
        self.affected.discard(uuid)
        self.conn.execute(
            permission_closure.delete().where(
                sa.or_(
                    permission_closure.c.principal_uuid == uuid,
                    permission_closure.c.target_uuid == uuid,
                )
            )
        )

    def apply(self) -> None:
        """Recompute every affected principal (call once, after all edge changes)."""
        if self.affected:
            recompute(self.conn, self.affected)
            self.affected.clear()


@contextmanager
def closure_change(conn: Connection) -> Iterator[ClosureChange]:
    """``with closure_change(conn) as change: change.set_edge(...)`` — recomputed on exit."""
    change = ClosureChange(conn)
    yield change
    change.apply()
