"""Attribute validation for create/update bodies: unknown attributes and JSON types (422)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from linkbase.domain.errors import InvalidArgumentError
from linkbase.domain.limits import MAX_STRING_LENGTH, check_json, check_text
from linkbase.domain.resources import Attribute, AttrType, Resource
from linkbase.domain.timestamps import parse_timestamp

#: Attributes clients may send that are silently ignored (spec §1.4).
IGNORED = frozenset(
    {
        "kind", "etag", "href", "created_at", "modified_at", "modified_by_user_uuid",
        "modified_by_client_uuid", "writable_by", "can_write", "can_manage", "full_name",
    }
)

_TYPE_NAMES = {
    str: "String", int: "Integer", float: "Float", bool: "Boolean", list: "Array", dict: "Hash",
    type(None): "NilClass",
}


def type_name(value: object) -> str:
    """Ruby-style name of a JSON value's type, for error messages."""
    return _TYPE_NAMES.get(type(value), type(value).__name__)


def clean_attrs(resource: Resource, attrs: dict[str, Any], *, extra: frozenset[str] = frozenset(),
                current_uuid: str | None = None) -> dict[str, Any]:
    """Drop ignored attributes, reject unknown ones and values of the wrong JSON type.

    ``extra`` names attributes a resource accepts beyond its catalogue (e.g. ``password``).
    """
    cleaned: dict[str, Any] = {}
    for name, value in attrs.items():
        if name in IGNORED:
            continue
        if name == "uuid" and current_uuid is not None and value == current_uuid:
            continue
        attribute = resource.attribute(name)
        if attribute is None and name not in extra:
            raise InvalidArgumentError(f"unknown attribute '{name}' for {resource.class_name}.")
        if attribute is not None:
            _check_type(resource, name, attribute.type, value)
            _check_limits(resource, attribute, value)
        if _has_nul(value):
            raise InvalidArgumentError(
                f"Invalid value for attribute '{name}' of {resource.class_name}: "
                "NUL characters are not allowed"
            )
        cleaned[name] = value
    for name, value in list(cleaned.items()):
        if name.endswith("_uuid") and value == "":
            cleaned[name] = None
    return cleaned


def _check_limits(resource: Resource, attribute: Attribute, value: object) -> None:
    """The limits of ``domain/limits.py``: what both backends store and read back alike."""
    what = f"Invalid value for attribute '{attribute.name}' of {resource.class_name}"
    if isinstance(value, str):
        check_text(value, what, max_length=None if attribute.long else MAX_STRING_LENGTH)
    elif attribute.type in (AttrType.JSON, AttrType.OTHER):
        check_json(value, what)


def _has_nul(value: object) -> bool:
    """True if a string anywhere in ``value`` holds U+0000 (PostgreSQL cannot store it)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    return False


def _check_type(resource: Resource, name: str, attr_type: AttrType, value: object) -> None:
    wrong = InvalidArgumentError(
        f"Invalid value for attribute '{name}' of {resource.class_name}: "
        f"{type_name(value)} is not allowed"
    )
    if attr_type is AttrType.STRING:
        if value is not None and not isinstance(value, str):
            raise wrong
    elif attr_type is AttrType.BOOL:
        if value is not None and not isinstance(value, bool):
            raise wrong
    elif attr_type is AttrType.JSON:
        if not isinstance(value, dict):
            raise InvalidArgumentError("Properties must be a Hash")
    elif attr_type is AttrType.TIME and value is not None:
        if not isinstance(value, str):
            raise wrong
        parse_timestamp(value)


def prepare_update(resource: Resource, attrs: dict[str, Any], uuid: str,
                   load: Callable[[str], dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The first steps of every update, in the spec's check order (§1.6).

    Body shape (422), then locating the target (``load`` raises 404 if unreadable), then the
    rule that a uuid never changes (422, admins included). Returns (cleaned attrs, current row).
    """
    cleaned = clean_attrs(resource, attrs, current_uuid=uuid)
    current = load(uuid)
    if "uuid" in cleaned:
        raise InvalidArgumentError("Uuid change not permitted")
    return cleaned, current
