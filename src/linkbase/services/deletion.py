"""Deleting objects (spec §6): the object, what a project owns, and every link pointing at them.

Linkbase has no trash: a deleted project takes its contents with it, and every link whose head
or tail is a deleted uuid goes too, without further permission checks, in the same transaction
as the closure update.

**Under concurrency** the cascade must not miss what a concurrent transaction adds: a collection
created in the project being deleted, a link created to a collection being deleted. Creators lock
what they refer to ``FOR KEY SHARE`` (``Access.lookup``); here each object is locked ``FOR
UPDATE`` *before* the query that looks for what it owns or what refers to it. Whichever
transaction locks first wins: either the creator commits first and the deleter's next query (a
fresh READ COMMITTED snapshot) finds the new object and deletes it too, or the deleter commits
first and the creator's check finds its owner or link end gone (422/404). No orphan or dangling
link survives either order. Bulk writers, which do not lock each row they refer to, are kept
apart by the reference guard (``storage.locks``), which every deletion takes. Transactions that
may remove permission edges take the permission-graph lock first (``storage.locks``' lock
order).
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from linkbase.domain import uuids
from linkbase.storage import locks, tables, transaction
from linkbase.storage.closure import ClosureChange

_CHUNK = 500

_TABLE_BY_INFIX = {
    uuids.LINK: tables.links,
    uuids.COLLECTION: tables.collections,
    uuids.GROUP: tables.groups,
    uuids.TOKEN: tables.api_client_authorizations,
    uuids.USER: tables.users,
}
#: Deletion order: what refers to others first (links, then what owns nothing, then owners).
_DELETE_ORDER = (uuids.LINK, uuids.COLLECTION, uuids.GROUP, uuids.TOKEN, uuids.USER)


def _chunks(items: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _lock_for_delete(conn: Connection, objects: Iterable[str]) -> None:
    """``FOR UPDATE`` on every stored row among ``objects`` (see the module docstring)."""
    by_infix: dict[str, list[str]] = {}
    for uuid in objects:
        infix = uuids.infix_of(uuid)
        if infix in _TABLE_BY_INFIX:
            by_infix.setdefault(infix, []).append(uuid)
    for infix in _DELETE_ORDER:
        if infix in by_infix:
            table = _TABLE_BY_INFIX[infix]
            locks.lock_rows(conn, table, table.c.uuid, by_infix[infix], locks.RowLock.DELETE)


def collect_owned(conn: Connection, roots: Iterable[str]) -> set[str]:
    """``roots`` plus everything projects among them own, recursively, each level locked
    before its children are looked for."""
    found: set[str] = set(roots)
    _lock_for_delete(conn, found)
    frontier = [u for u in found if uuids.infix_of(u) == uuids.GROUP]
    while frontier:
        next_frontier: list[str] = []
        fresh: list[str] = []
        for chunk in _chunks(frontier):
            for table in (tables.groups, tables.collections, tables.links):
                for (uuid,) in conn.execute(
                    sa.select(table.c.uuid).where(table.c.owner_uuid.in_(chunk))
                ):
                    if uuid not in found:
                        found.add(uuid)
                        fresh.append(uuid)
                        if table is tables.groups:
                            next_frontier.append(uuid)
        _lock_for_delete(conn, fresh)
        frontier = next_frontier
    return found


def collect_referencing_links(conn: Connection, targets: set[str]) -> set[str]:
    """Links whose head or tail is in ``targets``, and links pointing at those, recursively
    (each found link locked before links pointing at it are looked for)."""
    found: set[str] = set()
    frontier = list(targets)
    while frontier:
        next_frontier: list[str] = []
        for chunk in _chunks(frontier):
            rows = conn.execute(
                sa.select(tables.links.c.uuid).where(
                    sa.or_(tables.links.c.head_uuid.in_(chunk), tables.links.c.tail_uuid.in_(chunk))
                )
            )
            for (uuid,) in rows:
                if uuid not in found and uuid not in targets:
                    found.add(uuid)
                    next_frontier.append(uuid)
        _lock_for_delete(conn, next_frontier)
        frontier = next_frontier
    return found


def may_remove_edges(conn: Connection, roots: Iterable[str]) -> bool:
    """Whether deleting ``roots`` may remove permission edges (a cheap, unlocked look ahead,
    so the permission-graph lock can be taken before any row lock)."""
    roots = list(roots)
    if any(uuids.infix_of(u) in (uuids.GROUP, uuids.USER) for u in roots):
        return True
    links = tables.links
    for chunk in _chunks(roots):
        hit = conn.execute(
            sa.select(links.c.uuid).where(
                links.c.link_class == "permission",
                sa.or_(links.c.uuid.in_(chunk), links.c.head_uuid.in_(chunk),
                       links.c.tail_uuid.in_(chunk)),
            ).limit(1)
        ).first()
        if hit is not None:
            return True
    return False


def delete_objects(conn: Connection, change: ClosureChange, roots: Iterable[str]) -> set[str]:
    """Delete ``roots`` with the §6 cascade; returns every uuid deleted."""
    roots = list(roots)
    if may_remove_edges(conn, roots):
        locks.lock_permission_graph(conn)
    locks.guard_references(conn, deleting=True)
    doomed = collect_owned(conn, roots)
    doomed |= collect_referencing_links(conn, doomed)
    ordered = sorted(doomed)
    change.remove_edges(ordered)
    for uuid in ordered:
        if uuids.infix_of(uuid) in (uuids.GROUP, uuids.USER):
            change.drop_node(uuid)
    by_table: dict[str, list[str]] = {}
    for uuid in ordered:
        by_table.setdefault(uuids.infix_of(uuid) or "", []).append(uuid)
    for infix in _DELETE_ORDER:
        table = _TABLE_BY_INFIX[infix]
        for chunk in _chunks(by_table.get(infix, [])):
            # Every deleted row is noted as it was: for the audit log and the journal.
            for row in conn.execute(sa.select(table).where(table.c.uuid.in_(chunk))):
                transaction.note(conn, table.name, row.uuid, dict(row._mapping), None)
            conn.execute(table.delete().where(table.c.uuid.in_(chunk)))
    for chunk in _chunks(ordered):
        conn.execute(tables.entries.delete().where(tables.entries.c.object_uuid.in_(chunk)))
    return doomed
