"""Laserfiche repositories: a root project per repository, registered with entry id 1."""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from linkbase.domain import uuids
from linkbase.domain.errors import ConflictError, InvalidArgumentError, PermissionDeniedError
from linkbase.domain.levels import Level
from linkbase.domain.limits import check_text
from linkbase.domain.uuids import WellKnown
from linkbase.services.context import Caller, Services
from linkbase.services.records import insert_record
from linkbase.services.seeding import create_repository
from linkbase.storage import tables
from linkbase.storage.closure import closure_change

#: Repository ids (also what ``entries.get_repository`` looks up: nothing else can exist).
ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}\Z")


def create_repository_with_root(conn: Connection, wk: WellKnown, repository_id: str,
                                name: str) -> dict[str, Any]:
    """Create a repository and its root folder (a project owned by the system user)."""
    if not ID_RE.match(repository_id):
        raise InvalidArgumentError(f"Invalid repository id '{repository_id}'")
    exists = conn.execute(
        sa.select(tables.repositories.c.id).where(tables.repositories.c.id == repository_id)
    ).first()
    if exists is not None:
        raise ConflictError(f"Repository '{repository_id}' already exists")
    root = uuids.new_uuid(wk.cluster_id, uuids.GROUP)
    insert_record(
        conn,
        tables.groups,
        {"uuid": root, "owner_uuid": wk.system_user, "name": f"Repository {repository_id}",
         "description": None, "group_class": "project", "properties": {}},
        wk.system_user,
    )
    with closure_change(conn) as change:
        change.set_edge(root, wk.system_user, root, int(Level.MANAGE))
    create_repository(conn, repository_id, name, root)
    return {"id": repository_id, "name": name, "root_uuid": root}


def list_repositories(conn: Connection) -> list[dict[str, Any]]:
    """Every repository, by id."""
    return [
        dict(r._mapping)
        for r in conn.execute(sa.select(tables.repositories).order_by(tables.repositories.c.id))
    ]


# -- use cases (one transaction each) ------------------------------------------------------


def all_repositories(services: Services) -> list[dict[str, Any]]:
    """Use case: every repository (no authentication needed)."""
    return services.uow.read_as_server(lambda access: list_repositories(access.conn))


def add_repository(services: Services, caller: Caller, repository_id: str,
                   name: str) -> dict[str, Any]:
    """Use case: create a repository with its root folder (admins only)."""
    if not caller.is_admin:
        raise PermissionDeniedError("Forbidden")
    check_text(name, "name")
    return services.uow.write(caller, lambda access: create_repository_with_root(
        access.conn, access.wk, repository_id, name))
