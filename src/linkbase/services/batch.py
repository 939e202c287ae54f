"""Bulk link import: all-or-nothing batches, permission-checked, written through the link
service (``services.links`` one by one, ``services.link_sets`` as sets).

The CLI's ``import`` sends batches of links here. A batch either commits whole or reports every
rejected item (index and reason) and leaves nothing written, so the client can drop the bad lines
and resend the rest. Items carrying an existing ``uuid`` are skipped, updated or rejected
according to ``on_duplicate``; that makes an interrupted import resumable.

**Two ways to write a batch.**

* A batch of new ordinary links (no ``permission``, no ``published_port``, no uuid that
  already exists) is prepared before the write transaction and written by
  ``link_sets.insert_links`` in one transaction: a few set-based checks and one insert, well
  under a second for the largest batch.
* Any other batch (grants, which each update the permission closure; updates of existing
  links) goes link by link through ``links.create_link``/``links.update_link``. That can take
  many seconds, and no request may hold SQLite's write lock (or PostgreSQL's permission-graph
  lock) that long, so it is written in **short transactions** (:data:`CHUNK_SECONDS` each),
  every item in order, each seeing what the earlier ones wrote. **All-or-nothing still holds
  for the request**: those transactions journal every row they change (``storage.transaction``)
  and, if any item was refused, the journal is played back in reverse — inserts deleted,
  updated and deleted rows restored, with their permission edges — before the answer is sent.
  Until then other clients can see the links of the earlier chunks; a batch that is refused
  leaves the database as it found it, except that objects another client created meanwhile
  *on* a link of the batch (a tag of a new link, say) go with it, as in any deletion.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

import orjson

from linkbase.domain import uuids
from linkbase.domain.errors import InvalidArgumentError, LinkbaseError
from linkbase.domain.levels import level_of_name
from linkbase.domain.limits import MAX_JSON_DEPTH, MAX_STRING_LENGTH
from linkbase.domain.resources import LINKS
from linkbase.interpreter import gc_paused
from linkbase.services import link_sets
from linkbase.services import links as link_service
from linkbase.services.context import Caller, Services
from linkbase.services.deletion import delete_objects
from linkbase.services.permissions import Access
from linkbase.services.records import fetch_record
from linkbase.services.validation import IGNORED, clean_attrs
from linkbase.storage import bulk, tables, transaction
from linkbase.storage.closure import closure_change

ON_DUPLICATE = ("error", "ignore", "update")
#: How long one transaction of a link-by-link batch runs before it commits and the next one
#: starts (other writers get the database in between).
CHUNK_SECONDS = 0.25
#: Most ordinary links a link-by-link batch inserts as one set.
RUN_LENGTH = 5_000


@dataclass
class BatchResult:
    """What a batch did (or, with errors, would have done: nothing was written)."""

    created: int = 0
    updated: int = 0
    skipped: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def add(self, other: BatchResult) -> None:
        """Accumulate another part of the same batch."""
        self.created += other.created
        self.updated += other.updated
        self.skipped += other.skipped
        self.errors.extend(other.errors)


#: String attributes of a link (``None`` allowed); an empty ``*_uuid`` means ``None``.
_STRING_ATTRS = frozenset(
    {"uuid", "owner_uuid", "link_class", "name", "tail_uuid", "head_uuid", "head_kind",
     "tail_kind"}
)
_EMPTY_IS_NULL = frozenset(n for n in _STRING_ATTRS if n.endswith("_uuid"))


_PLAIN_ATTRS = _STRING_ATTRS | {"properties"}


def _fast_clean(item: Any) -> dict[str, Any] | None:
    """:func:`clean_attrs` for the common case (plain strings, a ``properties`` object without
    NUL), at a fraction of its cost; ``None`` whenever the item needs the full validation (which
    then decides, so accepted values and error messages are exactly the same)."""
    if type(item) is not dict:
        return None
    if not item.keys() <= _PLAIN_ATTRS:
        return _fast_clean_any(item)
    # The usual item (an exported line): only link attributes, so the copy keeps every one.
    if type(item.get("properties", {})) is not dict:
        return None
    cleaned = dict(item)
    for name, value in item.items():
        if type(value) is str:
            if len(value) > MAX_STRING_LENGTH or "\x00" in value:
                return None
            if not value and name in _EMPTY_IS_NULL:
                cleaned[name] = None
        elif name == "properties":  # a dict (checked above)
            if value and _needs_full_check(value):
                return None
        elif value is not None:
            return None
    return cleaned


def _fast_clean_any(item: dict[str, Any]) -> dict[str, Any] | None:
    """:func:`_fast_clean` of an item that also holds attributes to drop or to refuse."""
    cleaned: dict[str, Any] = {}
    for name, value in item.items():
        if name in _STRING_ATTRS:
            if value is not None:
                if type(value) is not str or "\x00" in value or len(value) > MAX_STRING_LENGTH:
                    return None
                if not value and name in _EMPTY_IS_NULL:
                    value = None
            cleaned[name] = value
        elif name == "properties":
            if type(value) is not dict or (value and _needs_full_check(value)):
                return None
            cleaned[name] = value
        elif name not in IGNORED:
            return None
    return cleaned


#: A JSON number of 19 digits or more may be out of the 64-bit range.
_LONG_NUMBER = re.compile(rb"[0-9]{19}")


def _needs_full_check(value: dict[str, Any]) -> bool:
    """True if ``value`` may break a limit of ``domain/limits.py``: a U+0000, more nesting
    than allowed, an integer out of range (false positives are harmless: the caller falls back
    to the full validation). Scans its JSON text in C rather than walking it in Python."""
    try:
        text = orjson.dumps(value)
    except TypeError:
        return True
    return (b"\\u0000" in text or text.count(b"{") + text.count(b"[") >= MAX_JSON_DEPTH
            or _LONG_NUMBER.search(text) is not None)


@dataclass
class PreparedBatch:
    """A batch validated item by item, before any database access (see :func:`prepare_links`)."""

    on_duplicate: str
    items: list[link_sets.Item] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    #: The uuids the items supply, and whether one of them is supplied twice.
    supplied: list[str] = field(default_factory=list)
    repeated: bool = False
    #: A batch of ordinary links: the rows it inserts if every item is new.
    rows: link_sets.PreparedLinks | None = None


def prepare_links(items: list[Any], on_duplicate: str, caller: Caller | None = None,
                  well_known: uuids.WellKnown | None = None,
                  dialect: str | None = None) -> PreparedBatch:
    """The part of a batch that needs no database: attribute validation and, for a batch of
    ordinary links, the rows to insert (uuids, timestamps, etags) encoded for ``dialect``'s
    insert statement.

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
    if batch.errors:
        return batch
    batch.supplied = [u for _, a in prepared if isinstance(u := a.get("uuid"), str)]
    batch.repeated = len(set(batch.supplied)) != len(batch.supplied)
    if caller is not None and well_known is not None and _all_ordinary(prepared):
        batch.rows = link_sets.prepare(prepared, caller.uuid, well_known, dialect or "")
    return batch


def _all_ordinary(items: list[link_sets.Item]) -> bool:
    special = link_sets.OWN_RULES
    return all(a.get("link_class") not in special for _, a in items)


@dataclass
class ImportOutcome:
    """The answer to one bulk import request."""

    created: int
    updated: int
    skipped: int
    errors: list[dict[str, Any]]
    committed: bool

    def as_dict(self) -> dict[str, Any]:
        """The wire form of ``POST /linkbase/v1/links/batch``."""
        return {"created": self.created, "updated": self.updated, "skipped": self.skipped,
                "errors": self.errors, "committed": self.committed}


class _Refused(Exception):
    """Raised inside the transaction to roll back a batch that had rejected items."""

    def __init__(self, result: BatchResult) -> None:
        super().__init__("batch refused")
        self.result = result


def import_batch(services: Services, caller: Caller, items: list[Any],
                 on_duplicate: str) -> ImportOutcome:
    """Use case: one all-or-nothing bulk import request (``linkbase import`` sends these)."""
    with gc_paused():
        batch = prepare_links(items, on_duplicate, caller, services.well_known,
                              services.db.dialect)
        del items  # the prepared batch holds what is needed; free the rest early
        if batch.errors:
            return ImportOutcome(0, 0, 0, batch.errors, False)
        if batch.rows is not None:
            try:
                result = services.uow.write(caller, _as_a_set, batch)
            except _NotASet:
                result = _link_by_link(services, caller, batch)
            except _Refused as refused:
                return ImportOutcome(0, 0, 0, refused.result.errors, False)
        else:
            result = _link_by_link(services, caller, batch)
    if result.errors:
        return ImportOutcome(0, 0, 0, result.errors, False)
    return ImportOutcome(result.created, result.updated, result.skipped, [], True)


class _NotASet(Exception):
    """The batch names existing uuids to update: it goes link by link after all."""


def _as_a_set(access: Access, batch: PreparedBatch) -> BatchResult:
    """One transaction: set aside duplicates, then insert the new links as a set.

    On SQLite a batch of distinct supplied uuids is first inserted as if they were all new (the
    usual import): the insert itself notices a taken uuid, and only then, or when an item is
    refused, is the batch looked at item by item as below (nothing of the first try remains)."""
    result = BatchResult()
    assert batch.rows is not None
    if batch.supplied and not batch.repeated and access.conn.dialect.name == "sqlite":
        try:
            result.created += link_sets.insert_links(access, batch.rows, unless_taken=True)
            return result
        except (bulk.UuidTaken, link_sets.Rejected):
            pass
    fresh = _set_aside(access, batch, batch.items, set(), result, updating=False)
    if result.errors:
        raise _Refused(result)
    rows = batch.rows if fresh is batch.items else link_sets.subset(batch.rows, fresh)
    try:
        result.created += link_sets.insert_links(access, rows)
    except link_sets.Rejected:
        # Report every refused item, as the link-by-link path does, not only the first: try
        # each one in a savepoint that is then rolled back.
        savepoint = access.conn.begin_nested()
        try:
            result.errors.extend(_create_each(access, fresh).errors)
        finally:
            savepoint.rollback()
        raise _Refused(result) from None
    return result


def _known_uuids(access: Access, candidates: list[str]) -> set[str]:
    """Those of ``candidates`` that name links the caller may see. A link it may not see is
    treated as absent (the item is then refused as for any uuid it may not assign), so a batch
    reveals nothing about links the caller cannot read."""
    existing = bulk.existing_link_uuids(access.conn, candidates)
    if access.caller.is_admin or not existing:
        return existing
    clause = access.readable_clause(LINKS, tables.links)
    assert clause is not None
    return link_sets.rows_matching(access, tables.links, existing, clause)


def _set_aside(access: Access, batch: PreparedBatch, items: list[link_sets.Item],
               seen: set[str], result: BatchResult, *, updating: bool
               ) -> list[link_sets.Item]:
    """Skip, update or reject the items whose uuid exists or came earlier in the batch
    (``on_duplicate``); returns the items left to create. ``seen`` (the uuids supplied by
    earlier items of the batch) is extended. ``updating``: apply ``update`` duplicates (else
    their presence raises :class:`_NotASet`)."""
    supplied = [u for _, a in items if isinstance(u := a.get("uuid"), str)]
    existing = _known_uuids(access, supplied) if supplied else set()
    if not existing and not batch.repeated:
        seen.update(supplied)
        return items
    fresh: list[link_sets.Item] = []
    for index, attrs in items:
        uuid = attrs.get("uuid")
        if isinstance(uuid, str) and (uuid in existing or uuid in seen):
            if batch.on_duplicate == "ignore" or uuid in seen:
                result.skipped += 1
            elif batch.on_duplicate == "error":
                result.errors.append({"index": index, "error": f"Uuid '{uuid}' already exists"})
            elif not updating:
                raise _NotASet()
            else:
                try:
                    link_service.update_link(access, uuid,
                                             {k: v for k, v in attrs.items() if k != "uuid"})
                    result.updated += 1
                except LinkbaseError as exc:
                    result.errors.append({"index": index, "error": str(exc)})
            continue
        if isinstance(uuid, str):
            seen.add(uuid)
        fresh.append((index, attrs))
    return fresh


def _create_each(access: Access, items: list[link_sets.Item]) -> BatchResult:
    """Create ``items`` one by one through the link service, collecting every refusal."""
    result = BatchResult()
    for index, attrs in items:
        try:
            link_service.create_link(access, dict(attrs))
            result.created += 1
        except LinkbaseError as exc:
            result.errors.append({"index": index, "error": str(exc)})
    return result


@dataclass
class _Chunk:
    """What one short transaction of a link-by-link batch did."""

    position: int
    seen: frozenset[str]
    result: BatchResult
    changes: list[transaction.Change]


def _ordinary(item: link_sets.Item) -> bool:
    return item[1].get("link_class") not in link_sets.OWN_RULES


def _create_run(access: Access, items: list[link_sets.Item]) -> BatchResult:
    """Create consecutive ordinary links as one set; if the set is refused, item by item (so
    every refusal is reported and the others still see each other, as one by one)."""
    if not items:
        return BatchResult()
    prepared = link_sets.prepare([(i, dict(a)) for i, a in items], access.caller.uuid,
                                 access.wk, access.conn.dialect.name)
    try:
        return BatchResult(created=link_sets.insert_links(access, prepared))
    except link_sets.Rejected:
        return _create_each(access, items)


def _chunk(access: Access, batch: PreparedBatch, start: int, seen: frozenset[str]) -> _Chunk:
    """Apply the items from ``start`` on, in order, until :data:`CHUNK_SECONDS` have passed:
    runs of ordinary links as sets, the others one by one."""
    journal = transaction.start_journal(access.conn)
    began = time.monotonic()
    result = BatchResult()
    now_seen = set(seen)
    items = batch.items
    position = start
    while position < len(items) and (
        position == start or time.monotonic() - began < CHUNK_SECONDS
    ):
        end = position
        while end < len(items) and end - position < RUN_LENGTH and _ordinary(items[end]):
            end += 1
        if end > position:
            fresh = _set_aside(access, batch, items[position:end], now_seen, result,
                               updating=True)
            result.add(_create_run(access, fresh))
            position = end
        else:
            fresh = _set_aside(access, batch, [items[position]], now_seen, result,
                               updating=True)
            result.add(_create_each(access, fresh))
            position += 1
    return _Chunk(position, frozenset(now_seen), result, list(journal))


def _link_by_link(services: Services, caller: Caller, batch: PreparedBatch) -> BatchResult:
    """Write the batch item by item in short transactions; undo them all if one item failed."""
    total = BatchResult()
    changes: list[transaction.Change] = []
    position, seen = 0, frozenset[str]()
    try:
        while position < len(batch.items):
            chunk = services.uow.write(caller, _chunk, batch, position, seen)
            position, seen = chunk.position, chunk.seen
            total.add(chunk.result)
            changes.extend(chunk.changes)
    finally:
        if total.errors or position < len(batch.items):
            undo(services, changes)
    return total


def undo(services: Services, changes: list[transaction.Change]) -> None:
    """Play a change journal back in reverse, in short transactions, as the server itself:
    inserted rows are deleted (with their cascade), updated and deleted rows restored."""
    pending = [c for c in reversed(changes) if c.table == tables.links.name]
    while pending:
        done = services.uow.write_as_server(_undo_some, pending)
        pending = pending[done:]


def _undo_some(access: Access, changes: list[transaction.Change]) -> int:
    began = time.monotonic()
    done = 0
    with closure_change(access.conn) as change:
        for item in changes:
            if done and time.monotonic() - began >= CHUNK_SECONDS:
                break
            done += 1
            current = fetch_record(access.conn, tables.links, item.uuid, for_update=True)
            if item.before is None:
                if current is not None:
                    delete_objects(access.conn, change, [item.uuid])
                continue
            before = item.before
            values = {k: v for k, v in before.items() if k in tables.links.c}
            if current is None:
                access.conn.execute(tables.links.insert().values(**values))
            else:
                access.conn.execute(tables.links.update()
                                    .where(tables.links.c.uuid == item.uuid).values(**values))
            transaction.note(access.conn, tables.links.name, item.uuid, current, values)
            if before.get("link_class") == "permission":
                change.set_edge(item.uuid, before["tail_uuid"], before["head_uuid"],
                                int(level_of_name(before["name"])))
    return done


def import_links(access: Access, items: list[Any], on_duplicate: str) -> BatchResult:
    """Apply one batch inside the caller's transaction (tests compare it with the one-by-one
    service); on any error, raise nothing but report. The caller must roll the transaction back
    when ``errors`` is non-empty."""
    batch = prepare_links(items, on_duplicate, access.caller, access.wk,
                          access.conn.dialect.name)
    if batch.errors:
        return BatchResult(errors=batch.errors)
    if batch.rows is not None:
        try:
            return _as_a_set(access, batch)
        except _Refused as refused:
            return refused.result
        except _NotASet:
            pass
    result = BatchResult()
    seen: set[str] = set()
    for item in batch.items:
        result.add(_create_each(access, _set_aside(access, batch, [item], seen, result,
                                                   updating=True)))
    return result
