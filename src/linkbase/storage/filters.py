"""Compile a validated list query (``domain.query``) to SQLAlchemy Core, for SQLite and PostgreSQL.

All filtering happens in SQL, and the two backends MUST give identical results (spec §3.2:
"these semantics are identical on SQLite and PostgreSQL"). Where the engines differ the compiler
emits different SQL for the same meaning:

- strings compare and sort by code point: ``COLLATE "C"`` on PostgreSQL, SQLite's default BINARY;
- ``like`` is case-sensitive: PostgreSQL ``LIKE``; on SQLite (whose LIKE ignores ASCII case) the
  pattern is translated to an equivalent ``GLOB``;
- ``ilike`` is Unicode case-insensitive: ``lower(x) LIKE lower(p)`` on PostgreSQL, and on SQLite
  the same through ``linkbase_lower`` (a Python function, see :func:`register_sqlite_functions`;
  SQLite's own ``lower`` folds ASCII only);
- JSON: ``jsonb`` operators (``@>``, ``?``, ``->``) on PostgreSQL; on SQLite ``json_each``
  sub-queries compiled from the (constant) operand's structure, reproducing jsonb containment and
  equality exactly. ``json_each`` is used rather than JSON paths because SQLite 3.40 paths can
  neither quote a ``"`` in a key nor match keys stored with ``\\u`` escapes;
- nulls sort after values ascending and before them descending (explicit ``NULLS LAST/FIRST``).
"""

from __future__ import annotations

import hashlib
import operator
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects.postgresql import JSONB, aggregate_order_by
from sqlalchemy.engine import Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement, UnaryExpression
from sqlalchemy.sql.visitors import InternalTraversal

from linkbase.domain import uuids
from linkbase.domain.query import COMPARISONS, Filter, OrderTerm, is_fulltext_any
from linkbase.domain.resources import AttrType, Resource

SQLITE_LOWER = "linkbase_lower"

Expr = ColumnElement[Any]
Cond = ColumnElement[bool]

_CMP: dict[str, Callable[[Any, Any], Any]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_JSON_NUMBER_TYPES = ("integer", "real")
_SCALAR_TREE_TYPES = ("text", "integer", "real", "true", "false")


# --------------------------------------------------------------------------------------------
# code-point collation, portable


class CodePoint(ColumnElement[str]):
    """``expr`` compared by code point: ``expr COLLATE "C"`` on PostgreSQL, bare elsewhere.

    A construct rather than ``.collate("C")`` so :func:`compile_order` needs no dialect name.
    """

    inherit_cache = True
    type = sa.String()
    _traverse_internals = [("expr", InternalTraversal.dp_clauseelement)]  # noqa: RUF012

    def __init__(self, expr: Expr) -> None:
        self.expr = expr


@compiles(CodePoint)
def _code_point_default(element: CodePoint, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.expr, **kw)


@compiles(CodePoint, "postgresql")
def _code_point_postgresql(element: CodePoint, compiler: SQLCompiler, **kw: Any) -> str:
    return f'{compiler.process(element.expr.self_group(), **kw)} COLLATE "C"'


# --------------------------------------------------------------------------------------------
# SQLite helper functions


def simple_lower(value: str | None) -> str | None:
    """Per-character (simple) Unicode lowercase, like PostgreSQL's ``lower`` in a UTF-8 locale.

    Characters whose full lowercase mapping is longer than one character are left alone, so
    ``_`` in an ``ilike`` pattern still matches exactly one character of the folded value.
    """
    if value is None:
        return None
    lowered = value.lower()
    if len(lowered) == len(value) and "ς" not in lowered:
        return lowered
    out = []
    for char in value:
        low = char.lower()
        out.append(low if len(low) == 1 else char)
    return "".join(out)


def register_sqlite_functions(engine: Engine) -> None:
    """Install ``linkbase_lower`` on every new SQLite connection of ``engine`` (no-op otherwise).

    Must be called before the engine's first connection (e.g. right after ``create_engine``);
    ``ilike`` filters on SQLite fail with "no such function" without it.
    """
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _register(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.create_function(SQLITE_LOWER, 1, simple_lower, deterministic=True)


# --------------------------------------------------------------------------------------------
# LIKE patterns

_ANY_RUN = object()
_ONE_CHAR = object()
LikeToken = object  # a literal character (str) or one of the two wildcards above


def like_tokens(pattern: str) -> list[object]:
    """Parse an SQL LIKE pattern with ``\\`` as escape; a trailing lone ``\\`` is literal."""
    tokens: list[object] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            tokens.append(pattern[index + 1])
            index += 2
            continue
        if char == "%":
            tokens.append(_ANY_RUN)
        elif char == "_":
            tokens.append(_ONE_CHAR)
        else:
            tokens.append(char)
        index += 1
    return tokens


def to_like_pattern(tokens: Sequence[object]) -> str:
    """Canonical LIKE pattern (escape ``\\``): never ends with a lone escape, so never an error."""
    out = []
    for token in tokens:
        if token is _ANY_RUN:
            out.append("%")
        elif token is _ONE_CHAR:
            out.append("_")
        else:
            assert isinstance(token, str)
            out.append("\\" + token if token in "%_\\" else token)
    return "".join(out)


def to_glob_pattern(tokens: Sequence[object]) -> str:
    """The SQLite GLOB pattern (case-sensitive) matching exactly what the LIKE tokens match."""
    out = []
    for token in tokens:
        if token is _ANY_RUN:
            out.append("*")
        elif token is _ONE_CHAR:
            out.append("?")
        else:
            assert isinstance(token, str)
            out.append(f"[{token}]" if token in "*?[" else token)
    return "".join(out)


def _lower_tokens(tokens: Sequence[object]) -> list[object]:
    return [simple_lower(t) if isinstance(t, str) else t for t in tokens]


# --------------------------------------------------------------------------------------------
# the compiler


def compile_filters(
    table: sa.FromClause, resource: Resource, filters: Sequence[Filter], dialect: str
) -> Cond:
    """One boolean expression: every filter ANDed (``true`` for none)."""
    compiler = _FilterCompiler(table, resource, dialect)
    return sa.and_(sa.true(), *(compiler.filter(f) for f in filters))


def filter_parameter(index: int) -> str:
    """The bind parameter of filter number ``index`` in a parametrized statement."""
    return f"lb_f{index}"


def parametrized_filters(
    table: sa.FromClause, resource: Resource, filters: Sequence[Filter], dialect: str
) -> Cond | None:
    """:func:`compile_filters` with every operand a bind parameter (``lb_f0``, ``lb_f1``, ...,
    valued by :func:`filter_values`), or None when a filter's SQL depends on its operand's
    value itself (patterns, kinds, JSON, token digests, ``any``).

    Such a clause is the same for every query of the same :func:`filter_shape`, so a list
    statement built from it can be compiled once and run again with other values
    (``services/listing.py``); the shape holds everything the clause's SQL depends on besides
    the values.
    """
    compiler = _FilterCompiler(table, resource, dialect, parametrize=True)
    clause = sa.and_(sa.true(), *(compiler.filter(f, i) for i, f in enumerate(filters)))
    return clause if compiler.parametrizable else None


def filter_shape(filters: Sequence[Filter]) -> tuple[Any, ...]:
    """What the SQL of :func:`parametrized_filters` depends on: each filter's attribute, key,
    operator and its operand's kind (null, the type of a scalar, and for a list whether it
    holds nulls, whether it holds anything else, and the types of its members)."""
    return tuple((f.attr, f.key, f.op, _operand_shape(f.operand)) for f in filters)


def _operand_shape(operand: object) -> Any:
    if isinstance(operand, (list, tuple)):
        kinds = frozenset(type(v).__name__ for v in operand)
        return ("list", "NoneType" in kinds, bool(kinds - {"NoneType"}), kinds)
    if isinstance(operand, (str, int, float, type(None))):
        return type(operand).__name__
    return ("other", type(operand).__name__)  # JSON documents: never parametrized


def filter_values(filters: Sequence[Filter]) -> dict[str, Any]:
    """The parameter values of :func:`parametrized_filters` for ``filters``: each operand, a
    list without its nulls (they are compiled as ``IS NULL`` arms, see ``membership``)."""
    values: dict[str, Any] = {}
    for index, flt in enumerate(filters):
        operand = flt.operand
        if isinstance(operand, (list, tuple)):
            operand = [value for value in operand if value is not None]
        values[filter_parameter(index)] = operand
    return values


def compile_order(table: sa.FromClause, order: Sequence[OrderTerm]) -> list[UnaryExpression[Any]]:
    """ORDER BY terms: strings by code point, nulls last ascending and first descending."""
    result: list[UnaryExpression[Any]] = []
    for term in order:
        column: Expr = table.c[term.attr]
        expr: Expr = CodePoint(column) if isinstance(column.type, sa.String) else column
        result.append(expr.desc().nulls_first() if term.descending else expr.asc().nulls_last())
    return result


class _FilterCompiler:
    """Compiles filters for one table and dialect; one method per filter family."""

    def __init__(self, table: sa.FromClause, resource: Resource, dialect: str, *,
                 parametrize: bool = False) -> None:
        if dialect not in ("sqlite", "postgresql"):
            raise ValueError(f"unsupported dialect {dialect!r}")
        self.table = table
        self.resource = resource
        self.pg = dialect == "postgresql"
        #: Operands become bind parameters (see :func:`parametrized_filters`); a filter whose
        #: SQL depends on its operand's value clears ``parametrizable``.
        self.parametrize = parametrize
        self.parametrizable = True
        self.index = 0

    def filter(self, flt: Filter, index: int = 0) -> Cond:
        self.index = index
        if flt.attr == "any":
            self.parametrizable = False
            return self.any(flt)
        attribute = self.resource.filterable[flt.attr]
        if flt.key is not None:
            self.parametrizable = False
            return self.subproperty(self.table.c[flt.attr], flt.key, flt.op, flt.operand)
        if attribute.type is AttrType.JSON:
            self.parametrizable = False
            return self.json_whole(self.table.c[flt.attr], flt.op, flt.operand)
        if flt.attr == "api_token":
            self.parametrizable = False
            return self.api_token(flt.op, flt.operand)
        return self.scalar(
            self.table.c[flt.attr], attribute.type, flt.op, flt.operand, flt.attr == "uuid"
        )

    def value(self, operand: Any) -> Any:
        """``operand``, or in a parametrized clause the current filter's parameter (typed by
        the column it is compared with)."""
        return sa.bindparam(filter_parameter(self.index)) if self.parametrize else operand

    # -- S / T / B ------------------------------------------------------------------------

    def scalar(self, col: Expr, kind: AttrType, op: str, operand: Any, is_uuid: bool) -> Cond:
        if op == "=":
            return col.is_(None) if operand is None else col == self.value(operand)
        if op == "!=":
            if operand is None:
                return col.is_not(None)
            return sa.or_(col != self.value(operand), col.is_(None))
        if op in COMPARISONS:
            left = CodePoint(col) if kind is AttrType.STRING else col
            return _CMP[op](left, self.value(operand))  # type: ignore[no-any-return]
        if op in ("like", "ilike"):
            self.parametrizable = False
            return self.like(col, operand, op == "ilike")
        if op in ("in", "not in"):
            return self.membership(col, op, operand)
        if op == "is_a":
            self.parametrizable = False
            return self.is_a(col, operand, is_uuid)
        raise ValueError(f"operator {op!r} reached the compiler")  # pragma: no cover

    def membership(self, col: Expr, op: str, operand: Sequence[Any]) -> Cond:
        values = [v for v in operand if v is not None]
        has_null = len(values) != len(operand)
        listed: Any = values
        if self.parametrize:
            listed = sa.bindparam(filter_parameter(self.index), expanding=True)
        if op == "in":
            found = col.in_(listed) if values else sa.false()
            return sa.or_(found, col.is_(None)) if has_null else found
        if has_null:
            return sa.and_(col.is_not(None), col.not_in(listed)) if values else col.is_not(None)
        return sa.or_(col.is_(None), col.not_in(listed)) if values else sa.true()

    def is_a(self, col: Expr, kinds: Sequence[str], is_uuid: bool) -> Cond:
        infixes = sorted({i for i in (uuids.infix_of_kind(k) for k in kinds) if i is not None})
        if is_uuid:
            return sa.true() if self.resource.infix in infixes else sa.false()
        if not infixes:
            return sa.false()
        return sa.func.substr(col, 7, 5).in_(infixes)

    def like(self, expr: Expr, pattern: str, insensitive: bool) -> Cond:
        tokens = like_tokens(pattern)
        if self.pg:
            canonical = to_like_pattern(tokens)
            if insensitive:
                return sa.func.lower(expr).like(
                    sa.func.lower(sa.literal(canonical, sa.Text)), escape="\\"
                )
            return CodePoint(expr).like(canonical, escape="\\")
        if insensitive:
            glob = to_glob_pattern(_lower_tokens(tokens))
            return getattr(sa.func, SQLITE_LOWER)(expr).op("GLOB")(glob)  # type: ignore[no-any-return]
        return expr.op("GLOB")(to_glob_pattern(tokens))

    def api_token(self, op: str, operand: Any) -> Cond:
        """Only the digest is stored: hash the operand(s); other operators match nothing."""
        col = self.table.c.token_digest

        def digest(secret: str) -> str:
            return hashlib.sha256(secret.encode()).hexdigest()

        if op == "=" and operand is not None:
            return col == digest(operand)
        if op == "in":
            hashes = [digest(v) for v in operand if v is not None]
            return col.in_(hashes) if hashes else sa.false()
        return sa.false()

    # -- any ---------------------------------------------------------------------------------

    def any(self, flt: Filter) -> Cond:
        strings = [
            name
            for name in self.resource.searchable
            if self.resource.by_name[name].type is AttrType.STRING
        ]
        if is_fulltext_any(flt):
            parts: list[Expr] = [sa.func.coalesce(self.table.c[name], "") for name in strings]
            for name in self.resource.searchable:
                if self.resource.by_name[name].type is AttrType.JSON:
                    parts.append(sa.func.coalesce(self.json_text(self.table.c[name]), ""))
            joined: Expr = parts[0] if parts else sa.literal("", sa.Text)
            for part in parts[1:]:
                joined = joined.concat(" ").concat(part)
            assert isinstance(flt.operand, str)
            return self.like(joined, flt.operand, flt.op == "ilike")
        conditions = [
            self.scalar(self.table.c[name], AttrType.STRING, flt.op, flt.operand, False)
            for name in strings
        ]
        return sa.or_(sa.false(), *conditions)

    def json_text(self, col: Expr) -> Expr:
        """A JSON document's keys and scalar values at any depth, sorted by code point, joined
        by single spaces: the ``properties`` part of the ``any`` search text (spec §3.4)."""
        if self.pg:
            keys = sa.func.jsonb_path_query(
                col, sa.literal_column("""'strict $.** ? (@.type() == "object").keyvalue().key'""")
            ).column_valued("tok")
            scalars = sa.func.jsonb_path_query(
                col,
                sa.literal_column(
                    """'strict $.** ? (@.type() == "string" || @.type() == "number" """
                    """|| @.type() == "boolean")'"""
                ),
            ).column_valued("tok")
            text_of: Expr = sa.literal_column("'{}'")
            union = sa.union_all(
                sa.select(keys.op("#>>", return_type=sa.Text)(text_of).label("tok")),
                sa.select(scalars.op("#>>", return_type=sa.Text)(text_of).label("tok")),
            ).subquery()
            agg = sa.func.string_agg(
                union.c.tok, aggregate_order_by(sa.literal(" ", sa.Text), CodePoint(union.c.tok))
            )
            return sa.select(sa.type_coerce(agg, sa.Text)).scalar_subquery()
        tree_k = sa.func.json_tree(col).table_valued("key", "type", "atom")
        tree_v = sa.func.json_tree(col).table_valued("key", "type", "atom")
        value_text = sa.case(
            (tree_v.c.type == "true", "true"),
            (tree_v.c.type == "false", "false"),
            else_=sa.cast(tree_v.c.atom, sa.Text),
        )
        union = sa.union_all(
            sa.select(tree_k.c.key.label("tok")).where(sa.func.typeof(tree_k.c.key) == "text"),
            sa.select(value_text.label("tok")).where(tree_v.c.type.in_(_SCALAR_TREE_TYPES)),
        ).subquery()
        ordered = sa.select(union.c.tok).order_by(union.c.tok).subquery()
        agg = sa.func.group_concat(ordered.c.tok, " ")
        return sa.select(sa.type_coerce(agg, sa.Text)).scalar_subquery()

    # -- whole JSON attribute ----------------------------------------------------------------

    def json_whole(self, col: Expr, op: str, operand: Any) -> Cond:
        if op in ("=", "!="):
            if operand is None:
                return col.is_(None) if op == "=" else col.is_not(None)
            if self.pg:
                equal: Cond = col.op("=", return_type=sa.Boolean)(sa.literal(operand, JSONB))
            else:
                equal = _sq_equal(sa.func.json_type(col), col, operand)
            return equal if op == "=" else sa.or_(sa.not_(equal), col.is_(None))
        keys: Sequence[str] = (operand,) if op == "exists" else operand
        return sa.and_(*(self.has_key(col, key) for key in keys))

    def has_key(self, col: Expr, key: str) -> Cond:
        if self.pg:
            return col.op("?", return_type=sa.Boolean)(sa.literal(key, sa.Text))
        each = _sq_each(col)
        return _exists(each, each.c.key == key)

    # -- properties.KEY --------------------------------------------------------------------

    def subproperty(self, col: Expr, key: str, op: str, operand: Any) -> Cond:
        if op == "!=":
            return sa.not_(self.sub_contains(col, key, operand))
        if op == "=":
            return self.sub_contains(col, key, operand)
        if op in ("in", "not in"):
            found = sa.or_(sa.false(), *(self.sub_contains(col, key, v) for v in operand))
            return found if op == "in" else sa.not_(found)
        if op == "exists":
            present = self.has_key(col, key)
            return present if operand else sa.not_(present)
        if self.pg:
            return self._pg_sub(col, key, op, operand)
        return self._sq_sub(col, key, op, operand)

    def sub_contains(self, col: Expr, key: str, operand: Any) -> Cond:
        """``key`` present and its value jsonb-contains ``operand`` (spec §3.3 ``=``)."""
        if self.pg:
            return col.op("@>", return_type=sa.Boolean)(sa.literal({key: operand}, JSONB))
        each = _sq_each(col)
        return _exists(
            each, sa.and_(each.c.key == key, _sq_contains(each.c.type, each.c.value, operand))
        )

    def _pg_sub(self, col: Expr, key: str, op: str, operand: Any) -> Cond:
        value = col.op("->", return_type=JSONB)(sa.literal(key, sa.Text))
        text = col.op("->>", return_type=sa.Text)(sa.literal(key, sa.Text))
        kind = sa.func.jsonb_typeof(value)
        if op in COMPARISONS:
            if isinstance(operand, str):
                return sa.and_(kind == "string", _CMP[op](CodePoint(text), operand))
            return sa.and_(kind == "number", _CMP[op](value, sa.literal(operand, JSONB)))
        if op in ("like", "ilike"):
            return sa.and_(kind == "string", self.like(text, operand, op == "ilike"))
        # contains: v equals the scalar, or v is an array holding it
        return sa.or_(
            col.op("@>", return_type=sa.Boolean)(sa.literal({key: operand}, JSONB)),
            col.op("@>", return_type=sa.Boolean)(sa.literal({key: [operand]}, JSONB)),
        )

    def _sq_sub(self, col: Expr, key: str, op: str, operand: Any) -> Cond:
        each = _sq_each(col)
        if op in COMPARISONS:
            if isinstance(operand, str):
                cond = sa.and_(each.c.type == "text", _CMP[op](each.c.value, operand))
            else:
                cond = sa.and_(
                    each.c.type.in_(_JSON_NUMBER_TYPES), _CMP[op](each.c.value, operand)
                )
        elif op in ("like", "ilike"):
            cond = sa.and_(each.c.type == "text", self.like(each.c.value, operand, op == "ilike"))
        else:  # contains
            inner = _sq_children(each.c.type, each.c.value)
            cond = sa.or_(
                _sq_scalar(each.c.type, each.c.value, operand),
                sa.and_(
                    each.c.type == "array",
                    _exists(inner, _sq_scalar(inner.c.type, inner.c.value, operand)),
                ),
            )
        return _exists(each, sa.and_(each.c.key == key, cond))


# --------------------------------------------------------------------------------------------
# SQLite JSON helpers: a JSON node is (type expr, value expr) as json_each reports them


def _sq_each(doc: Expr) -> Any:
    """``json_each`` over a stored document (always an object)."""
    return sa.func.json_each(doc).table_valued("key", "value", "type")


def _sq_children(node_type: Expr, node_value: Expr) -> Any:
    """``json_each`` over a node's children; scalars are replaced by ``[]`` so they never parse."""
    source = sa.case((node_type.in_(("object", "array")), node_value), else_=sa.literal("[]"))
    return sa.func.json_each(source).table_valued("key", "value", "type")


def _exists(from_: Any, where: Cond) -> Cond:
    return sa.select(sa.literal(1)).select_from(from_).where(where).exists()


def _sq_scalar(node_type: Expr, node_value: Expr, operand: Any) -> Cond:
    """The node is the JSON scalar ``operand`` (numbers compared numerically)."""
    if operand is None:
        return node_type == "null"
    if operand is True:
        return node_type == "true"
    if operand is False:
        return node_type == "false"
    if isinstance(operand, str):
        return sa.and_(node_type == "text", node_value == operand)
    return sa.and_(node_type.in_(_JSON_NUMBER_TYPES), node_value == operand)


def _sq_contains(node_type: Expr, node_value: Expr, operand: Any) -> Cond:
    """jsonb ``@>`` of a node over a constant, compiled from the operand's structure."""
    if isinstance(operand, dict):
        conditions: list[Cond] = [node_type == "object"]
        for key, value in operand.items():
            child = _sq_children(node_type, node_value)
            conditions.append(
                _exists(
                    child,
                    sa.and_(child.c.key == key, _sq_contains(child.c.type, child.c.value, value)),
                )
            )
        return sa.and_(*conditions)
    if isinstance(operand, list):
        conditions = [node_type == "array"]
        for item in operand:
            child = _sq_children(node_type, node_value)
            conditions.append(_exists(child, _sq_contains(child.c.type, child.c.value, item)))
        return sa.and_(*conditions)
    return _sq_scalar(node_type, node_value, operand)


def _sq_equal(node_type: Expr, node_value: Expr, operand: Any) -> Cond:
    """jsonb equality of a node with a constant (object key order irrelevant, arrays ordered)."""
    if isinstance(operand, dict):
        conditions: list[Cond] = [node_type == "object"]
        counter = _sq_children(node_type, node_value)
        size = sa.select(sa.func.count()).select_from(counter).scalar_subquery()
        conditions.append(size == len(operand))
        for key, value in operand.items():
            child = _sq_children(node_type, node_value)
            conditions.append(
                _exists(
                    child,
                    sa.and_(child.c.key == key, _sq_equal(child.c.type, child.c.value, value)),
                )
            )
        return sa.and_(*conditions)
    if isinstance(operand, list):
        conditions = [node_type == "array"]
        counter = _sq_children(node_type, node_value)
        size = sa.select(sa.func.count()).select_from(counter).scalar_subquery()
        conditions.append(size == len(operand))
        for index, item in enumerate(operand):
            child = _sq_children(node_type, node_value)
            conditions.append(
                _exists(
                    child,
                    sa.and_(child.c.key == index, _sq_equal(child.c.type, child.c.value, item)),
                )
            )
        return sa.and_(*conditions)
    return _sq_scalar(node_type, node_value, operand)

