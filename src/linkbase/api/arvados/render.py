"""Stored rows to Arvados JSON: kinds, etags, nine-digit timestamps, computed attributes, select."""

from __future__ import annotations

from typing import Any

from linkbase.domain import uuids
from linkbase.domain.resources import Resource
from linkbase.domain.timestamps import format_micros
from linkbase.services.listing import ListPage

_TIME_FIELDS = ("created_at", "modified_at", "expires_at", "event_at")


def _logged_attributes(value: Any) -> Any:
    """A log entry's ``old_attributes``/``new_attributes`` with Arvados timestamps."""
    if not isinstance(value, dict):
        return value
    return {k: format_micros(v) if k in _TIME_FIELDS and isinstance(v, int) else v
            for k, v in value.items()}


def log_properties(properties: Any) -> dict[str, Any]:
    """A log entry's ``properties`` as the Arvados face shows them."""
    if not isinstance(properties, dict):
        return {}
    return {k: _logged_attributes(v) if k in ("old_attributes", "new_attributes") else v
            for k, v in properties.items()}


def _computed(resource: Resource, row: dict[str, Any], name: str) -> Any:
    if name == "head_kind":
        return uuids.kind_of(row.get("head_uuid"))
    if name == "tail_kind":
        return uuids.kind_of(row.get("tail_uuid"))
    if name == "full_name":
        first = row.get("first_name") or ""
        last = row.get("last_name") or ""
        return f"{first} {last}".strip()
    if name == "api_token":
        return row.get("api_token")
    if name == "object_kind":
        return uuids.kind_of(row.get("object_uuid"))
    if name == "summary":
        return f"{row.get('event_type')} of {row.get('object_uuid')}"
    return None


def render_object(resource: Resource, row: dict[str, Any],
                  select: tuple[str, ...] | None = None) -> dict[str, Any]:
    """One object as the Arvados face shows it."""
    names = select if select else resource.output_names
    out: dict[str, Any] = {"kind": resource.kind}
    if (not select or "etag" in select) and resource.infix:
        out["etag"] = row.get("etag")  # stored objects only (not computed permissions)
    for name in names:
        if name in ("kind", "etag"):
            continue
        attribute = resource.attribute(name)
        if attribute is None:
            continue
        computed = attribute.computed or name == "api_token"
        if not computed and name not in row:
            continue  # withheld from this caller (another user's private attributes)
        value = _computed(resource, row, name) if computed else row.get(name)
        if name in _TIME_FIELDS:
            value = format_micros(value)
        elif name == "properties" and resource.infix == uuids.LOG:
            value = log_properties(value)
        elif name in ("properties", "prefs") and value is None:
            value = {}
        out[name] = value
    return out


def render_list(resource: Resource, page: ListPage,
                select: tuple[str, ...] | None = None) -> dict[str, Any]:
    """The list envelope (``items_available`` only with ``count=exact``)."""
    body: dict[str, Any] = {
        "kind": resource.list_kind,
        "etag": "",
        "self_link": "",
        "offset": page.offset,
        "limit": page.limit,
        "items": [render_object(resource, row, select) for row in page.items],
    }
    if page.items_available is not None:
        body["items_available"] = page.items_available
    return body
