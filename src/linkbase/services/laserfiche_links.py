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
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from linkbase import checkpoints
from linkbase.domain import uuids
from linkbase.domain.errors import InvalidArgumentError, NotFoundError, PayloadTooLargeError
from linkbase.domain.levels import Level
from linkbase.services import entries as entry_service
from linkbase.services import link_sets
from linkbase.services import links as link_service
from linkbase.services.context import Caller, Services
from linkbase.services.permissions import Access
from linkbase.storage import locks, tables
from linkbase.storage.driver_queries import DriverQuery

_links = tables.links
_defs = tables.link_definitions

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


class _Visible(NamedTuple):
    """One visible link of an entry, before its properties and paths are fetched (a tuple: an
    entry's every visible link is one of these on every page, and a frozen dataclass costs
    several times more to build)."""

    id: int
    uuid: str
    tail_uuid: str
    head_uuid: str
    other_uuid: str
    definition: Any
    source_id: int
    target_id: int


def _candidates_stmt() -> sa.Select[Any]:
    """The ``relation`` links at the entry ``lb_entry`` (as tail, then as head; a link to
    itself once) whose other end is an entry of the repository ``lb_repository``: two
    index-driven halves, each link joined to the other end's entry id and, for a document, its
    collection's owner (what readability needs)."""
    here: sa.BindParameter[str] = sa.bindparam("lb_entry")
    columns = (_links.c.id, _links.c.uuid, _links.c.name, _links.c.tail_uuid,
               _links.c.head_uuid)
    outgoing = sa.select(*columns, _links.c.head_uuid.label("other_uuid")).where(
        _links.c.tail_uuid == here, _links.c.link_class == RELATION)
    incoming = sa.select(*columns, _links.c.tail_uuid.label("other_uuid")).where(
        _links.c.head_uuid == here, _links.c.link_class == RELATION,
        _links.c.tail_uuid != here)
    rel = sa.union_all(outgoing, incoming).subquery("rel")
    other = tables.entries.alias("other_entry")
    document = tables.collections.alias("other_document")
    return (
        sa.select(rel, other.c.entry_id.label("other_id"),
                  document.c.owner_uuid.label("other_owner"))
        .select_from(
            rel.join(other, sa.and_(other.c.object_uuid == rel.c.other_uuid,
                                    other.c.repository_id == sa.bindparam("lb_repository")))
            .outerjoin(document, document.c.uuid == rel.c.other_uuid))
    )


#: Built and compiled once, run on the driver's cursor: building this statement (a union, a
#: subquery, two aliases) took more CPU than SQLite's answer for an entry of 100 links.
_CANDIDATES = DriverQuery(_candidates_stmt)


def _visible_links(access: Access, entry: entry_service.EntryRef) -> list[_Visible]:
    """The entry's links the caller may see, ascending id: those whose name is a link
    definition and whose other end is an entry of the same repository that the caller may read.

    One indexed query for the candidates, then the caller's permission sets once: a page of
    100 among 1,000 links of an entry used to evaluate one join with the permission filter for
    every link (about 8 µs each on SQLite), and ``IN`` lists of every other end cost more still.
    """
    conn = access.conn
    definitions = {row.description: row for row in conn.execute(sa.select(_defs))}
    # Plain tuples (columns of _candidates_stmt: id, uuid, name, tail, head, other, other's entry
    # id, other's owner): attribute access on a row costs more than the rest of the loop.
    candidates = _CANDIDATES.rows(conn, {"lb_entry": entry.uuid,
                                         "lb_repository": entry.repository_id})
    rows = [row for row in candidates if row[2] in definitions]
    readable = _readable_ends(access, rows)
    here, mine = entry.uuid, entry.entry_id
    visible = [
        _Visible(link_id, uuid, tail, head, other, definitions[name],
                 mine if tail == here else other_id, other_id if tail == here else mine)
        for link_id, uuid, name, tail, head, other, other_id, _ in rows if other in readable
    ]
    visible.sort(key=_id_of)
    return visible


def _readable_ends(access: Access, rows: Sequence[tuple[Any, ...]]) -> set[str]:
    """The other ends among ``rows`` (of :func:`_candidates_stmt`) the caller may read, by the rules
    of ``entries.readable``: a folder through ``has``, a document through ``has`` or its owner,
    a shortcut (rare) by ``entries.readable`` itself."""
    others = {row[5] for row in rows}
    if access.caller.is_admin or not others:
        return others
    shortcuts = {u for u in others if uuids.infix_of(u) == uuids.LINK}
    has = set(access.conn.execute(access.has_targets(Level.READ)).scalars())
    owned = set(access.conn.execute(access.owner_targets(Level.READ)).scalars())
    found = {other for *_, other, _, owner in rows if other not in shortcuts and (
        other in has or (owner is not None and owner in owned))}
    return found | entry_service.readable(access, shortcuts)


def _id_of(link: _Visible) -> int:
    return link.id


def _resolve(access: Access, entry: entry_service.EntryRef,
             links: Sequence[_Visible]) -> list[EntryLink]:
    """Turn visible links into Laserfiche links with paths and properties (each in one
    batch)."""
    if not links:
        return []
    properties = _properties_of(access.conn, [link.id for link in links])
    # Every other end was found readable, and so was the entry itself.
    ends = {link.other_uuid for link in links} | {entry.uuid}
    paths = entry_service.full_paths(access, entry.repository, ends, known_readable=ends)
    return [
        EntryLink(
            id=link.id, uuid=link.uuid, definition_id=int(link.definition.id),
            description=link.definition.description,
            source_label=link.definition.source_label,
            target_label=link.definition.target_label, source_id=link.source_id,
            source_path=paths[link.tail_uuid], target_id=link.target_id,
            target_path=paths[link.head_uuid],
            properties=_custom_properties(properties.get(link.id)),
        )
        for link in links
    ]


def _properties_of(conn: Connection, ids: list[int]) -> dict[int, Any]:
    """The ``properties`` of the links with these ids."""
    found: dict[int, Any] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        found.update((int(link_id), properties)
                     for link_id, properties in _PROPERTIES.rows(conn, {"lb_ids": chunk}))
    return found


_PROPERTIES = DriverQuery(lambda: sa.select(_links.c.id, _links.c.properties).where(
    _links.c.id.in_(sa.bindparam("lb_ids", expanding=True))))


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
    entry = entry_service.locate_entry(access, repository_id, entry_id)
    return _page(access, entry, order, offset, limit, count)


def _page(access: Access, entry: entry_service.EntryRef, order: Sequence[tuple[str, bool]],
          offset: int, limit: int | None, count: bool) -> LinkPage:
    """:func:`list_links` of an entry already located (and found readable)."""
    visible = _visible_links(access, entry)  # ascending id: the tie-break of every order
    end = None if limit is None else offset + limit
    total = len(visible) if count else None
    has_more = end is not None and len(visible) > end
    if all(key in SQL_ORDER_KEYS for key, _ in order):
        for key, desc in reversed(order):
            visible.sort(key=lambda link, k=key: getattr(link, k), reverse=desc)  # type: ignore[misc]
        return LinkPage(_resolve(access, entry, visible[offset:end]), total, has_more)
    # Text keys (labels, paths) sort in Python on the resolved links, the same on every backend.
    links = _resolve(access, entry, visible)
    for key, desc in reversed(order):
        links.sort(key=lambda link, k=key: _sort_key(link, k), reverse=desc)  # type: ignore[misc]
    return LinkPage(links[offset:end], total, has_more)


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
    entry = entry_service.locate_entry(access, repository_id, entry_id)
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
    existing_ids = [link.id for link in _visible_links(access, entry)]
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
    return _page(access, entry, (), 0, None, False).items


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
