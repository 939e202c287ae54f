"""Laserfiche links of an entry: listing and replacing, over ``relation`` links of the one graph.

A Laserfiche link ``source --D--> target`` with custom properties C *is* the link
``{link_class: "relation", tail_uuid: source, head_uuid: target, name: D.description,
properties: C}``; nothing is stored elsewhere, so both faces always agree. A link belongs to both
of its entries, and is identified by (definition, source, target).

Visibility follows the entries, not the link's owner: a caller sees a link of an entry it can
read iff it can read the other entry too. Links whose other end it cannot read are invisible to
it, and a PUT by that caller leaves them untouched (it cannot know they exist).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from linkbase import checkpoints
from linkbase.domain import uuids
from linkbase.domain.errors import InvalidArgumentError, NotFoundError, PayloadTooLargeError
from linkbase.services import entries as entry_service
from linkbase.services import link_sets
from linkbase.services import links as link_service
from linkbase.services.context import Caller, Services
from linkbase.services.entries_hooks import SHORTCUT
from linkbase.services.permissions import Access
from linkbase.storage import locks, tables

_links = tables.links
_defs = tables.link_definitions
_entries = tables.entries
_collections = tables.collections

RELATION = "relation"

#: Order keys the database can sort on with identical results on every backend (integers).
SQL_ORDER_KEYS = frozenset({"id", "definition_id", "source_id", "target_id"})
#: Every order key; the rest are sorted in Python so string order is the same on all backends.
ORDER_KEYS = SQL_ORDER_KEYS | frozenset({
    "description", "source_label", "target_label", "source_path", "target_path",
    "source_id_text", "target_id_text",
})


@dataclass(frozen=True)
class LinkSpec:
    """One requested link of a PUT, already checked for JSON shape by the adapter."""

    definition_id: int
    other_entry_id: int
    is_source: bool = True
    properties: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class EntryLink:
    """A link as seen from one entry, with both ends resolved to entries."""

    id: int
    uuid: str
    definition_id: int
    description: str
    source_label: str
    target_label: str
    source_id: int
    source_path: str
    target_id: int
    target_path: str
    properties: dict[str, str]


@dataclass(frozen=True)
class LinkPage:
    """One page of an entry's links; ``total`` only when a count was asked for."""

    items: list[EntryLink]
    total: int | None
    has_more: bool


def _visible_links_query(access: Access, entry: entry_service.Entry) -> sa.Select[Any]:
    """The entry's relation links that the caller may see, one row per link.

    Two index-driven halves (entry as tail, entry as head) are unioned, then joined to the
    definition named by the link and to the other end's entry in the same repository.
    """
    u = entry.uuid
    is_out = sa.literal(1).label("is_source")
    is_in = sa.literal(0).label("is_source")
    outgoing = sa.select(
        _links.c.id, _links.c.uuid, _links.c.name, _links.c.tail_uuid, _links.c.head_uuid,
        _links.c.head_uuid.label("other_uuid"), is_out, _links.c.properties,
    ).where(_links.c.tail_uuid == u, _links.c.link_class == RELATION)
    incoming = sa.select(
        _links.c.id, _links.c.uuid, _links.c.name, _links.c.tail_uuid, _links.c.head_uuid,
        _links.c.tail_uuid.label("other_uuid"), is_in, _links.c.properties,
    ).where(_links.c.head_uuid == u, _links.c.link_class == RELATION, _links.c.tail_uuid != u)
    both = sa.union_all(outgoing, incoming).subquery("rel")
    other = _entries.alias("other_entry")
    other_coll = _collections.alias("other_coll")
    source_id = sa.case((both.c.is_source == 1, sa.literal(entry.entry_id)),
                        else_=other.c.entry_id)
    target_id = sa.case((both.c.is_source == 1, other.c.entry_id),
                        else_=sa.literal(entry.entry_id))
    query = (
        sa.select(
            both.c.id, both.c.uuid, both.c.tail_uuid, both.c.head_uuid, both.c.other_uuid,
            _defs.c.id.label("definition_id"), _defs.c.description, _defs.c.source_label,
            _defs.c.target_label, source_id.label("source_id"), target_id.label("target_id"),
            both.c.properties,
        )
        .select_from(
            both.join(_defs, _defs.c.description == both.c.name)
            .join(other, sa.and_(other.c.object_uuid == both.c.other_uuid,
                                 other.c.repository_id == entry.repository_id))
        )
    )
    if not access.caller.is_admin:
        sets = access.visibility_sets(as_ctes=True)
        has, owned = sets.has_read, sets.owned_read
        shortcut = _links.alias("other_shortcut")
        target_coll = _collections.alias("shortcut_target_coll")
        query = (
            query.outerjoin(other_coll, other_coll.c.uuid == both.c.other_uuid)
            .outerjoin(shortcut, sa.and_(shortcut.c.uuid == both.c.other_uuid,
                                         shortcut.c.link_class == SHORTCUT))
            .outerjoin(target_coll, target_coll.c.uuid == shortcut.c.head_uuid)
            .where(sa.or_(
                sa.and_(shortcut.c.uuid.is_(None), sa.or_(
                    both.c.other_uuid.in_(has), other_coll.c.owner_uuid.in_(owned))),
                entry_service.shortcut_readable(shortcut, target_coll, has, owned),
            ))
        )
    return query


def _resolve(access: Access, entry: entry_service.Entry,
             rows: Sequence[Any]) -> list[EntryLink]:
    """Turn query rows into links with paths and properties (paths in one batch)."""
    if not rows:
        return []
    conn = access.conn
    repository = entry_service.get_repository(conn, entry.repository_id)
    others = {r.other_uuid for r in rows}
    # The page's query returned only links whose other end the caller may read.
    paths = entry_service.full_paths(access, repository, others, known_readable=others)
    paths[entry.uuid] = entry.full_path
    return [
        EntryLink(
            id=int(r.id), uuid=r.uuid, definition_id=int(r.definition_id),
            description=r.description, source_label=r.source_label,
            target_label=r.target_label, source_id=int(r.source_id),
            source_path=paths[r.tail_uuid], target_id=int(r.target_id),
            target_path=paths[r.head_uuid], properties=_custom_properties(r.properties),
        )
        for r in rows
    ]


def _custom_properties(raw: Any) -> dict[str, str]:
    """A link's ``properties`` as Laserfiche custom properties (string values)."""
    if not isinstance(raw, dict):
        return {}
    return {str(k): v if isinstance(v, str) else str(v) for k, v in raw.items()}


def _sort_key(link: EntryLink, key: str) -> Any:
    if key == "source_id_text":
        return str(link.source_id)
    if key == "target_id_text":
        return str(link.target_id)
    return getattr(link, key)


def list_links(access: Access, repository_id: str, entry_id: int, *,
               order: Sequence[tuple[str, bool]] = (), offset: int = 0,
               limit: int | None = None, count: bool = False) -> LinkPage:
    """A page of the entry's visible links.

    ``order`` is a list of ``(key, descending)`` over :data:`ORDER_KEYS`; ties are broken by
    ascending id so paging is stable. Integer keys are ordered and paged by the database (an
    entry among millions of links costs one indexed query per page); string keys are ordered in
    Python, so every backend returns the same order.
    """
    for key, _ in order:
        if key not in ORDER_KEYS:
            raise InvalidArgumentError(f"Cannot order links by '{key}'")
    entry = entry_service.load_entry(access, repository_id, entry_id)
    query = _visible_links_query(access, entry)
    total: int | None = None
    if count:
        total = int(access.conn.execute(
            sa.select(sa.func.count()).select_from(query.subquery())
        ).scalar_one())
    keys = list(order)
    if not any(k == "id" for k, _ in keys):
        keys.append(("id", False))
    if all(k in SQL_ORDER_KEYS for k, _ in keys):
        sub = query.subquery()
        page_q = sa.select(sub).order_by(
            *(sub.c[k].desc() if desc else sub.c[k].asc() for k, desc in keys)
        ).offset(offset)
        if limit is not None:
            page_q = page_q.limit(limit + 1)
        rows = list(access.conn.execute(page_q))
        has_more = limit is not None and len(rows) > limit
        return LinkPage(_resolve(access, entry, rows[:limit] if limit is not None else rows),
                        total, has_more)
    links = _resolve(access, entry, list(access.conn.execute(query)))
    for key, desc in reversed(keys):
        links.sort(key=lambda link, k=key: _sort_key(link, k), reverse=desc)  # type: ignore[misc]
    end = None if limit is None else offset + limit
    return LinkPage(links[offset:end], total, end is not None and len(links) > end)


def _lock_entries(access: Access, repository_id: str, entry_ids: set[int]) -> dict[int, str]:
    """Lock the objects of these entries (``FOR NO KEY UPDATE``) and return their uuids.

    Every PUT locks the entry it replaces the links of and every entry it names, in one global
    order (by table, then uuid), so two PUTs that share an entry run one after the other — the
    second reads the links the first committed, and the final set is exactly one request's —
    and none of those entries can be deleted or moved before this transaction ends. Renames and
    link creations elsewhere that merely refer to them do not wait (see ``storage.locks``).
    An entry id that was moved or deleted while we waited is resolved again.
    """
    conn = access.conn
    locked: set[str] = set()
    while True:
        found = entry_service.uuids_of_entries(conn, repository_id, entry_ids)
        wanted = set(found.values()) - locked
        if not wanted:
            return found
        # Folders, documents and shortcuts (a shortcut entry is its link).
        for infix, table in ((uuids.GROUP, tables.groups), (uuids.COLLECTION, tables.collections),
                             (uuids.LINK, tables.links)):
            locks.lock_rows(conn, table, table.c.uuid,
                            [u for u in wanted if uuids.infix_of(u) == infix],
                            locks.RowLock.UPDATE)
        locked |= wanted


def set_links(access: Access, repository_id: str, entry_id: int, specs: Sequence[LinkSpec],
              *, max_links: int) -> list[EntryLink]:
    """Replace the entry's visible links with ``specs``; returns all its visible links after.

    Checks, all before any write (so a failure leaves the links unchanged): unknown or unreadable
    entry → NotFoundError; no write on it → PermissionDeniedError; too many links →
    PayloadTooLargeError; unknown definition or self link → InvalidArgumentError; another entry
    unknown or unreadable → NotFoundError. A link that stays keeps its id; identical requested
    links count once; re-sending the same request changes nothing. Every write goes through the
    link service (``links``, ``link_sets``); the caller's right to change the entry's links
    (write on the entry, read on the other entries) is what authorizes them.
    """
    if len(specs) > max_links:
        raise PayloadTooLargeError(f"At most {max_links} links can be set in one request")
    conn = access.conn
    _lock_entries(access, repository_id, {entry_id} | {s.other_entry_id for s in specs})
    entry = entry_service.load_entry(access, repository_id, entry_id)
    entry_service.require_write(access, entry)
    definitions = {int(r.id): r for r in conn.execute(sa.select(_defs))}
    for spec in specs:
        if spec.definition_id not in definitions:
            raise InvalidArgumentError(f"Link definition {spec.definition_id} not found")
        if spec.other_entry_id == entry_id:
            raise InvalidArgumentError("An entry cannot be linked to itself")
    others = entry_service.uuids_of_entries(conn, repository_id,
                                            {s.other_entry_id for s in specs})
    visible = entry_service.readable(access, others.values())
    for spec in specs:
        other = others.get(spec.other_entry_id)
        if other is None or other not in visible:
            raise NotFoundError(f"Entry {spec.other_entry_id} not found")
    desired: dict[tuple[str, str, str], dict[str, str]] = {}
    for spec in specs:
        other = others[spec.other_entry_id]
        source, target = (entry.uuid, other) if spec.is_source else (other, entry.uuid)
        desired[(definitions[spec.definition_id].description, source, target)] = spec.properties
    existing_ids = [r.id for r in conn.execute(_visible_links_query(access, entry))]
    existing = _link_rows(conn, existing_ids)
    checkpoints.reach("laserfiche.links_read")
    kept: set[tuple[str, str, str]] = set()
    doomed: list[str] = []
    changed: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for row in sorted(existing, key=lambda r: int(r["id"])):
        key = (row["name"], row["tail_uuid"], row["head_uuid"])
        if key in desired and key not in kept:
            kept.add(key)
            if (row["properties"] or {}) != desired[key]:
                changed.append((row, {"properties": desired[key]}))
        else:
            doomed.append(row["uuid"])
    link_service.delete_authorized(access, doomed)
    link_service.update_authorized(access, changed)
    fresh = [
        (index, {"link_class": RELATION, "name": name, "tail_uuid": source,
                 "head_uuid": target, "properties": dict(props)})
        for index, ((name, source, target), props) in enumerate(desired.items())
        if (name, source, target) not in kept
    ]
    if fresh:
        prepared = link_sets.prepare(fresh, access.caller.uuid, access.wk, conn.dialect.name,
                                     in_given_order=True)
        try:
            link_sets.insert_links(access, prepared, references_locked=True)
        except link_sets.Rejected as rejected:
            raise rejected.error from None
    return list_links(access, repository_id, entry_id).items


def _link_rows(conn: Connection, ids: list[int]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows.extend(dict(r._mapping) for r in conn.execute(
            sa.select(_links).where(_links.c.id.in_(chunk))))
    return rows


# -- use cases (one transaction each) ------------------------------------------------------


def page_of_links(services: Services, caller: Caller, repository_id: str, entry_id: int, *,
                  order: Sequence[tuple[str, bool]] = (), offset: int = 0,
                  limit: int | None = None, count: bool = False) -> LinkPage:
    """Use case: :func:`list_links` in one read snapshot."""
    return services.uow.read(caller, list_links, repository_id, entry_id, order=order,
                             offset=offset, limit=limit, count=count)


def replace_links(services: Services, caller: Caller, repository_id: str, entry_id: int,
                  specs: Sequence[LinkSpec]) -> list[EntryLink]:
    """Use case: :func:`set_links` as one transaction (retried if it loses a race)."""
    return services.uow.write(caller, set_links, repository_id, entry_id, specs,
                              max_links=services.settings.max_batch_links)
