"""Keeping Laserfiche entry ids in step with the object graph.

A project or collection placed (created or moved) inside a repository's root project tree gets an
integer entry id in that repository, in the same transaction; one moved out loses it. Both faces
therefore see the same entries at all times.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from linkbase.storage import tables

_entries = tables.entries
_repos = tables.repositories


def repository_of_owner(conn: Connection, owner_uuid: str | None) -> str | None:
    """The repository whose tree ``owner_uuid`` (a folder) is in, or None."""
    if owner_uuid is None:
        return None
    row = conn.execute(
        sa.select(_entries.c.repository_id).where(_entries.c.object_uuid == owner_uuid)
    ).first()
    return str(row[0]) if row is not None else None


def allocate_entry(conn: Connection, repository_id: str, object_uuid: str) -> int:
    """Give ``object_uuid`` the next entry id of ``repository_id``."""
    # One atomic increment: on PostgreSQL the row lock serializes concurrent allocations, where
    # a read-then-write could hand the same id to two transactions.
    next_id = conn.execute(
        _repos.update()
        .where(_repos.c.id == repository_id)
        .values(next_entry_id=_repos.c.next_entry_id + 1)
        .returning(_repos.c.next_entry_id)
    ).scalar_one() - 1
    conn.execute(
        _entries.insert().values(
            repository_id=repository_id, entry_id=next_id, object_uuid=object_uuid
        )
    )
    return int(next_id)


def on_placed(conn: Connection, object_uuid: str, owner_uuid: str | None) -> None:
    """Called after a project/collection is created or its owner changes."""
    target_repo = repository_of_owner(conn, owner_uuid)
    current = conn.execute(
        sa.select(_entries.c.repository_id).where(_entries.c.object_uuid == object_uuid)
    ).first()
    current_repo = str(current[0]) if current is not None else None
    if current_repo == target_repo:
        return
    if current_repo is not None:
        _drop_subtree(conn, object_uuid)
    if target_repo is not None:
        _allocate_subtree(conn, target_repo, object_uuid)


def _allocate_subtree(conn: Connection, repository_id: str, root_uuid: str) -> None:
    frontier = [root_uuid]
    while frontier:
        uuid = frontier.pop()
        allocate_entry(conn, repository_id, uuid)
        for table in (tables.groups, tables.collections):
            query = sa.select(table.c.uuid).where(table.c.owner_uuid == uuid)
            if table is tables.groups:
                query = query.where(table.c.group_class == "project")
            frontier.extend(row[0] for row in conn.execute(query))


def _drop_subtree(conn: Connection, root_uuid: str) -> None:
    frontier = [root_uuid]
    while frontier:
        uuid = frontier.pop()
        conn.execute(_entries.delete().where(_entries.c.object_uuid == uuid))
        for table in (tables.groups, tables.collections):
            frontier.extend(
                row[0]
                for row in conn.execute(sa.select(table.c.uuid).where(table.c.owner_uuid == uuid))
            )
