"""Laserfiche link definitions: the typed relations a ``relation`` link's name refers to."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from linkbase.domain.errors import ConflictError, InvalidArgumentError, NotFoundError
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
