"""The filter/order contract: the same queries give the same rows, in the same order, on SQLite
and PostgreSQL (spec §3.2 "identical on SQLite and PostgreSQL").

Each case pins the exact expected result; both backends are checked against the same value, so
any divergence (nulls, case, collation, JSON typing, LIKE escaping) fails one of them. A
hypothesis test then compares the two backends on random filters.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from linkbase.domain.errors import InvalidArgumentError
from linkbase.domain.query import build_list_query
from linkbase.domain.resources import (
    API_CLIENT_AUTHORIZATIONS,
    GROUPS,
    LINKS,
    USERS,
    Resource,
)
from linkbase.storage import tables
from linkbase.storage.engine import create_engine
from linkbase.storage.filters import (
    compile_filters,
    compile_order,
    filter_values,
    parametrized_filters,
    register_sqlite_functions,
)
from linkbase.storage.migrate import upgrade
from tests.support.databases import BACKENDS, fresh_database_url


def L(n: int) -> str:
    return f"zzzzz-o0j2j-{n:015d}"


def U(n: int) -> str:
    return f"zzzzz-tpzed-{n:015d}"


def G(n: int) -> str:
    return f"zzzzz-j7d0g-{n:015d}"


def T(n: int) -> str:
    return f"zzzzz-gj3su-{n:015d}"


P1 = {
    "a": 1,
    "s": "apple",
    "arr": ["x", "y", 3],
    "obj": {"k": "v", "n": [1, 2]},
    "a.b": "dotted",
    'q"k': "quoted",
}
P2 = {"a": 1.0, "s": "Apple", "arr": ["y"], "flag": True}
P3 = {"a": "1", "s": "banana", "obj": {"k": "w"}, "é": "Ünïcode", "nul": None}
P4: dict[str, Any] = {}
P5 = {"s": "100%", "a": 2, "arr": [[1, 2], {"z": 1}], "http://x/y": "url"}
P6 = {"a": [1, 2], "s": "cherry", "obj": {"k": "v", "n": [1, 2], "extra": True}}
P7 = {"s": "apple pie"}

#: (n, link_class, name, head_uuid, tail_uuid, modified_at, properties); created_at = n * 1000
LINK_ROWS: list[tuple[int, str | None, str | None, str | None, str | None, int | None, Any]] = [
    (1, "tag", "Foo", U(1), G(1), 5000, P1),
    (2, "Tag", None, "zzzzz-4zz18-000000000000001", None, 4000, P2),
    (3, "permission", "can_read", G(2), U(2), None, P3),
    (4, None, "Éclair", "arbitrary string", U(1), 3000, P4),
    (5, "tag", "a%b_c\\d", None, None, 3000, P5),
    (6, "star", "ÉCLAIR", "zzzzz-xvhdp-000000000000001", U(1), 6000, P6),
    (7, "tag", "foo", U(2), None, 2000, P7),
]
ALL_LINKS = {1, 2, 3, 4, 5, 6, 7}


def _load(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            sa.insert(tables.links),
            [
                {
                    "uuid": L(n),
                    "created_at": n * 1000,
                    "modified_at": modified,
                    "etag": "e",
                    "link_class": link_class,
                    "name": name,
                    "head_uuid": head,
                    "tail_uuid": tail,
                    "properties": props,
                    "owner_uuid": U(1),
                }
                for n, link_class, name, head, tail, modified, props in LINK_ROWS
            ],
        )
        conn.execute(
            sa.insert(tables.users),
            [
                {**row, "created_at": i, "modified_at": i, "etag": "e", "prefs": {},
                 "owner_uuid": U(0)}
                for i, row in enumerate(
                    [
                        {"uuid": U(1), "email": "a@x", "username": "alice",
                         "first_name": "Alice", "last_name": None, "is_admin": True,
                         "is_active": True},
                        {"uuid": U(2), "email": None, "username": "bob", "first_name": "Bob",
                         "last_name": "Ståhl", "is_admin": False, "is_active": True},
                        {"uuid": U(3), "email": "c@x", "username": None, "first_name": None,
                         "last_name": None, "is_admin": False, "is_active": False},
                    ],
                    start=1,
                )
            ],
        )
        conn.execute(
            sa.insert(tables.groups),
            [
                {"uuid": G(1), "name": "Project X", "group_class": "project",
                 "description": None, "properties": {"tier": 1}, "created_at": 1,
                 "modified_at": 1, "etag": "e", "owner_uuid": U(1)},
                {"uuid": G(2), "name": "readers", "group_class": "role",
                 "description": "People who read", "properties": {}, "created_at": 2,
                 "modified_at": 2, "etag": "e", "owner_uuid": U(0)},
            ],
        )
        conn.execute(
            sa.insert(tables.api_client_authorizations),
            [
                {"uuid": T(1), "token_digest": _sha("secret1"), "expires_at": None,
                 "scopes": ["all"], "created_at": 1, "etag": "e", "owner_uuid": U(1)},
                {"uuid": T(2), "token_digest": _sha("secret2"), "expires_at": 10_000_000,
                 "scopes": ["all"], "created_at": 2, "etag": "e", "owner_uuid": U(2)},
            ],
        )


def _sha(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass
class Db:
    engine: Engine
    backend: str

    def uuids(
        self, resource: Resource, table: sa.Table, filters: Any = None, **params: Any
    ) -> list[str]:
        query = build_list_query(resource, filters=filters, **params)
        order = compile_order(table, query.order)
        stmt = (
            sa.select(table.c.uuid)
            .where(compile_filters(table, resource, query.filters, self.backend))
            .order_by(*order)
        )
        with self.engine.connect() as conn:
            found = [row[0] for row in conn.execute(stmt)]
            # Every case also checks the parametrized form (the cached list plans' filters):
            # where it exists, the same rows in the same order with the values bound.
            where = parametrized_filters(table, resource, query.filters, self.backend)
            if where is not None:
                bound = conn.execute(sa.select(table.c.uuid).where(where).order_by(*order),
                                     filter_values(query.filters))
                assert [row[0] for row in bound] == found, query.filters
            return found


def _make_db(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Db:
    url = fresh_database_url(backend, tmp_path_factory.mktemp(backend))
    engine = create_engine(url)
    register_sqlite_functions(engine)
    upgrade(engine)
    _load(engine)
    return Db(engine, engine.dialect.name)


@pytest.fixture(scope="module", params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Db]:
    """The fixture data set, loaded once per backend for the whole module."""
    database = _make_db(str(request.param), tmp_path_factory)
    yield database
    database.engine.dispose()


def links(db: Db, filters: Any = None, **params: Any) -> set[int]:
    return {int(u[-15:]) for u in db.uuids(LINKS, tables.links, filters, **params)}


def links_ordered(db: Db, filters: Any = None, **params: Any) -> list[int]:
    return [int(u[-15:]) for u in db.uuids(LINKS, tables.links, filters, **params)]


TS = "1970-01-01T00:00:00.00{}Z"

LINK_CASES: list[tuple[list[Any], set[int]]] = [
    # S: equality, nulls, membership
    ([["name", "=", "Foo"]], {1}),
    ([["name", "=", None]], {2}),
    ([["name", "!=", "Foo"]], {2, 3, 4, 5, 6, 7}),
    ([["name", "!=", None]], {1, 3, 4, 5, 6, 7}),
    ([["name", "in", ["Foo", "foo"]]], {1, 7}),
    ([["name", "in", ["Foo", None]]], {1, 2}),
    ([["name", "in", []]], set()),
    ([["name", "not in", ["Foo"]]], {2, 3, 4, 5, 6, 7}),
    ([["name", "not in", ["Foo", None]]], {3, 4, 5, 6, 7}),
    ([["name", "not in", [None]]], {1, 3, 4, 5, 6, 7}),
    ([["name", "not in", []]], ALL_LINKS),
    ([["name", "NOT IN", ["foo"]]], {1, 2, 3, 4, 5, 6}),
    # S: code-point comparison
    ([["name", "<", "a"]], {1}),
    ([["name", ">=", "f"]], {4, 6, 7}),
    ([["name", ">", "Éclair"]], set()),
    ([["name", "<=", "ÉCLAIR"]], {1, 3, 5, 6, 7}),
    # S: like / ilike
    ([["name", "like", "F%"]], {1}),
    ([["name", "like", "f%"]], {7}),
    ([["name", "LIKE", "%oo"]], {1, 7}),
    ([["name", "ilike", "f%"]], {1, 7}),
    ([["name", "ilike", "éclair"]], {4, 6}),
    ([["name", "like", "éclair"]], set()),
    ([["name", "like", "a\\%b\\_c\\\\d"]], {5}),
    ([["name", "like", "a_b%"]], {5}),
    ([["name", "like", "%d"]], {3, 5}),
    ([["name", "like", "%\\"]], set()),
    ([["name", "like", "[a]%"]], set()),
    ([["name", "like", "*"]], set()),
    ([["name", "like", "_oo"]], {1, 7}),
    ([["link_class", "=", "tag"]], {1, 5, 7}),
    ([["link_class", "ilike", "TAG"]], {1, 2, 5, 7}),
    ([["link_class", "!=", "tag"]], {2, 3, 4, 6}),
    # T
    ([["modified_at", ">", TS.format(4)]], {1, 6}),
    ([["modified_at", "=", None]], {3}),
    ([["modified_at", "!=", "1970-01-01T00:00:00.003000000Z"]], {1, 2, 3, 6, 7}),
    ([["modified_at", "<=", "1970-01-01T00:00:00.003000000Z"]], {4, 5, 7}),
    ([["modified_at", "in", [TS.format(3), None]]], {3, 4, 5}),
    ([["modified_at", "not in", [TS.format(3)]]], {1, 2, 3, 6, 7}),
    ([["created_at", ">=", "1970-01-01"]], ALL_LINKS),
    ([["created_at", "<", "1970-01-01T00:00:00.003+00:00"]], {1, 2}),
    # is_a and the legacy kinds
    ([["head_uuid", "is_a", "arvados#user"]], {1, 7}),
    ([["head_uuid", "is_a", ["arvados#collection", "arvados#containerRequest"]]], {2, 6}),
    ([["head_uuid", "is_a", "arvados#container_request"]], {6}),
    ([["head_uuid", "is_a", "arvados#nothing"]], set()),
    ([["head_uuid", "is_a", []]], set()),
    ([["uuid", "is_a", "arvados#link"]], ALL_LINKS),
    ([["uuid", "is_a", ["arvados#user"]]], set()),
    ([["head_kind", "=", "arvados#user"]], {1, 7}),
    ([["tail_kind", "=", ["arvados#group"]]], {1}),
    # whole JSON
    ([["properties", "exists", "obj"]], {1, 3, 6}),
    ([["properties", "contains", ["a", "s"]]], {1, 2, 3, 5, 6}),
    ([["properties", "contains", "flag"]], {2}),
    ([["properties", "=", "{}"]], {4}),
    ([["properties", "=", '{"s": "apple pie"}']], {7}),
    ([["properties", "=", json.dumps({"obj": {"k": "w"}, "a": "1", "s": "banana",
                                      "é": "Ünïcode", "nul": None})]], {3}),
    ([["properties", "=", '{"s": "apple"}']], set()),
    ([["properties", "=", json.dumps({**P2, "a": 1})]], {2}),
    ([["properties", "!=", "{}"]], ALL_LINKS - {4}),
    # subproperties: = and containment
    ([["properties.a", "=", 1]], {1, 2}),
    ([["properties.a", "=", 1.0]], {1, 2}),
    ([["properties.a", "=", "1"]], {3}),
    ([["properties.a", "!=", 1]], {3, 4, 5, 6, 7}),
    ([["properties.a", "in", [1, "1"]]], {1, 2, 3}),
    ([["properties.a", "not in", [1, "1"]]], {4, 5, 6, 7}),
    ([["properties.a", "in", []]], set()),
    ([["properties.a", "not in", []]], ALL_LINKS),
    ([["properties.a", "=", [1]]], {6}),
    ([["properties.a", "=", [2, 1, 1]]], {6}),
    ([["properties.arr", "=", "y"]], set()),
    ([["properties.arr", "=", ["y"]]], {1, 2}),
    ([["properties.arr", "=", [3, "x"]]], {1}),
    ([["properties.arr", "=", [[1]]]], {5}),
    ([["properties.arr", "=", [1]]], set()),
    ([["properties.arr", "=", [{}]]], {5}),
    ([["properties.arr", "=", []]], {1, 2, 5}),
    ([["properties.obj", "=", {"k": "v"}]], {1, 6}),
    ([["properties.obj", "=", {"n": [2]}]], {1, 6}),
    ([["properties.obj", "=", {"k": "v", "extra": True}]], {6}),
    ([["properties.obj", "=", {}]], {1, 3, 6}),
    ([["properties.obj.k", "exists", True]], set()),
    ([["properties.a.b", "=", "dotted"]], {1}),
    ([['properties.q"k', "=", "quoted"]], {1}),
    ([["properties.é", "=", "Ünïcode"]], {3}),
    ([["properties.<http://x/y>", "=", "url"]], {5}),
    ([["properties.nul", "=", None]], {3}),
    ([["properties.nul", "exists", True]], {3}),
    ([["properties.flag", "=", True]], {2}),
    ([["properties.flag", "=", 1]], set()),
    ([["properties.flag", "exists", False]], ALL_LINKS - {2}),
    ([["properties.missing", "!=", "x"]], ALL_LINKS),
    # subproperties: comparisons, like, contains
    ([["properties.a", "<", 2]], {1, 2}),
    ([["properties.a", ">=", 1.5]], {5}),
    ([["properties.a", "<=", "1"]], {3}),
    ([["properties.s", ">", "b"]], {3, 6}),
    ([["properties.s", "<", "a"]], {2, 5}),
    ([["properties.s", "like", "apple%"]], {1, 7}),
    ([["properties.s", "ilike", "APPLE%"]], {1, 2, 7}),
    ([["properties.s", "like", "100\\%"]], {5}),
    ([["properties.é", "ilike", "ünïcode"]], {3}),
    ([["properties.a", "like", "1"]], {3}),
    ([["properties.arr", "contains", "y"]], {1, 2}),
    ([["properties.arr", "contains", 3]], {1}),
    ([["properties.s", "contains", "apple"]], {1}),
    ([["properties.a", "contains", 2]], {5, 6}),
    # any
    ([["any", "ilike", "%apple%"]], {1, 2, 7}),
    ([["any", "like", "%apple%"]], {1, 7}),
    ([["any", "ilike", "%éclair%"]], {4, 6}),
    ([["any", "=", "Foo"]], {1}),
    ([["any", "in", ["star", "foo"]]], {6, 7}),
    ([["any", "like", "Fo%"]], {1}),
    ([["any", "ilike", "%tag foo%"]], {1, 7}),
    ([["any", "ilike", "%url%"]], {5}),
    ([["any", "like", "%http://x/y%"]], {5}),
    ([["any", "like", "%dotted%"]], {1}),
    ([["any", "like", "%true%"]], {2, 6}),
    # combinations are ANDed
    ([["link_class", "=", "tag"], ["name", "ilike", "foo"]], {1, 7}),
    ([["link_class", "=", "tag"], ["properties.a", "=", 1]], {1}),
]


@pytest.mark.parametrize(("filters", "expected"), LINK_CASES, ids=[repr(c[0]) for c in LINK_CASES])
def test_link_filters(db: Db, filters: list[Any], expected: set[int]) -> None:
    assert links(db, filters) == expected


WHERE_CASES: list[tuple[dict[str, Any], set[int]]] = [
    ({"link_class": "tag"}, {1, 5, 7}),
    ({"name": None}, {2}),
    ({"name": ["contains", "oo"]}, {1, 7}),
    ({"any": ["contains", "APPLE"]}, {1, 2, 7}),
    ({"head_kind": "arvados#user"}, {1, 7}),
    ({"bogus": 1}, ALL_LINKS),
    ({"link_class": ["star", "Tag"]}, {2, 6}),
]


@pytest.mark.parametrize(("where", "expected"), WHERE_CASES, ids=[repr(c[0]) for c in WHERE_CASES])
def test_link_where(db: Db, where: dict[str, Any], expected: set[int]) -> None:
    assert links(db, where=where) == expected


ORDER_CASES: list[tuple[Any, list[int]]] = [
    (None, [3, 6, 1, 2, 5, 4, 7]),
    (["name asc"], [1, 5, 3, 7, 6, 4, 2]),
    (["name desc"], [2, 4, 6, 7, 3, 5, 1]),
    ("modified_at", [7, 5, 4, 2, 1, 6, 3]),
    (["link_class", "uuid asc"], [2, 3, 6, 1, 5, 7, 4]),
    ("links.link_class desc, uuid", [4, 1, 5, 7, 6, 3, 2]),
    (["properties asc", "bogus", "name sideways", "head_kind"], [3, 6, 1, 2, 5, 4, 7]),
]


@pytest.mark.parametrize(("order", "expected"), ORDER_CASES, ids=[repr(c[0]) for c in ORDER_CASES])
def test_link_order(db: Db, order: Any, expected: list[int]) -> None:
    assert links_ordered(db, order=order) == expected


def test_user_filters(db: Db) -> None:
    def users(filters: Any) -> set[int]:
        return {int(u[-15:]) for u in db.uuids(USERS, tables.users, filters)}

    assert users([["is_admin", "=", True]]) == {1}
    assert users([["is_admin", "=", "t"]]) == {1}
    assert users([["is_admin", "!=", True]]) == {2, 3}
    assert users([["is_admin", "in", [False]]]) == {2, 3}
    assert users([["is_active", "not in", ["yes"]]]) == {3}
    assert users([["any", "ilike", "%STÅHL%"]]) == {2}
    assert users([["any", "like", "%Bob Ståhl%"]]) == {2}
    assert users([["email", "=", None]]) == {2}
    assert users([["any", "=", None]]) == {1, 2, 3}
    assert users([["username", "in", ["bob", None]]]) == {2, 3}


def test_group_and_token_filters(db: Db) -> None:
    groups = db.uuids(GROUPS, tables.groups, [["properties.tier", ">", 0]])
    assert groups == [G(1)]
    assert db.uuids(GROUPS, tables.groups, [["any", "ilike", "%read%"]]) == [G(2)]

    def tokens(filters: Any) -> set[int]:
        return {
            int(u[-15:])
            for u in db.uuids(API_CLIENT_AUTHORIZATIONS, tables.api_client_authorizations, filters)
        }

    assert tokens([["api_token", "=", "secret1"]]) == {1}
    assert tokens([["api_token", "in", ["secret2", "nope", None]]]) == {2}
    assert tokens([["api_token", "in", []]]) == set()
    assert tokens([["api_token", "like", "%"]]) == set()
    assert tokens([["api_token", "!=", "x"]]) == set()
    assert tokens([["expires_at", "=", None]]) == {1}
    assert tokens([["expires_at", "<", "1970-01-01T00:00:11Z"]]) == {2}


def test_invalid_filters_never_reach_sql() -> None:
    with pytest.raises(InvalidArgumentError):
        build_list_query(LINKS, filters=[["properties.a", "=", "\x00"]])


# --------------------------------------------------------------------------------------------
# differential: random filters, identical results on both backends

_ATTRS = ["name", "link_class", "head_uuid", "tail_uuid", "uuid"]
_STRINGS = ["Foo", "foo", "tag", "Tag", "a", "f", "É", "Éclair", "éclair", "ÉCLAIR", "can_read",
            "a%b_c\\d", U(1), "zzzzz", "", "apple", "Apple", "y", "1"]
_PATTERNS = ["%", "_", "F%", "%o%", "%\\%%", "\\_%", "é%", "%A%", "_oo", "%e%", "[%", "*", "?%"]
_JSON_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 3), st.sampled_from([1.0, 1.5, 2.0]),
    st.sampled_from(_STRINGS),
)
_JSON_VALUES = st.recursive(
    _JSON_SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(["k", "n", "z", "extra"]), inner, max_size=2),
    ),
    max_leaves=5,
)
_KEYS = ["a", "s", "arr", "obj", "a.b", 'q"k', "é", "nul", "flag", "missing", "<http://x/y>"]


def _scalar_filter() -> st.SearchStrategy[list[Any]]:
    maybe = st.one_of(st.none(), st.sampled_from(_STRINGS))
    return st.one_of(
        st.tuples(st.sampled_from(_ATTRS), st.sampled_from(["=", "!="]), maybe),
        st.tuples(st.sampled_from(_ATTRS), st.sampled_from(["<", "<=", ">", ">="]),
                  st.sampled_from(_STRINGS)),
        st.tuples(st.sampled_from(_ATTRS), st.sampled_from(["like", "ilike"]),
                  st.sampled_from(_PATTERNS + _STRINGS)),
        st.tuples(st.sampled_from(_ATTRS), st.sampled_from(["in", "not in"]),
                  st.lists(maybe, max_size=3)),
        st.tuples(st.just("any"), st.sampled_from(["like", "ilike"]),
                  st.sampled_from(_PATTERNS + _STRINGS)),
    ).map(list)


def _json_filter() -> st.SearchStrategy[list[Any]]:
    attr = st.sampled_from(_KEYS).map(lambda k: "properties." + k)
    return st.one_of(
        st.tuples(attr, st.sampled_from(["=", "!="]), _JSON_VALUES),
        st.tuples(attr, st.sampled_from(["in", "not in"]), st.lists(_JSON_VALUES, max_size=3)),
        st.tuples(attr, st.sampled_from(["<", "<=", ">", ">="]),
                  st.one_of(st.sampled_from(_STRINGS), st.integers(-3, 3), st.just(1.5))),
        st.tuples(attr, st.sampled_from(["like", "ilike"]), st.sampled_from(_PATTERNS)),
        st.tuples(attr, st.just("exists"), st.booleans()),
        st.tuples(attr, st.just("contains"),
                  st.one_of(st.sampled_from(_STRINGS), st.integers(-3, 3))),
        st.tuples(st.just("properties"), st.just("="),
                  st.sampled_from([P1, P2, P3, P4, P5, P6, P7, {"a": 1}]).map(json.dumps)),
    ).map(list)


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Db, Db]]:
    pair = (_make_db("sqlite", tmp_path_factory), _make_db("postgresql", tmp_path_factory))
    yield pair
    for database in pair:
        database.engine.dispose()


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    filters=st.lists(st.one_of(_scalar_filter(), _json_filter()), min_size=1, max_size=2),
    order=st.sampled_from([None, ["name"], ["name desc", "link_class"], ["modified_at asc"]]),
)
def test_backends_agree(both: tuple[Db, Db], filters: list[Any], order: Any) -> None:
    sqlite_db, pg_db = both
    assert links_ordered(sqlite_db, filters, order=order) == links_ordered(
        pg_db, filters, order=order
    )
