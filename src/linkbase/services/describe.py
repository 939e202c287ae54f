"""Objects by name and kind: what a person needs to recognise a uuid.

The workbench, the graph queries and the CLI show link ends as "Contracts (project)" rather than
``zzzzz-j7d0g-…``. Everything here reads through the permission engine: an object the caller cannot
read is left out, exactly as if it did not exist, so a description never names it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from linkbase.domain import uuids
from linkbase.domain.errors import InvalidArgumentError, NotFoundError
from linkbase.domain.levels import NAME_BY_LEVEL
from linkbase.domain.resources import RESOURCES
from linkbase.services import entries as entry_service
from linkbase.services.context import Caller, Services
from linkbase.services.permissions import TABLE_BY_RESOURCE, Access
from linkbase.storage import tables

#: Most uuids described by one request.
MAX_DESCRIBE = 1000
_CHUNK = 500
#: Kinds a description covers (tokens are credentials, not things people link).
_DESCRIBED = ("users", "groups", "collections", "links")


def _label(resource: str, row: dict[str, Any]) -> str | None:
    """The human name of a stored row (users: full name, else username, else email)."""
    if resource == "users":
        full = " ".join(p for p in (row.get("first_name"), row.get("last_name")) if p).strip()
        return full or row.get("username") or row.get("email")
    if resource == "links":
        return " ".join(p for p in (row.get("link_class"), row.get("name")) if p) or None
    value = row.get("name")
    return str(value) if value is not None else None


def _render(resource: str, row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "uuid": row["uuid"], "kind": RESOURCES[resource].kind,
        "name": _label(resource, row), "owner_uuid": row.get("owner_uuid"),
    }
    if resource == "groups":
        out["group_class"] = row["group_class"]
    if resource == "users":
        out["username"] = row.get("username")
    if resource == "links":
        out.update({"link_class": row["link_class"], "tail_uuid": row["tail_uuid"],
                    "head_uuid": row["head_uuid"]})
    return out


def describe(access: Access, object_uuids: Iterable[str], *, check: bool = True
             ) -> dict[str, dict[str, Any]]:
    """``{uuid, kind, name, owner_uuid, ...}`` of each named object the caller may read.

    ``check=False`` skips the permission filter, for uuids the caller's access was already
    decided on (the graph queries only ever reach readable objects). Foreign kinds (spec §2.1)
    are described by kind alone; strings that are not uuids are left out.
    """
    wanted = sorted({u for u in object_uuids if uuids.is_uuid(u)})
    found: dict[str, dict[str, Any]] = {}
    sets = access.visibility_sets() if check and not access.caller.is_admin else None
    for resource in _DESCRIBED:
        table = TABLE_BY_RESOURCE[resource]
        mine = [u for u in wanted if uuids.infix_of(u) == RESOURCES[resource].infix]
        for start in range(0, len(mine), _CHUNK):
            query = sa.select(table).where(table.c.uuid.in_(mine[start : start + _CHUNK]))
            if check:
                visible = access.readable_clause(RESOURCES[resource], table, sets)
                if visible is not None:
                    query = query.where(visible)
            for row in access.conn.execute(query).mappings():
                found[row["uuid"]] = _render(resource, dict(row))
    for uuid in wanted:
        if uuids.is_foreign(uuid) and (not check or access.readable_reference(uuid)):
            found[uuid] = {"uuid": uuid, "kind": uuids.kind_of(uuid), "name": None,
                           "owner_uuid": None}
    return found


def _ancestors(access: Access, owner_uuid: str | None) -> list[dict[str, Any]]:
    """The readable ownership chain above an object, outermost first.

    It stops at the first owner the caller cannot read (its name would leak) or at a user.
    """
    chain: list[dict[str, Any]] = []
    seen: set[str] = set()
    current = owner_uuid
    while current and current not in seen and len(chain) < 64:
        seen.add(current)
        found = describe(access, [current]).get(current)
        if found is None:
            break
        chain.append(found)
        if uuids.infix_of(current) != uuids.GROUP:
            break
        current = found.get("owner_uuid")
    return list(reversed(chain))


def _entry_of(access: Access, object_uuid: str) -> dict[str, Any] | None:
    """The Laserfiche entry an object is, if any: ``{repository_id, entry_id, entry_type}``."""
    row = access.conn.execute(
        sa.select(tables.entries.c.repository_id, tables.entries.c.entry_id)
        .where(tables.entries.c.object_uuid == object_uuid)
    ).first()
    if row is None:
        return None
    entry_type = "Folder" if uuids.infix_of(object_uuid) == uuids.GROUP else "Document"
    return {"repository_id": row.repository_id, "entry_id": int(row.entry_id),
            "entry_type": entry_type}


def summary(access: Access, object_uuid: str) -> dict[str, Any]:
    """One object as the workbench's page header needs it (NotFoundError if unreadable).

    Its description plus ``ancestors`` (the readable ownership chain, for breadcrumbs),
    ``entry`` (its Laserfiche entry, or null) and ``level`` (the caller's own access to it).
    """
    if not uuids.is_uuid(object_uuid):
        raise InvalidArgumentError(f"Invalid uuid '{object_uuid}'")
    found = describe(access, [object_uuid]).get(object_uuid)
    if found is None:
        raise NotFoundError()
    level = access.level_on(object_uuid, found.get("owner_uuid"))
    return {**found, "ancestors": _ancestors(access, found.get("owner_uuid")),
            "entry": _entry_of(access, object_uuid),
            "level": NAME_BY_LEVEL.get(level, "none")}


def entry_summary(access: Access, repository_id: str, entry_id: int) -> dict[str, Any]:
    """:func:`summary` of the object behind a Laserfiche entry (NotFoundError if unreadable)."""
    entry = entry_service.load_entry(access, repository_id, entry_id)
    return summary(access, entry.uuid)


# -- use cases (one read snapshot each) --------------------------------------------------------


def describe_many(services: Services, caller: Caller, object_uuids: list[str]
                  ) -> list[dict[str, Any]]:
    """Use case: the readable ones among ``object_uuids``, in the order asked."""
    if len(object_uuids) > MAX_DESCRIBE:
        raise InvalidArgumentError(f"At most {MAX_DESCRIBE} uuids per request")
    found = services.uow.read(caller, describe, object_uuids)
    return [found[u] for u in dict.fromkeys(object_uuids) if u in found]


def object_summary(services: Services, caller: Caller, object_uuid: str) -> dict[str, Any]:
    """Use case: :func:`summary`."""
    return services.uow.read(caller, summary, object_uuid)


def entry_object(services: Services, caller: Caller, repository_id: str, entry_id: int
                 ) -> dict[str, Any]:
    """Use case: :func:`entry_summary`."""
    return services.uow.read(caller, entry_summary, repository_id, entry_id)
