"""Low-level record writes shared by every resource: timestamps, etags, change detection.

Every stored object carries ``created_at``, ``modified_at``, ``modified_by_user_uuid`` and an
``etag`` over its stored attributes; a no-op update must leave all of them untouched, so
``update_record`` compares before writing.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
from collections.abc import Callable
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from linkbase.domain.etag import compute_etag
from linkbase.domain.timestamps import now_micros
from linkbase.storage import locks, transaction
from linkbase.storage.driver_queries import DriverQuery

#: Columns that never feed the etag (secrets, the etag itself, internal ids).
_NOT_IN_ETAG = frozenset({"etag", "password_hash", "token_digest", "id"})


_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
#: Base36 of 0..36**3-1 as three digits: 128-bit numbers convert in 8 divisions.
_THREE_DIGITS = [a + b + c for a in _DIGITS for b in _DIGITS for c in _DIGITS]
_ETAG_JSON = orjson.OPT_SORT_KEYS


def _builtin_md5() -> Callable[[bytes], Any]:
    """CPython's own MD5 if built in: for a record's few hundred bytes, a third faster than
    OpenSSL's (whose per-call set-up dominates); the same digest either way."""
    try:
        md5: Callable[[bytes], Any] = importlib.import_module("_md5").md5
    except (ImportError, AttributeError):
        md5 = hashlib.md5
    return md5


_md5 = _builtin_md5()


def _base36(number: int) -> str:
    """Lowercase base36 of ``number`` (0 <= number < 36**27: an MD5 digest is < 36**25).

    Unrolled (eight divisions, one join): a bulk import computes one per link, and this is half
    the time of the loop it replaces."""
    t, d = _THREE_DIGITS, divmod
    number, i = d(number, 46656)
    number, h = d(number, 46656)
    number, g = d(number, 46656)
    number, f = d(number, 46656)
    number, e = d(number, 46656)
    number, c2 = d(number, 46656)
    number, c = d(number, 46656)
    a, b = d(number, 46656)
    return "".join((t[a], t[b], t[c], t[c2], t[e], t[f], t[g], t[h], t[i])).lstrip("0") or "0"


def etag_of(values: dict[str, Any]) -> str:
    """The etag of a record's stored values.

    Lowercase base36 of the MD5 of the canonical JSON (sorted keys, compact, UTF-8) of the
    stored attributes, serialised with orjson. Values orjson cannot serialise (integers beyond
    64 bits, non-string keys) fall back to :func:`compute_etag`'s stdlib serialisation. Etags are
    opaque: they only have to change whenever a stored value does, and this is the only place
    they are computed.
    """
    return etag_of_stored({k: v for k, v in values.items() if k not in _NOT_IN_ETAG})


def etag_of_stored(stored: dict[str, Any]) -> str:
    """:func:`etag_of` for a dict that holds exactly the attributes that feed the etag (no
    ``etag``, ``id`` or secrets), as the bulk import builds them: skips the filtering copy."""
    try:
        canonical = orjson.dumps(stored, option=_ETAG_JSON, default=str)
    except TypeError:
        return compute_etag(stored)
    return _base36(int.from_bytes(_md5(canonical).digest(), "big"))


def insert_record(conn: Connection, table: sa.Table, values: dict[str, Any],
                  actor_uuid: str | None) -> dict[str, Any]:
    """Insert a new record, stamping times and etag; returns the stored row."""
    now = now_micros()
    record = dict(values)
    record.setdefault("created_at", now)
    if "modified_at" in table.c:
        record.setdefault("modified_at", now)
        record.setdefault("modified_by_user_uuid", actor_uuid)
    record["etag"] = etag_of(record)
    # The values as parameters of the table's plain INSERT (compiled once per set of columns),
    # not as ``.values()``: that built and cache-keyed a bind parameter per column every time.
    result = conn.execute(table.insert(), record)
    if "id" in table.c and "id" not in record:
        record["id"] = result.inserted_primary_key[0] if result.inserted_primary_key else None
    transaction.note(conn, table.name, record["uuid"], None, record)
    return record


def update_record(conn: Connection, table: sa.Table, current: dict[str, Any],
                  changes: dict[str, Any], actor_uuid: str | None) -> dict[str, Any]:
    """Apply ``changes`` if any value differs; returns the row as stored afterwards."""
    real = {k: v for k, v in changes.items() if current.get(k) != v}
    if not real:
        return current
    updated = {**current, **real}
    if "modified_at" in table.c:
        updated["modified_at"] = max(now_micros(), (current.get("modified_at") or 0) + 1)
        updated["modified_by_user_uuid"] = actor_uuid
    updated["etag"] = etag_of(updated)
    values = {k: updated[k] for k in (*real, "etag", "modified_at", "modified_by_user_uuid")
              if k in table.c}
    conn.execute(_update_by_uuid(table), {**values, "lb_key": current["uuid"]})
    transaction.note(conn, table.name, current["uuid"], current, updated)
    return updated


def fetch_record(conn: Connection, table: sa.Table, uuid: str, *,
                 for_update: bool = False,
                 lock: locks.RowLock | None = None) -> dict[str, Any] | None:
    """The stored row with this uuid, or None.

    ``for_update`` (in a write transaction): lock the row until the transaction ends
    (``FOR NO KEY UPDATE``, ``storage.locks``), so a concurrent update or delete of it waits and
    then applies to what this one wrote. ``lock``: another strength (``RowLock.REFERENCE`` for
    a row a write checks against).
    """
    mode = locks.RowLock.UPDATE if for_update else lock
    if mode is None or not locks.row_locks_apply(conn):
        query = _by_uuid(table)
    else:
        query = _by_uuid_locked(table, mode)
    rows = query.mappings(conn, {"uuid": uuid})
    return rows[0] if rows else None


@functools.cache
def _update_by_uuid(table: sa.Table) -> sa.Update:
    """``UPDATE table SET <the columns given> WHERE uuid = :lb_key`` (built once per table; the
    columns set are the parameters of each execution)."""
    return table.update().where(table.c.uuid == sa.bindparam("lb_key"))


@functools.cache
def _by_uuid(table: sa.Table) -> DriverQuery:
    """A record by uuid: the read of almost every get, run on the driver's cursor."""
    return DriverQuery(lambda: sa.select(table).where(table.c.uuid == sa.bindparam("uuid")))


@functools.cache
def _by_uuid_locked(table: sa.Table, mode: locks.RowLock) -> DriverQuery:
    """A record by uuid, row-locked: what every write reads its target and references with."""
    return DriverQuery(lambda: locks.with_row_lock(
        sa.select(table).where(table.c.uuid == sa.bindparam("uuid")), mode))
