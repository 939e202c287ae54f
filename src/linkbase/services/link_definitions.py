"""Laserfiche link definitions: the typed relations a ``relation`` link's name refers to."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from linkbase.domain.errors import (
    ConflictError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
)
from linkbase.domain.limits import check_text
from linkbase.services.context import Caller, Services
from linkbase.services.permissions import Access
from linkbase.storage import tables

_defs = tables.link_definitions


def create_link_definition(conn: Connection, source_label: str, target_label: str,
                           description: str) -> dict[str, Any]:
    """Add a definition; descriptions are unique because they name the relation links."""
    for label, value in (("source_label", source_label), ("target_label", target_label),
                         ("description", description)):
        if not isinstance(value, str) or not value.strip():
            raise InvalidArgumentError(f"{label} must be a non-empty string")
    if conn.execute(sa.select(_defs.c.id).where(_defs.c.description == description)).first():
        raise ConflictError(f"A link definition with description '{description}' exists")
    result = conn.execute(
        _defs.insert().values(source_label=source_label, target_label=target_label,
                              description=description)
    )
    new_id = result.inserted_primary_key[0] if result.inserted_primary_key else None
    return {"id": new_id, "source_label": source_label, "target_label": target_label,
            "description": description}


def list_link_definitions(conn: Connection) -> list[dict[str, Any]]:
    """Every definition, by id."""
    return [dict(r._mapping) for r in conn.execute(sa.select(_defs).order_by(_defs.c.id))]


def get_link_definition(conn: Connection, definition_id: int) -> dict[str, Any]:
    """One definition (404 if unknown)."""
    row = conn.execute(sa.select(_defs).where(_defs.c.id == definition_id)).first()
    if row is None:
        raise NotFoundError("Link definition not found")
    return dict(row._mapping)


# -- use cases (one transaction each) ------------------------------------------------------


def _in_repository(access: Access, repository_id: str, definition_id: int | None
                   ) -> list[dict[str, Any]]:
    from linkbase.services.entries import get_repository

    get_repository(access.conn, repository_id)
    if definition_id is None:
        return list_link_definitions(access.conn)
    return [get_link_definition(access.conn, definition_id)]


def for_repository(services: Services, caller: Caller, repository_id: str
                   ) -> list[dict[str, Any]]:
    """Use case: every definition, as seen from a repository (NotFoundError if unknown)."""
    return services.uow.read(caller, _in_repository, repository_id, None)


def one_for_repository(services: Services, caller: Caller, repository_id: str,
                       definition_id: int) -> dict[str, Any]:
    """Use case: one definition, as seen from a repository."""
    return services.uow.read(caller, _in_repository, repository_id, definition_id)[0]


def all_definitions(services: Services, caller: Caller) -> list[dict[str, Any]]:
    """Use case: every definition (any authenticated caller)."""
    return services.uow.read(caller, lambda access: list_link_definitions(access.conn))


def add_definition(services: Services, caller: Caller, source_label: str, target_label: str,
                   description: str) -> dict[str, Any]:
    """Use case: add a definition (admins only)."""
    if not caller.is_admin:
        raise PermissionDeniedError("Forbidden")
    check_text(source_label, "source_label")
    check_text(target_label, "target_label")
    check_text(description, "description")
    return services.uow.write(caller, lambda access: create_link_definition(
        access.conn, source_label, target_label, description))
