"""The well-known objects and seed links every new database holds (spec §2.2, DESIGN §1)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from linkbase.domain import uuids
from linkbase.domain.levels import level_of_name
from linkbase.domain.uuids import WellKnown
from linkbase.services.records import insert_record
from linkbase.storage import tables
from linkbase.storage.closure import ClosureChange, closure_change
from linkbase.storage.locks import lock_permission_graph

DEFAULT_LINK_DEFINITIONS = (
    ("Email", "Attachment", "Email Attachment"),
    ("Supersedes", "Superseded by", "Supersedes"),
    ("Agenda", "Packet", "Agenda Packet"),
)
DEFAULT_REPOSITORY = "r-default"


def system_permission_link(conn: Connection, change: ClosureChange, wk: WellKnown, tail: str,
                           head: str, name: str) -> dict[str, object]:
    """A permission link owned by the system user, with its closure edge."""
    record = insert_record(
        conn,
        tables.links,
        {
            "uuid": uuids.new_uuid(wk.cluster_id, uuids.LINK), "owner_uuid": wk.system_user,
            "link_class": "permission", "name": name, "tail_uuid": tail, "head_uuid": head,
            "properties": {},
        },
        wk.system_user,
    )
    change.set_edge(str(record["uuid"]), tail, head, int(level_of_name(name)))
    return record


def _user(conn: Connection, wk: WellKnown, uuid: str, **values: object) -> None:
    insert_record(
        conn,
        tables.users,
        {"uuid": uuid, "owner_uuid": wk.system_user, "prefs": {}, "username": None,
         "last_name": None, **values},
        wk.system_user,
    )


def _group(conn: Connection, wk: WellKnown, uuid: str, name: str, group_class: str) -> None:
    insert_record(
        conn,
        tables.groups,
        {"uuid": uuid, "owner_uuid": wk.system_user, "name": name, "description": None,
         "group_class": group_class, "properties": {}},
        wk.system_user,
    )


def is_seeded(conn: Connection, wk: WellKnown) -> bool:
    """True once the system user exists."""
    found = conn.execute(
        sa.select(tables.users.c.uuid).where(tables.users.c.uuid == wk.system_user)
    ).first()
    return found is not None


def seed(conn: Connection, wk: WellKnown) -> None:
    """Create the well-known objects, seed links, link definitions and default repository.

    Servers starting together on a new database seed it once: the graph lock (which the seed
    edges need anyway) is taken before looking.
    """
    lock_permission_graph(conn)
    if is_seeded(conn, wk):
        return
    _user(conn, wk, wk.system_user, email="root", first_name="root", username="root",
          is_admin=True, is_active=True)
    _user(conn, wk, wk.anonymous_user, email="anonymous", first_name="Anonymous",
          username="anonymous", is_admin=False, is_active=False)
    _group(conn, wk, wk.system_group, "System group", "role")
    _group(conn, wk, wk.all_users, "All users", "role")
    _group(conn, wk, wk.anonymous_group, "Anonymous users", "role")
    _group(conn, wk, wk.public_favorites, "Public favorites", "project")
    root_folder = uuids.new_uuid(wk.cluster_id, uuids.GROUP)
    _group(conn, wk, root_folder, f"Repository {DEFAULT_REPOSITORY}", "project")
    with closure_change(conn) as change:
        for uuid in (wk.system_user, wk.anonymous_user):
            change.set_edge(uuid, wk.system_user, uuid, 3)
            change.add_principal(uuid)
        for uuid in (wk.system_group, wk.all_users, wk.anonymous_group, wk.public_favorites,
                     root_folder):
            change.set_edge(uuid, wk.system_user, uuid, 3)
        system_permission_link(conn, change, wk, wk.all_users, wk.anonymous_group, "can_read")
        system_permission_link(conn, change, wk, wk.anonymous_group, wk.public_favorites,
                               "can_read")
        system_permission_link(conn, change, wk, wk.anonymous_user, wk.anonymous_group,
                               "can_read")
    for source, target, description in DEFAULT_LINK_DEFINITIONS:
        conn.execute(
            tables.link_definitions.insert().values(
                source_label=source, target_label=target, description=description
            )
        )
    create_repository(conn, DEFAULT_REPOSITORY, "Default repository", root_folder)


def create_repository(conn: Connection, repository_id: str, name: str, root_uuid: str) -> None:
    """Register a repository whose root folder (entry 1) is the project ``root_uuid``."""
    conn.execute(
        tables.repositories.insert().values(
            id=repository_id, name=name, root_uuid=root_uuid, next_entry_id=2
        )
    )
    conn.execute(
        tables.entries.insert().values(repository_id=repository_id, entry_id=1,
                                       object_uuid=root_uuid)
    )
