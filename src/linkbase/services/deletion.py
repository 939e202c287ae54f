"""Deleting objects (spec §6): the object, what a project owns, and every link pointing at them.

Linkbase has no trash: a deleted project takes its contents with it, and every link whose head
or tail is a deleted uuid goes too, without further permission checks, in the same transaction
as the closure update.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from linkbase.domain import uuids
from linkbase.storage import tables
from linkbase.storage.closure import ClosureChange

_CHUNK = 500


def _chunks(items: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def collect_owned(conn: Connection, roots: Iterable[str]) -> set[str]:
    """``roots`` plus everything projects among them own, recursively."""
    found: set[str] = set(roots)
    frontier = [u for u in found if uuids.infix_of(u) == uuids.GROUP]
    while frontier:
        next_frontier: list[str] = []
        for chunk in _chunks(frontier):
            for table in (tables.groups, tables.collections, tables.links):
                for (uuid,) in conn.execute(
                    sa.select(table.c.uuid).where(table.c.owner_uuid.in_(chunk))
                ):
                    if uuid not in found:
                        found.add(uuid)
                        if table is tables.groups:
                            next_frontier.append(uuid)
        frontier = next_frontier
    return found


def collect_referencing_links(conn: Connection, targets: set[str]) -> set[str]:
    """Links whose head or tail is in ``targets``, and links pointing at those, recursively."""
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
        frontier = next_frontier
    return found


def delete_objects(conn: Connection, change: ClosureChange, roots: Iterable[str]) -> set[str]:
    """Delete ``roots`` with the §6 cascade; returns every uuid deleted."""
    doomed = collect_owned(conn, roots)
    doomed |= collect_referencing_links(conn, doomed)
    ordered = sorted(doomed)
    change.remove_edges(ordered)
    for uuid in ordered:
        if uuids.infix_of(uuid) in (uuids.GROUP, uuids.USER):
            change.drop_node(uuid)
    by_table: dict[str, list[str]] = {}
    for uuid in ordered:
        infix = uuids.infix_of(uuid)
        by_table.setdefault(infix or "", []).append(uuid)
    table_by_infix = {
        uuids.LINK: tables.links,
        uuids.COLLECTION: tables.collections,
        uuids.GROUP: tables.groups,
        uuids.TOKEN: tables.api_client_authorizations,
        uuids.USER: tables.users,
    }
    for infix in (uuids.LINK, uuids.COLLECTION, uuids.GROUP, uuids.TOKEN, uuids.USER):
        table = table_by_infix[infix]
        for chunk in _chunks(by_table.get(infix, [])):
            conn.execute(table.delete().where(table.c.uuid.in_(chunk)))
    for chunk in _chunks(ordered):
        conn.execute(tables.entries.delete().where(tables.entries.c.object_uuid.in_(chunk)))
    return doomed
