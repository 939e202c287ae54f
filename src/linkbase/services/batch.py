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

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from linkbase.domain import uuids
from linkbase.domain.errors import InvalidArgumentError, LinkbaseError
from linkbase.domain.resources import LINKS
from linkbase.domain.timestamps import now_micros
from linkbase.services import links as link_service
from linkbase.services.context import Caller
from linkbase.services.permissions import Access, table_of_uuid
from linkbase.services.records import etag_of
from linkbase.services.validation import IGNORED, clean_attrs
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


#: String attributes of a link (``None`` allowed); an empty ``*_uuid`` means ``None``.
_STRING_ATTRS = frozenset(
    {"uuid", "owner_uuid", "link_class", "name", "tail_uuid", "head_uuid", "head_kind",
     "tail_kind"}
)
_EMPTY_IS_NULL = frozenset(n for n in _STRING_ATTRS if n.endswith("_uuid"))
#: Rows per ``SELECT ... IN`` when looking uuids up.
_LOOKUP_CHUNK = 500


def _fast_clean(item: Any) -> dict[str, Any] | None:
    """:func:`clean_attrs` for the common case (plain strings, a ``properties`` object without
    NUL), at a fraction of its cost; ``None`` whenever the item needs the full validation (which
    then decides, so accepted values and error messages are exactly the same)."""
    if type(item) is not dict:
        return None
    cleaned: dict[str, Any] = {}
    for name, value in item.items():
        if name in _STRING_ATTRS:
            if value is not None:
                if type(value) is not str or "\x00" in value:
                    return None
                if not value and name in _EMPTY_IS_NULL:
                    value = None
            cleaned[name] = value
        elif name == "properties":
            if type(value) is not dict or (value and _has_nul_json(value)):
                return None
            cleaned[name] = value
        elif name not in IGNORED:
            return None
    return cleaned


def _has_nul_json(value: dict[str, Any]) -> bool:
    """True if a key or string in ``value`` may hold U+0000 (false positives are harmless:
    the caller falls back to the full validation)."""
    try:
        return b"\\u0000" in orjson.dumps(value)
    except TypeError:
        return True


@dataclass
class PreparedBatch:
    """A batch validated item by item, before any database access (see :func:`prepare_links`)."""

    on_duplicate: str
    items: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    #: Admin fast path: index -> the row that item becomes if it is new (uuid, etag, ...).
    rows: dict[int, dict[str, Any]] = field(default_factory=dict)


def prepare_links(items: list[Any], on_duplicate: str, caller: Caller | None = None,
                  well_known: uuids.WellKnown | None = None) -> PreparedBatch:
    """The part of a batch that needs no database: attribute validation and, for an admin's
    batch without permission links, the rows to insert (uuids, timestamps, etags).

    Run it outside the write transaction so that one batch is prepared while another writes.
    """
    if on_duplicate not in ON_DUPLICATE:
        raise InvalidArgumentError("on_duplicate must be one of error, ignore, update")
    batch = PreparedBatch(on_duplicate)
    prepared = batch.items
    append = prepared.append
    for index, item in enumerate(items):
        attrs = _fast_clean(item)
        if attrs is None:
            if not isinstance(item, dict):
                batch.errors.append({"index": index, "error": "item is not a JSON object"})
                continue
            try:
                attrs = clean_attrs(LINKS, dict(item))
            except LinkbaseError as exc:
                batch.errors.append({"index": index, "error": str(exc)})
                continue
        append((index, attrs))
    if (not batch.errors and caller is not None and well_known is not None and caller.is_admin
            and all(a.get("link_class") != "permission" for _, a in prepared)):
        batch.rows = _build_rows(prepared, caller.uuid, well_known)
    return batch


def import_links(access: Access, items: list[Any], on_duplicate: str) -> BatchResult:
    """Apply one batch inside the caller's transaction; on any error, raise nothing but report.

    The caller must roll the transaction back when ``errors`` is non-empty.
    """
    return apply_links(access, prepare_links(items, on_duplicate, access.caller, access.wk))


def apply_links(access: Access, batch: PreparedBatch) -> BatchResult:
    """The database part of :func:`import_links`, inside the caller's transaction."""
    result = BatchResult()
    if batch.errors:
        result.errors.extend(batch.errors)
        return result
    on_duplicate = batch.on_duplicate
    prepared = batch.items
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
        rows = batch.rows or _build_rows(fresh, access.caller.uuid, access.wk)
        try:
            result.created += _bulk_insert(access, fresh, rows)
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
    for start in range(0, len(wanted), _LOOKUP_CHUNK):
        chunk = wanted[start : start + _LOOKUP_CHUNK]
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
        for start in range(0, len(refs), _LOOKUP_CHUNK):
            chunk = refs[start : start + _LOOKUP_CHUNK]
            present.update(
                row[0] for row in conn.execute(sa.select(table.c.uuid).where(table.c.uuid.in_(chunk)))
            )
        missing.update(set(refs) - present)
    return missing


def _build_rows(items: list[tuple[int, dict[str, Any]]], caller_uuid: str,
                well_known: uuids.WellKnown) -> dict[int, dict[str, Any]]:
    """The row each item would be stored as (admin fast path); normalises head/tail in place.

    Pure computation: whether the row may be stored is decided by :func:`_bulk_insert`.
    """
    normalised: dict[Any, str | None] = {None: None}
    normalise = uuids.normalise_reference
    now = now_micros()
    fresh_uuids = iter(uuids.new_uuids(well_known.cluster_id, uuids.LINK,
                                       sum(1 for _, a in items if a.get("uuid") is None)))
    rows: dict[int, dict[str, Any]] = {}
    for index, attrs in items:
        head = attrs.get("head_uuid")
        try:
            head = normalised[head]
        except KeyError:
            head = normalised[head] = normalise(head)
        tail = attrs.get("tail_uuid")
        try:
            tail = normalised[tail]
        except KeyError:
            tail = normalised[tail] = normalise(tail)
        attrs["head_uuid"] = head
        attrs["tail_uuid"] = tail
        uuid = attrs.get("uuid")
        row = {
            "uuid": next(fresh_uuids) if uuid is None else uuid,
            "owner_uuid": attrs.get("owner_uuid") or caller_uuid,
            "created_at": now,
            "modified_at": now,
            "modified_by_user_uuid": caller_uuid,
            "link_class": attrs.get("link_class"),
            "name": attrs.get("name"),
            "tail_uuid": tail,
            "head_uuid": head,
            "properties": attrs.get("properties", {}),
        }
        row["etag"] = etag_of(row)
        rows[index] = row
    return rows


def _bulk_insert(access: Access, fresh: list[tuple[int, dict[str, Any]]],
                 rows_by_index: dict[int, dict[str, Any]]) -> int:
    """Admin fast path: set-based validation, then one executemany.

    Every check of the per-link service that can fail for an admin is made here, in the same
    order, but once per distinct reference or owner rather than once per link. Head and tail
    are already normalised (:func:`_build_rows`).
    """
    wk = access.wk
    conn = access.conn
    refs: set[str] = set()
    owners: set[str] = set()
    for _index, attrs in fresh:
        refs.add(attrs["head_uuid"])
        refs.add(attrs["tail_uuid"])
        owner = attrs.get("owner_uuid")
        if owner:
            owners.add(owner)
    refs.discard(None)
    refs.discard(wk.system_user)
    missing = _missing_references(conn, refs | owners)
    project_owners = [o for o in owners if uuids.infix_of(o) == uuids.GROUP]
    owner_rows = {
        row[0]: row[1]
        for row in conn.execute(
            sa.select(tables.groups.c.uuid, tables.groups.c.group_class).where(
                tables.groups.c.uuid.in_(project_owners)
            )
        )
    } if project_owners else {}
    owner_problems: dict[str, str | None] = {}

    def owner_problem(owner: str) -> str | None:
        if owner in missing:
            return f"Owner uuid '{owner}' not found"
        infix = uuids.infix_of(owner)
        if infix == uuids.GROUP and owner_rows.get(owner) != "project":
            return "Owner uuid must be a project"
        if infix not in (uuids.USER, uuids.GROUP):
            return "Owner uuid must be set to User or Group"
        return None

    caller_uuid = access.caller.uuid
    link_infix = uuids.LINK
    rows: list[dict[str, Any]] = []
    for index, attrs in fresh:
        head = attrs["head_uuid"]
        tail = attrs["tail_uuid"]
        if head in missing:
            raise _Rejected(index, f"Head uuid '{head}' not found")
        if tail in missing:
            raise _Rejected(index, f"Tail uuid '{tail}' not found")
        if "head_kind" in attrs or "tail_kind" in attrs:
            for kind_attr, end in (("head_kind", head), ("tail_kind", tail)):
                sent = attrs.get(kind_attr)
                if sent is not None and sent != uuids.kind_of(end):
                    raise _Rejected(index, f"'{sent}' does not match uuid '{end}'")
        owner = attrs.get("owner_uuid") or caller_uuid
        try:
            problem = owner_problems[owner]
        except KeyError:
            problem = owner_problems[owner] = owner_problem(owner)
        if problem is not None:
            raise _Rejected(index, problem)
        if attrs.get("link_class") == "name":
            raise _Rejected(index, "Name Name links are obsolete")
        uuid = attrs.get("uuid")
        if uuid is not None and (not isinstance(uuid, str) or uuids.infix_of(uuid) != link_infix):
            raise _Rejected(index, f"Invalid uuid '{uuid}' for Link")
        rows.append(rows_by_index[index])
    if not rows:
        return 0
    if conn.dialect.name == "sqlite":
        _sqlite_insert(conn, rows)
    else:
        conn.execute(tables.links.insert(), rows)
    return len(rows)


_SQLITE_COLUMNS = (
    "uuid", "owner_uuid", "created_at", "modified_at", "modified_by_user_uuid", "etag",
    "link_class", "name", "tail_uuid", "head_uuid", "properties",
)
_SQLITE_INSERT = (
    f"INSERT INTO {tables.links.name} ({', '.join(_SQLITE_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in _SQLITE_COLUMNS)})"
)


#: Applied once to each SQLite connection that writes a bulk batch: a page cache large enough
#: to hold the hot pages of the links indexes (random uuids touch pages all over the uuid index;
#: with SQLite's default 2 MiB cache most inserts would read and write back pages).
#: Memory is only taken as pages are read. The raw-insert baseline of bench/import_links.py uses
#: the same settings.
BULK_SQLITE_PRAGMAS = ("PRAGMA cache_size=-262144",)


def prepare_sqlite_bulk(conn: Connection) -> None:
    """Apply :data:`BULK_SQLITE_PRAGMAS` to this pooled connection (once)."""
    info = conn.connection.info
    if not info.get("linkbase_bulk_pragmas"):
        for pragma in BULK_SQLITE_PRAGMAS:
            conn.exec_driver_sql(pragma)
        info["linkbase_bulk_pragmas"] = True


def _sqlite_insert(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """One driver-level executemany, rows in uuid order (index locality), JSON by orjson.

    The stored ``properties`` text is what the JSON column type would store, modulo whitespace
    and escaping (compact UTF-8): SQLite's JSON functions and the column's reader see the same
    document.
    """
    dumps = orjson.dumps
    params = [
        (r["uuid"], r["owner_uuid"], r["created_at"], r["modified_at"],
         r["modified_by_user_uuid"], r["etag"], r["link_class"], r["name"], r["tail_uuid"],
         r["head_uuid"], dumps(r["properties"]).decode())
        for r in rows
    ]
    params.sort(key=_first)
    prepare_sqlite_bulk(conn)
    conn.exec_driver_sql(_SQLITE_INSERT, params)


def _first(row: tuple[Any, ...]) -> Any:
    return row[0]
