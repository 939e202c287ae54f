"""Rules for writing owned objects (spec §4.5): who may own what, and which references are valid.

The rules are written once, over :class:`Facts` — what the caller may read and write and what
each referenced object is. :class:`AccessFacts` answers with a query per question (one object
at a time: the Arvados verbs); ``services.link_sets.PrefetchedFacts`` answers from a few
set-based queries made up front (a bulk import, a Laserfiche PUT). Both give the same answers,
so the same item is accepted or refused with the same message whichever way it is written.
"""

from __future__ import annotations

from typing import Any, Protocol

from linkbase.domain import uuids
from linkbase.domain.errors import InvalidArgumentError, LinkbaseError, PermissionDeniedError
from linkbase.domain.levels import Level
from linkbase.services.permissions import Access


class Facts(Protocol):
    """What the owner and reference rules need to know about the caller and the objects."""

    @property
    def caller_uuid(self) -> str:
        """The caller."""

    @property
    def caller_may_write(self) -> bool:
        """The caller is active or an admin (inactive users may read but never write)."""

    @property
    def system_user(self) -> str:
        """The system user's uuid (always a valid reference)."""

    def readable(self, uuid: str) -> bool:
        """The caller may read the stored or foreign-kind object ``uuid`` (False if none)."""

    def row(self, uuid: str) -> dict[str, Any] | None:
        """The stored row of ``uuid`` (None for foreign kinds and missing objects)."""

    def writable(self, uuid: str, row: dict[str, Any] | None) -> bool:
        """``can(U, 2, uuid)`` for the object with this stored row."""


class AccessFacts:
    """:class:`Facts` answered by queries through an :class:`Access`, one object at a time."""

    def __init__(self, access: Access) -> None:
        self.access = access

    @property
    def caller_uuid(self) -> str:
        return self.access.caller.uuid

    @property
    def caller_may_write(self) -> bool:
        return self.access.caller.is_active or self.access.caller.is_admin

    @property
    def system_user(self) -> str:
        return self.access.wk.system_user

    def readable(self, uuid: str) -> bool:
        return self.access.readable_reference(uuid)

    def row(self, uuid: str) -> dict[str, Any] | None:
        return self.access.lookup(uuid)

    def writable(self, uuid: str, row: dict[str, Any] | None) -> bool:
        return self.access.can(Level.WRITE, uuid, row.get("owner_uuid") if row else None)


def humanize(attr: str) -> str:
    """``owner_uuid`` → ``Owner uuid`` (Rails' error wording)."""
    words = attr.replace("_", " ")
    return words[:1].upper() + words[1:]


def is_checked_reference(value: str | None, facts: Facts) -> bool:
    """Whether a ``*_uuid`` value names an object that must exist and be readable: not null,
    not the system user, not an arbitrary string (spec §2.1, §4.5)."""
    return (value is not None and value != facts.system_user and uuids.is_uuid(value)
            and uuids.infix_of(value) in uuids.KIND_BY_INFIX)


def reference_problem(attr: str, value: str | None, facts: Facts) -> LinkbaseError | None:
    """Why ``value`` cannot be stored in ``attr`` (422), or None."""
    if is_checked_reference(value, facts) and not facts.readable(str(value)):
        return InvalidArgumentError(f"{humanize(attr)} '{value}' not found")
    return None


def owner_problem(owner_uuid: str, facts: Facts) -> LinkbaseError | None:
    """Why ``owner_uuid`` cannot own what the caller writes, or None: the owner must be readable
    (422), the caller active, the owner a user or a project and writable by the caller (403)."""
    if owner_uuid == facts.caller_uuid:
        # Read (and, in a write transaction, lock against deletion) the caller's own record:
        # a user being deleted must not end up owning what this transaction creates.
        facts.row(owner_uuid)
        return None if facts.caller_may_write else PermissionDeniedError("Forbidden")
    if not facts.readable(owner_uuid):
        return InvalidArgumentError(f"Owner uuid '{owner_uuid}' not found")
    if not facts.caller_may_write:
        return PermissionDeniedError("Forbidden")
    owner = facts.row(owner_uuid)
    infix = uuids.infix_of(owner_uuid)
    if owner is None or infix not in (uuids.USER, uuids.GROUP):
        return PermissionDeniedError("Owner uuid must be set to User or Group")
    if infix == uuids.GROUP and owner.get("group_class") != "project":
        return PermissionDeniedError("Owner uuid must be a project")
    if not facts.writable(owner_uuid, owner):
        return PermissionDeniedError("Forbidden")
    return None


def check_reference(access: Access, attr: str, value: str | None) -> None:
    """A ``*_uuid`` value must be null, the system user, an arbitrary string or readable (422)."""
    problem = reference_problem(attr, value, AccessFacts(access))
    if problem is not None:
        raise problem


def require_active(access: Access) -> None:
    """Inactive users (the anonymous user included) may read but never write (403)."""
    if not access.caller.is_active and not access.caller.is_admin:
        raise PermissionDeniedError("Forbidden")


def check_owner(access: Access, owner_uuid: str) -> None:
    """:func:`owner_problem`, raised."""
    problem = owner_problem(owner_uuid, AccessFacts(access))
    if problem is not None:
        raise problem


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
