"""Input limits, declared once and applied before storage on every backend and every face.

SQLite accepts what PostgreSQL refuses (a 300-character name, a NUL character), PostgreSQL's
``jsonb`` stores what no JSON encoder reads back (an integer of 2^64), and deep nesting or huge
lists exhaust the recursion or the bind-parameter limits of one backend or the other. So the limits
are Linkbase's own, the same on both backends, checked before a value reaches a query, and a
value over them is refused with the face's 4xx ("invalid argument") without anything stored.
The README lists them.
"""

from __future__ import annotations

import math
import re
from typing import Any

import orjson

from linkbase.domain.errors import InvalidArgumentError

#: Characters in a short string: names, uuids, classes, labels, emails, usernames, ids. It is
#: the width of every such column (``storage/tables.py`` uses it).
MAX_STRING_LENGTH = 255
#: Nesting of arrays and objects in any JSON value a client sends (``properties``, ``filters``,
#: ``where``, bodies): ``{"a": {"b": 1}}`` is depth 2.
MAX_JSON_DEPTH = 32
#: JSON integers are signed 64-bit (what both backends' JSON functions compare exactly).
MIN_JSON_INT = -(2**63)
MAX_JSON_INT = 2**63 - 1
#: List ``offset`` (spec §1.3: above 2^53 → 422).
MAX_OFFSET = 2**53
#: Conditions in one list request (``filters`` plus ``where``).
MAX_FILTERS = 100
#: Values in one ``in``/``not in``/``is_a``/``contains`` operand, and in all of them together
#: (each is a bind parameter: PostgreSQL allows 65,535 per statement, SQLite 32,766).
MAX_FILTER_VALUES = 10_000
#: Characters of a presented token or password (a token is about 70; a longer value is refused
#: before it costs a password hash or a query).
MAX_SECRET_LENGTH = 1024
#: Laserfiche entry and link definition ids are 32-bit (the columns are ``integer``).
MAX_ENTRY_ID = 2**31 - 1

_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


def check_text(value: str, what: str, *, max_length: int | None = MAX_STRING_LENGTH) -> str:
    """``value`` if it can be stored and compared alike on both backends, else 422.

    No NUL (PostgreSQL cannot store it), no lone surrogate (not encodable as UTF-8), and at most
    ``max_length`` characters (None: no length limit, for descriptions and manifests).
    """
    if max_length is not None and len(value) > max_length:
        raise InvalidArgumentError(f"{what}: longer than {max_length} characters")
    if "\x00" in value:
        raise InvalidArgumentError(f"{what}: NUL characters are not allowed")
    if _LONE_SURROGATE.search(value):
        raise InvalidArgumentError(f"{what}: invalid Unicode (a lone surrogate)")
    return value


def check_json(value: Any, what: str) -> Any:
    """``value`` (a decoded JSON value) if within the limits above, else 422.

    Walks iteratively, so a value nested thousands deep is refused rather than overflowing the
    stack. Strings (keys too) are checked as :func:`check_text` without a length limit; numbers
    must be within the signed 64-bit range (floats too).
    """
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list | tuple):
            if depth >= MAX_JSON_DEPTH:
                raise InvalidArgumentError(f"{what}: nested deeper than {MAX_JSON_DEPTH} levels")
            if isinstance(item, dict):
                for key, child in item.items():
                    if not isinstance(key, str):
                        raise InvalidArgumentError(f"{what}: object keys must be strings")
                    check_text(key, what, max_length=None)
                    stack.append((child, depth + 1))
            else:
                stack.extend((child, depth + 1) for child in item)
        elif isinstance(item, str):
            check_text(item, what, max_length=None)
        elif isinstance(item, bool) or item is None:
            continue
        elif isinstance(item, int):
            if not MIN_JSON_INT <= item <= MAX_JSON_INT:
                raise InvalidArgumentError(f"{what}: integer {item} is out of the 64-bit range")
        elif isinstance(item, float):
            # PostgreSQL's jsonb keeps numbers exact and prints 1e19 as 20 digits, which reads
            # back as an integer beyond 64 bits: floats are bounded like integers.
            if not (math.isfinite(item) and MIN_JSON_INT <= item <= MAX_JSON_INT):
                raise InvalidArgumentError(f"{what}: number {item} is out of the 64-bit range")
        else:
            raise InvalidArgumentError(f"{what}: {type(item).__name__} is not a JSON value")
    return value


def decode_json(text: str | bytes, what: str, *, malformed: str | None = None) -> Any:
    """Decode JSON from a client (malformed → 422), leaving the limits to each part's own check.

    orjson refuses lone surrogate escapes and integers beyond 64 bits at decode time and stops
    at a depth (1024) far below the stack's.
    """
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise InvalidArgumentError(malformed or f"{what}: {exc}") from exc


def loads_json(text: str | bytes, what: str, *, malformed: str | None = None) -> Any:
    """:func:`decode_json`, then :func:`check_json` on the whole value."""
    return check_json(decode_json(text, what, malformed=malformed), what)


def check_entry_id(value: int, what: str) -> int:
    """A Laserfiche entry or definition id that fits its column (1 … 2^31-1), else 422."""
    if not 1 <= value <= MAX_ENTRY_ID:
        raise InvalidArgumentError(f"{what} must be between 1 and {MAX_ENTRY_ID}")
    return value
