"""The audit log as use cases: who may read which entry, lists, the change feed, pruning.

**Visibility** (a log entry says what an object was; it must not say more than the object):

* admins read every entry;
* while the object exists, its entries are readable by whoever can read the object now, by the
  ordinary rules (``Access.readable_clause``);
* once it is deleted, by whoever could read it now had it stayed where it was: owned by its
  last owner, reached through that owner only (``via_owner``, so its own deleted grants count
  for nothing). Being able to read a *user record* is not enough to read what that user owns
  (``via_owner`` needs a path that traverses owned objects), so it reveals no history of the
  user's private objects. A deleted token's entries stay its owner's alone.

Entries are read-only for everyone but admins, who may delete them (one, or all before a time:
:func:`prune`). The face-independent row shape is the stored one plus ``uuid`` (derived from
``id``), ``created_at``/``modified_at`` (= ``event_at``) and ``modified_by_user_uuid`` (who made
the change, also ``owner_uuid``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from linkbase.domain import uuids
from linkbase.domain.errors import NotFoundError, PermissionDeniedError
from linkbase.domain.query import Filter, ListQuery
from linkbase.domain.resources import LOGS, RESOURCE_BY_INFIX, USER_PUBLIC_ATTRIBUTES
from linkbase.services.context import Caller, Services
from linkbase.services.listing import ListPage, list_rows
from linkbase.services.permissions import TABLE_BY_RESOURCE, Access
from linkbase.storage import audit, tables
from linkbase.storage.filters import compile_filters

_logs = tables.logs
#: Most entries one page of the change feed or one delivery round returns.
MAX_PAGE = 1000


def log_uuid(cluster_id: str, log_id: int) -> str:
    """The Arvados uuid of log entry ``log_id``."""
    return f"{cluster_id}-{uuids.LOG}-{log_id:015d}"


def log_id_of(cluster_id: str, uuid: str) -> int | None:
    """The id a log uuid names (None: not one of ours)."""
    match = re.fullmatch(rf"{re.escape(cluster_id)}-{uuids.LOG}-([0-9]{{15}})", uuid)
    return int(match.group(1)) if match else None


def source(dialect: str, cluster_id: str) -> sa.Subquery:
    """The log with the attributes every object has, as a selectable the list machinery,
    filters and order work on (``uuid`` is derived from ``id``; nothing extra is stored)."""
    prefix = f"{cluster_id}-{uuids.LOG}-"
    if dialect == "sqlite":
        uuid: ColumnElement[Any] = sa.func.printf(prefix + "%015d", _logs.c.id)
    else:
        uuid = sa.literal(prefix) + sa.func.lpad(sa.cast(_logs.c.id, sa.Text), 15, "0")
    return sa.select(
        _logs.c.id, uuid.label("uuid"), _logs.c.owner_uuid,
        _logs.c.event_at.label("created_at"), _logs.c.event_at.label("modified_at"),
        _logs.c.owner_uuid.label("modified_by_user_uuid"), _logs.c.object_uuid,
        _logs.c.object_owner_uuid, _logs.c.event_type, _logs.c.event_at, _logs.c.request_id,
        _logs.c.properties,
    ).subquery("log_entries")


def visible_clause(access: Access, src: sa.FromClause) -> ColumnElement[bool] | None:
    """The entries of ``src`` the caller may read (None: all; see the module docstring)."""
    if access.caller.is_admin:
        return None
    me = access.caller.uuid
    sets = access.visibility_sets()
    readable: list[sa.Select[Any]] = []
    gone: list[ColumnElement[bool]] = []
    kind = sa.func.substr(src.c.object_uuid, 7, 5)
    through_owner = sa.or_(src.c.object_owner_uuid == me,
                           src.c.object_owner_uuid.in_(sets.owned_read))
    for infix, resource in RESOURCE_BY_INFIX.items():
        table = TABLE_BY_RESOURCE[resource.name]
        clause = access.readable_clause(resource, table, sets)
        existing = sa.select(table.c.uuid)
        readable.append(existing if clause is None else existing.where(clause))
        deleted = sa.and_(
            kind == infix,
            ~sa.exists(sa.select(table.c.uuid).where(table.c.uuid == src.c.object_uuid)),
        )
        owner_rule = (src.c.object_owner_uuid == me) if infix == uuids.TOKEN else through_owner
        gone.append(sa.and_(deleted, owner_rule))
    # One IN over a union (an OR of IN-subqueries can make PostgreSQL test every row against
    # each materialized set).
    return sa.or_(src.c.object_uuid.in_(sa.union_all(*readable)), *gone)


def _shown(access: Access, cluster_id: str, row: dict[str, Any]) -> dict[str, Any]:
    """What of an entry the caller sees: another user's private attributes are not shown."""
    row = dict(row)
    row.setdefault("uuid", log_uuid(cluster_id, row["id"]))
    row["etag"] = format(row["id"], "x")
    row["properties"] = audit.expand(row)
    caller = access.caller
    if (not caller.is_admin and uuids.infix_of(row["object_uuid"]) == uuids.USER
            and row["object_uuid"] != caller.uuid):
        properties = dict(row.get("properties") or {})
        for key in ("old_attributes", "new_attributes"):
            attrs = properties.get(key)
            if isinstance(attrs, dict):
                properties[key] = {k: v for k, v in attrs.items() if k in USER_PUBLIC_ATTRIBUTES}
        row["properties"] = properties
    return row


def _list(access: Access, cluster_id: str, query: ListQuery) -> ListPage:
    src = source(access.conn.dialect.name, cluster_id)
    visible = visible_clause(access, src)
    page = list_rows(access.conn, src, LOGS, query, [visible] if visible is not None else [])
    page.items = [_shown(access, cluster_id, row) for row in page.items]
    return page


def list_page(services: Services, caller: Caller, query: ListQuery) -> ListPage:
    """A page of the entries the caller may read (the Arvados list machinery)."""
    return services.uow.read(caller, _list, services.cluster_id, query)


def _get(access: Access, cluster_id: str, uuid: str) -> dict[str, Any]:
    log_id = log_id_of(cluster_id, uuid)
    if log_id is None:
        raise NotFoundError()
    src = source(access.conn.dialect.name, cluster_id)
    conditions: list[ColumnElement[bool]] = [src.c.id == log_id]
    visible = visible_clause(access, src)
    if visible is not None:
        conditions.append(visible)
    row = access.conn.execute(sa.select(src).where(*conditions)).first()
    if row is None:
        raise NotFoundError()
    return _shown(access, cluster_id, dict(row._mapping))


def get(services: Services, caller: Caller, uuid: str) -> dict[str, Any]:
    """One entry the caller may read (NotFoundError otherwise)."""
    return services.uow.read(caller, _get, services.cluster_id, uuid)


def _delete(access: Access, cluster_id: str, uuid: str) -> dict[str, Any]:
    row = _get(access, cluster_id, uuid)
    if not access.caller.is_admin:
        raise PermissionDeniedError("Forbidden")
    access.conn.execute(_logs.delete().where(_logs.c.id == row["id"]))
    return row


def delete(services: Services, caller: Caller, uuid: str) -> dict[str, Any]:
    """Remove one entry (admins; others may read it at most: 403, or 404 if they cannot)."""
    return services.uow.write(caller, _delete, services.cluster_id, uuid)


def refuse_write(caller: Caller) -> None:
    """Log entries are written by the server only: any client write is refused."""
    raise PermissionDeniedError("Forbidden" if not caller.is_admin else
                                "Log entries are written by the server")


def _prune(access: Access, before: int) -> int:
    if not access.caller.is_admin:
        raise PermissionDeniedError("Only admins may prune the log")
    result = access.conn.execute(_logs.delete().where(_logs.c.event_at < before))
    return int(result.rowcount or 0)


def prune(services: Services, caller: Caller, before: int) -> int:
    """Delete the entries older than ``before`` (microseconds); returns how many."""
    return services.uow.write(caller, _prune, before)


# -- reading in id order: the event bus and the change feed ----------------------------------


@dataclass
class Changes:
    """A page of entries after a cursor, and the cursor to continue from."""

    items: list[dict[str, Any]]
    #: The largest id considered (returned or not visible to the caller): resume after it.
    cursor: int


def latest_id(services: Services) -> int:
    """The id of the newest entry (0 if none)."""
    return services.uow.read_as_server(
        lambda access: int(access.conn.execute(sa.select(sa.func.max(_logs.c.id))).scalar()
                           or 0))


def _changes(access: Access, cluster_id: str, after: int, filter_sets: list[list[Filter]],
             limit: int, upto: int | None) -> Changes:
    conn = access.conn
    src = source(conn.dialect.name, cluster_id)
    newest = int(conn.execute(sa.select(sa.func.max(_logs.c.id))).scalar() or 0)
    if upto is not None:
        newest = min(newest, upto)
    conditions: list[ColumnElement[bool]] = [src.c.id > after, src.c.id <= newest]
    if filter_sets and all(filter_sets):
        conditions.append(sa.or_(*(compile_filters(src, LOGS, filters, conn.dialect.name)
                                   for filters in filter_sets)))
    visible = visible_clause(access, src)
    if visible is not None:
        conditions.append(visible)
    rows = conn.execute(sa.select(src).where(*conditions).order_by(src.c.id).limit(limit))
    items = [_shown(access, cluster_id, dict(r._mapping)) for r in rows]
    # Fewer than asked: every entry up to ``newest`` was considered (ids commit in order).
    cursor = items[-1]["id"] if len(items) == limit else max(after, newest)
    return Changes(items, cursor)


def changes(services: Services, caller: Caller, after: int, filter_sets: list[list[Filter]],
            limit: int = MAX_PAGE, upto: int | None = None) -> Changes:
    """The entries after id ``after`` (up to ``upto``) the caller may read and any of
    ``filter_sets`` matches (each a list of conditions, all of which must hold; no sets or an
    empty set: every entry), oldest first, at most ``limit``."""
    return services.uow.read(caller, _changes, services.cluster_id, after, filter_sets,
                             max(1, min(limit, MAX_PAGE)), upto)
