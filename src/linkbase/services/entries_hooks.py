"""Keeping Laserfiche entry ids in step with the object graph.

A project, collection or shortcut link placed (created or moved) inside a repository's root
project tree gets an integer entry id in that repository, in the same transaction; one moved out
loses it. Both faces therefore see the same entries at all times.

A **shortcut** is a link ``{link_class: "shortcut", owner_uuid: folder, name, head_uuid:
target}``: the entry is the link itself, owned by its folder like any child, so it is read,
moved, renamed and deleted with the folder's permissions, and the §6 cascade deletes it with its
target.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from linkbase.storage import tables

_entries = tables.entries
_repos = tables.repositories
_links = tables.links

#: The link class of Laserfiche shortcut entries.
SHORTCUT = "shortcut"


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


def on_link_written(conn: Connection, link: dict[str, Any], *, was_shortcut: bool = False
                    ) -> None:
    """Called after a link is created or updated: a shortcut is an entry where its owner is a
    folder; a link that is no longer a shortcut is no longer an entry. Other links cost
    nothing here."""
    if link.get("link_class") == SHORTCUT:
        on_placed(conn, link["uuid"], link.get("owner_uuid"))
    elif was_shortcut:
        conn.execute(_entries.delete().where(_entries.c.object_uuid == link["uuid"]))


def child_objects(conn: Connection, folder_uuid: str, *, any_group: bool = False
                  ) -> list[str]:
    """The objects that are entries when their owner is: projects, collections, shortcuts
    (with ``any_group``, groups of every class: a moved filter group may have an entry)."""
    groups = sa.select(tables.groups.c.uuid).where(tables.groups.c.owner_uuid == folder_uuid)
    queries = (
        groups if any_group else groups.where(tables.groups.c.group_class == "project"),
        sa.select(tables.collections.c.uuid).where(tables.collections.c.owner_uuid ==
                                                   folder_uuid),
        sa.select(_links.c.uuid).where(_links.c.owner_uuid == folder_uuid,
                                       _links.c.link_class == SHORTCUT),
    )
    return [row[0] for query in queries for row in conn.execute(query)]


def _allocate_subtree(conn: Connection, repository_id: str, root_uuid: str) -> None:
    frontier = [root_uuid]
    while frontier:
        uuid = frontier.pop()
        allocate_entry(conn, repository_id, uuid)
        frontier.extend(child_objects(conn, uuid))


def _drop_subtree(conn: Connection, root_uuid: str) -> None:
    frontier = [root_uuid]
    while frontier:
        uuid = frontier.pop()
        conn.execute(_entries.delete().where(_entries.c.object_uuid == uuid))
        frontier.extend(child_objects(conn, uuid, any_group=True))
