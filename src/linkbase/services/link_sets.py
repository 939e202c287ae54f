"""Many new links at once: the link service's rules checked with set-based queries, one insert.

Creating links one by one costs a few queries per link (each reference and owner is looked up
and permission-checked). For a batch, :func:`prefetch` asks the same questions once per distinct
reference and owner with a handful of set-based queries, and :func:`insert_links` then applies
``links.new_link_problem`` — the very function the one-by-one path uses — to each item in order,
so an item is refused exactly when, and with the message that, ``links.create_link`` would give.
Nothing is written unless every item passes.

Links with rules of their own (``permission``: grants, dedupe and the closure;
``published_port``: a unique name) always go through ``links.create_link`` one by one.

The work is split so the write transaction is short: :func:`prepare` runs before it (uuids,
timestamps, etags, the statement parameter), :func:`insert_links` inside it.

References stay valid until commit: a caller that has locked the referenced rows itself says so
(``references_locked``, the Laserfiche PUT locks its entries); otherwise the reference guard is
taken (``storage.locks``), which keeps deletions out until this transaction ends.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from linkbase.domain import uuids
from linkbase.domain.errors import LinkbaseError
from linkbase.domain.levels import Level
from linkbase.domain.resources import RESOURCE_BY_INFIX
from linkbase.domain.timestamps import now_micros
from linkbase.services import links as link_service
from linkbase.services.ownership import is_checked_reference
from linkbase.services.permissions import Access, table_of_uuid
from linkbase.services.records import etag_of_stored
from linkbase.storage import bulk, locks, tables, transaction

#: Link classes with rules of their own: never created here.
OWN_RULES = frozenset({"permission", "published_port", "shortcut"})

Item = tuple[int, dict[str, Any]]
"""A batch item that passed attribute validation: its index in the batch and its attributes."""


class Rejected(Exception):
    """The first item of the set that may not be stored, and why."""

    def __init__(self, index: int, error: LinkbaseError) -> None:
        super().__init__(str(error))
        self.index = index
        self.error = error


@dataclass
class PreparedLinks:
    """New links of one author, ready to be checked and inserted."""

    items: list[Item]
    #: Item index -> its row (:data:`bulk.ROW_COLUMNS` order).
    rows: dict[int, tuple[Any, ...]]
    links: bulk.NewLinks
    #: Distinct references (heads, tails) and explicit owners that name stored objects.
    references: set[str]
    owners: set[str]
    #: Distinct ``(head_uuid, tail_uuid)`` pairs, and whether an item has no owner (then owned
    #: by the author): with :attr:`shapes_pass`, what :func:`insert_links` checks once each
    #: instead of item by item.
    ends: set[tuple[str | None, str | None]] = field(default_factory=set)
    author_owns: bool = False
    #: Every item passes the checks that need no database (``links.shape_problem`` of an
    #: admin); ``assigns_uuids``: some item supplies its own uuid (refused to non-admins).
    shapes_pass: bool = False
    assigns_uuids: bool = True


def prepare(items: list[Item], author: str, well_known: uuids.WellKnown,
            dialect: str, *, in_given_order: bool = False) -> PreparedLinks:
    """Rows for ``items`` as new links by ``author``; normalises head/tail in place.

    Pure computation: whether they may be stored is decided by :func:`insert_links`.
    ``in_given_order``: the links get ascending ids in the order of ``items`` (else they are
    inserted in uuid order, faster for big batches).
    """
    normalised: dict[Any, str | None] = {None: None}
    normalise = uuids.normalise_reference
    etag = etag_of_stored
    now = now_micros()
    fresh_uuids = iter(uuids.new_uuids(well_known.cluster_id, uuids.LINK,
                                       sum(1 for _, a in items if a.get("uuid") is None)))
    owners: set[str] = set()
    rows: dict[int, tuple[Any, ...]] = {}
    for index, attrs in items:
        get = attrs.get
        head = get("head_uuid")
        try:
            head = normalised[head]
        except KeyError:
            head = normalised[head] = normalise(head)
        tail = get("tail_uuid")
        try:
            tail = normalised[tail]
        except KeyError:
            tail = normalised[tail] = normalise(tail)
        attrs["head_uuid"] = head
        attrs["tail_uuid"] = tail
        uuid = get("uuid")
        if uuid is None:
            uuid = next(fresh_uuids)
        owner = get("owner_uuid")
        if owner:
            owners.add(owner)
        else:
            owner = author
        link_class = get("link_class")
        name = get("name")
        properties = get("properties", {})
        tag = etag({
            "uuid": uuid, "owner_uuid": owner, "created_at": now, "modified_at": now,
            "modified_by_user_uuid": author, "link_class": link_class, "name": name,
            "tail_uuid": tail, "head_uuid": head, "properties": properties,
        })
        rows[index] = (uuid, owner, tag, link_class, name, tail, head, properties)
    references = {ref for ref in normalised.values() if ref is not None}
    prepared = bulk.NewLinks(now, author, list(rows.values()), by_uuid=not in_given_order)
    prepared.encode_for(dialect)
    result = PreparedLinks(items, rows, prepared, references, owners)
    _summarise_checks(result)
    return result


def _summarise_checks(prepared: PreparedLinks) -> None:
    """Fill the check summary of ``prepared`` (its ends, owners and shapes), so that the write
    transaction asks about each distinct value once rather than walking every item."""
    shape = link_service.shape_problem
    no_rows = _NO_ROWS
    passes = True
    assigns = author_owns = False
    ends = prepared.ends
    for _, attrs in prepared.items:
        get = attrs.get
        ends.add((get("head_uuid"), get("tail_uuid")))
        if not get("owner_uuid"):
            author_owns = True
        if get("uuid") is not None:
            assigns = True
        if passes and (shape(attrs, no_rows, is_admin=True) is not None
                       or get("link_class") in OWN_RULES):
            passes = False
    prepared.shapes_pass, prepared.assigns_uuids = passes, assigns
    prepared.author_owns = author_owns


def subset(prepared: PreparedLinks, items: list[Item]) -> PreparedLinks:
    """The same links restricted to ``items`` (those that turned out to be new)."""
    rows = {index: prepared.rows[index] for index, _ in items}
    links = bulk.NewLinks(prepared.links.created_at, prepared.links.author, list(rows.values()),
                          by_uuid=prepared.links.by_uuid)
    result = PreparedLinks(items, rows, links, prepared.references, prepared.owners)
    _summarise_checks(result)
    return result


@dataclass
class PrefetchedFacts:
    """``ownership.Facts`` answered from sets fetched up front (see :func:`prefetch`)."""

    caller_uuid: str
    caller_may_write: bool
    system_user: str
    readable_uuids: set[str] = field(default_factory=set)
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    writable_uuids: set[str] = field(default_factory=set)

    def readable(self, uuid: str) -> bool:
        return uuid in self.readable_uuids

    def row(self, uuid: str) -> dict[str, Any] | None:
        return self.rows.get(uuid)

    def writable(self, uuid: str, row: dict[str, Any] | None) -> bool:
        return uuid in self.writable_uuids


def prefetch(access: Access, references: Iterable[str], owners: Iterable[str]
             ) -> PrefetchedFacts:
    """Everything the owner and reference rules will ask about ``references`` and ``owners``,
    in a few queries per table (whatever their number)."""
    caller = access.caller
    facts = PrefetchedFacts(caller.uuid, caller.is_active or caller.is_admin,
                            access.wk.system_user)
    owner_set = {o for o in owners if o != caller.uuid}
    checked = {u for u in (*references, *owner_set) if is_checked_reference(u, facts)}
    foreign = {u for u in checked if uuids.is_foreign(u)}
    by_table: dict[str, tuple[sa.Table, list[str]]] = {}
    for uuid in checked - foreign:
        table = table_of_uuid(uuid)
        if table is not None:
            by_table.setdefault(table.name, (table, []))[1].append(uuid)
    for table, wanted in by_table.values():
        infix = uuids.infix_of(wanted[0])
        resource = RESOURCE_BY_INFIX[infix] if infix else None
        existing = bulk.existing_uuids(access.conn, table, wanted)
        clause = access.readable_clause(resource, table) if resource is not None else None
        facts.readable_uuids |= existing if clause is None else rows_matching(
            access, table, existing, clause)
    if foreign:
        facts.readable_uuids |= foreign if caller.is_admin else _foreign_readable(access,
                                                                                  foreign)
    _fetch_owners(access, owner_set, facts)
    return facts


def _all_pass(prepared: PreparedLinks, check: link_service.NewLinkChecks,
              is_admin: bool) -> bool:
    """Whether every item of ``prepared`` passes ``check`` (no :class:`Rejected` to raise):
    each item's checks are its shape, its ends and its owner, so every item passes when every
    shape does and every distinct ends pair and owner does."""
    if not prepared.shapes_pass or (prepared.assigns_uuids and not is_admin):
        return False
    owners = set(prepared.owners)
    if prepared.author_owns:
        owners.add(check.facts.caller_uuid)
    return (all(check.ends_problem(head, tail) is None for head, tail in prepared.ends)
            and all(check.owner_problem(owner) is None for owner in owners))


class _NoRows:
    """Facts with no stored rows: a shape check of a link uuid never finds one (the only rows
    a batch prefetches are its owners', users and groups)."""

    def row(self, uuid: str) -> dict[str, Any] | None:
        return None


_NO_ROWS: Any = _NoRows()


def rows_matching(access: Access, table: sa.Table, candidates: Iterable[str],
              clause: sa.ColumnElement[bool]) -> set[str]:
    """Those of ``candidates`` (uuids of ``table``) whose row satisfies ``clause``."""
    found: set[str] = set()
    wanted = sorted(candidates)
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        found.update(r[0] for r in access.conn.execute(
            sa.select(table.c.uuid).where(table.c.uuid.in_(chunk), clause)))
    return found


def _foreign_readable(access: Access, candidates: set[str]) -> set[str]:
    targets = access.has_targets(Level.READ).subquery()
    found: set[str] = set()
    wanted = sorted(candidates)
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        found.update(r[0] for r in access.conn.execute(
            sa.select(targets.c.uuid).where(targets.c.uuid.in_(chunk)).distinct()))
    return found


def _fetch_owners(access: Access, owners: set[str], facts: PrefetchedFacts) -> None:
    """The rows of owners that are users or groups, and which of them the caller can write."""
    for infix, table in ((uuids.USER, tables.users), (uuids.GROUP, tables.groups)):
        wanted = sorted(o for o in owners if uuids.infix_of(o) == infix)
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            columns = [table.c.uuid, table.c.owner_uuid]
            if infix == uuids.GROUP:
                columns.append(table.c.group_class)
            for row in access.conn.execute(sa.select(*columns).where(table.c.uuid.in_(chunk))):
                facts.rows[row.uuid] = dict(row._mapping)
            clause = access.can_clause(Level.WRITE, table)
            facts.writable_uuids |= set(chunk) if clause is None else rows_matching(
                access, table, chunk, clause)


def insert_links(access: Access, prepared: PreparedLinks, *,
                 references_locked: bool = False, unless_taken: bool = False) -> int:
    """Check ``prepared`` against the rules and insert it; raises :class:`Rejected` for the
    first item that may not be stored (nothing is written then). Returns the rows inserted.

    ``unless_taken`` (SQLite): raise ``bulk.UuidTaken``, having written nothing, if an item's
    uuid is already stored (the caller then sets such items aside and tries again)."""
    if not references_locked:
        locks.guard_references(access.conn, deleting=False)
    facts = prefetch(access, prepared.references, prepared.owners)
    check = link_service.NewLinkChecks(facts, is_admin=access.caller.is_admin)
    if not _all_pass(prepared, check, access.caller.is_admin):
        # Something is refused: find the first item that is, with its message, item by item.
        for index, attrs in prepared.items:
            if attrs.get("link_class") in OWN_RULES:
                raise ValueError("links with rules of their own go through links.create_link")
            problem = check.problem(attrs)
            if problem is not None:
                raise Rejected(index, problem)
    bulk.insert_links(access.conn, prepared.links, unless_taken=unless_taken)
    transaction.note_bulk(access.conn, prepared.links)
    if transaction.journaling(access.conn):
        for row in prepared.links.rows:
            transaction.note(access.conn, tables.links.name, row[0], None,
                             dict(zip(bulk.ROW_COLUMNS, row, strict=True)), audit=False)
    return len(prepared.links.rows)
