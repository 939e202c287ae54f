"""The stored resources as use cases: get, list, create, update, delete, each one transaction.

Users, groups, collections, links and tokens share these five verbs (spec §1.1); the faces call
them by resource name and never see a transaction. Each verb runs the resource's own service
function (``services.links``, ``services.groups``, ...) inside the unit of work, which retries
lost races and turns storage errors into domain errors.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from linkbase.domain.errors import NotFoundError
from linkbase.domain.query import ListQuery
from linkbase.domain.resources import Resource
from linkbase.services import collections, groups, links, tokens, users
from linkbase.services.context import Caller, Services
from linkbase.services.listing import ListPage, list_records
from linkbase.services.permissions import Access

Record = dict[str, Any]

_GETTERS: dict[str, Callable[[Access, str], Record]] = {
    "links": links.get_link,
    "users": users.get_user,
    "groups": groups.get_group,
    "collections": collections.get_collection,
    "api_client_authorizations": tokens.get_token,
}

_DELETERS: dict[str, Callable[[Access, str], Record]] = {
    "links": links.delete_link,
    "users": users.delete_user,
    "groups": groups.delete_group,
    "collections": collections.delete_collection,
    "api_client_authorizations": tokens.delete_token,
}


def _shown(access: Access, resource: Resource, row: Record) -> Record:
    """What of a stored row the caller may see (another user's private attributes are not)."""
    return users.as_seen_by(access, row) if resource.name == "users" else row


def _get(access: Access, resource: Resource, uuid: str) -> Record:
    return _shown(access, resource, _GETTERS[resource.name](access, uuid))


def get(services: Services, caller: Caller, resource: Resource, uuid: str) -> Record:
    """One object the caller may read (NotFoundError otherwise)."""
    return services.uow.read(caller, _get, resource, uuid)


def _list(access: Access, resource: Resource, query: ListQuery) -> ListPage:
    page = list_records(access, resource, query)
    page.items = [_shown(access, resource, row) for row in page.items]
    return page


def list_page(services: Services, caller: Caller, resource: Resource,
              query: ListQuery) -> ListPage:
    """A page of the objects the caller may read, filtered, ordered and counted (spec §3)."""
    return services.uow.read(caller, _list, resource, query)


def _create(access: Access, resource: Resource, attrs: dict[str, Any],
            ensure_unique_name: bool) -> Record:
    name = resource.name
    if name == "links":
        return links.create_link(access, attrs)
    if name == "groups":
        return groups.create_group(access, attrs, ensure_unique_name=ensure_unique_name)
    if name == "collections":
        return collections.create_collection(access, attrs,
                                             ensure_unique_name=ensure_unique_name)
    if name == "users":
        return users.create_user(access, attrs)
    return tokens.create_token(access, attrs)


def create(services: Services, caller: Caller, resource: Resource, attrs: dict[str, Any], *,
           ensure_unique_name: bool = False) -> Record:
    """Create an object (a link may come back as the existing grant it duplicates)."""
    return services.uow.write(caller, _create, resource, attrs, ensure_unique_name)


def _update(access: Access, resource: Resource, uuid: str, attrs: dict[str, Any],
            ensure_unique_name: bool) -> Record:
    name = resource.name
    if name == "links":
        return links.update_link(access, uuid, attrs)
    if name == "groups":
        return groups.update_group(access, uuid, attrs, ensure_unique_name=ensure_unique_name)
    if name == "collections":
        return collections.update_collection(access, uuid, attrs,
                                             ensure_unique_name=ensure_unique_name)
    if name == "users":
        return _shown(access, resource, users.update_user(access, uuid, attrs))
    raise NotFoundError()  # tokens have no update method


def update(services: Services, caller: Caller, resource: Resource, uuid: str,
           attrs: dict[str, Any], *, ensure_unique_name: bool = False) -> Record:
    """Partially update an object; returns it as stored afterwards."""
    return services.uow.write(caller, _update, resource, uuid, attrs, ensure_unique_name)


def delete(services: Services, caller: Caller, resource: Resource, uuid: str) -> Record:
    """Delete an object with its cascade (spec §6); returns it as it was."""
    return services.uow.write(caller, _DELETERS[resource.name], uuid)
