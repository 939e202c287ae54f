"""Bulk link import: all-or-nothing batches, permission-checked, with a fast path for admins.

The CLI's ``import`` sends batches of links here. A batch either commits whole or reports every
rejected item (index and reason) and writes nothing, so the client can drop the bad lines and
resend the rest. Items carrying an existing ``uuid`` are skipped, updated or rejected according to
``on_duplicate``; that makes an interrupted import resumable. Admin batches of ordinary links
(no ``permission`` or ``published_port``) take the fast path of :mod:`fast_import`, which makes
the per-link service's checks set-based; everything else goes through the per-link service.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from linkbase.domain import uuids
from linkbase.domain.errors import InvalidArgumentError, LinkbaseError
from linkbase.domain.resources import LINKS
from linkbase.gc_pause import gc_paused
from linkbase.services import fast_import
from linkbase.services import links as link_service
from linkbase.services.context import Caller, Services
from linkbase.services.permissions import Access
from linkbase.services.validation import IGNORED, clean_attrs
from linkbase.storage import bulk

ON_DUPLICATE = ("error", "ignore", "update")


@dataclass
class BatchResult:
    """What a batch did (or, with errors, would have done: nothing was written)."""

    created: int = 0
    updated: int = 0
    skipped: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)


#: String attributes of a link (``None`` allowed); an empty ``*_uuid`` means ``None``.
_STRING_ATTRS = frozenset(
    {"uuid", "owner_uuid", "link_class", "name", "tail_uuid", "head_uuid", "head_kind",
     "tail_kind"}
)
_EMPTY_IS_NULL = frozenset(n for n in _STRING_ATTRS if n.endswith("_uuid"))


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
    items: list[fast_import.Item] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    #: The uuids the items supply, and whether one of them is supplied twice.
    supplied: list[str] = field(default_factory=list)
    repeated: bool = False
    #: An admin's batch of ordinary links: the rows it inserts if every item is new.
    fast: fast_import.FastBatch | None = None


def prepare_links(items: list[Any], on_duplicate: str, caller: Caller | None = None,
                  well_known: uuids.WellKnown | None = None,
                  dialect: str | None = None) -> PreparedBatch:
    """The part of a batch that needs no database: attribute validation and, for an admin's
    batch of ordinary links (see :mod:`fast_import`), the rows to insert (uuids, timestamps,
    etags) encoded for ``dialect``'s insert statement.

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
    if caller is not None and well_known is not None and _fast_path_applies(caller, prepared):
        batch.fast = fast_import.build(prepared, caller.uuid, well_known, dialect or "")
    return batch


def _fast_path_applies(caller: Caller, items: list[fast_import.Item]) -> bool:
    special = fast_import.OWN_RULES
    return caller.is_admin and all(a.get("link_class") not in special for _, a in items)


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


def _apply_or_refuse(access: Access, batch: PreparedBatch) -> BatchResult:
    result = apply_links(access, batch)
    if result.errors:
        raise _Refused(result)
    return result


def import_batch(services: Services, caller: Caller, items: list[Any],
                 on_duplicate: str) -> ImportOutcome:
    """Use case: one all-or-nothing bulk import request (``linkbase import`` sends these).

    The batch is validated and prepared before the write transaction, so another batch can
    write meanwhile; the transaction then only checks it against the database and writes it.
    """
    with gc_paused():
        batch = prepare_links(items, on_duplicate, caller, services.well_known,
                              services.db.dialect)
        del items  # the prepared batch holds what is needed; free the rest early
        if batch.errors:
            return ImportOutcome(0, 0, 0, batch.errors, False)
        try:
            result = services.uow.write(caller, _apply_or_refuse, batch)
        except _Refused as refused:
            return ImportOutcome(0, 0, 0, refused.result.errors, False)
    return ImportOutcome(result.created, result.updated, result.skipped, [], True)


def import_links(access: Access, items: list[Any], on_duplicate: str) -> BatchResult:
    """Apply one batch inside the caller's transaction; on any error, raise nothing but report.

    The caller must roll the transaction back when ``errors`` is non-empty.
    """
    return apply_links(access, prepare_links(items, on_duplicate, access.caller, access.wk,
                                             access.conn.dialect.name))


def apply_links(access: Access, batch: PreparedBatch) -> BatchResult:
    """The database part of :func:`import_links`, inside the caller's transaction."""
    result = BatchResult()
    if batch.errors:
        result.errors.extend(batch.errors)
        return result
    existing = bulk.existing_link_uuids(access.conn, batch.supplied)
    if existing or batch.repeated:
        fresh = _set_aside_duplicates(access, batch, existing, result)
        if result.errors:
            return result
    else:
        fresh = batch.items
    if batch.fast is not None or _fast_path_applies(access.caller, fresh):
        if batch.fast is None:
            fast = fast_import.build(fresh, access.caller.uuid, access.wk,
                                     access.conn.dialect.name)
        elif fresh is batch.items:
            fast = batch.fast
        else:
            fast = fast_import.subset(batch.fast, fresh)
        try:
            result.created += fast_import.insert(access.conn, fast)
        except fast_import.Rejected as exc:
            result.errors.append({"index": exc.index, "error": exc.message})
        return result
    for index, attrs in fresh:
        try:
            link_service.create_link(access, attrs)
            result.created += 1
        except LinkbaseError as exc:
            result.errors.append({"index": index, "error": str(exc)})
    return result


def _set_aside_duplicates(access: Access, batch: PreparedBatch, existing: set[str],
                          result: BatchResult) -> list[fast_import.Item]:
    """Skip, update or reject the items whose uuid exists or came earlier in the batch
    (``on_duplicate``); the items left to create."""
    on_duplicate = batch.on_duplicate
    fresh: list[fast_import.Item] = []
    seen: set[str] = set()
    for index, attrs in batch.items:
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
    return fresh
