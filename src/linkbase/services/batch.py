"""Bulk link import: all-or-nothing batches, permission-checked, with a fast path for admins.

The CLI's ``import`` sends batches of links here. A batch either commits whole or reports every
rejected item (index and reason) and writes nothing, so the client can drop the bad lines and
resend the rest. Items carrying an existing ``uuid`` are skipped, updated or rejected according to
``on_duplicate``; that makes an interrupted import resumable. Admin batches of non-permission
links are validated with set-based queries and inserted with one ``executemany``; everything else
goes through the ordinary per-link service, so the rules cannot diverge.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from linkbase.domain import uuids
from linkbase.domain.errors import InvalidArgumentError, LinkbaseError
from linkbase.domain.resources import LINKS
from linkbase.domain.timestamps import now_micros
from linkbase.services import links as link_service
from linkbase.services.permissions import Access, table_of_uuid
from linkbase.services.records import etag_of
from linkbase.services.validation import clean_attrs
from linkbase.storage import tables

ON_DUPLICATE = ("error", "ignore", "update")


@dataclass
class BatchResult:
    """What a batch did (or, with errors, would have done: nothing was written)."""

    created: int = 0
    updated: int = 0
    skipped: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)


class _Rejected(Exception):
    def __init__(self, index: int, message: str) -> None:
        super().__init__(message)
        self.index = index
        self.message = message


def import_links(access: Access, items: list[Any], on_duplicate: str) -> BatchResult:
    """Apply one batch inside the caller's transaction; on any error, raise nothing but report.

    The caller must roll the transaction back when ``errors`` is non-empty.
    """
    if on_duplicate not in ON_DUPLICATE:
        raise InvalidArgumentError("on_duplicate must be one of error, ignore, update")
    result = BatchResult()
    prepared: list[tuple[int, dict[str, Any]]] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            result.errors.append({"index": index, "error": "item is not a JSON object"})
            continue
        try:
            attrs = clean_attrs(LINKS, dict(item))
        except LinkbaseError as exc:
            result.errors.append({"index": index, "error": str(exc)})
            continue
        prepared.append((index, attrs))
    if result.errors:
        return result
    existing = _existing_uuids(access.conn, [a.get("uuid") for _, a in prepared])
    fresh: list[tuple[int, dict[str, Any]]] = []
    seen: set[str] = set()
    for index, attrs in prepared:
        uuid = attrs.get("uuid")
        if isinstance(uuid, str) and (uuid in existing or uuid in seen):
            if on_duplicate == "ignore" or uuid in seen:
                result.skipped += 1
                continue
            if on_duplicate == "error":
                result.errors.append({"index": index, "error": f"Uuid '{uuid}' already exists"})
                continue
            try:
                changes = {k: v for k, v in attrs.items() if k != "uuid"}
                link_service.update_link(access, uuid, changes)
                result.updated += 1
            except LinkbaseError as exc:
                result.errors.append({"index": index, "error": str(exc)})
            continue
        if isinstance(uuid, str):
            seen.add(uuid)
        fresh.append((index, attrs))
    if result.errors:
        return result
    fast = access.caller.is_admin and all(
        a.get("link_class") != "permission" for _, a in fresh
    )
    if fast:
        try:
            result.created += _bulk_insert(access, fresh)
        except _Rejected as exc:
            result.errors.append({"index": exc.index, "error": exc.message})
        return result
    for index, attrs in fresh:
        try:
            link_service.create_link(access, attrs)
            result.created += 1
        except LinkbaseError as exc:
            result.errors.append({"index": index, "error": str(exc)})
    return result


def _existing_uuids(conn: Connection, candidates: list[Any]) -> set[str]:
    wanted = [u for u in candidates if isinstance(u, str)]
    found: set[str] = set()
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        found.update(
            row[0]
            for row in conn.execute(
                sa.select(tables.links.c.uuid).where(tables.links.c.uuid.in_(chunk))
            )
        )
    return found


def _missing_references(conn: Connection, references: set[str]) -> set[str]:
    """Stored-kind uuids among ``references`` that name no row."""
    by_table: dict[str, tuple[sa.Table, list[str]]] = {}
    for ref in references:
        table = table_of_uuid(ref)
        if table is not None:
            by_table.setdefault(table.name, (table, []))[1].append(ref)
    missing: set[str] = set()
    for table, refs in by_table.values():
        present: set[str] = set()
        for start in range(0, len(refs), 500):
            chunk = refs[start : start + 500]
            present.update(
                row[0] for row in conn.execute(sa.select(table.c.uuid).where(table.c.uuid.in_(chunk)))
            )
        missing.update(set(refs) - present)
    return missing


def _bulk_insert(access: Access, fresh: list[tuple[int, dict[str, Any]]]) -> int:
    """Admin fast path: set-based validation, then one executemany."""
    wk = access.wk
    refs: set[str] = set()
    owners: set[str] = set()
    for _index, attrs in fresh:
        for end in ("head_uuid", "tail_uuid"):
            value = uuids.normalise_reference(attrs.get(end))
            attrs[end] = value
            if value is not None and value != wk.system_user:
                refs.add(value)
        owner = attrs.get("owner_uuid")
        if owner:
            owners.add(owner)
    missing = _missing_references(access.conn, refs | owners)
    owner_rows = {
        row[0]: row[1]
        for row in access.conn.execute(
            sa.select(tables.groups.c.uuid, tables.groups.c.group_class).where(
                tables.groups.c.uuid.in_([o for o in owners if uuids.infix_of(o) == uuids.GROUP])
            )
        )
    } if owners else {}
    now = now_micros()
    rows: list[dict[str, Any]] = []
    for index, attrs in fresh:
        for end in ("head_uuid", "tail_uuid"):
            if attrs.get(end) in missing:
                label = "Head" if end == "head_uuid" else "Tail"
                raise _Rejected(index, f"{label} uuid '{attrs[end]}' not found")
        for kind_attr, end in (("head_kind", "head_uuid"), ("tail_kind", "tail_uuid")):
            sent = attrs.pop(kind_attr, None)
            if sent is not None and sent != uuids.kind_of(attrs.get(end)):
                raise _Rejected(index, f"'{sent}' does not match uuid '{attrs.get(end)}'")
        owner = attrs.get("owner_uuid") or access.caller.uuid
        if owner in missing:
            raise _Rejected(index, f"Owner uuid '{owner}' not found")
        infix = uuids.infix_of(owner)
        if infix == uuids.GROUP and owner_rows.get(owner) != "project":
            raise _Rejected(index, "Owner uuid must be a project")
        if infix not in (uuids.USER, uuids.GROUP):
            raise _Rejected(index, "Owner uuid must be set to User or Group")
        if attrs.get("link_class") == "name":
            raise _Rejected(index, "Name Name links are obsolete")
        uuid = attrs.get("uuid")
        if uuid is not None and (not isinstance(uuid, str) or uuids.infix_of(uuid) != uuids.LINK):
            raise _Rejected(index, f"Invalid uuid '{uuid}' for Link")
        row = {
            "uuid": uuid or uuids.new_uuid(wk.cluster_id, uuids.LINK),
            "owner_uuid": owner,
            "created_at": now,
            "modified_at": now,
            "modified_by_user_uuid": access.caller.uuid,
            "link_class": attrs.get("link_class"),
            "name": attrs.get("name"),
            "tail_uuid": attrs.get("tail_uuid"),
            "head_uuid": attrs.get("head_uuid"),
            "properties": attrs.get("properties", {}),
        }
        row["etag"] = etag_of(row)
        rows.append(row)
    if rows:
        access.conn.execute(tables.links.insert(), rows)
    return len(rows)
