"""Groups (spec §8): roles (sets of principals), projects (owning containers), filter groups."""

from __future__ import annotations

from typing import Any

from linkbase import checkpoints
from linkbase.domain import uuids
from linkbase.domain.errors import InvalidArgumentError, NotFoundError, PermissionDeniedError
from linkbase.domain.levels import Level
from linkbase.domain.query import parse_filters
from linkbase.domain.resources import COLLECTIONS, GROUPS
from linkbase.services import entries_hooks, ownership
from linkbase.services.deletion import delete_objects
from linkbase.services.naming import check_path_name, unique_name
from linkbase.services.permissions import Access
from linkbase.services.records import fetch_record, insert_record, update_record
from linkbase.services.validation import clean_attrs, prepare_update
from linkbase.storage import tables
from linkbase.storage.closure import closure_change
from linkbase.storage.locks import lock_permission_graph

GROUP_CLASSES = ("project", "role", "filter")


def get_group(access: Access, uuid: str, *, for_update: bool = False) -> dict[str, Any]:
    """A group the caller may read (404 otherwise); ``for_update`` locks it."""
    row = fetch_record(access.conn, tables.groups, uuid, for_update=for_update)
    if row is None or not access.readable_row("groups", row):
        raise NotFoundError()
    return row


def _check_filters(properties: dict[str, Any]) -> None:
    raw = properties.get("filters")
    if raw is None:
        return
    if not isinstance(raw, list) or not all(isinstance(f, list) and len(f) == 3 for f in raw):
        raise InvalidArgumentError("Invalid filters in properties.filters")
    for attr, op, _operand in raw:
        if not isinstance(attr, str) or not (attr == "uuid" or "." in attr):
            raise InvalidArgumentError(f"Invalid attribute '{attr}' in properties.filters")
        if op == "is_a" and attr != "uuid":
            raise InvalidArgumentError("Invalid filters in properties.filters")
    # Validate operators against a resource with both uuid and properties.
    try:
        parse_filters(COLLECTIONS, [["uuid" if a == "uuid" else "properties.x", o, v]
                                    for a, o, v in raw])
    except InvalidArgumentError as exc:
        raise InvalidArgumentError(f"Invalid filters in properties.filters: {exc}") from exc


def create_group(access: Access, attrs: dict[str, Any], *, ensure_unique_name: bool = False,
                 ) -> dict[str, Any]:
    """Create a project, role or filter group."""
    conn = access.conn
    attrs = clean_attrs(GROUPS, attrs)
    # Every group is the head of its ownership edge (and a role of its manager's grant).
    lock_permission_graph(conn)
    group_class = attrs.get("group_class")
    if group_class not in GROUP_CLASSES:
        raise InvalidArgumentError("Group class is not included in the list")
    uuid = _assigned_uuid(access, attrs.pop("uuid", None))
    properties = attrs.get("properties", {})
    if group_class == "filter":
        _check_filters(properties)
    name = attrs.get("name") or uuid
    if group_class != "role":
        check_path_name(name)
    requested_owner = attrs.get("owner_uuid") or access.caller.uuid
    if group_class == "role":
        ownership.require_active(access)
        if requested_owner != access.caller.uuid:
            owner_row = access.lookup(requested_owner)
            if uuids.infix_of(requested_owner) != uuids.USER or owner_row is None:
                raise PermissionDeniedError("Owner uuid must be a user")
            if not access.can(Level.WRITE, requested_owner, owner_row["owner_uuid"]):
                raise PermissionDeniedError("Forbidden")
        owner = access.wk.system_user
    else:
        ownership.check_owner(access, requested_owner)
        owner = requested_owner
    name = unique_name(conn, tables.groups, owner, name, uuid, ensure_unique_name)
    record = insert_record(
        conn,
        tables.groups,
        {
            "uuid": uuid, "owner_uuid": owner, "name": name,
            "description": attrs.get("description"), "group_class": group_class,
            "properties": properties,
        },
        access.caller.uuid,
    )
    with closure_change(conn) as change:
        change.set_edge(uuid, owner, uuid, int(Level.MANAGE))
        if group_class == "role":
            from linkbase.services.seeding import system_permission_link

            system_permission_link(conn, change, access.wk, requested_owner, uuid, "can_manage")
    if group_class == "project":
        entries_hooks.on_placed(conn, uuid, owner)
    return record


def _assigned_uuid(access: Access, requested: object) -> str:
    if requested is None:
        return uuids.new_uuid(access.wk.cluster_id, uuids.GROUP)
    if not access.caller.is_admin:
        raise InvalidArgumentError("Uuid assignment not permitted")
    if not isinstance(requested, str) or uuids.infix_of(requested) != uuids.GROUP:
        raise InvalidArgumentError(f"Invalid uuid '{requested}' for Group")
    if access.lookup(requested) is not None:
        raise InvalidArgumentError(f"Uuid '{requested}' is already in use")
    return requested


def update_group(access: Access, uuid: str, attrs: dict[str, Any], *,
                 ensure_unique_name: bool = False) -> dict[str, Any]:
    """Update a group: projects/filters need write, roles manage; class is immutable."""
    conn = access.conn
    if "owner_uuid" in attrs:
        # A move changes the ownership edge; the cycle check below must see every committed
        # move and no move may happen between it and ours.
        lock_permission_graph(conn)
    attrs, current = prepare_update(GROUPS, attrs, uuid,
                                    lambda u: get_group(access, u, for_update=True))
    if "group_class" in attrs and attrs["group_class"] != current["group_class"]:
        raise InvalidArgumentError("group_class cannot be modified")
    is_role = current["group_class"] == "role"
    new_owner = attrs.get("owner_uuid", current["owner_uuid"])
    if is_role and "owner_uuid" in attrs and new_owner != current["owner_uuid"]:
        raise InvalidArgumentError("Owner uuid of a role cannot be changed")
    if "name" in attrs and not is_role:
        check_path_name(attrs["name"])
    if current["group_class"] == "filter" and "properties" in attrs:
        _check_filters(attrs["properties"])
    if "name" in attrs and attrs["name"] in (None, ""):
        attrs["name"] = uuid
    moving = new_owner != current["owner_uuid"]
    if moving:
        if new_owner is None:
            raise InvalidArgumentError("Owner uuid can't be blank")
        ownership.check_owner(access, new_owner)
        ownership.check_no_cycle(access, uuid, new_owner)
        checkpoints.reach("groups.cycle_checked")
    ownership.require_active(access)
    needed = Level.MANAGE if is_role else Level.WRITE
    if not access.can(needed, uuid, current["owner_uuid"]):
        raise PermissionDeniedError("Forbidden")
    if "name" in attrs or moving:
        attrs["name"] = unique_name(conn, tables.groups, new_owner,
                                    attrs.get("name", current["name"]), uuid, ensure_unique_name)
    record = update_record(conn, tables.groups, current, attrs, access.caller.uuid)
    if moving:
        with closure_change(conn) as change:
            change.set_edge(uuid, new_owner, uuid, int(Level.MANAGE))
        entries_hooks.on_placed(conn, uuid, new_owner)
    return record


def delete_group(access: Access, uuid: str) -> dict[str, Any]:
    """Delete a group and (for a project) everything it owns."""
    lock_permission_graph(access.conn)
    current = get_group(access, uuid, for_update=True)
    ownership.require_active(access)
    needed = Level.MANAGE if current["group_class"] == "role" else Level.WRITE
    if not access.can(needed, uuid, current["owner_uuid"]):
        raise PermissionDeniedError("Forbidden")
    if uuid in access.wk.protected:
        raise PermissionDeniedError("Forbidden")
    if access.conn.execute(
        tables.repositories.select().where(tables.repositories.c.root_uuid == uuid)
    ).first() is not None:
        raise PermissionDeniedError("Forbidden")
    with closure_change(access.conn) as change:
        delete_objects(access.conn, change, [uuid])
    return current
