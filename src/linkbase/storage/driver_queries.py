"""Hot read statements run on the driver's own cursor, compiled once.

A few reads run on almost every request: the token lookup, a permission check's two queries, a
record by uuid. For such a read SQLAlchemy's execution machinery costs far more than the
database's answer: of 3,000 permission checks on SQLite (cProfile, 100k links), 1.5 of 2.0 s
went to ``Connection.execute`` (a third of it expanding the ``IN`` lists, again for each call)
and 0.24 s to SQLite itself. A :class:`DriverQuery` is an ordinary SQLAlchemy statement,
compiled once per dialect and per length of its ``IN`` lists into the driver's own SQL and
parameter order; running it binds the values, executes on the DBAPI connection of the caller's
``Connection`` (so the same transaction, snapshot and locks) and applies the result processors
SQLAlchemy itself would apply (JSON documents, booleans), so callers get the same values as from
``conn.execute``. A driver error is wrapped as SQLAlchemy wraps it (``sqlalchemy.exc.DBAPIError``
subclasses, and a lost connection is invalidated), so the unit of work maps and retries it like
any other (``services/unit_of_work.py``).

Only reads with plain parameters go here (strings and integers, which no driver converts): a
statement whose parameters would need SQLAlchemy's bind processing is refused when compiled.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import BindParameter


@dataclass(frozen=True)
class _Slot:
    """Where a compiled parameter's value comes from: ``name`` (index ``index`` of a list)."""

    name: str
    index: int | None = None


@dataclass(frozen=True)
class _Compiled:
    sql: str
    #: One entry per driver parameter: a slot to fill, or a constant of the statement.
    plan: tuple[tuple[str, _Slot | Any], ...]
    positional: bool
    processors: tuple[Callable[[Any], Any] | None, ...]

    def parameters(self, values: Mapping[str, Any]) -> tuple[Any, ...] | dict[str, Any]:
        bound = [(key, _fill(slot, values)) for key, slot in self.plan]
        if self.positional:
            return tuple(value for _, value in bound)
        return dict(bound)


def _fill(slot: _Slot | Any, values: Mapping[str, Any]) -> Any:
    if not isinstance(slot, _Slot):
        return slot
    value = values[slot.name]
    return value if slot.index is None else value[slot.index]


class DriverQuery:
    """A read statement run on the driver's cursor (see the module docstring).

    ``build`` returns the statement; its ``IN`` lists are ``bindparam(name, expanding=True)``
    and are given as sequences to :meth:`rows` (an empty list is refused: callers pass a
    placeholder such as ``[""]``). A list is padded to a power of two (see :func:`_padded`),
    so the compiled forms stay few; lists are as long as SQLAlchemy would accept (the
    database's own limit on parameters applies).
    """

    def __init__(self, build: Callable[[], sa.Select[Any] | sa.CompoundSelect[Any]]) -> None:
        self._statement = build()
        self._expanding = frozenset(
            element.key for element in visitors.iterate(self._statement)
            if isinstance(element, BindParameter) and element.expanding)
        self._compiled: dict[tuple[str, tuple[int, ...]], _Compiled] = {}
        self._keys = tuple(self._statement.selected_columns.keys())

    def rows(self, conn: Connection, values: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """The statement's rows for ``values``, as tuples in the order of its columns."""
        dialect = conn.dialect
        if self._expanding:
            values = {**values, **{name: _padded(values[name]) for name in self._expanding}}
        lengths = tuple(len(values[name]) for name in sorted(self._expanding))
        compiled = self._compiled.get((dialect.name, lengths))
        if compiled is None:
            compiled = self._compile(dialect, values)
            self._compiled[(dialect.name, lengths)] = compiled
        parameters = compiled.parameters(values)
        dbapi_connection = conn.connection.dbapi_connection
        assert dbapi_connection is not None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(compiled.sql, parameters)
            fetched: Sequence[Any] = cursor.fetchall()
        except dialect.loaded_dbapi.Error as exc:
            _raise_as_sqlalchemy(conn, dialect, compiled.sql, parameters, exc, cursor)
        finally:
            cursor.close()
        processors = compiled.processors
        if not any(processors):
            return [tuple(row) for row in fetched]
        return [tuple(value if process is None else process(value)
                      for process, value in zip(processors, row, strict=True))
                for row in fetched]

    def mappings(self, conn: Connection, values: Mapping[str, Any]) -> list[dict[str, Any]]:
        """:meth:`rows` as dicts keyed by the statement's column keys (labels included)."""
        keys = self._keys
        return [dict(zip(keys, row, strict=True)) for row in self.rows(conn, values)]

    def binds_plainly(self, dialect: Dialect) -> bool:
        """Whether every parameter reaches ``dialect``'s driver as given, with no bind
        processing (else :meth:`rows` refuses the statement with TypeError)."""
        compiled = self._statement.compile(dialect=dialect)
        return not any(_needs_processing(bind, dialect) for bind in compiled.binds.values())

    def _compile(self, dialect: Dialect, values: Mapping[str, Any]) -> _Compiled:
        compiled = self._statement.compile(dialect=dialect)
        for bind in compiled.binds.values():
            if _needs_processing(bind, dialect):
                raise TypeError(f"parameter {bind.key!r} needs bind processing: not a "
                                "DriverQuery")
        slots: dict[str, Any] = {}
        for name in compiled.binds:
            if name in self._expanding:
                slots[name] = [_Slot(name, i) for i in range(len(values[name]))]
            elif name in values:
                slots[name] = _Slot(name)
        expanded = compiled.construct_expanded_state(slots)
        given = expanded.parameters
        if expanded.positiontup is not None:
            plan = tuple((key, given[key]) for key in expanded.positiontup)
        else:
            plan = tuple(given.items())
        processors = tuple(
            column.type.dialect_impl(dialect).result_processor(dialect, None)
            for column in self._statement.selected_columns)
        return _Compiled(expanded.statement, plan, expanded.positiontup is not None,
                         processors)


def _needs_processing(bind: BindParameter[Any], dialect: Dialect) -> bool:
    return bind.type.dialect_impl(dialect).bind_processor(dialect) is not None


def run_statement(conn: Connection, sql: str) -> None:
    """Run a statement without parameters or rows (``BEGIN``) on ``conn``'s DBAPI connection,
    failing as ``conn.exec_driver_sql`` would (a quarter of the cost of beginning a read
    transaction on SQLite was ``exec_driver_sql``'s machinery)."""
    dbapi_connection = conn.connection.dbapi_connection
    assert dbapi_connection is not None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(sql)
    except conn.dialect.loaded_dbapi.Error as exc:
        _raise_as_sqlalchemy(conn, conn.dialect, sql, (), exc, cursor)
    finally:
        cursor.close()


def _padded(items: Sequence[Any]) -> Sequence[Any]:
    """``items`` lengthened to a power of two by repeating its last item (``x IN (a, b, b)``
    is ``x IN (a, b)``), so a statement is compiled for a handful of lengths, not each."""
    if not items:
        raise ValueError("an IN list of a DriverQuery must not be empty")
    length = len(items)
    padded = 1 << (length - 1).bit_length()
    return items if padded == length else [*items, *[items[-1]] * (padded - length)]


def _raise_as_sqlalchemy(conn: Connection, dialect: Dialect, sql: str, parameters: Any,
                         exc: Any, cursor: Any) -> NoReturn:
    """Raise ``exc`` as ``conn.execute`` would have: wrapped, the connection invalidated if
    it was lost."""
    disconnected = dialect.is_disconnect(exc, conn.connection.dbapi_connection, cursor)
    if disconnected:
        conn.invalidate(exc)
    raise sa.exc.DBAPIError.instance(
        sql, parameters, exc, dialect.loaded_dbapi.Error,
        connection_invalidated=disconnected, dialect=dialect) from exc
