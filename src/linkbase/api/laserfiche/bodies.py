"""Laserfiche request bodies, read as the reference server's .NET JSON reader (Json.NET) reads them.

Two leniencies that real Laserfiche clients and guides rely on, and nothing more:

* **Trailing commas** inside objects and arrays (``{"a": 1,}``, ``[1, 2,]``): the "Assign Links
  (V2)" guide's own example has them. Parsed by RapidJSON (``python-rapidjson``) with only its
  ``PM_TRAILING_COMMAS`` mode: a C++ parser that is otherwise strict, so ``[,]``, ``{"a":1,,}``,
  comments, single quotes, unquoted names and ``NaN`` stay malformed (400). JSON5 parsers were
  rejected: they also accept single quotes, unquoted names, hex and ``Infinity``/``NaN`` (which
  no PostgreSQL ``jsonb`` can store), and the pure-Python one is two orders of magnitude slower.
* **Property names matched case-insensitively** against a request model's properties
  (``{"Links": [{"LinkDefinitionId": 1}]}`` is ``{"links": [{"linkDefinitionId": 1}]}``), in
  document order, so a later duplicate wins as in Json.NET. Only model properties are matched:
  dictionary keys (``customProperties``) keep their case.

The Arvados face stays strict (Rails' parser is): these readers serve this face only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import rapidjson

from linkbase.domain.errors import InvalidArgumentError
from linkbase.domain.limits import check_json

_INT32 = range(-(2**31), 2**31)


def parse(body: bytes) -> Any:
    """The JSON value of a request body (InvalidArgumentError → 400 if empty or malformed)."""
    if not body.strip():
        raise InvalidArgumentError("A JSON request body is required")
    try:
        value = rapidjson.loads(body, parse_mode=rapidjson.PM_TRAILING_COMMAS, allow_nan=False)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError, depth
        raise InvalidArgumentError(f"Malformed JSON request body: {exc}") from exc
    return check_json(value, "The request body")


def model(data: Any, properties: Sequence[str], what: str) -> dict[str, Any]:
    """``data`` (a JSON object) keyed by the canonical names of ``properties``.

    Keys matching no property are dropped (Json.NET ignores unknown members).
    """
    if not isinstance(data, dict):
        raise InvalidArgumentError(f"{what} must be a JSON object")
    canonical = {name.lower(): name for name in properties}
    found: dict[str, Any] = {}
    for key, value in data.items():
        name = canonical.get(key.lower())
        if name is not None:
            found[name] = value
    return found


def int32(value: Any, what: str) -> int:
    """A JSON integer of .NET's ``int`` range (ids): anything else is a 400."""
    if isinstance(value, bool) or not isinstance(value, int) or value not in _INT32:
        raise InvalidArgumentError(f"{what} must be an integer")
    return value


def boolean(value: Any, what: str, default: bool = False) -> bool:
    """A JSON boolean; null or absent gives ``default``."""
    if value is None:
        return default
    if not isinstance(value, bool):
        raise InvalidArgumentError(f"{what} must be a boolean")
    return value
