"""Links (spec §5): create, update, delete and get_permissions with every class's rules.

Permission links are edges of the permission graph: their writes go through the closure in the
same transaction. Dedupe happens only after every check a creator must pass, so an existing
grant is never revealed to, or changed by, a caller who could not have created it.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from linkbase import checkpoints
from linkbase.domain import uuids
from linkbase.domain.errors import (
    ConflictError,
    InvalidArgumentError,
    LinkbaseError,
    NotFoundError,
    PermissionDeniedError,
)
from linkbase.domain.levels import LADDER_NAMES, PERMISSION_NAMES, Level, level_of_name
from linkbase.domain.resources import LINKS
from linkbase.services import entries_hooks, ownership
from linkbase.services.context import Caller, Services
from linkbase.services.deletion import delete_objects, may_remove_edges
from linkbase.services.permissions import Access
from linkbase.services.records import fetch_record, insert_record, update_record
from linkbase.services.validation import clean_attrs, prepare_update
from linkbase.storage import tables
from linkbase.storage.closure import ClosureChange, closure_change
from linkbase.storage.locks import lock_permission_graph

_links = tables.links

_INVALID_NAME = (
    "Name is invalid permission, must be one of 'can_read', 'can_write', 'can_manage', 'can_login'"
)


def _normalise(attrs: dict[str, Any]) -> dict[str, Any]:
    for end in ("head_uuid", "tail_uuid"):
        if end in attrs:
            attrs[end] = uuids.normalise_reference(attrs[end])
    return attrs


def _kinds_problem(sent: dict[str, Any], values: dict[str, Any]) -> LinkbaseError | None:
    """Declared ``head_kind``/``tail_kind`` must match the kinds of the uuids (spec §5.1)."""
    for end in ("head", "tail"):
        kind = sent.get(f"{end}_kind")
        if kind is not None:
            uuid = values.get(f"{end}_uuid")
            expected = uuids.kind_of(uuid)
            if kind != expected:
                return InvalidArgumentError(
                    f"'{kind}' does not match uuid '{uuid}', expected '{expected}'")
    return None


def _check_kinds(attrs: dict[str, Any], merged: dict[str, Any]) -> None:
    """:func:`_kinds_problem` of an update (kinds are checked, never stored: popped)."""
    sent: dict[str, Any] = {k: attrs.pop(k) for k in ("head_kind", "tail_kind") if k in attrs}
    _raise(_kinds_problem(sent, merged))


def get_link(access: Access, uuid: str, *, for_update: bool = False) -> dict[str, Any]:
    """A link the caller may see (404 otherwise); ``for_update`` locks it (see
    ``records.fetch_record``)."""
    row = fetch_record(access.conn, _links, uuid, for_update=for_update)
    if row is None or not access.readable_row("links", row):
        raise NotFoundError()
    return row


def _lock_for_change(access: Access, uuid: str, *, deleting: bool = False) -> dict[str, Any]:
    """Locate a link to update or delete, taking the locks its change needs in lock order.

    A permission link's change touches the permission graph, so the graph lock comes first (its
    class cannot change, so an unlocked look at it decides; deleting any link may also remove
    grants on it); then the row itself is locked, so concurrent changes of one link apply one
    after the other (the last writer wins).
    """
    peek = fetch_record(access.conn, _links, uuid)
    if peek is not None and (
        peek["link_class"] == "permission"
        or (deleting and may_remove_edges(access.conn, [uuid]))
    ):
        lock_permission_graph(access.conn)
    return get_link(access, uuid, for_update=True)


def _check_permission_ends(access: Access, link: dict[str, Any]) -> None:
    """Steps 1–3 of a permission link create: name, tail a user/role, head an object."""
    if link.get("name") not in PERMISSION_NAMES:
        raise InvalidArgumentError(_INVALID_NAME)
    tail = link.get("tail_uuid")
    if tail is None:
        raise InvalidArgumentError("Tail uuid does not exist")
    tail_row = access.lookup(tail)
    if tail_row is None or not access.readable_reference(tail):
        raise InvalidArgumentError(f"Tail uuid '{tail}' not found")
    infix = uuids.infix_of(tail)
    if infix == uuids.GROUP and tail_row.get("group_class") != "role":
        raise InvalidArgumentError(
            f"Tail uuid must be a user or role, was group with group_class "
            f"{tail_row.get('group_class')}"
        )
    if infix not in (uuids.USER, uuids.GROUP):
        raise InvalidArgumentError("Tail uuid must be a user or role")
    head = link.get("head_uuid")
    if head is None or uuids.infix_of(head) is None:
        raise InvalidArgumentError("Head uuid does not exist")
    if not access.readable_reference(head):
        raise InvalidArgumentError(f"Head uuid '{head}' not found")


def _require_manage_head(access: Access, head: str | None) -> None:
    ownership.require_active(access)
    if access.caller.is_admin:
        return
    if head is None or not access.can_on_reference(Level.MANAGE, head):
        raise PermissionDeniedError("Forbidden")


def _ladder_siblings(conn: Connection, link: dict[str, Any]) -> list[dict[str, Any]]:
    rows = conn.execute(
        sa.select(_links).where(
            _links.c.link_class == "permission",
            _links.c.tail_uuid == link["tail_uuid"],
            _links.c.head_uuid == link["head_uuid"],
            _links.c.name.in_(LADDER_NAMES),
        )
    )
    return [dict(r._mapping) for r in rows]


def _login_siblings(conn: Connection, link: dict[str, Any]) -> list[dict[str, Any]]:
    username = (link.get("properties") or {}).get("username")
    rows = conn.execute(
        sa.select(_links).where(
            _links.c.link_class == "permission",
            _links.c.tail_uuid == link["tail_uuid"],
            _links.c.head_uuid == link["head_uuid"],
            _links.c.name == "can_login",
        )
    )
    return [
        dict(r._mapping)
        for r in rows
        if username is not None and (r._mapping["properties"] or {}).get("username") == username
    ]


def shape_problem(attrs: dict[str, Any], facts: ownership.Facts, *, is_admin: bool
                   ) -> LinkbaseError | None:
    """The checks every new link passes first (spec §1.4, §5.1): an assigned uuid, declared
    kinds, the obsolete ``name`` class."""
    uuid = attrs.get("uuid")
    if uuid is not None:
        if not is_admin:
            return InvalidArgumentError("Uuid assignment not permitted")
        if not isinstance(uuid, str) or uuids.infix_of(uuid) != uuids.LINK:
            return InvalidArgumentError(f"Invalid uuid '{uuid}' for Link")
        if facts.row(uuid) is not None:
            return InvalidArgumentError(f"Uuid '{uuid}' is already in use")
    kinds = _kinds_problem(attrs, attrs)
    if kinds is not None:
        return kinds
    if attrs.get("link_class") == "name":
        return InvalidArgumentError("Name Name links are obsolete")
    return None


def _ends_problem(attrs: dict[str, Any], facts: ownership.Facts) -> LinkbaseError | None:
    """A non-permission link's head and tail must be readable references (spec §4.5)."""
    for end in ("head_uuid", "tail_uuid"):
        problem = ownership.reference_problem(end, attrs.get(end), facts)
        if problem is not None:
            return problem
    return None


def new_link_problem(attrs: dict[str, Any], facts: ownership.Facts, *, is_admin: bool
                     ) -> LinkbaseError | None:
    """Why an ordinary link (not ``permission``, not ``published_port``) with these cleaned,
    normalised attributes cannot be created by the caller ``facts`` describe, or None: the
    checks of :func:`create_link`, in its order, with its messages. The set-based path
    (``services.link_sets``) applies it to every item of a batch."""
    return (shape_problem(attrs, facts, is_admin=is_admin) or _ends_problem(attrs, facts)
            or ownership.owner_problem(attrs.get("owner_uuid") or facts.caller_uuid, facts))


class NewLinkChecks:
    """:func:`new_link_problem` for many links against the same facts (a batch's prefetched
    sets): the answers about the ends and the owner depend only on their values, which repeat
    from link to link, so each distinct value is checked once (same checks, order, messages)."""

    def __init__(self, facts: ownership.Facts, *, is_admin: bool) -> None:
        self.facts = facts
        self.is_admin = is_admin
        self._ends: dict[tuple[Any, Any], LinkbaseError | None] = {}
        self._owners: dict[Any, LinkbaseError | None] = {}

    def problem(self, attrs: dict[str, Any]) -> LinkbaseError | None:
        """:func:`new_link_problem` of ``attrs``."""
        shape = shape_problem(attrs, self.facts, is_admin=self.is_admin)
        if shape is not None:
            return shape
        ends = self.ends_problem(attrs.get("head_uuid"), attrs.get("tail_uuid"))
        if ends is not None:
            return ends
        return self.owner_problem(attrs.get("owner_uuid") or self.facts.caller_uuid)

    def ends_problem(self, head: Any, tail: Any) -> LinkbaseError | None:
        """:func:`_ends_problem` of a link with these ends (checked once per pair)."""
        try:
            return self._ends[(head, tail)]
        except KeyError:
            found = self._ends[(head, tail)] = _ends_problem(
                {"head_uuid": head, "tail_uuid": tail}, self.facts)
            return found

    def owner_problem(self, owner: Any) -> LinkbaseError | None:
        """``ownership.owner_problem`` of ``owner`` (checked once per owner)."""
        try:
            return self._owners[owner]
        except KeyError:
            found = self._owners[owner] = ownership.owner_problem(owner, self.facts)
            return found


def _raise(problem: LinkbaseError | None) -> None:
    if problem is not None:
        raise problem


def create_link(access: Access, attrs: dict[str, Any], *, change: ClosureChange | None = None,
                ) -> dict[str, Any]:
    """Create a link (or return the existing permission link it duplicates, §5.4)."""
    conn = access.conn
    attrs = _normalise(clean_attrs(LINKS, attrs))
    facts = ownership.AccessFacts(access)
    if attrs.get("link_class") == "permission":
        # Before any check: the checks and the dedupe below must see every grant committed
        # before, and no other grant may be created between them and the insert.
        lock_permission_graph(conn)
    _raise(shape_problem(attrs, facts, is_admin=access.caller.is_admin))
    link: dict[str, Any] = {
        "link_class": None, "name": None, "tail_uuid": None, "head_uuid": None,
        "properties": {}, **attrs,
    }
    link.pop("head_kind", None)
    link.pop("tail_kind", None)
    requested_uuid = link.pop("uuid", None)
    if link["link_class"] == "permission":
        _check_permission_ends(access, link)
        _require_manage_head(access, link["head_uuid"])
        existing = _existing_grant(conn, link)
        checkpoints.reach("links.grant_checked")
        if existing is not None:
            return _upgrade_existing(access, existing, link, attrs, change)
        link["owner_uuid"] = access.wk.system_user
    else:
        _raise(_ends_problem(link, facts))
        if link["link_class"] == "published_port":
            _check_published_port(conn, link)
        link["owner_uuid"] = link.get("owner_uuid") or access.caller.uuid
        _raise(ownership.owner_problem(link["owner_uuid"], facts))
    link["uuid"] = requested_uuid or uuids.new_uuid(access.wk.cluster_id, uuids.LINK)
    if link["link_class"] == entries_hooks.SHORTCUT:
        _check_shortcut_name(conn, link)
    record = insert_record(conn, _links, link, access.caller.uuid)
    if record["link_class"] == "permission":
        _set_edge(conn, record, change)
    elif record["link_class"] == entries_hooks.SHORTCUT:
        entries_hooks.on_link_written(conn, record)
    return record


def _set_edge(conn: Connection, record: dict[str, Any], change: ClosureChange | None) -> None:
    level = int(level_of_name(record["name"]))
    if change is not None:
        change.set_edge(record["uuid"], record["tail_uuid"], record["head_uuid"], level)
        return
    with closure_change(conn) as own:
        own.set_edge(record["uuid"], record["tail_uuid"], record["head_uuid"], level)


def _check_published_port(conn: Connection, link: dict[str, Any]) -> None:
    if uuids.infix_of(link["head_uuid"]) != "xvhdp":
        raise InvalidArgumentError("Head uuid must be a container request UUID")
    clash = conn.execute(
        sa.select(_links.c.uuid).where(
            _links.c.link_class == "published_port", _links.c.name == link["name"]
        )
    ).first()
    if clash is not None:
        raise InvalidArgumentError("Name has already been taken")


def _check_shortcut_name(conn: Connection, link: dict[str, Any]) -> None:
    """A shortcut's name is unique among the shortcuts of its owner (folder), as entry names
    are; a unique index backs this under concurrency."""
    if link.get("name") is None:
        return
    clash = conn.execute(
        sa.select(_links.c.uuid).where(
            _links.c.link_class == entries_hooks.SHORTCUT,
            _links.c.owner_uuid == link["owner_uuid"], _links.c.name == link["name"],
            _links.c.uuid != link["uuid"],
        )
    ).first()
    if clash is not None:
        raise ConflictError(f"Name has already been taken: '{link['name']}' already exists "
                            "in this owner")


def _existing_grant(conn: Connection, link: dict[str, Any]) -> dict[str, Any] | None:
    if link["name"] == "can_login":
        found = _login_siblings(conn, link)
        return found[0] if found else None
    siblings = _ladder_siblings(conn, link)
    if not siblings:
        return None
    siblings.sort(key=lambda r: (-int(level_of_name(r["name"])), r["created_at"], r["id"]))
    return siblings[0]


def _upgrade_existing(access: Access, existing: dict[str, Any], link: dict[str, Any],
                      attrs: dict[str, Any], change: ClosureChange | None) -> dict[str, Any]:
    if link["name"] == "can_login":
        return existing
    if level_of_name(link["name"]) <= level_of_name(existing["name"]):
        return existing
    changes: dict[str, Any] = {"name": link["name"]}
    if "properties" in attrs:
        changes["properties"] = attrs["properties"]
    record = update_record(access.conn, _links, existing, changes, access.caller.uuid)
    _set_edge(access.conn, record, change)
    return record


def update_link(access: Access, uuid: str, attrs: dict[str, Any]) -> dict[str, Any]:
    """Update a link (§5.5): non-permission links need write; permission links only change level."""
    conn = access.conn
    attrs, current = prepare_update(LINKS, attrs, uuid, lambda u: _lock_for_change(access, u))
    attrs = _normalise(attrs)
    merged = {**current, **attrs}
    _check_kinds(attrs, merged)
    was_permission = current["link_class"] == "permission"
    if was_permission or merged.get("link_class") == "permission":
        if was_permission and merged.get("name") not in PERMISSION_NAMES:
            raise InvalidArgumentError(_INVALID_NAME)
        _require_manage_head(access, current["head_uuid"])
        for key in ("link_class", "head_uuid", "tail_uuid"):
            if key in attrs and attrs[key] != current[key]:
                raise InvalidArgumentError("Can only alter permission link level")
        attrs.pop("owner_uuid", None)
        with closure_change(conn) as change:
            record = update_record(conn, _links, current, attrs, access.caller.uuid)
            record = _merge_duplicates(access, record, change)
            change.set_edge(record["uuid"], record["tail_uuid"], record["head_uuid"],
                            int(level_of_name(record["name"])))
        return record
    for end in ("head_uuid", "tail_uuid", "owner_uuid"):
        if end in attrs and attrs[end] != current[end]:
            if end == "owner_uuid":
                if attrs[end] is None:
                    raise InvalidArgumentError("Owner uuid can't be blank")
                ownership.check_owner(access, attrs[end])
            else:
                ownership.check_reference(access, end, attrs[end])
    ownership.require_active(access)
    if not access.can(Level.WRITE, uuid, current["owner_uuid"]):
        raise PermissionDeniedError("Forbidden")
    if merged.get("link_class") == "name":
        raise InvalidArgumentError("Name Name links are obsolete")
    was_shortcut = current["link_class"] == entries_hooks.SHORTCUT
    if merged.get("link_class") == entries_hooks.SHORTCUT:
        _check_shortcut_name(conn, merged)
    record = update_record(conn, _links, current, attrs, access.caller.uuid)
    if was_shortcut or record["link_class"] == entries_hooks.SHORTCUT:
        entries_hooks.on_link_written(conn, record, was_shortcut=was_shortcut)
    return record


def _merge_duplicates(access: Access, record: dict[str, Any], change: ClosureChange
                      ) -> dict[str, Any]:
    conn = access.conn
    if record["name"] == "can_login":
        others = [r for r in _login_siblings(conn, record) if r["uuid"] != record["uuid"]]
    elif record["name"] in LADDER_NAMES:
        others = [r for r in _ladder_siblings(conn, record) if r["uuid"] != record["uuid"]]
        best = max([record, *others], key=lambda r: int(level_of_name(r["name"])))
        if level_of_name(best["name"]) > level_of_name(record["name"]):
            record = update_record(conn, _links, record, {"name": best["name"]},
                                   access.caller.uuid)
    else:
        others = []
    if others:
        delete_objects(conn, change, [r["uuid"] for r in others])
    return record


def delete_link(access: Access, uuid: str) -> dict[str, Any]:
    """Delete a link with the permission cascade (§5.6) and the §6 cascade; returns it as it was."""
    conn = access.conn
    current = _lock_for_change(access, uuid, deleting=True)
    if current["link_class"] == "permission":
        _require_manage_head(access, current["head_uuid"])
        doomed = [current["uuid"]]
        if current["name"] in LADDER_NAMES:
            doomed += [r["uuid"] for r in _ladder_siblings(conn, current)]
        elif current["name"] == "can_login":
            doomed += [r["uuid"] for r in _login_siblings(conn, current)]
    else:
        ownership.require_active(access)
        if not access.can(Level.WRITE, uuid, current["owner_uuid"]):
            raise PermissionDeniedError("Forbidden")
        doomed = [uuid]
    with closure_change(conn) as change:
        delete_objects(conn, change, set(doomed))
    return current


def permissions_on(services: Services, caller: Caller, uuid: str) -> list[dict[str, Any]]:
    """Use case: :func:`get_permissions` in one read snapshot."""
    return services.uow.read(caller, get_permissions, uuid)


def update_authorized(access: Access, changes: list[tuple[dict[str, Any], dict[str, Any]]]
                      ) -> None:
    """Apply ``(current row, attrs)`` changes to non-permission links the caller was authorized
    to change by another face's rule (the Laserfiche PUT: write on an entry the link joins),
    with the same attribute validation as :func:`update_link`."""
    for current, attrs in changes:
        if current["link_class"] == "permission":
            raise ValueError("permission links change through update_link only")
        cleaned = clean_attrs(LINKS, dict(attrs), current_uuid=current["uuid"])
        update_record(access.conn, _links, current, cleaned, access.caller.uuid)


def delete_authorized(access: Access, doomed: list[str]) -> None:
    """Delete links the caller was authorized to delete by another face's rule (see
    :func:`update_authorized`), with the §6 cascade."""
    if doomed:
        with closure_change(access.conn) as change:
            delete_objects(access.conn, change, doomed)


def get_permissions(access: Access, uuid: str) -> list[dict[str, Any]]:
    """All permission links on ``uuid`` (§5.7): 422 malformed, 404 unreadable, 403 not manager."""
    if not uuids.is_uuid(uuid) or uuids.infix_of(uuid) not in uuids.KIND_BY_INFIX:
        raise InvalidArgumentError(f"Invalid uuid '{uuid}'")
    if not access.readable_reference(uuid):
        raise NotFoundError()
    if not access.caller.is_admin and not access.can_on_reference(Level.MANAGE, uuid):
        raise PermissionDeniedError("Forbidden")
    rows = access.conn.execute(
        sa.select(_links)
        .where(_links.c.link_class == "permission", _links.c.head_uuid == uuid)
        .order_by(_links.c.modified_at.desc(), _links.c.uuid.desc())
    )
    return [dict(r._mapping) for r in rows]
