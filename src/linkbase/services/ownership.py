"""Rules for writing owned objects (spec §4.5): who may own what, and which references are valid."""

from __future__ import annotations

from typing import Any

from linkbase.domain import uuids
from linkbase.domain.errors import InvalidArgumentError, PermissionDeniedError
from linkbase.domain.levels import Level
from linkbase.services.permissions import Access


def humanize(attr: str) -> str:
    """``owner_uuid`` → ``Owner uuid`` (Rails' error wording)."""
    words = attr.replace("_", " ")
    return words[:1].upper() + words[1:]


def check_reference(access: Access, attr: str, value: str | None) -> None:
    """A ``*_uuid`` value must be null, the system user, an arbitrary string or readable (422)."""
    if value is None or value == access.wk.system_user:
        return
    if not uuids.is_uuid(value) or uuids.infix_of(value) not in uuids.KIND_BY_INFIX:
        return
    if not access.readable_reference(value):
        raise InvalidArgumentError(f"{humanize(attr)} '{value}' not found")


def require_active(access: Access) -> None:
    """Inactive users (the anonymous user included) may read but never write (403)."""
    if not access.caller.is_active and not access.caller.is_admin:
        raise PermissionDeniedError("Forbidden")


def check_owner(access: Access, owner_uuid: str) -> dict[str, Any] | None:
    """The owner must be readable (422), the caller active, the owner a user or a project and
    writable by the caller (each 403). Returns the owner row."""
    if owner_uuid == access.caller.uuid:
        require_active(access)
        return access.lookup(owner_uuid)
    if not access.readable_reference(owner_uuid):
        raise InvalidArgumentError(f"Owner uuid '{owner_uuid}' not found")
    require_active(access)
    owner = access.lookup(owner_uuid)
    infix = uuids.infix_of(owner_uuid)
    if owner is None or infix not in (uuids.USER, uuids.GROUP):
        raise PermissionDeniedError("Owner uuid must be set to User or Group")
    if infix == uuids.GROUP and owner.get("group_class") != "project":
        raise PermissionDeniedError("Owner uuid must be a project")
    if not access.can(Level.WRITE, owner_uuid, owner.get("owner_uuid")):
        raise PermissionDeniedError("Forbidden")
    return owner


def check_no_cycle(access: Access, group_uuid: str, new_owner: str) -> None:
    """A project may not become its own ancestor (422)."""
    seen: set[str] = set()
    current: str | None = new_owner
    while current is not None and uuids.infix_of(current) == uuids.GROUP and current not in seen:
        if current == group_uuid:
            raise InvalidArgumentError("Owner uuid would create an ownership cycle")
        seen.add(current)
        row = access.lookup(current)
        current = row.get("owner_uuid") if row else None
