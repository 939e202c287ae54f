"""The input limits (``domain/limits.py``): what they refuse, and that what they accept is JSON
that encodes and decodes unchanged (storing it on both backends, at the limits, is tested in
``tests/api/test_hostile_input.py``)."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linkbase.domain import limits
from linkbase.domain.errors import InvalidArgumentError

JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(), st.text()),
    lambda children: st.one_of(st.lists(children, max_size=3),
                               st.dictionaries(st.text(), children, max_size=3)),
    max_leaves=10,
)


@settings(max_examples=300, deadline=None)
@given(JSON)
def test_what_check_json_accepts_round_trips_through_orjson(value: Any) -> None:
    try:
        limits.check_json(value, "value")
    except InvalidArgumentError:
        return
    text = orjson.dumps(value)
    assert b"\\u0000" not in text
    assert orjson.loads(text) == value


@pytest.mark.parametrize("value", [
    {"a": 2**63}, {"a": -(2**63) - 1}, {"a": 1e19}, {"a": float("inf")}, {"a": float("nan")},
    {"a": "x\x00"}, {"x\x00": 1}, {"a": "\ud800"}, json.loads('{"a":' * 33 + "1" + "}" * 33),
    json.loads("[" * 900 + "]" * 900), {1: 2}, {"a": object()},
])
def test_check_json_refuses(value: Any) -> None:
    with pytest.raises(InvalidArgumentError):
        limits.check_json(value, "value")


@pytest.mark.parametrize("value", [
    {"a": 2**63 - 1}, {"a": -(2**63)}, {"a": 1.5e18}, {"a": "é💥"},
    json.loads('{"a":' * 31 + "1" + "}" * 31),
])
def test_check_json_accepts_up_to_the_limits(value: Any) -> None:
    assert limits.check_json(value, "value") == value


def test_check_text() -> None:
    assert limits.check_text("x" * limits.MAX_STRING_LENGTH, "name")
    assert limits.check_text("x" * 5000, "description", max_length=None)
    for bad in ("x" * (limits.MAX_STRING_LENGTH + 1), "a\x00", "\udc00"):
        with pytest.raises(InvalidArgumentError):
            limits.check_text(bad, "name")


def test_loads_json_refuses_what_orjson_cannot_read() -> None:
    for text in ('"\\ud800"', "[" * 2000 + "]" * 2000, "1e400", "{"):
        with pytest.raises(InvalidArgumentError):
            limits.loads_json(text, "param")
