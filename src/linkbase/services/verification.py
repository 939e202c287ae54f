"""Checking the permission engine's materialized state against a full recompute
(``linkbase verify``), and rebuilding it (``--repair``).

Two derived tables exist only to make checks fast: ``permission_edges`` (one edge per group,
user and permission link, spec §4.3) and ``group_closure`` (storage.closure). Both must always
equal what a recompute from the stored objects gives, whatever ran concurrently. This module
computes both from scratch in one read snapshot and compares them with the stored rows in a
single pass over two sorted streams, so a database of a million links is checked in seconds
without holding any lock: writers go on meanwhile.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from linkbase.domain.levels import LADDER_NAMES
from linkbase.services.context import Services
from linkbase.services.permissions import Access
from linkbase.storage import closure, tables
from linkbase.storage.locks import lock_permission_graph

#: How many differences of each table a report keeps (all are counted).
MAX_REPORTED = 1000

_EDGE_LEVEL = (
    "CASE name WHEN 'can_read' THEN 1 WHEN 'can_write' THEN 2 WHEN 'can_manage' THEN 3 "
    "WHEN 'can_login' THEN 1 ELSE 0 END"
)
#: The edges the stored objects define (spec §4.3): ownership of every group and user, and one
#: edge per permission link with both ends and a known level.
_EXPECTED_EDGES = f"""
SELECT source, tail, head, level FROM (
  SELECT uuid AS source, owner_uuid AS tail, uuid AS head, 3 AS level
    FROM groups WHERE owner_uuid IS NOT NULL
  UNION ALL
  SELECT uuid, owner_uuid, uuid, 3 FROM users WHERE owner_uuid IS NOT NULL
  UNION ALL
  SELECT uuid, tail_uuid, head_uuid, {_EDGE_LEVEL} FROM links
    WHERE link_class = 'permission' AND tail_uuid IS NOT NULL AND head_uuid IS NOT NULL
) edges WHERE level > 0
"""


@dataclass(frozen=True)
class Difference:
    """A stored row that differs from the recompute (``stored`` or ``expected`` None: the row
    is missing on that side)."""

    table: str
    key: tuple[str, ...]
    expected: tuple[Any, ...] | None
    stored: tuple[Any, ...] | None

    def describe(self) -> str:
        """One line for the CLI."""
        if self.stored is None:
            what = f"missing, expected {self.expected}"
        elif self.expected is None:
            what = f"extra {self.stored}"
        else:
            what = f"stored {self.stored}, expected {self.expected}"
        return f"{self.table} {'/'.join(self.key)}: {what}"


@dataclass
class Report:
    """What a verification found."""

    edges: int = 0
    closure_rows: int = 0
    edge_differences: int = 0
    closure_differences: int = 0
    differences: list[Difference] = field(default_factory=list)
    #: ``(tail, head, count)`` of grants with more than one ladder link (legacy duplicates are
    #: allowed by the spec, but nothing Linkbase does creates them).
    duplicate_grants: list[tuple[str, str, int]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """The derived tables equal a full recompute."""
        return self.edge_differences == 0 and self.closure_differences == 0


def _ordered(column: str, conn: Connection) -> str:
    return f'{column} COLLATE "C"' if conn.dialect.name == "postgresql" else column


def _rows(conn: Connection, sql: str) -> Iterator[tuple[Any, ...]]:
    for row in conn.execution_options(stream_results=True, yield_per=10_000).execute(
            sa.text(sql)):
        yield tuple(row)


def _compare(table: str, key_len: int, expected: Iterable[tuple[Any, ...]],
             stored: Iterable[tuple[Any, ...]], report: Report) -> tuple[int, int]:
    """Merge two streams sorted by key; returns (rows compared, differences)."""
    exp_iter, sto_iter = iter(expected), iter(stored)
    exp, sto = next(exp_iter, None), next(sto_iter, None)
    rows = differences = 0

    def differ(key: tuple[Any, ...], e: tuple[Any, ...] | None,
               s: tuple[Any, ...] | None) -> None:
        nonlocal differences
        differences += 1
        if len(report.differences) < MAX_REPORTED * 2:
            report.differences.append(Difference(table, tuple(map(str, key)), e, s))

    while exp is not None or sto is not None:
        rows += 1
        if sto is None or (exp is not None and exp[:key_len] < sto[:key_len]):
            assert exp is not None
            differ(exp[:key_len], exp, None)
            exp = next(exp_iter, None)
        elif exp is None or sto[:key_len] < exp[:key_len]:
            differ(sto[:key_len], None, sto)
            sto = next(sto_iter, None)
        else:
            if tuple(exp) != tuple(sto):
                differ(exp[:key_len], exp, sto)
            exp, sto = next(exp_iter, None), next(sto_iter, None)
    return rows, differences


def check(access: Access) -> Report:
    """Compare both derived tables with a recompute, in the caller's snapshot."""
    conn = access.conn
    report = Report()
    order = _ordered("source", conn)
    expected_edges = _rows(conn, f"{_EXPECTED_EDGES} ORDER BY {order}")
    stored_edges = _rows(conn, "SELECT source_uuid, tail_uuid, head_uuid, level "
                               f"FROM permission_edges ORDER BY {_ordered('source_uuid', conn)}")
    report.edges, report.edge_differences = _compare(
        "permission_edges", 1, ((str(s), str(t), str(h), int(lv)) for s, t, h, lv in
                                expected_edges),
        ((str(s), str(t), str(h), int(lv)) for s, t, h, lv in stored_edges), report)
    report.closure_rows, report.closure_differences = _compare(
        "group_closure", 2, closure.expected_closure(conn), closure.stored_closure(conn), report)
    links = tables.links
    duplicates = conn.execute(
        sa.select(links.c.tail_uuid, links.c.head_uuid, sa.func.count())
        .where(links.c.link_class == "permission", links.c.name.in_(LADDER_NAMES))
        .group_by(links.c.tail_uuid, links.c.head_uuid)
        .having(sa.func.count() > 1)
    )
    report.duplicate_grants = [(str(t), str(h), int(n)) for t, h, n in duplicates]
    return report


def rebuild(access: Access) -> None:
    """Replace both derived tables by the recompute (under the permission-graph lock)."""
    conn = access.conn
    lock_permission_graph(conn)
    conn.execute(tables.permission_edges.delete())
    conn.execute(sa.text("INSERT INTO permission_edges (source_uuid, tail_uuid, head_uuid, level) "
                         + _EXPECTED_EDGES))
    closure.recompute_all(conn)


def verify(services: Services) -> Report:
    """Use case: check the derived tables in one read snapshot (no lock, writers go on)."""
    return services.uow.read_as_server(check)


def repair(services: Services) -> Report:
    """Use case: rebuild the derived tables, then check them again; returns the new report."""
    services.uow.write_as_server(rebuild)
    return verify(services)
