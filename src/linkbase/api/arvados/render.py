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


#: How a stored value is shown: as is, as a timestamp, as a log entry's properties, or as an
#: object that is never null.
_AS_IS, _TIME, _LOG_PROPERTIES, _OBJECT = range(4)

#: (name, computed, how) for each attribute an object shows, by (resource, select): worked out
#: once, not for every object of every page.
_Plan = tuple[tuple[str, bool, int], ...]
_PLANS: dict[tuple[str, tuple[str, ...] | None], _Plan] = {}


def _plan(resource: Resource, select: tuple[str, ...] | None) -> _Plan:
    key = (resource.name, select)
    plan = _PLANS.get(key)
    if plan is None:
        steps = []
        for name in select if select else resource.output_names:
            attribute = resource.attribute(name)
            if name in ("kind", "etag") or attribute is None:
                continue
            if name in _TIME_FIELDS:
                how = _TIME
            elif name == "properties" and resource.infix == uuids.LOG:
                how = _LOG_PROPERTIES
            elif name in ("properties", "prefs"):
                how = _OBJECT
            else:
                how = _AS_IS
            steps.append((name, attribute.computed or name == "api_token", how))
        plan = _PLANS[key] = tuple(steps)
    return plan


def render_object(resource: Resource, row: dict[str, Any],
                  select: tuple[str, ...] | None = None) -> dict[str, Any]:
    """One object as the Arvados face shows it."""
    out: dict[str, Any] = {"kind": resource.kind}
    if (not select or "etag" in select) and resource.infix:
        out["etag"] = row.get("etag")  # stored objects only (not computed permissions)
    for name, computed, how in _plan(resource, select):
        if computed:
            value = _computed(resource, row, name)
        elif name in row:
            value = row[name]
        else:
            continue  # withheld from this caller (another user's private attributes)
        if how == _TIME:
            value = format_micros(value)
        elif how == _LOG_PROPERTIES:
            value = log_properties(value)
        elif how == _OBJECT and value is None:
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
