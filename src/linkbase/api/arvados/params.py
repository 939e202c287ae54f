"""Arvados request params (spec §1.3): path, then body (JSON or form), then query string.

Structured params arrive as native JSON in a JSON body and as JSON-holding strings in a query or
form; the domain's query parsers accept both shapes, so this module only gathers and decodes.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from linkbase.domain.errors import InvalidArgumentError
from linkbase.domain.limits import decode_json, loads_json

OVERRIDABLE = ("GET", "PUT", "PATCH", "DELETE")


def parse_body(body: bytes, content_type: str | None) -> dict[str, Any]:
    """The params a request body carries (JSON object or urlencoded form)."""
    if not body.strip():
        return {}
    media = (content_type or "").split(";", 1)[0].strip().lower()
    is_json = media == "application/json" or (not media and body.lstrip().startswith(b"{"))
    if is_json or media.endswith("+json"):
        # Each part is checked where it is used (attributes, filters...), so that a limit such as
        # the nesting depth counts from the part, not from the body.
        decoded = decode_json(body, "Malformed JSON in request body")
        if not isinstance(decoded, dict):
            raise InvalidArgumentError("Request body must be a JSON object")
        return decoded
    if media in ("application/x-www-form-urlencoded", ""):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidArgumentError("Request body is not valid UTF-8") from exc
        return _first_values(urllib.parse.parse_qsl(text, keep_blank_values=True))
    if media == "multipart/form-data":
        raise InvalidArgumentError("multipart bodies are not supported")
    raise InvalidArgumentError(f"Unsupported content type '{media}'")


def _first_values(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        out.setdefault(key, value)
    return out


def merge_params(path: dict[str, Any], body: dict[str, Any], query: list[tuple[str, str]]
                 ) -> dict[str, Any]:
    """Merge the three sources; on a clash the earlier source wins."""
    merged: dict[str, Any] = dict(_first_values(query))
    merged.update(body)
    merged.update(path)
    return merged


def effective_method(method: str, header: str | None, params: dict[str, Any]) -> str:
    """Apply ``X-Http-Method-Override`` / ``_method`` to a POST (spec §1.1)."""
    if method != "POST":
        return method
    override = header or params.get("_method")
    if isinstance(override, str) and override.upper() in OVERRIDABLE:
        return override.upper()
    return method


def resource_body(params: dict[str, Any], wrapper: str, attribute_names: tuple[str, ...]
                  ) -> dict[str, Any]:
    """The ``{"<wrapper>": {...}}`` attrs (a JSON string in forms), or top-level attributes."""
    if wrapper in params:
        value = params[wrapper]
        if isinstance(value, str):
            if value == "":
                return {}
            value = loads_json(value, f"Malformed JSON in '{wrapper}' parameter")
        if not isinstance(value, dict):
            raise InvalidArgumentError(f"'{wrapper}' parameter must be a JSON object")
        return value
    return {k: v for k, v in params.items() if k in attribute_names}


def check_cluster_id(params: dict[str, Any], cluster_id: str) -> None:
    """``cluster_id``: absent, empty or ours → fine; anything else → 422."""
    value = params.get("cluster_id")
    if value in (None, "", cluster_id):
        return
    raise InvalidArgumentError(f"cluster_id '{value}' is not this cluster")
