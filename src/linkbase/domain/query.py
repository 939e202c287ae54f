"""The list-query model (spec §3): filters, where, order, select, limit, offset, count, distinct.

Everything here works on already-decoded Python values (or JSON strings, decoded here) and turns
them into small immutable objects the storage layer compiles to SQL. Validation lives here, in
the domain, so every face reports the same Arvados error messages (spec §3.2 to §3.5) and the SQL
compiler can trust its input: attribute names, operators and operand types are already checked,
``head_kind``/``tail_kind`` are rewritten to ``is_a`` and timestamps are integer microseconds.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass

from linkbase.domain.errors import InvalidArgumentError
from linkbase.domain.limits import (
    MAX_FILTER_VALUES,
    MAX_FILTERS,
    MAX_JSON_INT,
    MAX_OFFSET,
    check_json,
    check_text,
    loads_json,
)
from linkbase.domain.resources import AttrType, Resource
from linkbase.domain.timestamps import parse_timestamp

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000

#: Operators after normalisation (lowercase, single spaces).
COMPARISONS = frozenset({"<", "<=", ">", ">="})
OPERATORS = frozenset(
    {"=", "!=", "<", "<=", ">", ">=", "like", "ilike", "in", "not in", "is_a", "exists", "contains"}
)

#: Which attribute types each whole-attribute operator applies to (spec §3.2 table).
_OP_TYPES: dict[str, frozenset[AttrType]] = {
    "=": frozenset({AttrType.INT, AttrType.STRING, AttrType.TIME, AttrType.BOOL, AttrType.JSON}),
    "!=": frozenset({AttrType.INT, AttrType.STRING, AttrType.TIME, AttrType.BOOL, AttrType.JSON}),
    "<": frozenset({AttrType.INT, AttrType.STRING, AttrType.TIME}),
    "<=": frozenset({AttrType.INT, AttrType.STRING, AttrType.TIME}),
    ">": frozenset({AttrType.INT, AttrType.STRING, AttrType.TIME}),
    ">=": frozenset({AttrType.INT, AttrType.STRING, AttrType.TIME}),
    "like": frozenset({AttrType.STRING}),
    "ilike": frozenset({AttrType.STRING}),
    "in": frozenset({AttrType.INT, AttrType.STRING, AttrType.TIME, AttrType.BOOL}),
    "not in": frozenset({AttrType.INT, AttrType.STRING, AttrType.TIME, AttrType.BOOL}),
    "is_a": frozenset({AttrType.STRING}),
    "exists": frozenset({AttrType.JSON}),
    "contains": frozenset({AttrType.JSON}),
}

_SUBPROPERTY_OPS = frozenset(
    {"=", "!=", "in", "not in", "<", "<=", ">", ">=", "like", "ilike", "exists", "contains"}
)
_ANY_OPS = frozenset({"=", "like", "ilike", "in"})
_TRUE_STRINGS = frozenset({"1", "t", "true", "y", "yes"})
_FALSE_STRINGS = frozenset({"0", "f", "false", "n", "no"})
_DIGITS = re.compile(r"^[0-9]+$")
_SIGNED_DIGITS = re.compile(r"^-?[0-9]{1,19}$")
#: Attributes that can never be ordered on even though §3.2 lists them (the secret is not stored).
_UNORDERABLE = frozenset({"api_token"})


@dataclass(frozen=True)
class Filter:
    """One validated condition.

    ``attr`` is a stored attribute name or ``"any"``; ``key`` is set for ``properties.KEY``
    subproperty filters (``attr`` is then the J attribute). ``op`` is normalised. Operands are
    typed: T values are int microseconds, B values bool, ``in`` operands tuples, ``is_a``
    operands a tuple of kind strings, J ``=`` operands the decoded object.
    """

    attr: str
    op: str
    operand: object
    key: str | None = None


@dataclass(frozen=True)
class OrderTerm:
    """One entry of the effective order."""

    attr: str
    descending: bool


@dataclass(frozen=True)
class ListQuery:
    """A fully validated list request, ready for the service and the SQL compiler."""

    filters: tuple[Filter, ...]
    order: tuple[OrderTerm, ...]
    limit: int
    offset: int
    count_exact: bool
    select: tuple[str, ...] | None
    distinct: bool


def ruby_class_name(value: object) -> str:
    """The Ruby class name Arvados would print for a decoded JSON value (its error wording)."""
    if value is None:
        return "NilClass"
    if value is True:
        return "TrueClass"
    if value is False:
        return "FalseClass"
    if isinstance(value, str):
        return "String"
    if isinstance(value, int):
        return "Integer"
    if isinstance(value, float):
        return "Float"
    if isinstance(value, list | tuple):
        return "Array"
    if isinstance(value, dict):
        return "Hash"
    return type(value).__name__


def _operand_error(value: object, op: str) -> InvalidArgumentError:
    return InvalidArgumentError(
        f"Invalid operand type '{ruby_class_name(value)}' for '{op}' operator in filters"
    )


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _decode_json_param(raw: object, error: str) -> object:
    """Decode a param that may still be a JSON string (query/form transport, spec §1.3),
    within the limits of ``domain/limits.py`` either way."""
    if isinstance(raw, str):
        return loads_json(raw, error, malformed=error)
    return check_json(raw, error)


def _is_absent(raw: object) -> bool:
    return raw is None or raw == ""


# --------------------------------------------------------------------------------------------
# filters


def parse_filters(resource: Resource, raw: object) -> list[Filter]:
    """Validate a ``filters`` param (spec §3.2 to §3.4); absent, ``""`` and ``null`` mean none."""
    if _is_absent(raw):
        return []
    message = 'Could not parse "filters" param as an array'
    value = _decode_json_param(raw, message)
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        raise InvalidArgumentError(message)
    if len(value) > MAX_FILTERS:
        raise InvalidArgumentError(f"Too many filters: at most {MAX_FILTERS}")
    result: list[Filter] = []
    for element in value:
        if (
            not isinstance(element, list | tuple)
            or len(element) != 3
            or not isinstance(element[0], str)
            or not isinstance(element[1], str)
        ):
            raise InvalidArgumentError("Invalid element in filters array")
        result.append(make_filter(resource, element[0], element[1], element[2]))
    return result


def normalise_operator(op: str) -> str:
    """Lowercase and collapse whitespace; reject unknown and retired operators (Arvados' words)."""
    norm = " ".join(op.lower().split())
    if norm == "@@":
        raise InvalidArgumentError("Full text search operator is no longer supported")
    if norm not in OPERATORS:
        raise InvalidArgumentError(f"Invalid operator '{norm}'")
    return norm


def _check_values(op: str, value: object) -> None:
    """Reject values no backend can store or bind identically (would otherwise be a 500).

    PostgreSQL text and jsonb cannot hold NUL characters; JSON has no NaN/Infinity; SQLite
    integers are 64-bit. No stored value can equal such an operand anyway.
    """
    if isinstance(value, str):
        check_text(value, f"Invalid operand for '{op}' operator in filters", max_length=None)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidArgumentError(f"Invalid operand '{value}' for '{op}' operator in filters")
    elif isinstance(value, int) and not isinstance(value, bool):
        if not -(2**63) <= value < 2**63:
            raise InvalidArgumentError(f"Invalid operand '{value}' for '{op}' operator in filters")
    elif isinstance(value, list | tuple):
        for item in value:
            _check_values(op, item)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_values(op, key)
            _check_values(op, item)


def make_filter(resource: Resource, attr: str, op: str, operand: object) -> Filter:
    """Validate one ``[attr, op, operand]`` condition and return its typed form."""
    op = normalise_operator(op)
    flt = _make_filter(resource, attr, op, operand)
    _check_values(op, flt.operand)
    if flt.key is not None:
        _check_values(op, flt.key)
    return flt


def _make_filter(resource: Resource, attr: str, op: str, operand: object) -> Filter:
    if attr == "any":
        return _any_filter(op, operand)
    if attr in ("head_kind", "tail_kind") and resource.attribute(attr) is not None:
        if op != "=":
            raise InvalidArgumentError(f"Invalid attribute '{attr}' for operator '{op}' in filter")
        return Filter(attr[:4] + "_uuid", "is_a", _kinds_operand(operand, op))
    if "." in attr:
        base, key = attr.split(".", 1)
        return _subproperty_filter(resource, base, key, op, operand)
    attribute = resource.filterable.get(attr)
    if attribute is None:
        raise InvalidArgumentError(f"Invalid attribute '{attr}' in filter")
    if attribute.type not in _OP_TYPES[op]:
        raise InvalidArgumentError(f"Invalid attribute '{attr}' for operator '{op}' in filter")
    return Filter(attr, op, _whole_operand(attribute.type, op, operand))


def _kinds_operand(operand: object, op: str) -> tuple[str, ...]:
    """``is_a`` operands: one kind or an array of kinds (unknown kinds are kept, match nothing)."""
    if isinstance(operand, str):
        return (operand,)
    if isinstance(operand, list | tuple):
        for item in operand:
            if not isinstance(item, str):
                raise _operand_error(item, op)
        return tuple(operand)
    raise _operand_error(operand, op)


def _scalar_operand(kind: AttrType, op: str, value: object, *, nullable: bool) -> object:
    """Check and convert one S/T/B value (``None`` allowed where the operator takes null)."""
    if value is None:
        if nullable:
            return None
        raise _operand_error(value, op)
    if kind is AttrType.STRING:
        if not isinstance(value, str):
            raise _operand_error(value, op)
        return value
    if kind is AttrType.TIME:
        if not isinstance(value, str):
            raise _operand_error(value, op)
        return parse_timestamp(value)
    if kind is AttrType.INT:
        # An integer, or one written as a string (the SDK's log poller sends ``"id", ">", "7"``).
        number: int | None = None
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif isinstance(value, str) and _SIGNED_DIGITS.match(value.strip()):
            number = int(value.strip())
        if number is None or not -(2**63) < number < 2**63:
            raise _operand_error(value, op)
        return number
    if kind is AttrType.BOOL:
        if isinstance(value, bool):
            return value
        if isinstance(value, str):
            lowered = value.strip().lower()
            if lowered in _TRUE_STRINGS:
                return True
            if lowered in _FALSE_STRINGS:
                return False
        raise _operand_error(value, op)
    raise _operand_error(value, op)  # pragma: no cover - J is handled by the caller


def _whole_operand(kind: AttrType, op: str, operand: object) -> object:
    if kind is AttrType.JSON:
        if op in ("=", "!="):
            return _json_object_operand(op, operand)
        if op == "exists":
            if not isinstance(operand, str):
                raise _operand_error(operand, op)
            return operand
        # contains: a key or a non-empty array of keys
        if isinstance(operand, str):
            return (operand,)
        if isinstance(operand, list | tuple) and operand:
            for item in operand:
                if not isinstance(item, str):
                    raise _operand_error(item, op)
            return tuple(operand)
        raise _operand_error(operand, op)
    if op in ("in", "not in"):
        if not isinstance(operand, list | tuple):
            raise _operand_error(operand, op)
        return tuple(_scalar_operand(kind, op, item, nullable=True) for item in operand)
    if op == "is_a":
        return _kinds_operand(operand, op)
    return _scalar_operand(kind, op, operand, nullable=op in ("=", "!="))


def _json_object_operand(op: str, operand: object) -> object:
    """J ``=``/``!=``: a string holding a JSON object (a decoded object or null also accepted)."""
    if operand is None or isinstance(operand, dict):
        return operand
    if not isinstance(operand, str):
        raise _operand_error(operand, op)
    message = f"Invalid operand '{operand}' for '{op}' operator in filters: not a JSON object"
    decoded = loads_json(operand, f"Invalid operand for '{op}' operator in filters",
                         malformed=message)
    if not isinstance(decoded, dict):
        raise InvalidArgumentError(
            f"Invalid operand '{operand}' for '{op}' operator in filters: not a JSON object"
        )
    return decoded


def _render(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _subproperty_filter(
    resource: Resource, base: str, key: str, op: str, operand: object
) -> Filter:
    attribute = resource.filterable.get(base)
    if attribute is None or attribute.type is not AttrType.JSON:
        raise InvalidArgumentError(f"Invalid attribute '{base}' for subproperty filter")
    if len(key) >= 2 and key.startswith("<") and key.endswith(">"):
        key = key[1:-1]
    if op not in _SUBPROPERTY_OPS:
        raise InvalidArgumentError(f"Invalid operator for subproperty search '{op}'")
    if op in ("in", "not in"):
        if not isinstance(operand, list | tuple):
            raise _operand_error(operand, op)
        operand = tuple(operand)
    elif op in COMPARISONS or op == "contains":
        if not (isinstance(operand, str) or _is_number(operand)):
            raise _operand_error(operand, op)
    elif op in ("like", "ilike"):
        if not isinstance(operand, str):
            raise _operand_error(operand, op)
    elif op == "exists" and not isinstance(operand, bool):
        raise InvalidArgumentError(
            f"Invalid operand '{_render(operand)}' for 'exists' must be true or false"
        )
    return Filter(base, op, operand, key)


def _any_filter(op: str, operand: object) -> Filter:
    if op not in _ANY_OPS:
        raise InvalidArgumentError(f"Invalid operator '{op}' for attribute 'any' in filter")
    if op == "in":
        if not isinstance(operand, list | tuple):
            raise _operand_error(operand, op)
        for item in operand:
            if item is not None and not isinstance(item, str):
                raise _operand_error(item, op)
        return Filter("any", op, tuple(operand))
    if op == "=" and operand is None:
        return Filter("any", op, None)
    if not isinstance(operand, str):
        raise _operand_error(operand, op)
    return Filter("any", op, operand)


def is_fulltext_any(flt: Filter) -> bool:
    """True for ``["any", "like"|"ilike", "%...%"]``: matched against the joined values (§3.4)."""
    return (
        flt.attr == "any"
        and flt.op in ("like", "ilike")
        and isinstance(flt.operand, str)
        and len(flt.operand) >= 2
        and flt.operand.startswith("%")
        and flt.operand.endswith("%")
    )


# --------------------------------------------------------------------------------------------
# where


def parse_where(resource: Resource, raw: object) -> list[Filter]:
    """Translate the legacy ``where`` object (spec §3.4) into filters; unknown keys are ignored."""
    if _is_absent(raw):
        return []
    message = 'Could not parse "where" param as an object'
    value = _decode_json_param(raw, message)
    if value is None:
        return []
    if not isinstance(value, dict):
        raise InvalidArgumentError(message)
    result: list[Filter] = []
    for attr, cond in value.items():
        if not isinstance(attr, str):
            continue
        known = (
            attr == "any"
            or attr in resource.filterable
            or (attr in ("head_kind", "tail_kind") and resource.attribute(attr) is not None)
        )
        if not known:
            continue
        if attr in ("head_kind", "tail_kind"):
            result.append(make_filter(resource, attr, "=", cond))
        elif isinstance(cond, list) and len(cond) == 2 and cond[0] == "contains":
            if not isinstance(cond[1], str):
                raise _operand_error(cond[1], "contains")
            op = "ilike" if attr == "any" else "like"
            result.append(make_filter(resource, attr, op, f"%{cond[1]}%"))
        elif isinstance(cond, list):
            result.append(make_filter(resource, attr, "in", cond))
        else:
            result.append(make_filter(resource, attr, "=", cond))
    return result


# --------------------------------------------------------------------------------------------
# select


def parse_select(resource: Resource, raw: object) -> tuple[str, ...] | None:
    """Validate ``select`` (spec §3.1): attribute names plus ``kind``/``etag``; ``[]`` = none."""
    if _is_absent(raw):
        return None
    message = 'Could not parse "select" param as an array of strings'
    value = _decode_json_param(raw, message)
    if value is None:
        return None
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise InvalidArgumentError(message)
    if not value:
        return None
    names: list[str] = []
    for name in value:
        if name not in ("kind", "etag") and resource.attribute(name) is None:
            raise InvalidArgumentError(
                f"Invalid attribute '{name}' of {resource.class_name} in select parameter"
            )
        if name not in names:
            names.append(name)
    return tuple(names)


# --------------------------------------------------------------------------------------------
# order


def _orderable(resource: Resource, name: str) -> bool:
    attribute = resource.filterable.get(name)
    return (
        attribute is not None
        and attribute.type in (AttrType.STRING, AttrType.TIME, AttrType.BOOL, AttrType.INT)
        and name not in _UNORDERABLE
    )


def _order_entries(raw: object) -> list[str]:
    """The client's raw order entries, from any accepted shape (anything else → 422)."""
    message = 'Could not parse "order" param as an array of strings'
    if _is_absent(raw):
        return []
    if isinstance(raw, str):
        text = raw.strip()
        if text.startswith("["):
            raw = _decode_json_param(text, message)
        else:
            return [part for part in text.split(",") if part.strip()]
    if raw is None:
        return []
    if not isinstance(raw, list | tuple) or not all(isinstance(e, str) for e in raw):
        raise InvalidArgumentError(message)
    return list(raw)


def _parse_order_entry(resource: Resource, entry: str) -> OrderTerm | None:
    """One entry, or None when it is invalid (invalid entries are dropped, spec §3.5)."""
    words = entry.split()
    if not words or len(words) > 2:
        return None
    name = words[0]
    prefix = resource.name + "."
    if name.startswith(prefix):
        name = name[len(prefix):]
    if not _orderable(resource, name):
        return None
    if len(words) == 1:
        return OrderTerm(name, False)
    direction = words[1].lower()
    if direction not in ("asc", "desc"):
        return None
    return OrderTerm(name, direction == "desc")


def parse_order(
    resource: Resource, raw: object, select: tuple[str, ...] | None = None
) -> list[OrderTerm]:
    """The effective order of spec §3.5: client entries, defaults, dedupe, stop at uuid, select."""
    terms = [t for t in (_parse_order_entry(resource, e) for e in _order_entries(raw)) if t]
    terms += [OrderTerm(attr, direction == "desc") for attr, direction in resource.default_order]
    effective: list[OrderTerm] = []
    seen: set[str] = set()
    for term in terms:
        if term.attr in seen:
            continue
        seen.add(term.attr)
        effective.append(term)
        if term.attr == "uuid":
            break
    if select is None:
        return effective
    kept = [t for t in effective if t.attr in select]
    if kept:
        return kept
    return [OrderTerm(name, False) for name in select if _orderable(resource, name)]


# --------------------------------------------------------------------------------------------
# scalars


def _parse_non_negative(raw: object, name: str) -> int | None:
    if raw is None:
        return None  # absent; an empty string is not a number (spec §1.3: 422)
    if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0:
        return raw
    if isinstance(raw, str) and _DIGITS.match(raw):
        # Longer than any int64: never parsed (Python refuses > 4300 digits), always too big.
        return int(raw) if len(raw) <= 20 else MAX_JSON_INT + 1
    raise InvalidArgumentError(f"Invalid value for {name} parameter")


def parse_limit(raw: object) -> int:
    """``limit``: default 100, clamped to 1000 (the applied value is echoed, spec §3.1)."""
    value = _parse_non_negative(raw, "limit")
    return DEFAULT_LIMIT if value is None else min(value, MAX_LIMIT)


def parse_offset(raw: object) -> int:
    """``offset``: default 0."""
    value = _parse_non_negative(raw, "offset")
    if value is not None and value > MAX_OFFSET:
        raise InvalidArgumentError("Invalid value for offset parameter")
    return 0 if value is None else value


def parse_count(raw: object) -> bool:
    """``count``: True for ``exact`` (the default), False for ``none``."""
    if _is_absent(raw) or raw == "exact":
        return True
    if raw == "none":
        return False
    raise InvalidArgumentError("count parameter must be 'exact' or 'none'")


def parse_bool(raw: object, name: str) -> bool:
    """A boolean param (spec §1.3): true/false/1/0, JSON or string; absent → False."""
    if _is_absent(raw):
        return False
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int) and raw in (0, 1):
        return raw == 1
    if isinstance(raw, str) and raw.lower() in ("true", "false", "1", "0"):
        return raw.lower() in ("true", "1")
    raise InvalidArgumentError(f"Invalid value for {name} parameter")


def _check_filter_size(filters: list[Filter]) -> None:
    """At most ``MAX_FILTERS`` conditions and ``MAX_FILTER_VALUES`` operand values in all:
    each is a term or a bind parameter of one statement, and both backends bound those."""
    if len(filters) > MAX_FILTERS:
        raise InvalidArgumentError(f"Too many filters: at most {MAX_FILTERS}")
    values = sum(len(f.operand) if isinstance(f.operand, list | tuple) else 1 for f in filters)
    if values > MAX_FILTER_VALUES:
        raise InvalidArgumentError(
            f"Too many values in filters: at most {MAX_FILTER_VALUES} in all")


def build_list_query(
    resource: Resource,
    *,
    filters: object = None,
    where: object = None,
    order: object = None,
    select: object = None,
    limit: object = None,
    offset: object = None,
    count: object = None,
    distinct: object = None,
) -> ListQuery:
    """Validate every list param and assemble the query (filters and where are ANDed)."""
    parsed_filters = parse_filters(resource, filters) + parse_where(resource, where)
    _check_filter_size(parsed_filters)
    parsed_select = parse_select(resource, select)
    return ListQuery(
        filters=tuple(parsed_filters),
        order=tuple(parse_order(resource, order, parsed_select)),
        limit=parse_limit(limit),
        offset=parse_offset(offset),
        count_exact=parse_count(count),
        select=parsed_select,
        distinct=parse_bool(distinct, "distinct"),
    )
