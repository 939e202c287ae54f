"""Wire shapes of the Laserfiche face: entries, links, link definitions (exact camelCase names).

The rendering is plain dicts in model order: the official client reads these names verbatim, and
``entryType`` must always be present (its ``Entry.fromJS`` throws without a known discriminator).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from linkbase.services.entries import Entry
from linkbase.services.laserfiche_links import EntryLink

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

ENTRY_COMMON = (
    "id", "name", "parentId", "fullPath", "folderPath", "creator", "creationTime",
    "lastModifiedTime", "entryType", "isContainer", "isLeaf", "templateName", "templateId",
    "templateFieldNames", "volumeName", "rowNumber",
)
FOLDER_EXTRA = ("isRecordFolder", "isUnderRecordSeries", "childInfo")
DOCUMENT_EXTRA = (
    "extension", "mimeType", "pageCount", "isLocked", "lockedBy", "electronicDocumentSize",
    "isCheckedOut", "isUnderVersionControl",
)
SHORTCUT_EXTRA = ("targetId", "targetType")
ENTRY_PROPERTIES = ENTRY_COMMON + FOLDER_EXTRA + DOCUMENT_EXTRA + SHORTCUT_EXTRA
#: Properties children can be ordered by (scalars only).
ENTRY_ORDERABLE = tuple(p for p in ENTRY_PROPERTIES if p not in ("templateFieldNames",
                                                                 "childInfo"))

LINK_PROPERTIES = (
    "id", "description", "sourceId", "sourceFullPath", "sourceLabel", "sourceLink", "targetId",
    "targetFullPath", "targetLabel", "targetLink", "linkDefinitionId",
    "linkDefinitionDescription", "customProperties",
)
#: Wire property → the links service's order key.
LINK_ORDER_KEYS = {
    "id": "id", "description": "description", "sourceId": "source_id",
    "sourceFullPath": "source_path", "sourceLabel": "source_label",
    "sourceLink": "source_id_text", "targetId": "target_id", "targetFullPath": "target_path",
    "targetLabel": "target_label", "targetLink": "target_id_text",
    "linkDefinitionId": "definition_id", "linkDefinitionDescription": "description",
}
DEFINITION_PROPERTIES = ("id", "sourceLabel", "targetLabel", "description")
#: An audit reason (``GET .../AuditReasons``).
AUDIT_REASON_PROPERTIES = ("id", "name", "auditEventType")


def iso_time(micros: int | None) -> str | None:
    """Stored microseconds as ISO 8601 UTC (``2024-05-01T12:00:00.123456Z``)."""
    if micros is None:
        return None
    return (_EPOCH + timedelta(microseconds=micros)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_url(base: str, repository_id: str, entry_id: int) -> str:
    """The absolute URL of an entry, as ``sourceLink``/``targetLink`` carry it."""
    return f"{base}/v2/Repositories/{repository_id}/Entries/{entry_id}"


def render_entry(entry: Entry) -> dict[str, Any]:
    """An ``Entry`` (Folder, Document or Shortcut) in wire form; a folder's ``childInfo`` only
    when it was asked for."""
    body: dict[str, Any] = {
        "id": entry.entry_id,
        "name": entry.name,
        "parentId": entry.parent_id,
        "fullPath": entry.full_path,
        "folderPath": entry.folder_path,
        "creator": entry.creator,
        "creationTime": iso_time(entry.created_at),
        "lastModifiedTime": iso_time(entry.modified_at or entry.created_at),
        "entryType": entry.kind,
        "isContainer": entry.is_folder,
        "isLeaf": not entry.is_folder,
        "templateName": None,
        "templateId": 0,
        "templateFieldNames": [],
        "volumeName": "DEFAULTVOL",
        "rowNumber": None,
    }
    if entry.is_folder:
        body.update({"isRecordFolder": False, "isUnderRecordSeries": False})
        if entry.child_info is not None:
            info = entry.child_info
            body["childInfo"] = {
                "hasChildren": info.count > 0, "childCount": info.count,
                "folderCount": info.folders, "documentCount": info.documents,
                "shortcutCount": info.shortcuts,
            }
    elif entry.is_shortcut:
        body.update({"targetId": entry.target_id, "targetType": entry.target_type,
                     "extension": entry.target_extension or ""})
    else:
        props = entry.properties
        size = props.get("size") if isinstance(props.get("size"), int) else 0
        body.update({
            "extension": str(props.get("extension") or ""),
            "mimeType": str(props.get("mimeType") or props.get("mime_type") or ""),
            "pageCount": 0,
            "isLocked": False,
            "lockedBy": None,
            "electronicDocumentSize": size,
            "isCheckedOut": False,
            "isUnderVersionControl": False,
        })
    return body


def render_link(link: EntryLink, base: str, repository_id: str) -> dict[str, Any]:
    """A ``Link`` in wire form with absolute entry URLs."""
    return {
        "id": link.id,
        "description": link.description,
        "sourceId": link.source_id,
        "sourceFullPath": link.source_path,
        "sourceLabel": link.source_label,
        "sourceLink": entry_url(base, repository_id, link.source_id),
        "targetId": link.target_id,
        "targetFullPath": link.target_path,
        "targetLabel": link.target_label,
        "targetLink": entry_url(base, repository_id, link.target_id),
        "linkDefinitionId": link.definition_id,
        "linkDefinitionDescription": link.description,
        "customProperties": dict(link.properties),
    }


def render_definition(row: dict[str, Any]) -> dict[str, Any]:
    """A ``LinkDefinition`` in wire form."""
    return {
        "id": int(row["id"]),
        "sourceLabel": row["source_label"],
        "targetLabel": row["target_label"],
        "description": row["description"],
    }
