"""The admin fast path of the bulk import: new, non-permission links checked with set-based
queries and inserted with one statement.

An admin may create any link that is not a permission, so the only checks that can refuse one
are about the link itself: its references and owner exist (and the owner is a user or a
project), declared kinds match, the class is not the obsolete ``name``, a supplied uuid is a
link uuid. The per-link service makes them with a few queries per link; here they are made once
per distinct reference or owner, in the same order, with the same messages.

Links of the classes with rules of their own (``permission``, ``published_port``) always take
the per-link service. The work is split so the write lock is held briefly: :func:`build` runs before the write
transaction (rows, uuids, etags, the checks that need no database, the encoded statement
parameter), :func:`insert` inside it (the existence queries and the insert).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from linkbase.domain import uuids
from linkbase.domain.timestamps import now_micros
from linkbase.services.permissions import table_of_uuid
from linkbase.services.records import etag_of_stored
from linkbase.storage import bulk, tables

#: Link classes the per-link service has extra rules for: batches holding one skip the fast path.
OWN_RULES = frozenset({"permission", "published_port", "shortcut"})

Item = tuple[int, dict[str, Any]]
"""A batch item that passed attribute validation: its index in the batch and its attributes."""


class Rejected(Exception):
    """The first item of the batch that may not be stored, and why."""

    def __init__(self, index: int, message: str) -> None:
        super().__init__(message)
        self.index = index
        self.message = message


@dataclass
class FastBatch:
    """An admin's batch, ready to insert as soon as the write transaction has checked it."""

    items: list[Item]
    #: Item index -> its row (:data:`bulk.ROW_COLUMNS` order).
    rows: dict[int, tuple[Any, ...]]
    links: bulk.NewLinks
    #: Distinct head/tail references that name stored objects, and distinct explicit owners.
    references: set[str]
    owners: set[str]
    #: Some item fails a check that needs no database (declared kind, class, uuid).
    has_static_problem: bool


def build(items: list[Item], author: str, well_known: uuids.WellKnown,
          dialect: str) -> FastBatch:
    """Rows for ``items`` as new links by ``author``; normalises head/tail in place.

    Pure computation: whether they may be stored is decided by :func:`insert`.
    """
    normalised: dict[Any, str | None] = {None: None}
    normalise = uuids.normalise_reference
    etag = etag_of_stored
    now = now_micros()
    fresh_uuids = iter(uuids.new_uuids(well_known.cluster_id, uuids.LINK,
                                       sum(1 for _, a in items if a.get("uuid") is None)))
    link_infix = uuids.LINK
    owners: set[str] = set()
    static_problem = False
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
        elif type(uuid) is not str or uuids.infix_of(uuid) != link_infix:
            static_problem = True
        owner = get("owner_uuid")
        if owner:
            owners.add(owner)
        else:
            owner = author
        link_class = get("link_class")
        if link_class == "name" or "head_kind" in attrs or "tail_kind" in attrs:
            static_problem = True  # _raise_first_problem decides whether declared kinds match
        name = get("name")
        properties = get("properties", {})
        tag = etag({
            "uuid": uuid, "owner_uuid": owner, "created_at": now, "modified_at": now,
            "modified_by_user_uuid": author, "link_class": link_class, "name": name,
            "tail_uuid": tail, "head_uuid": head, "properties": properties,
        })
        rows[index] = (uuid, owner, tag, link_class, name, tail, head, properties)
    references = {ref for ref in normalised.values() if ref is not None}
    references.discard(well_known.system_user)
    links = bulk.NewLinks(now, author, list(rows.values()))
    links.encode_for(dialect)
    return FastBatch(items, rows, links, references, owners, static_problem)


def subset(batch: FastBatch, items: list[Item]) -> FastBatch:
    """The same batch restricted to ``items`` (those that turned out to be new)."""
    rows = {index: batch.rows[index] for index, _ in items}
    links = bulk.NewLinks(batch.links.created_at, batch.links.author, list(rows.values()))
    return FastBatch(items, rows, links, batch.references, batch.owners,
                     batch.has_static_problem)


def insert(conn: Connection, batch: FastBatch) -> int:
    """Check the batch against the database and insert it; raises :class:`Rejected` for the
    first item that may not be stored (nothing is written then). Returns the rows inserted."""
    missing = _missing(conn, batch.references | batch.owners)
    owner_problems = _owner_problems(conn, batch.owners, missing, batch.links.author)
    if batch.has_static_problem or missing or any(owner_problems.values()):
        _raise_first_problem(batch, missing, owner_problems)
    bulk.insert_links(conn, batch.links)
    return len(batch.links.rows)


def _missing(conn: Connection, references: set[str]) -> set[str]:
    """Uuids among ``references`` of a kind Linkbase stores that name no row."""
    by_table: dict[str, tuple[sa.Table, list[str]]] = {}
    for ref in references:
        table = table_of_uuid(ref)
        if table is not None:
            by_table.setdefault(table.name, (table, []))[1].append(ref)
    missing: set[str] = set()
    for table, refs in by_table.values():
        missing.update(set(refs) - bulk.existing_uuids(conn, table, refs))
    return missing


def _owner_problems(conn: Connection, owners: set[str], missing: set[str], author: str
                    ) -> dict[str, str | None]:
    """For each explicit owner, why it cannot own the author's link (None if it can): the
    checks of ``ownership.check_owner`` for an admin, in its order."""
    projects = [o for o in owners if uuids.infix_of(o) == uuids.GROUP and o not in missing]
    group_class = {
        row[0]: row[1]
        for row in conn.execute(
            sa.select(tables.groups.c.uuid, tables.groups.c.group_class).where(
                tables.groups.c.uuid.in_(projects)
            )
        )
    } if projects else {}

    def problem(owner: str) -> str | None:
        if owner == author:
            return None
        if owner in missing or (table_of_uuid(owner) is None and not uuids.is_foreign(owner)):
            return f"Owner uuid '{owner}' not found"
        infix = uuids.infix_of(owner)
        if infix not in (uuids.USER, uuids.GROUP):
            return "Owner uuid must be set to User or Group"
        if infix == uuids.GROUP and group_class.get(owner) != "project":
            return "Owner uuid must be a project"
        return None

    return {owner: problem(owner) for owner in owners}


def _raise_first_problem(batch: FastBatch, missing: set[str],
                         owner_problems: dict[str, str | None]) -> None:
    """Walk the items in order and raise for the first one the per-link service would refuse,
    making its checks in its order (``links.create_link``: uuid, kinds, class, head, tail,
    owner) with its messages."""
    link_infix = uuids.LINK
    for index, attrs in batch.items:
        uuid = attrs.get("uuid")
        if uuid is not None and (not isinstance(uuid, str) or uuids.infix_of(uuid) != link_infix):
            raise Rejected(index, f"Invalid uuid '{uuid}' for Link")
        head = attrs["head_uuid"]
        tail = attrs["tail_uuid"]
        for kind_attr, end in (("head_kind", head), ("tail_kind", tail)):
            sent = attrs.get(kind_attr)
            if sent is not None and sent != (expected := uuids.kind_of(end)):
                raise Rejected(index,
                               f"'{sent}' does not match uuid '{end}', expected '{expected}'")
        if attrs.get("link_class") == "name":
            raise Rejected(index, "Name Name links are obsolete")
        if head in missing:
            raise Rejected(index, f"Head uuid '{head}' not found")
        if tail in missing:
            raise Rejected(index, f"Tail uuid '{tail}' not found")
        owner = attrs.get("owner_uuid")
        problem = owner_problems.get(owner) if owner else None
        if problem is not None:
            raise Rejected(index, problem)
