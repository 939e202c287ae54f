"""Name rules shared by projects and collections: no ``.``/``..``/``/``, unique per owner."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from linkbase.domain.errors import ConflictError, InvalidArgumentError


def check_path_name(name: str | None) -> None:
    """Names that are path components cannot be ``.``/``..`` or contain ``/`` (422)."""
    if name is None:
        return
    if name in (".", "..") or "/" in name:
        raise InvalidArgumentError(f"Name '{name}' is not allowed")


def unique_name(conn: Connection, table: sa.Table, owner_uuid: str | None, name: str | None,
                uuid: str, ensure_unique: bool) -> str | None:
    """``name`` if free under ``owner_uuid``; else the renamed form or a 422 conflict."""
    if name is None:
        return None
    clash = conn.execute(
        sa.select(table.c.uuid).where(
            table.c.owner_uuid == owner_uuid, table.c.name == name, table.c.uuid != uuid
        )
    ).first()
    if clash is None:
        return name
    if not ensure_unique:
        raise ConflictError(f"Name has already been taken: '{name}' already exists in this owner")
    return f"{name[:237]} ({uuid[-15:]})"
