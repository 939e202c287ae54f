"""Parsing and validation of list params (spec §3): shapes, typing, and the exact 422 messages."""

from __future__ import annotations

import json
from typing import Any

import pytest

from linkbase.domain.errors import InvalidArgumentError
from linkbase.domain.query import (
    Filter,
    ListQuery,
    OrderTerm,
    build_list_query,
    parse_bool,
    parse_count,
    parse_filters,
    parse_limit,
    parse_offset,
    parse_order,
    parse_select,
    parse_where,
)
from linkbase.domain.resources import API_CLIENT_AUTHORIZATIONS, COLLECTIONS, GROUPS, LINKS, USERS


def error_of(func: Any, *args: Any, **kwargs: Any) -> str:
    with pytest.raises(InvalidArgumentError) as info:
        func(*args, **kwargs)
    return str(info.value)


# -- filters: shapes -----------------------------------------------------------------------


@pytest.mark.parametrize("raw", [None, "", "null", [], "[]"])
def test_absent_filters(raw: Any) -> None:
    assert parse_filters(LINKS, raw) == []


def test_filters_may_be_a_json_string() -> None:
    raw = json.dumps([["name", "=", "x"], ["link_class", "IN", ["a", None]]])
    assert parse_filters(LINKS, raw) == [
        Filter("name", "=", "x"),
        Filter("link_class", "in", ("a", None)),
    ]


@pytest.mark.parametrize("raw", ["{", '{"a": 1}', {"a": 1}, 5, '"x"', "not json"])
def test_filters_not_an_array(raw: Any) -> None:
    assert error_of(parse_filters, LINKS, raw) == 'Could not parse "filters" param as an array'


@pytest.mark.parametrize(
    "element",
    [["name", "="], ["name", "=", "x", "y"], "name = x", [1, "=", "x"], ["name", None, "x"], {}],
)
def test_invalid_element(element: Any) -> None:
    assert error_of(parse_filters, LINKS, [element]) == "Invalid element in filters array"


# -- filters: operators and attributes -------------------------------------------------------


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ([["name", "<>", "x"]], "Invalid operator '<>'"),
        ([["name", "~", "x"]], "Invalid operator '~'"),
        ([["name", "@@", "x"]], "Full text search operator is no longer supported"),
        ([["bogus", "=", "x"]], "Invalid attribute 'bogus' in filter"),
        ([["head_kind", "=", "arvados#user"]], None),
        ([["full_name", "=", "x"]], "Invalid attribute 'full_name' in filter"),
        ([["etag", "=", "x"]], "Invalid attribute 'etag' in filter"),
        ([["name", "exists", "x"]], "Invalid attribute 'name' for operator 'exists' in filter"),
        ([["created_at", "like", "x"]],
         "Invalid attribute 'created_at' for operator 'like' in filter"),
        ([["properties", "<", "x"]], "Invalid attribute 'properties' for operator '<' in filter"),
        ([["properties", "in", []]], "Invalid attribute 'properties' for operator 'in' in filter"),
        ([["created_at", "is_a", "x"]],
         "Invalid attribute 'created_at' for operator 'is_a' in filter"),
        ([["head_kind", "in", ["arvados#user"]]],
         "Invalid attribute 'head_kind' for operator 'in' in filter"),
        ([["name.x", "=", "y"]], "Invalid attribute 'name' for subproperty filter"),
        ([["bogus.x", "=", "y"]], "Invalid attribute 'bogus' for subproperty filter"),
        ([["properties.x", "is_a", "y"]], "Invalid operator for subproperty search 'is_a'"),
        ([["properties.x", "<>", "y"]], "Invalid operator '<>'"),
        ([["any", "<", "y"]], "Invalid operator '<' for attribute 'any' in filter"),
    ],
)
def test_filter_errors(filters: list[Any], message: str | None) -> None:
    if message is None:
        parse_filters(LINKS, filters)
    else:
        assert error_of(parse_filters, LINKS, filters) == message


def test_resource_specific_attributes() -> None:
    assert error_of(parse_filters, USERS, [["properties.x", "=", 1]]) == (
        "Invalid attribute 'properties' for subproperty filter"
    )
    assert error_of(parse_filters, GROUPS, [["head_kind", "=", "arvados#user"]]) == (
        "Invalid attribute 'head_kind' in filter"
    )
    assert parse_filters(COLLECTIONS, [["portable_data_hash", "=", "x"]]) == [
        Filter("portable_data_hash", "=", "x")
    ]
    assert parse_filters(API_CLIENT_AUTHORIZATIONS, [["api_token", "in", ["s"]]]) == [
        Filter("api_token", "in", ("s",))
    ]


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ([["name", "=", 5]], "Invalid operand type 'Integer' for '=' operator in filters"),
        ([["name", "=", 1.5]], "Invalid operand type 'Float' for '=' operator in filters"),
        ([["name", "=", ["a"]]], "Invalid operand type 'Array' for '=' operator in filters"),
        ([["name", "=", {}]], "Invalid operand type 'Hash' for '=' operator in filters"),
        ([["name", "=", True]], "Invalid operand type 'TrueClass' for '=' operator in filters"),
        ([["name", "<", None]], "Invalid operand type 'NilClass' for '<' operator in filters"),
        ([["name", "like", None]],
         "Invalid operand type 'NilClass' for 'like' operator in filters"),
        ([["name", "in", "a"]], "Invalid operand type 'String' for 'in' operator in filters"),
        ([["name", "not in", "a"]],
         "Invalid operand type 'String' for 'not in' operator in filters"),
        ([["name", "in", [1]]], "Invalid operand type 'Integer' for 'in' operator in filters"),
        ([["is_admin", "=", "maybe"]], None),
        ([["name", "is_a", 3]], "Invalid operand type 'Integer' for 'is_a' operator in filters"),
        ([["properties", "exists", 3]],
         "Invalid operand type 'Integer' for 'exists' operator in filters"),
        ([["properties", "contains", []]],
         "Invalid operand type 'Array' for 'contains' operator in filters"),
        ([["properties", "contains", [1]]],
         "Invalid operand type 'Integer' for 'contains' operator in filters"),
        ([["properties", "=", 3]], "Invalid operand type 'Integer' for '=' operator in filters"),
        ([["properties.x", "in", "a"]],
         "Invalid operand type 'String' for 'in' operator in filters"),
        ([["properties.x", "<", None]],
         "Invalid operand type 'NilClass' for '<' operator in filters"),
        ([["properties.x", "<", True]],
         "Invalid operand type 'TrueClass' for '<' operator in filters"),
        ([["properties.x", ">=", [1]]],
         "Invalid operand type 'Array' for '>=' operator in filters"),
        ([["properties.x", "like", 1]],
         "Invalid operand type 'Integer' for 'like' operator in filters"),
        ([["properties.x", "contains", ["a"]]],
         "Invalid operand type 'Array' for 'contains' operator in filters"),
        ([["properties.x", "exists", "yes"]],
         "Invalid operand 'yes' for 'exists' must be true or false"),
        ([["properties.x", "exists", None]],
         "Invalid operand 'null' for 'exists' must be true or false"),
        ([["head_kind", "=", None]],
         "Invalid operand type 'NilClass' for '=' operator in filters"),
        ([["any", "=", 3]], "Invalid operand type 'Integer' for '=' operator in filters"),
        ([["any", "in", "x"]], "Invalid operand type 'String' for 'in' operator in filters"),
    ],
)
def test_operand_errors(filters: list[Any], message: str | None) -> None:
    if message is None:
        message = "Invalid operand type 'String' for '=' operator in filters"
    assert error_of(parse_filters, LINKS if filters[0][0] != "is_admin" else USERS, filters) == (
        message
    )


def test_json_object_operand_must_be_json() -> None:
    assert "not a JSON object" in error_of(parse_filters, LINKS, [["properties", "=", "{"]])
    assert "not a JSON object" in error_of(parse_filters, LINKS, [["properties", "=", "[1]"]])
    assert parse_filters(LINKS, [["properties", "=", '{"a": [1]}']]) == [
        Filter("properties", "=", {"a": [1]})
    ]


def test_unparsable_timestamp() -> None:
    assert error_of(parse_filters, LINKS, [["created_at", "<", "yesterday"]]) == (
        "Invalid timestamp 'yesterday'"
    )


@pytest.mark.parametrize(
    "operand", ["\x00", ["a\x00"], {"k\x00": 1}, float("nan"), float("inf"), 2**64]
)
def test_unstorable_operands_rejected(operand: Any) -> None:
    with pytest.raises(InvalidArgumentError):
        parse_filters(LINKS, [["properties.x", "=", operand]])


# -- filters: normalisation --------------------------------------------------------------


def test_operator_normalisation_and_typing() -> None:
    got = parse_filters(
        LINKS,
        [
            ["name", "LiKe", "a%"],
            ["name", "NOT  IN", ["a"]],
            ["created_at", ">=", "2024-01-02T03:04:05.123456789Z"],
            ["modified_at", "in", ["1970-01-01", None]],
            ["head_kind", "=", "arvados#user"],
            ["tail_kind", "=", ["arvados#group", "arvados#user"]],
            ["uuid", "is_a", "arvados#link"],
            ["properties.a.b", "=", {"x": [1]}],
            ["properties.<http://x/y>", "exists", False],
            ["properties.<>", "=", 1],
            ["properties", "contains", "k"],
            ["properties", "exists", "k"],
            ["any", "ilike", "%x%"],
        ],
    )
    assert got == [
        Filter("name", "like", "a%"),
        Filter("name", "not in", ("a",)),
        Filter("created_at", ">=", 1704164645123456),
        Filter("modified_at", "in", (0, None)),
        Filter("head_uuid", "is_a", ("arvados#user",)),
        Filter("tail_uuid", "is_a", ("arvados#group", "arvados#user")),
        Filter("uuid", "is_a", ("arvados#link",)),
        Filter("properties", "=", {"x": [1]}, key="a.b"),
        Filter("properties", "exists", False, key="http://x/y"),
        Filter("properties", "=", 1, key=""),
        Filter("properties", "contains", ("k",)),
        Filter("properties", "exists", "k"),
        Filter("any", "ilike", "%x%"),
    ]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(True, True), (False, False), ("t", True), ("YES", True), ("1", True), ("n", False),
     ("False", False), ("0", False), (None, None)],
)
def test_boolean_operands(raw: Any, expected: bool | None) -> None:
    assert parse_filters(USERS, [["is_admin", "=", raw]]) == [Filter("is_admin", "=", expected)]


def test_boolean_attributes_only_take_equality() -> None:
    assert error_of(parse_filters, USERS, [["is_admin", "<", "t"]]) == (
        "Invalid attribute 'is_admin' for operator '<' in filter"
    )
    assert error_of(parse_filters, USERS, [["is_admin", "=", 1]]) == (
        "Invalid operand type 'Integer' for '=' operator in filters"
    )


# -- where --------------------------------------------------------------------------------


def test_where() -> None:
    got = parse_where(
        LINKS,
        json.dumps(
            {
                "name": None,
                "link_class": ["contains", "ag"],
                "tail_uuid": ["a", "b"],
                "head_uuid": "h",
                "any": ["contains", "x"],
                "head_kind": "arvados#user",
                "unknown": 5,
                "full_name": "x",
            }
        ),
    )
    assert got == [
        Filter("name", "=", None),
        Filter("link_class", "like", "%ag%"),
        Filter("tail_uuid", "in", ("a", "b")),
        Filter("head_uuid", "=", "h"),
        Filter("any", "ilike", "%x%"),
        Filter("head_uuid", "is_a", ("arvados#user",)),
    ]


@pytest.mark.parametrize("raw", [None, "", "null"])
def test_absent_where(raw: Any) -> None:
    assert parse_where(LINKS, raw) == []


@pytest.mark.parametrize("raw", [[1], "[1]", "{", 3])
def test_where_not_an_object(raw: Any) -> None:
    assert error_of(parse_where, LINKS, raw) == 'Could not parse "where" param as an object'


def test_where_values_are_validated() -> None:
    assert error_of(parse_where, USERS, {"is_admin": "perhaps"}) == (
        "Invalid operand type 'String' for '=' operator in filters"
    )


# -- select ---------------------------------------------------------------------------------


def test_select() -> None:
    assert parse_select(LINKS, None) is None
    assert parse_select(LINKS, "") is None
    assert parse_select(LINKS, []) is None
    assert parse_select(LINKS, "[]") is None
    assert parse_select(LINKS, '["uuid", "head_kind", "kind", "etag", "uuid"]') == (
        "uuid",
        "head_kind",
        "kind",
        "etag",
    )
    assert parse_select(USERS, ["full_name"]) == ("full_name",)
    assert error_of(parse_select, LINKS, ["bogus"]) == (
        "Invalid attribute 'bogus' of Link in select parameter"
    )
    assert error_of(parse_select, USERS, ["properties"]) == (
        "Invalid attribute 'properties' of User in select parameter"
    )
    message = 'Could not parse "select" param as an array of strings'
    for bad in ("uuid", "{", {"a": 1}, [1], 5):
        assert error_of(parse_select, LINKS, bad) == message


# -- order ----------------------------------------------------------------------------------

DEFAULT = [OrderTerm("modified_at", True), OrderTerm("uuid", True)]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, DEFAULT),
        ("", DEFAULT),
        ([], DEFAULT),
        ("[]", DEFAULT),
        (["name"], [OrderTerm("name", False), *DEFAULT]),
        ('["name DESC"]', [OrderTerm("name", True), *DEFAULT]),
        ("name asc, links.head_uuid desc", [OrderTerm("name", False),
                                            OrderTerm("head_uuid", True), *DEFAULT]),
        (["uuid asc", "name"], [OrderTerm("uuid", False)]),
        (["modified_at asc", "modified_at desc"], [OrderTerm("modified_at", False),
                                                   OrderTerm("uuid", True)]),
        (["properties", "head_kind", "bogus", "name up", "name asc extra", "users.name",
          "etag", "id"], DEFAULT),
        (["created_at"], [OrderTerm("created_at", False), *DEFAULT]),
    ],
)
def test_order(raw: Any, expected: list[OrderTerm]) -> None:
    assert parse_order(LINKS, raw) == expected


def test_order_defaults_per_resource() -> None:
    assert parse_order(API_CLIENT_AUTHORIZATIONS, None) == [
        OrderTerm("created_at", True),
        OrderTerm("uuid", True),
    ]
    assert parse_order(API_CLIENT_AUTHORIZATIONS, ["api_token"]) == [
        OrderTerm("created_at", True),
        OrderTerm("uuid", True),
    ]
    assert parse_order(USERS, ["is_admin desc", "full_name"]) == [
        OrderTerm("is_admin", True),
        *DEFAULT,
    ]


def test_order_with_select() -> None:
    assert parse_order(LINKS, ["name"], ("uuid", "name")) == [
        OrderTerm("name", False),
        OrderTerm("uuid", True),
    ]
    assert parse_order(LINKS, None, ("head_uuid", "properties", "link_class")) == [
        OrderTerm("head_uuid", False),
        OrderTerm("link_class", False),
    ]
    assert parse_order(LINKS, None, ("properties", "kind")) == []


@pytest.mark.parametrize("raw", [5, {"a": 1}, [1], ["name", None], "[", "[1]"])
def test_order_bad_shape(raw: Any) -> None:
    assert error_of(parse_order, LINKS, raw) == (
        'Could not parse "order" param as an array of strings'
    )


# -- scalars -------------------------------------------------------------------------------


def test_limit_offset() -> None:
    assert parse_limit(None) == 100
    assert parse_limit(0) == 0
    assert parse_limit("5") == 5
    assert parse_limit(5000) == 1000
    assert parse_offset(None) == 0
    assert parse_offset("17") == 17
    # An empty string is not absent here (spec §1.3): ``limit=`` is a 422.
    for bad in ("", -1, "-1", "1.5", 1.0, True, "x", "٣", [1]):
        assert error_of(parse_limit, bad) == "Invalid value for limit parameter"
        assert error_of(parse_offset, bad) == "Invalid value for offset parameter"


def test_count() -> None:
    assert parse_count(None) is True
    assert parse_count("") is True
    assert parse_count("exact") is True
    assert parse_count("none") is False
    assert error_of(parse_count, "some") == "count parameter must be 'exact' or 'none'"


def test_bool() -> None:
    for raw, expected in [(None, False), ("", False), (True, True), (0, False), (1, True),
                          ("true", True), ("false", False), ("1", True), ("0", False)]:
        assert parse_bool(raw, "distinct") is expected
    for bad in ("yes", 2, [], "maybe"):
        assert error_of(parse_bool, bad, "distinct") == "Invalid value for distinct parameter"


def test_build_list_query() -> None:
    query = build_list_query(
        LINKS,
        filters='[["name", "=", "x"]]',
        where={"link_class": "tag"},
        order="name desc",
        select='["name", "uuid"]',
        limit="3",
        offset=2,
        count="none",
        distinct="true",
    )
    assert query == ListQuery(
        filters=(Filter("name", "=", "x"), Filter("link_class", "=", "tag")),
        order=(OrderTerm("name", True), OrderTerm("uuid", True)),
        limit=3,
        offset=2,
        count_exact=False,
        select=("name", "uuid"),
        distinct=True,
    )
    empty = build_list_query(USERS)
    assert empty == ListQuery((), tuple(DEFAULT), 100, 0, True, None, False)
