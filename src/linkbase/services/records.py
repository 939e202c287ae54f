"""Low-level record writes shared by every resource: timestamps, etags, change detection.

Every stored object carries ``created_at``, ``modified_at``, ``modified_by_user_uuid`` and an
``etag`` over its stored attributes; a no-op update must leave all of them untouched, so
``update_record`` compares before writing.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from linkbase.domain.etag import compute_etag
from linkbase.domain.timestamps import now_micros

#: Columns that never feed the etag (secrets, the etag itself, internal ids).
_NOT_IN_ETAG = frozenset({"etag", "password_hash", "token_digest", "id"})


def etag_of(values: dict[str, Any]) -> str:
    """The etag of a record's stored values."""
    return compute_etag({k: v for k, v in values.items() if k not in _NOT_IN_ETAG})


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
    result = conn.execute(table.insert().values(**record))
    if "id" in table.c and "id" not in record:
        record["id"] = result.inserted_primary_key[0] if result.inserted_primary_key else None
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
    conn.execute(table.update().where(table.c.uuid == current["uuid"]).values(**values))
    return updated


def fetch_record(conn: Connection, table: sa.Table, uuid: str) -> dict[str, Any] | None:
    """The stored row with this uuid, or None."""
    row = conn.execute(sa.select(table).where(table.c.uuid == uuid)).first()
    return dict(row._mapping) if row is not None else None
