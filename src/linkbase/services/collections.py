"""Collections (spec §9): metadata-only data objects owned by users or projects."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from linkbase.domain import uuids
from linkbase.domain.errors import InvalidArgumentError, NotFoundError, PermissionDeniedError
from linkbase.domain.levels import Level
from linkbase.domain.resources import COLLECTIONS
from linkbase.services import entries_hooks, ownership
from linkbase.services.deletion import delete_objects, may_remove_edges
from linkbase.services.naming import check_path_name, unique_name
from linkbase.services.permissions import Access
from linkbase.services.records import fetch_record, insert_record, update_record
from linkbase.services.validation import clean_attrs, prepare_update
from linkbase.storage import tables
from linkbase.storage.closure import closure_change
from linkbase.storage.locks import lock_permission_graph


def portable_data_hash(manifest_text: str) -> str:
    """Lowercase hex MD5 of the manifest, ``+``, its byte length."""
    data = manifest_text.encode()
    return f"{hashlib.md5(data).hexdigest()}+{len(data)}"


def get_collection(access: Access, uuid: str, *, for_update: bool = False) -> dict[str, Any]:
    """A collection the caller may read (404 otherwise); ``for_update`` locks it."""
    row = fetch_record(access.conn, tables.collections, uuid, for_update=for_update)
    if row is None or not access.readable_row("collections", row):
        raise NotFoundError()
    return row


#: A portable data hash followed by hints (``+K@zzzzz``, ``+Xabc``): clients may send the
#: signed or annotated form of the hash they computed (spec §9).
_HINTED_PDH = re.compile(r"^([0-9a-f]{32}\+[0-9]+)(?:\+[A-Z][-A-Za-z0-9@_]*)+$")


def _check_manifest(attrs: dict[str, Any], manifest: str) -> str:
    pdh = portable_data_hash(manifest)
    sent = attrs.pop("portable_data_hash", None)
    hinted = _HINTED_PDH.match(sent) if isinstance(sent, str) else None
    if hinted is not None:
        sent = hinted.group(1)  # compared, and stored, without its hints
    if sent is not None and sent != pdh:
        raise InvalidArgumentError(
            f"Portable data hash '{sent}' does not match computed hash '{pdh}'"
        )
    return pdh


def _blank_name_is_null(attrs: dict[str, Any]) -> None:
    """``name: ""`` is stored as null (spec §9), so unnamed collections never clash."""
    if attrs.get("name") == "":
        attrs["name"] = None


def create_collection(access: Access, attrs: dict[str, Any], *, ensure_unique_name: bool = False,
                      ) -> dict[str, Any]:
    """Create a collection owned by the caller or a project it can write."""
    conn = access.conn
    attrs = clean_attrs(COLLECTIONS, attrs)
    requested = attrs.pop("uuid", None)
    if requested is not None:
        if not access.caller.is_admin:
            raise InvalidArgumentError("Uuid assignment not permitted")
        if uuids.infix_of(requested) != uuids.COLLECTION or access.lookup(requested):
            raise InvalidArgumentError(f"Invalid uuid '{requested}' for Collection")
    uuid = requested or uuids.new_uuid(access.wk.cluster_id, uuids.COLLECTION)
    manifest = attrs.get("manifest_text") or ""
    pdh = _check_manifest(attrs, manifest)
    _blank_name_is_null(attrs)
    check_path_name(attrs.get("name"))
    owner = attrs.get("owner_uuid") or access.caller.uuid
    ownership.check_owner(access, owner)
    name = unique_name(conn, tables.collections, owner, attrs.get("name"), uuid,
                       ensure_unique_name)
    record = insert_record(
        conn,
        tables.collections,
        {
            "uuid": uuid, "owner_uuid": owner, "name": name,
            "description": attrs.get("description"), "properties": attrs.get("properties", {}),
            "manifest_text": manifest, "portable_data_hash": pdh,
        },
        access.caller.uuid,
    )
    entries_hooks.on_placed(conn, uuid, owner)
    return record


def update_collection(access: Access, uuid: str, attrs: dict[str, Any], *,
                      ensure_unique_name: bool = False) -> dict[str, Any]:
    """Update a collection (write needed; moving needs write on the new owner)."""
    conn = access.conn
    attrs, current = prepare_update(COLLECTIONS, attrs, uuid,
                                    lambda u: get_collection(access, u, for_update=True))
    manifest = attrs.get("manifest_text", current["manifest_text"]) or ""
    attrs["manifest_text"] = manifest
    attrs["portable_data_hash"] = _check_manifest(attrs, manifest)
    _blank_name_is_null(attrs)
    if "name" in attrs:
        check_path_name(attrs["name"])
    new_owner = attrs.get("owner_uuid", current["owner_uuid"])
    moving = new_owner != current["owner_uuid"]
    if moving:
        if new_owner is None:
            raise InvalidArgumentError("Owner uuid can't be blank")
        ownership.check_owner(access, new_owner)
    ownership.require_active(access)
    if not access.can(Level.WRITE, uuid, current["owner_uuid"]):
        raise PermissionDeniedError("Forbidden")
    if "name" in attrs or moving:
        attrs["name"] = unique_name(conn, tables.collections, new_owner,
                                    attrs.get("name", current["name"]), uuid, ensure_unique_name)
    record = update_record(conn, tables.collections, current, attrs, access.caller.uuid)
    if moving:
        entries_hooks.on_placed(conn, uuid, new_owner)
    return record


def delete_collection(access: Access, uuid: str) -> dict[str, Any]:
    """Delete a collection and every link pointing at it."""
    if may_remove_edges(access.conn, [uuid]):
        lock_permission_graph(access.conn)  # grants on it go too; the graph lock comes first
    current = get_collection(access, uuid, for_update=True)
    ownership.require_active(access)
    if not access.can(Level.WRITE, uuid, current["owner_uuid"]):
        raise PermissionDeniedError("Forbidden")
    with closure_change(access.conn) as change:
        delete_objects(access.conn, change, [uuid])
    return current
