"""Writing the audit log: the changes a transaction noted (``storage.transaction``), as rows of
``logs``, in that transaction, just before it commits.

**Ids in commit order.** Readers of the log (the websocket bus, the change feed, the SDK's
poller) resume "after id N", so an id must never become visible after a larger one. On SQLite
write transactions run one at a time, so ids commit in order. On PostgreSQL the log rows are
inserted under a transaction-scoped advisory lock (:data:`LOG_LOCK_KEY`) taken just before, and
held until commit: the transaction that takes it next draws its ids after this one's commit. The
lock is the last one any transaction takes and nothing waits on another lock while holding it,
so it adds a short queue at commit and no deadlock. The same transaction then sends
``NOTIFY linkbase_logs`` (delivered at commit) to wake the event buses of every process.

**Secrets**: ``password_hash`` and ``token_digest`` never reach the log (the API token itself
is never stored); nor does a link's internal integer ``id``.

**Compact attributes.** Of ``new_attributes``, the common attributes whose values the entry
already holds are not stored: ``uuid`` (= ``object_uuid``), ``owner_uuid`` (=
``object_owner_uuid``), ``created_at`` and ``modified_at`` when equal to ``event_at``, and
``modified_by_user_uuid`` when equal to the entry's ``owner_uuid`` (who made the change); of
``old_attributes``, ``uuid``. :func:`expand` puts them back on reading (every stored kind has
all five), so readers see whole records while a created link's entry stores only what is its
own (about half the bytes, and half the time of a bulk import's log).
"""

from __future__ import annotations

import zlib
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection

from linkbase.domain.timestamps import now_micros
from linkbase.storage import bulk, tables, transaction
from linkbase.storage.transaction import BulkLinks, Change

#: Advisory lock that orders log ids by commit (PostgreSQL).
LOG_LOCK_KEY = zlib.crc32(b"linkbase.audit_log")
#: The channel every committed batch of log rows is announced on (PostgreSQL).
CHANNEL = "linkbase_logs"
#: Stored columns that never appear in a log entry's attributes.
HIDDEN = frozenset({"password_hash", "token_digest", "api_token", "id"})

_LOG_COLUMNS = ("object_uuid", "object_owner_uuid", "event_type", "event_at", "owner_uuid",
                "request_id", "properties")
#: One entry per row change, through the driver (no statement compilation per transaction);
#: ``properties`` travels as JSON text (``jsonb`` parses it on PostgreSQL).
_SQLITE_INSERT = (f"INSERT INTO {tables.logs.name} ({', '.join(_LOG_COLUMNS)}) "
                  "VALUES (?, ?, ?, ?, ?, ?, ?)")
_PG_INSERT = (f"INSERT INTO {tables.logs.name} ({', '.join(_LOG_COLUMNS)}) "
              "VALUES (%s, %s, %s, %s, %s, %s, CAST(%s AS jsonb))")
#: PostgreSQL, one statement: the ordering lock (taken before any id is drawn: the rows come
#: from a join with it), the entries from a JSON array of rows in order, and the notification
#: (sent at commit).
_PG_LOCKED_INSERT = (
    f"WITH locked AS (SELECT pg_advisory_xact_lock({LOG_LOCK_KEY})), "
    f"inserted AS (INSERT INTO {tables.logs.name} ({', '.join(_LOG_COLUMNS)}) "
    "SELECT e.v ->> 0, e.v ->> 1, e.v ->> 2, CAST(e.v ->> 3 AS bigint), e.v ->> 4, e.v ->> 5, "
    "CAST(e.v ->> 6 AS jsonb) FROM locked, jsonb_array_elements(CAST(%s AS jsonb)) "
    "WITH ORDINALITY AS e(v, n) ORDER BY e.n RETURNING 1) "
    f"SELECT pg_notify('{CHANNEL}', '') FROM (SELECT 1 FROM inserted LIMIT 1) AS any_row"
)

#: SQLite: log a set of links with the attributes built by SQLite itself (no Python per row),
#: from the rows just inserted, read by their ``id`` range (``storage.bulk``): in id order,
#: which is the order of the insert. Reading the stored columns costs a third of extracting
#: them again from the JSON array the insert read (each ``->>`` parses its element anew).
#: (The links share ``created_at`` = ``modified_at`` = the entries' ``event_at``; ``:author``
#: is their author when it is not the actor.)
_SQLITE_BULK = (
    f"INSERT INTO {tables.logs.name} ({', '.join(_LOG_COLUMNS)}) SELECT uuid, "
    "owner_uuid, 'create', :at, :actor, :request_id, json_object('old_attributes', NULL, "
    "'new_attributes', json_object({author}'etag', etag, 'link_class', link_class, "
    "'name', name, 'tail_uuid', tail_uuid, 'head_uuid', head_uuid, "
    "'properties', json(properties)){reason}) "
    f"FROM {tables.links.name} WHERE id > :after AND id <= :last ORDER BY id"
)
#: The same from the JSON array the insert read: when a later change of the transaction
#: touched one of the links, the entry must still show it as it was created.
_SQLITE_BULK_FROM_ROWS = (
    f"INSERT INTO {tables.logs.name} ({', '.join(_LOG_COLUMNS)}) SELECT value ->> 0, "
    "value ->> 1, 'create', :at, :actor, :request_id, json_object('old_attributes', NULL, "
    "'new_attributes', json_object({author}'etag', value ->> 2, 'link_class', value ->> 3, "
    "'name', value ->> 4, 'tail_uuid', value ->> 5, 'head_uuid', value ->> 6, "
    "'properties', value -> 7){reason}) FROM json_each(:rows)"
)

_PG_BULK = (
    f"INSERT INTO {tables.logs.name} ({', '.join(_LOG_COLUMNS)}) "
    "SELECT l.uuid, l.owner_uuid, 'create', l.created_at, :actor, :request_id, "
    "jsonb_build_object('old_attributes', NULL, 'new_attributes', to_jsonb(l) - 'id' - 'uuid' "
    "- 'owner_uuid' - 'created_at' - 'modified_at'{author}{reason}) "
    f"FROM {tables.links.name} l JOIN unnest(CAST(:uuids AS text[])) WITH ORDINALITY AS w(u, n) "
    "ON l.uuid = w.u ORDER BY w.n"
)
#: As :data:`_SQLITE_BULK_FROM_ROWS`, on PostgreSQL.
_PG_BULK_FROM_ROWS = (
    f"INSERT INTO {tables.logs.name} ({', '.join(_LOG_COLUMNS)}) "
    "SELECT e.v ->> 0, e.v ->> 1, 'create', :at, :actor, :request_id, "
    "jsonb_build_object('old_attributes', NULL, 'new_attributes', jsonb_build_object("
    "{author}'etag', e.v ->> 2, 'link_class', e.v ->> 3, 'name', e.v ->> 4, "
    "'tail_uuid', e.v ->> 5, 'head_uuid', e.v ->> 6, 'properties', e.v -> 7){reason}) "
    "FROM jsonb_array_elements(CAST(:rows AS jsonb)) WITH ORDINALITY AS e(v, n) ORDER BY e.n"
)

#: The common attributes :func:`compact` may leave out, and where :func:`expand` finds them.
_IMPLIED = ("uuid", "owner_uuid", "created_at", "modified_at", "modified_by_user_uuid")


def attributes(row: dict[str, Any] | None) -> dict[str, Any] | None:
    """A stored row as a log entry shows it (secrets and internal ids removed)."""
    if row is None:
        return None
    return {k: v for k, v in row.items() if k not in HIDDEN}


def compact(new: dict[str, Any] | None, old: dict[str, Any] | None, object_uuid: str,
            owner: str | None, event_at: int, actor: str | None
            ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """``new_attributes`` and ``old_attributes`` without what the entry itself says."""
    if new is not None:
        implied = (object_uuid, owner, event_at, event_at, actor)
        new = {k: v for k, v in new.items()
               if not (k in _IMPLIED and v == implied[_IMPLIED.index(k)])}
    if old is not None:
        old = {k: v for k, v in old.items() if k != "uuid"}
    return new, old


def expand(row: dict[str, Any]) -> dict[str, Any]:
    """A stored entry's ``properties`` with the attributes :func:`compact` left out put back
    (``row`` holds the entry's columns)."""
    properties = row.get("properties")
    if not isinstance(properties, dict):
        return {}
    properties = dict(properties)
    new = properties.get("new_attributes")
    if isinstance(new, dict):
        implied = (row["object_uuid"], row["object_owner_uuid"], row["event_at"],
                   row["event_at"], row["owner_uuid"])
        properties["new_attributes"] = {
            **{k: v for k, v in zip(_IMPLIED, implied, strict=True) if k not in new}, **new}
    old = properties.get("old_attributes")
    if isinstance(old, dict) and "uuid" not in old:
        properties["old_attributes"] = {"uuid": row["object_uuid"], **old}
    return properties


def event_type(change: Change) -> str:
    """``create``, ``update`` or ``delete`` (Arvados's values)."""
    if change.before is None:
        return "create"
    return "delete" if change.after is None else "update"


def flush(conn: Connection, actor: str | None, request_id: str | None,
          reason: dict[str, Any] | None = None) -> int:
    """Write the transaction's noted changes to the log; returns how many entries."""
    state = transaction.state(conn)
    pending = state.audit
    if not pending:
        return 0
    state.audit = []
    pg = conn.dialect.name == "postgresql"
    if pg and not any(isinstance(item, BulkLinks) for item in pending):
        # The common case (a request's own changes): lock, insert and notify in one round trip.
        rows = [_row(item, actor, request_id, reason) for item in pending
                if isinstance(item, Change)]
        conn.exec_driver_sql(_PG_LOCKED_INSERT, (orjson.dumps(rows).decode(),))
        return len(rows)
    if pg:
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({LOG_LOCK_KEY})")
    written = 0
    batch: list[tuple[Any, ...]] = []

    def write_rows() -> None:
        if batch:
            conn.exec_driver_sql(_PG_INSERT if pg else _SQLITE_INSERT, batch)
            batch.clear()

    for position, item in enumerate(pending):
        if isinstance(item, BulkLinks):
            write_rows()  # keep the ids in the order of the changes
            written += _flush_bulk(conn, item, actor, request_id, reason,
                                   _changed_later(item, pending[position + 1:]))
            continue
        batch.append(_row(item, actor, request_id, reason))
        written += 1
    write_rows()
    if pg and written:
        conn.exec_driver_sql(f"NOTIFY {CHANNEL}")
    return written


def _row(item: Change, actor: str | None, request_id: str | None,
         reason: dict[str, Any] | None) -> tuple[Any, ...]:
    """One entry's column values (``properties`` as JSON text)."""
    shown = item.after if item.after is not None else item.before
    owner = (shown or {}).get("owner_uuid")
    # An insert or update happened when the row says it was modified.
    at = (item.after or {}).get("modified_at") or now_micros()
    new, old = compact(attributes(item.after), attributes(item.before), item.uuid, owner, at,
                       actor)
    properties: dict[str, Any] = {"old_attributes": old, "new_attributes": new}
    if reason is not None:
        properties["reason"] = reason
    text = orjson.dumps(properties, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
    return (item.uuid, owner, event_type(item), at, actor, request_id, text)


def _changed_later(item: BulkLinks, later: list[Change | BulkLinks]) -> bool:
    """Whether a change noted after ``item`` touched one of its links (updated or deleted it
    in the same transaction)."""
    touched = {c.uuid for c in later if isinstance(c, Change) and c.table == tables.links.name}
    return bool(touched) and any(row[0] in touched for row in item.links.rows)


def _flush_bulk(conn: Connection, item: BulkLinks, actor: str | None, request_id: str | None,
                reason: dict[str, Any] | None, changed_later: bool = False) -> int:
    links: bulk.NewLinks = item.links
    if not links.rows:
        return 0
    if conn.dialect.name == "sqlite":
        author = "" if links.author == actor else "'modified_by_user_uuid', :author, "
        extra = ", 'reason', json(:reason)" if reason is not None else ""
        params: dict[str, Any] = {
            "at": links.created_at, "actor": actor, "request_id": request_id,
            "author": links.author, "reason": orjson.dumps(reason).decode()}
        if links.id_range is not None and not changed_later:
            params["after"], params["last"] = links.id_range
            template = _SQLITE_BULK
        else:
            params["rows"] = links.json_rows()
            template = _SQLITE_BULK_FROM_ROWS
        conn.exec_driver_sql(template.format(author=author, reason=extra), params)
        return len(links.rows)
    extra = ", 'reason', CAST(:reason AS jsonb)" if reason is not None else ""
    values: dict[str, Any] = {"actor": actor, "request_id": request_id}
    if reason is not None:
        values["reason"] = orjson.dumps(reason).decode()
    if changed_later:
        author = "" if links.author == actor else "'modified_by_user_uuid', :author, "
        values.update(at=links.created_at, author=links.author, rows=links.json_rows())
        conn.execute(sa.text(_PG_BULK_FROM_ROWS.format(author=author, reason=extra)), values)
        return len(links.rows)
    author = " - 'modified_by_user_uuid'" if links.author == actor else ""
    statement = sa.text(_PG_BULK.format(author=author, reason=extra)).bindparams(
        sa.bindparam("uuids", type_=ARRAY(sa.Text)))
    values["uuids"] = [row[0] for row in links.rows]
    conn.execute(statement, values)
    return len(links.rows)
