"""Permission-filtered, filtered, ordered and paged lists: the Arvados list machinery (spec §3).

The permission clause and the compiled filters are ANDed into one SQL query; nothing is filtered
in Python afterwards, so ``items_available`` and paging are exact.

A list's statements are built once per *shape* and run again with new values: building them
(the permission clause, the filters, ordering) and SQLAlchemy's execution of them were two
thirds of a filtered list's CPU time (cProfile, ``bench/http.py``'s link list). The shape is
what the SQL depends on: the resource, the dialect, the caller's flags (admin, active: not
their uuid, which the permission clause names only as ``:lb_me``), each filter's attribute,
operator and kind of operand (:func:`~linkbase.storage.filters.filter_shape`), the order,
whether to count and whether to fetch. The values (the caller, operands, limit and offset)
are bound on each run, through a :class:`~linkbase.storage.driver_queries.DriverQuery`.
Queries whose SQL depends on the operands' values themselves (patterns, kinds, JSON, ``any``)
take the general path below, as do ``distinct`` selections.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import BindParameter, ColumnElement

from linkbase.domain.query import ListQuery
from linkbase.domain.resources import Resource
from linkbase.services.permissions import CALLER_PARAMETER as _CALLER
from linkbase.services.permissions import TABLE_BY_RESOURCE, Access
from linkbase.storage.driver_queries import DriverQuery
from linkbase.storage.filters import (
    compile_filters,
    compile_order,
    filter_shape,
    filter_values,
    parametrized_filters,
)

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
    if extra is None and not (query.distinct and query.select):
        page = _list_by_plan(access, resource, query)
        if page is not None:
            return page
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



# -- lists by cached plan ----------------------------------------------------------------------


@dataclass(frozen=True)
class _ListPlan:
    """A list shape's statements: the count (if counted) and the page (if any is fetched)."""

    count: DriverQuery | None
    page: DriverQuery | None


#: Plans by shape; None marks a shape that cannot be planned (see :func:`_plan`). Bounded:
#: shapes come from clients, so the cache is emptied when full rather than grown.
_PLANS: dict[tuple[Any, ...], _ListPlan | None] = {}
_MAX_PLANS = 2048
_LIMIT, _OFFSET = "lb_limit", "lb_offset"


def _list_by_plan(access: Access, resource: Resource, query: ListQuery) -> ListPage | None:
    """The page of :func:`list_records` from the shape's cached plan; None if the shape has
    none (the caller then builds the statements itself)."""
    caller = access.caller
    conn = access.conn
    key = (conn.dialect.name, resource.name, caller.is_admin, caller.is_active,
           filter_shape(query.filters), query.order, query.count_exact, query.limit > 0)
    plan = _PLANS.get(key, _MISSING)
    if plan is _MISSING:
        plan = _plan(access, resource, query)
        if len(_PLANS) >= _MAX_PLANS:
            _PLANS.clear()
        _PLANS[key] = plan
    if plan is None:
        return None
    assert isinstance(plan, _ListPlan)
    offset = min(query.offset, _MAX_SQL_OFFSET)
    values = filter_values(query.filters)
    values.update({_CALLER: caller.uuid, _LIMIT: query.limit, _OFFSET: offset})
    available = None
    if plan.count is not None:
        available = int(plan.count.rows(conn, values)[0][0])
    items = plan.page.mappings(conn, values) if plan.page is not None else []
    return ListPage(items, available, query.limit, offset)


_MISSING = object()


def _plan(access: Access, resource: Resource, query: ListQuery) -> _ListPlan | None:
    """Build the statements of ``query``'s shape, or None if its SQL depends on more than the
    shape: a filter compiled from its operand's value, or a value of this caller's written
    into the statement instead of bound (which would serve this caller's rows to the next)."""
    table = TABLE_BY_RESOURCE[resource.name]
    dialect = access.conn.dialect.name
    where = parametrized_filters(table, resource, list(query.filters), dialect)
    if where is None:
        return None
    conditions = [where]
    if not access.caller.is_admin:
        sets = access.visibility_sets(as_ctes=True)
        visible = access.readable_clause(resource, table, sets)
        if visible is not None:
            conditions.append(visible)
    condition = sa.and_(*conditions)
    count = page = None
    if query.count_exact:
        count = sa.select(sa.func.count()).select_from(table).where(condition)
    if query.limit:
        page = (sa.select(table).where(condition)
                .order_by(*compile_order(table, list(query.order)))
                .limit(sa.bindparam(_LIMIT, type_=sa.BigInteger))
                .offset(sa.bindparam(_OFFSET, type_=sa.BigInteger)))
    statements = [statement for statement in (count, page) if statement is not None]
    if any(_writes_caller(statement, access.caller.uuid) for statement in statements):
        return None
    plan = _ListPlan(_driver_query(count), _driver_query(page))
    queries = [query for query in (plan.count, plan.page) if query is not None]
    if not all(query.binds_plainly(access.conn.dialect) for query in queries):
        return None  # e.g. a boolean on SQLite: SQLAlchemy converts it; the general path
    return plan


def _writes_caller(statement: sa.Select[Any], caller: str) -> bool:
    """Whether ``statement`` holds ``caller``'s uuid as a constant (not as ``:lb_me``)."""
    return any(isinstance(element, BindParameter) and element.key != _CALLER
               and element.value == caller for element in visitors.iterate(statement))


def _driver_query(statement: sa.Select[Any] | None) -> DriverQuery | None:
    if statement is None:
        return None
    return DriverQuery(lambda: statement)
