"""The Laserfiche face in the API description (``/openapi.json``, shown at ``/docs``).

The routes parse their own bodies (so a malformed one is a 400 ProblemDetails, never a framework
error), so FastAPI cannot infer their parameters: this module states them, with pydantic models
of the wire shapes (spec laserfiche-v2.md, exact camelCase names). The models document; the
renderers in :mod:`linkbase.api.laserfiche.schemas` produce the bodies.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

TAG = "Laserfiche Repository API v2"


class ProblemDetails(BaseModel):
    """Every error of this face (``application/problem+json``)."""

    type: str | None = None
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    operationId: str | None = None
    errorSource: str | None = None
    errorCode: int | None = None
    traceId: str | None = None


class LinkToUpdate(BaseModel):
    """One link of a replace-all PUT."""

    linkDefinitionId: int
    otherEntryId: int
    isSource: bool = Field(True, description="true: this entry is the source (missing: true).")
    customProperties: dict[str, str] | None = None


class SetLinksRequest(BaseModel):
    """The complete set of links the entry should have: the others are removed."""

    links: list[LinkToUpdate]


class Link(BaseModel):
    """A relation link between two entries."""

    id: int
    description: str | None
    sourceId: int
    sourceFullPath: str
    sourceLabel: str
    sourceLink: str
    targetId: int
    targetFullPath: str
    targetLabel: str
    targetLink: str
    linkDefinitionId: int
    linkDefinitionDescription: str
    customProperties: dict[str, str]


class LinkCollectionResponse(BaseModel):
    value: list[Link]
    odata_nextLink: str | None = Field(None, alias="@odata.nextLink")
    odata_count: int | None = Field(None, alias="@odata.count")


class LinkDefinition(BaseModel):
    id: int
    sourceLabel: str
    targetLabel: str
    description: str


class LinkDefinitionCollectionResponse(BaseModel):
    value: list[LinkDefinition]
    odata_nextLink: str | None = Field(None, alias="@odata.nextLink")
    odata_count: int | None = Field(None, alias="@odata.count")


class ChildInfo(BaseModel):
    """Counts of a folder's children the caller can read (``includeChildInfo=true``)."""

    hasChildren: bool
    childCount: int
    folderCount: int
    documentCount: int
    shortcutCount: int


class Entry(BaseModel):
    """A Folder (a project), a Document (a collection) or a Shortcut (a link to an entry)."""

    id: int
    name: str
    parentId: int | None
    fullPath: str
    folderPath: str
    creator: str | None
    creationTime: str
    lastModifiedTime: str
    entryType: str = Field(description="Folder, Document or Shortcut; always present.")
    isContainer: bool
    isLeaf: bool
    targetId: int | None = Field(None, description="Shortcuts: the entry they point at.")
    targetType: str | None = Field(None, description="Shortcuts: the target's entry type.")
    childInfo: ChildInfo | None = Field(None, description="Folders, with includeChildInfo.")


class EntryCollectionResponse(BaseModel):
    value: list[Entry]
    odata_nextLink: str | None = Field(None, alias="@odata.nextLink")
    odata_count: int | None = Field(None, alias="@odata.count")


class FindEntryResult(BaseModel):
    entry: Entry | None
    ancestorEntry: Entry | None


class CreateEntryRequest(BaseModel):
    name: str
    entryType: str = Field("Folder", description="Folder or Shortcut (documents come with "
                                                  "content: create them with the native API).")
    targetId: int | None = Field(None, description="Shortcut: the entry it points at.")
    autoRename: bool = False


class PatchEntryRequest(BaseModel):
    """Move (``parentId``) and/or rename (``name``) an entry."""

    parentId: int | None = None
    name: str | None = None


class AcceptedOperation(BaseModel):
    taskId: str


class DeleteEntryWithAuditReason(BaseModel):
    """Optional body of an entry delete: a configured reason and/or a comment, recorded in the
    audit log."""

    auditReasonId: int | None = None
    comment: str | None = None


class AuditReason(BaseModel):
    id: int
    name: str
    auditEventType: str = "DeleteEntry"


class AuditReasonCollectionResponse(BaseModel):
    value: list[AuditReason]
    odata_nextLink: str | None = Field(None, alias="@odata.nextLink")
    odata_count: int | None = Field(None, alias="@odata.count")


class Repository(BaseModel):
    id: str
    name: str
    webClientUrl: str


class RepositoryList(BaseModel):
    value: list[Repository]


class TokenResponse(BaseModel):
    access_token: str
    expires_in: int
    token_type: str = "bearer"


#: Models referenced by request bodies (added to the description's components).
REQUEST_MODELS: tuple[type[BaseModel], ...] = (SetLinksRequest, LinkToUpdate, CreateEntryRequest,
                                              PatchEntryRequest, DeleteEntryWithAuditReason)


def _path(name: str, description: str, integer: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": {"type": "integer" if integer else "string"}}


def _query(name: str, description: str, kind: str = "string") -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": {"type": kind}}


REPOSITORY = _path("repositoryId", "Repository id, e.g. r-default.")
ENTRY = _path("entryId", "Entry id (the root folder is 1).", integer=True)
ODATA = [
    _query("$select", "Comma-separated properties to return."),
    _query("$orderby", "Up to 5 'property [asc|desc]' expressions."),
    _query("$top", "Page size (at most 150).", "integer"),
    _query("$skip", "Items to skip.", "integer"),
    _query("$count", "true adds @odata.count (the total).", "boolean"),
    {"name": "Prefer", "in": "header", "required": False, "schema": {"type": "string"},
     "description": "maxpagesize=N (or odata.maxpagesize=N) sets the page size."},
]


def _body(model: type[BaseModel]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {
        "schema": {"$ref": f"#/components/schemas/{model.__name__}"}}}}


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": ProblemDetails, "description": "ProblemDetails"}
            for status in statuses}


def route_docs(method: str, path: str) -> dict[str, Any]:
    """Keyword arguments for ``add_api_route`` describing one route of the face."""
    auth: list[dict[str, list[str]]] = [{"bearer": []}]
    common: dict[str, Any] = {"tags": [TAG]}
    table: dict[tuple[str, str], dict[str, Any]] = {
        ("POST", "/v1/Repositories/{repositoryId}/Token"): {
            "summary": "Exchange a username and password (or an API token) for an access token",
            "responses": {200: {"model": TokenResponse}, **_errors(400, 401, 404, 429)},
            "openapi_extra": {"parameters": [REPOSITORY], "requestBody": {
                "required": True, "content": {"application/x-www-form-urlencoded": {"schema": {
                    "type": "object", "required": ["grant_type", "username", "password"],
                    "properties": {"grant_type": {"type": "string", "enum": ["password"]},
                                   "username": {"type": "string"},
                                   "password": {"type": "string"}}}}}}},
        },
        ("GET", "/v2/Repositories"): {
            "summary": "List repositories (no token needed)",
            "responses": {200: {"model": RepositoryList}},
            "openapi_extra": {"security": []},
        },
        ("GET", "/v2/Repositories/{repositoryId}/LinkDefinitions"): {
            "summary": "List link definitions",
            "responses": {200: {"model": LinkDefinitionCollectionResponse},
                          **_errors(400, 401, 404)},
            "openapi_extra": {"parameters": [REPOSITORY, *ODATA], "security": auth},
        },
        ("GET", "/v2/Repositories/{repositoryId}/LinkDefinitions/{linkDefinitionId}"): {
            "summary": "Get a link definition",
            "responses": {200: {"model": LinkDefinition}, **_errors(400, 401, 404)},
            "openapi_extra": {"parameters": [
                REPOSITORY, _path("linkDefinitionId", "Link definition id.", integer=True),
                ODATA[0]], "security": auth},
        },
        ("GET", "/v2/Repositories/{repositoryId}/Entries/ByPath"): {
            "summary": "Find an entry by its full path",
            "responses": {200: {"model": FindEntryResult}, **_errors(400, 401, 404)},
            "openapi_extra": {"parameters": [
                REPOSITORY, {**_query("fullPath", "e.g. \\Contracts\\Amendment 1.pdf"),
                             "required": True},
                _query("fallbackToClosestAncestor", "true: return the closest readable "
                       "ancestor when the entry is not found.", "boolean")], "security": auth},
        },
        ("GET", "/v2/Repositories/{repositoryId}/Entries/{entryId}"): {
            "summary": "Get an entry",
            "responses": {200: {"model": Entry}, **_errors(400, 401, 404)},
            "openapi_extra": {"parameters": [
                REPOSITORY, ENTRY, ODATA[0],
                _query("includeChildInfo", "true: folders carry childInfo (readable children "
                       "counted by type).", "boolean")], "security": auth},
        },
        ("PATCH", "/v2/Repositories/{repositoryId}/Entries/{entryId}"): {
            "summary": "Move and/or rename an entry (needs write on it and on the new folder)",
            "responses": {200: {"model": Entry}, **_errors(400, 401, 403, 404, 409)},
            "openapi_extra": {"parameters": [
                REPOSITORY, ENTRY,
                _query("autoRename", "true: pick a free name instead of a 409.", "boolean")],
                "requestBody": _body(PatchEntryRequest), "security": auth},
        },
        ("DELETE", "/v2/Repositories/{repositoryId}/Entries/{entryId}"): {
            "summary": "Delete an entry (and everything in a folder)",
            "status_code": 202,
            "responses": {202: {"model": AcceptedOperation}, **_errors(400, 401, 403, 404)},
            "openapi_extra": {"parameters": [REPOSITORY, ENTRY], "security": auth,
                              "requestBody": {**_body(DeleteEntryWithAuditReason),
                                              "required": False}},
        },
        ("GET", "/v2/Repositories/{repositoryId}/AuditReasons"): {
            "summary": "List the audit reasons (LINKBASE_AUDIT_REASONS; none by default)",
            "responses": {200: {"model": AuditReasonCollectionResponse},
                          **_errors(400, 401, 404)},
            "openapi_extra": {"parameters": [REPOSITORY, *ODATA], "security": auth},
        },
        ("GET", "/v2/Repositories/{repositoryId}/Entries/{entryId}/Folder/Children"): {
            "summary": "List the entries of a folder you can read",
            "responses": {200: {"model": EntryCollectionResponse}, **_errors(400, 401, 404)},
            "openapi_extra": {"parameters": [REPOSITORY, ENTRY, *ODATA], "security": auth},
        },
        ("POST", "/v2/Repositories/{repositoryId}/Entries/{entryId}/Folder/Children"): {
            "summary": "Create a folder or a shortcut (needs write on the parent)",
            "status_code": 201,
            "responses": {201: {"model": Entry}, **_errors(400, 401, 403, 404, 409)},
            "openapi_extra": {"parameters": [REPOSITORY, ENTRY],
                              "requestBody": _body(CreateEntryRequest), "security": auth},
        },
        ("GET", "/v2/Repositories/{repositoryId}/Entries/{entryId}/Links"): {
            "summary": "List an entry's links (as source or target)",
            "responses": {200: {"model": LinkCollectionResponse}, **_errors(400, 401, 404)},
            "openapi_extra": {"parameters": [REPOSITORY, ENTRY, *ODATA], "security": auth},
        },
        ("PUT", "/v2/Repositories/{repositoryId}/Entries/{entryId}/Links"): {
            "summary": "Replace all of an entry's links with the set given",
            "description": "Links not in the body are removed ({\"links\": []} removes all); a "
                           "link kept keeps its id. One transaction: any error leaves the links "
                           "unchanged.",
            "responses": {200: {"model": LinkCollectionResponse},
                          **_errors(400, 401, 403, 404, 413, 423)},
            "openapi_extra": {"parameters": [REPOSITORY, ENTRY],
                              "requestBody": _body(SetLinksRequest), "security": auth},
        },
    }
    return {**common, **table[(method, path)]}
