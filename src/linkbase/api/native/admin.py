"""Native endpoints for what the Laserfiche v2 API cannot write: link definitions, repositories
and documents (v2 imports documents with content; Linkbase keeps metadata only).

Errors are domain exceptions; the app renders them in the Arvados shape like every native error.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from linkbase.api.body import read_body
from linkbase.api.laserfiche.schemas import render_entry
from linkbase.api.native.common import caller_of, services_of
from linkbase.api.responses import JSONBody
from linkbase.api.worker_threads import run_blocking
from linkbase.domain.errors import (
    InvalidArgumentError,
    PayloadTooLargeError,
    PermissionDeniedError,
)
from linkbase.domain.limits import decode_json
from linkbase.services import entries as entry_service
from linkbase.services import link_definitions as definition_service
from linkbase.services import repositories as repository_service
from linkbase.services.context import Caller, Services

router = APIRouter()


async def _object_body(request: Request) -> dict[str, Any]:
    services = services_of(request)
    body = await read_body(request, services.settings.max_request_bytes, PayloadTooLargeError)
    data = decode_json(body or b"{}", "Malformed JSON in request body")
    if not isinstance(data, dict):
        raise InvalidArgumentError("The request body must be a JSON object")
    return data


def _string(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise InvalidArgumentError(f"'{key}' must be a non-empty string")
    return value


@router.post("/linkbase/v1/link_definitions")
async def create_link_definition(request: Request) -> JSONBody:
    """Add a link definition (admins only): ``{source_label, target_label, description}``."""
    caller = await run_blocking(caller_of, request)
    if not caller.is_admin:
        raise PermissionDeniedError("Forbidden")
    data = await _object_body(request)
    args = (_string(data, "source_label"), _string(data, "target_label"),
            _string(data, "description"))
    return JSONBody(await run_blocking(definition_service.add_definition,
                                            services_of(request), caller, *args))


@router.get("/linkbase/v1/link_definitions")
async def list_link_definitions(request: Request) -> JSONBody:
    """Every link definition, by id (any authenticated user)."""
    caller = await run_blocking(caller_of, request)
    rows = await run_blocking(definition_service.all_definitions, services_of(request),
                                   caller)
    # Column names may be ``quoted_name`` (a str subclass orjson refuses): plain keys.
    items = [{str(k): v for k, v in row.items()} for row in rows]
    return JSONBody({"items": items, "items_available": len(items)})


@router.post("/linkbase/v1/repositories")
async def create_repository(request: Request) -> JSONBody:
    """Create a repository with its root folder (admins only): ``{id, name}``."""
    caller = await run_blocking(caller_of, request)
    if not caller.is_admin:
        raise PermissionDeniedError("Forbidden")
    data = await _object_body(request)
    repository_id, name = _string(data, "id"), _string(data, "name")
    return JSONBody(await run_blocking(repository_service.add_repository,
                                            services_of(request), caller, repository_id, name))


def _create_document(services: Services, caller: Caller, data: dict[str, Any]
                     ) -> dict[str, Any]:
    repository_id = _string(data, "repository_id")
    parent = data.get("parent_entry_id")
    if isinstance(parent, bool) or not isinstance(parent, int):
        raise InvalidArgumentError("'parent_entry_id' must be an integer")
    properties = data.get("properties")
    if properties is not None and not isinstance(properties, dict):
        raise InvalidArgumentError("'properties' must be an object")
    auto_rename = bool(data.get("auto_rename", False))
    entry = entry_service.add_document(services, caller, repository_id, parent,
                                       data.get("name"), properties, auto_rename=auto_rename)
    body = render_entry(entry)
    body.update({"uuid": entry.uuid, "repository_id": entry.repository_id})
    return body


@router.post("/linkbase/v1/documents")
async def create_document(request: Request) -> JSONBody:
    """Create a Document entry (a collection) in a folder the caller can write.

    Body: ``{repository_id, parent_entry_id, name, properties?, auto_rename?}``; returns the
    entry in Laserfiche form plus its ``uuid`` and ``repository_id``.
    """
    caller = await run_blocking(caller_of, request)
    data = await _object_body(request)
    services = services_of(request)
    return JSONBody(await run_blocking(_create_document, services, caller, data))
