"""Permission-filtered, filtered, ordered and paged lists: the Arvados list machinery (spec §3).

The permission clause and the compiled filters are ANDed into one SQL query; nothing is filtered
in Python afterwards, so ``items_available`` and paging are exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from linkbase.domain.query import ListQuery
from linkbase.domain.resources import Resource
from linkbase.services.permissions import TABLE_BY_RESOURCE, Access
from linkbase.storage.filters import compile_filters, compile_order

#: Computed attributes and the stored columns they derive from (for select + distinct).
_COMPUTED_SOURCES: dict[str, tuple[str, ...]] = {
    "head_kind": ("head_uuid",),
    "tail_kind": ("tail_uuid",),
    "full_name": ("first_name", "last_name"),
    "api_token": ("uuid",),
}


#: Largest offset applied (both backends bind 64-bit integers, and JSON output is 64-bit too);
#: larger offsets are past the end of any table anyway. The applied value is echoed.
_MAX_SQL_OFFSET = 2**62


@dataclass
class ListPage:
    """One page of a list: stored rows plus what the envelope reports."""

    items: list[dict[str, Any]]
    items_available: int | None
    limit: int
    offset: int


def list_records(access: Access, resource: Resource, query: ListQuery,
                 extra: ColumnElement[bool] | None = None) -> ListPage:
    """Evaluate ``query`` over the rows of ``resource`` the caller may read."""
    table = TABLE_BY_RESOURCE[resource.name]
    conditions: list[ColumnElement[bool]] = []
    # An admin reads everything: no sets to build (building them was a quarter of an admin's
    # list).
    sets = None if access.caller.is_admin else access.visibility_sets(as_ctes=True)
    visible = access.readable_clause(resource, table, sets)
    if visible is not None:
        conditions.append(visible)
    if extra is not None:
        conditions.append(extra)
    return list_rows(access.conn, table, resource, query, conditions)


def list_rows(conn: Connection, table: sa.FromClause, resource: Resource, query: ListQuery,
              conditions: list[ColumnElement[bool]] | None = None) -> ListPage:
    """Evaluate ``query`` over the rows of ``table`` (a table or any selectable with the
    resource's columns) that satisfy ``conditions`` (e.g. a permission clause)."""
    dialect = conn.dialect.name
    conditions = list(conditions or [])
    if query.filters:
        conditions.append(compile_filters(table, resource, list(query.filters), dialect))
    where = sa.and_(sa.true(), *conditions)
    offset = min(query.offset, _MAX_SQL_OFFSET)
    order = compile_order(table, list(query.order))

    if query.distinct and query.select:
        names: list[str] = []
        for attr in query.select:
            for column in _COMPUTED_SOURCES.get(attr, (attr,)):
                if column in table.c and column not in names:
                    names.append(column)
        columns = [table.c[name] for name in names]
        base = sa.select(*columns).where(where).distinct()
        available = None
        if query.count_exact:
            available = conn.execute(
                sa.select(sa.func.count()).select_from(base.subquery())
            ).scalar_one()
        distinct_rows: Any = base.subquery()
        items = []
        if query.limit:
            rows = conn.execute(
                sa.select(distinct_rows)
                .order_by(*compile_order(
                    distinct_rows, [t for t in query.order if t.attr in distinct_rows.c]
                ))
                .limit(query.limit)
                .offset(offset)
            )
            items = [dict(row._mapping) for row in rows]
        return ListPage(items, available, query.limit, offset)

    available = None
    if query.count_exact:
        available = conn.execute(
            sa.select(sa.func.count()).select_from(table).where(where)
        ).scalar_one()
    items = []
    if query.limit:
        rows = conn.execute(
            sa.select(table).where(where).order_by(*order).limit(query.limit).offset(offset)
        )
        items = [dict(row._mapping) for row in rows]
    return ListPage(items, available, query.limit, offset)

