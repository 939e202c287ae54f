"""The discovery document (spec §11): what the Arvados SDK loads to learn every method.

Built from the resource catalogue, so a served method and its declaration cannot drift apart.
"""

from __future__ import annotations

from typing import Any

from linkbase.domain.resources import COMPUTED_PERMISSIONS, LOGS, RESOURCES, AttrType, Resource

_JSON_TYPE = {
    AttrType.STRING: "string",
    AttrType.TIME: "datetime",
    AttrType.BOOL: "boolean",
    AttrType.JSON: "object",
    AttrType.INT: "integer",
    AttrType.OTHER: "object",
}


def _q(type_: str, description: str, **extra: Any) -> dict[str, Any]:
    return {"type": type_, "location": "query", "required": False, "description": description,
            **extra}


_UUID_PARAM = {"uuid": {"type": "string", "location": "path", "required": True,
                        "description": "The UUID of the object."}}

LIST_PARAMS: dict[str, Any] = {
    "filters": _q("array", "Conditions for filtering items."),
    "where": _q("object", "Conditions for filtering items (legacy form)."),
    "order": _q("array", "Order in which to return matching items."),
    "select": _q("array", "Attributes of each object to return in the response."),
    "distinct": _q("boolean", "Return each distinct object only once.", default="false"),
    "limit": _q("integer", "Maximum number of items to return.", default="100"),
    "offset": _q("integer", "Number of items to skip.", default="0"),
    "count": _q("string", "'exact' or 'none'.", default="exact"),
    "cluster_id": _q("string", "Cluster to query (only the local cluster is served)."),
    "bypass_federation": _q("boolean", "Admin only; accepted and ignored.", default="false"),
}
CREATE_PARAMS: dict[str, Any] = {
    "select": LIST_PARAMS["select"],
    "ensure_unique_name": _q("boolean", "Rename the object if its name is taken.",
                             default="false"),
    "cluster_id": LIST_PARAMS["cluster_id"],
}
SELECT_PARAM = {"select": LIST_PARAMS["select"]}
INCLUDE_TRASH = {"include_trash": _q("boolean", "Accepted and ignored (no trash).",
                                     default="false")}
INCLUDE_OLD = {"include_old_versions": _q("boolean", "Accepted and ignored.", default="false")}


def _schema(resource: Resource) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "kind": {"type": "string"},
        "etag": {"type": "string"},
    }
    for attribute in resource.attributes:
        properties[attribute.name] = {"type": _JSON_TYPE[attribute.type]}
    schema: dict[str, Any] = {
        "id": resource.class_name,
        "description": resource.class_name,
        "type": "object",
        "uuidPrefix": resource.infix,
        "properties": properties,
    }
    if not resource.infix:  # computed rows: no uuid, no etag
        del schema["uuidPrefix"], properties["etag"]
    return schema


def _list_schema(resource: Resource) -> dict[str, Any]:
    return {
        "id": resource.class_name + "List",
        "description": resource.class_name + " list",
        "type": "object",
        "properties": {
            "kind": {"type": "string", "default": resource.list_kind},
            "etag": {"type": "string"},
            "self_link": {"type": "string"},
            "offset": {"type": "integer"},
            "limit": {"type": "integer"},
            "items_available": {"type": "integer"},
            "items": {"type": "array", "items": {"$ref": resource.class_name}},
        },
    }


def _method(resource: Resource, name: str, http: str, path: str, params: dict[str, Any],
            response: str, *, body: bool = False, order: list[str] | None = None
            ) -> dict[str, Any]:
    method: dict[str, Any] = {
        "id": f"arvados.{resource.name}.{name}",
        "path": path,
        "httpMethod": http,
        "description": f"{name} {resource.name}",
        "parameters": params,
        "response": {"$ref": response},
        "scopes": ["https://api.arvados.org/auth/arvados"],
    }
    if order:
        method["parameterOrder"] = order
    if body:
        method["request"] = {
            "required": True,
            "properties": {resource.wrapper: {"$ref": resource.class_name}},
        }
    return method


def _methods(resource: Resource) -> dict[str, Any]:
    r = resource
    cls, lst = r.class_name, r.class_name + "List"
    extra_list: dict[str, Any] = {}
    extra_get: dict[str, Any] = {}
    if r.name in ("groups", "collections"):
        extra_list.update(INCLUDE_TRASH)
        extra_get.update(INCLUDE_TRASH)
    if r.name == "collections":
        extra_list.update(INCLUDE_OLD)
    item = f"{r.name}/{{uuid}}"
    methods: dict[str, Any] = {
        "list": _method(r, "list", "GET", r.name, {**LIST_PARAMS, **extra_list}, lst),
        "get": _method(r, "get", "GET", item, {**_UUID_PARAM, **SELECT_PARAM, **extra_get}, cls,
                       order=["uuid"]),
        "create": _method(r, "create", "POST", r.name, dict(CREATE_PARAMS), cls, body=True),
        "delete": _method(r, "delete", "DELETE", item, dict(_UUID_PARAM), cls, order=["uuid"]),
    }
    if r.name != "api_client_authorizations":
        update_params = {**_UUID_PARAM, **SELECT_PARAM}
        if r.name == "users":
            update_params["bypass_federation"] = LIST_PARAMS["bypass_federation"]
        methods["update"] = _method(r, "update", "PUT", item, update_params, cls, body=True,
                                    order=["uuid"])
    if r.name == "links":
        methods["get_permissions"] = _method(r, "get_permissions", "GET", "permissions/{uuid}",
                                             dict(_UUID_PARAM), lst, order=["uuid"])
    if r.name in ("users", "api_client_authorizations"):
        methods["current"] = _method(r, "current", "GET", f"{r.name}/current", {}, cls)
    return methods


def _log_methods() -> dict[str, Any]:
    r = LOGS
    item = f"{r.name}/{{uuid}}"
    return {
        "list": _method(r, "list", "GET", r.name, dict(LIST_PARAMS), "LogList"),
        "get": _method(r, "get", "GET", item, {**_UUID_PARAM, **SELECT_PARAM}, "Log",
                       order=["uuid"]),
        "delete": _method(r, "delete", "DELETE", item, dict(_UUID_PARAM), "Log",
                          order=["uuid"]),
    }


def discovery_document(root_url: str, cluster_id: str) -> dict[str, Any]:
    """The whole document; ``root_url`` ends with ``/`` (``http`` or ``https``: the event bus
    is then at ``ws``/``wss`` ``{root}websocket``)."""
    schemas: dict[str, Any] = {}
    resources: dict[str, Any] = {}
    for resource in RESOURCES.values():
        schemas[resource.class_name] = _schema(resource)
        schemas[resource.class_name + "List"] = _list_schema(resource)
        resources[resource.name] = {"methods": _methods(resource)}
    computed = COMPUTED_PERMISSIONS
    schemas[computed.class_name] = _schema(computed)
    schemas[computed.class_name + "List"] = _list_schema(computed)
    resources[computed.name] = {"methods": {
        "list": _method(computed, "list", "GET", computed.name, dict(LIST_PARAMS),
                        computed.class_name + "List"),
    }}
    schemas[LOGS.class_name] = _schema(LOGS)
    schemas[LOGS.class_name + "List"] = _list_schema(LOGS)
    resources[LOGS.name] = {"methods": _log_methods()}
    websocket = "ws" + root_url[len("http"):] if root_url.startswith("http") else root_url
    return {
        "kind": "discovery#restDescription",
        "discoveryVersion": "v1",
        "id": "arvados:v1",
        "name": "arvados",
        "version": "v1",
        "revision": "20250402",
        "title": "Linkbase (Arvados v1 API)",
        "description": "Links and permissions metadata server",
        "protocol": "rest",
        "rootUrl": root_url,
        "servicePath": "arvados/v1/",
        "basePath": "/arvados/v1/",
        "baseUrl": root_url + "arvados/v1/",
        "batchPath": "batch",
        "websocketUrl": websocket + "websocket",
        "uuidPrefix": cluster_id,
        "maxItemsPerResponse": 1000,
        "parameters": {
            "alt": {"type": "string", "description": "Data format for the response.",
                    "default": "json", "enum": ["json"], "location": "query"},
        },
        "auth": {"oauth2": {"scopes": {"https://api.arvados.org/auth/arvados": {
            "description": "View and manage objects"}}}},
        "schemas": schemas,
        "resources": resources,
    }
