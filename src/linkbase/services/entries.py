"""Laserfiche entries over the object graph: folders are projects, documents are collections,
shortcuts are ``shortcut`` links owned by their folder whose head is their target.

Nothing about an entry is stored twice: its name, parent and timestamps are those of the project,
collection or link, and ``fullPath`` is computed from the project tree on every read, so a rename
or a move through the Arvados face shows at once on the Laserfiche face (and a move or rename on
this face goes through the same group, collection and link services). Only the integer entry id
lives in its own table (``entries``), kept in step by ``entries_hooks``.

**Shortcuts.** A shortcut is readable when its link is (through its folder) *and* its target
is; one whose target is not a folder or document of the same repository is not shown at all.
Deleting the target deletes the shortcut with it (the §6 cascade deletes every link whose head
is a deleted object), so Linkbase never reports broken shortcuts: they disappear.

Every function here applies the permission engine: an entry the caller cannot read does not
exist for it (NotFoundError), and nothing in a result names an unreadable object.
"""

from __future__ import annotations

import re
import uuid as uuid_module
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from linkbase.domain import uuids
from linkbase.domain.errors import (
    ConflictError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
)
from linkbase.domain.levels import Level
from linkbase.domain.limits import MAX_ENTRY_ID, MAX_STRING_LENGTH, check_json, check_text
from linkbase.services import collections as collection_service
from linkbase.services import groups as group_service
from linkbase.services import links as link_service
from linkbase.services import ownership
from linkbase.services.context import Caller, Services
from linkbase.services.entries_hooks import SHORTCUT, child_objects
from linkbase.services.permissions import Access
from linkbase.services.repositories import ID_RE as REPOSITORY_ID_RE
from linkbase.storage import tables
from linkbase.storage.driver_queries import DriverQuery
from linkbase.storage.locks import lock_permission_graph

EntryKind = Literal["Folder", "Document", "Shortcut"]

_entries = tables.entries
_repos = tables.repositories
_groups = tables.groups
_collections = tables.collections
_links = tables.links

#: Characters Laserfiche forbids in entry names (``\`` is also our path separator).
_FORBIDDEN_NAME_CHARS = frozenset('\\/:*?"<>|')
_MAX_NAME = MAX_STRING_LENGTH


@dataclass(frozen=True)
class ChildInfo:
    """What a folder directly holds, counting only the entries the caller can read."""

    folders: int
    documents: int
    shortcuts: int

    @property
    def count(self) -> int:
        """Every readable child."""
        return self.folders + self.documents + self.shortcuts


@dataclass(frozen=True)
class Entry:
    """One entry as the Laserfiche face sees it, resolved from its project, collection or
    shortcut link."""

    repository_id: str
    entry_id: int
    uuid: str
    kind: EntryKind
    name: str
    parent_id: int | None
    full_path: str
    created_at: int
    modified_at: int | None
    creator: str | None
    owner_uuid: str | None
    properties: dict[str, Any] = field(default_factory=dict, compare=False)
    #: Shortcuts only: the target's entry id, entry type and (documents) extension.
    target_id: int | None = None
    target_type: EntryKind | None = None
    target_extension: str | None = None
    #: Folders, when asked for (``includeChildInfo``).
    child_info: ChildInfo | None = None

    @property
    def is_folder(self) -> bool:
        """Folders contain entries; documents and shortcuts do not."""
        return self.kind == "Folder"

    @property
    def is_shortcut(self) -> bool:
        """A shortcut to another entry."""
        return self.kind == "Shortcut"

    @property
    def folder_path(self) -> str:
        """The full path of the containing folder (the root's own path for the root)."""
        if self.parent_id is None:
            return "\\"
        parent, _, _ = self.full_path.rpartition("\\")
        return parent or "\\"


# -- repositories --------------------------------------------------------------------------


def get_repository(conn: Connection, repository_id: str) -> dict[str, Any]:
    """The repository row; NotFoundError for an unknown id (the Laserfiche face's 404)."""
    well_formed = REPOSITORY_ID_RE.match(repository_id) is not None
    rows = well_formed and _REPOSITORY.mappings(conn, {"lb_id": repository_id})
    if not rows:
        raise NotFoundError(f"Repository '{repository_id}' not found")
    return rows[0]


#: Every Laserfiche request looks up its repository and entry ids: compiled once
#: (``storage/driver_queries.py``).
_REPOSITORY = DriverQuery(lambda: sa.select(_repos).where(_repos.c.id == sa.bindparam("lb_id")))
_UUIDS_OF_ENTRIES = DriverQuery(lambda: sa.select(_entries.c.entry_id, _entries.c.object_uuid)
                                .where(_entries.c.repository_id == sa.bindparam("lb_repository"),
                                       _entries.c.entry_id.in_(
                                           sa.bindparam("lb_ids", expanding=True))))
_ENTRY_IDS_OF = DriverQuery(lambda: sa.select(_entries.c.object_uuid, _entries.c.entry_id)
                            .where(_entries.c.repository_id == sa.bindparam("lb_repository"),
                                   _entries.c.object_uuid.in_(
                                       sa.bindparam("lb_uuids", expanding=True))))


# -- batch resolution ----------------------------------------------------------------------


def _object_rows(conn: Connection, object_uuids: Iterable[str], *,
                 path_only: bool = False) -> dict[str, dict[str, Any]]:
    """Rows of the projects, collections and shortcut links named, keyed by uuid, with a
    ``_kind`` marker. ``path_only``: just ``uuid``, ``name`` and ``owner_uuid`` (what a path
    needs; a collection's full row carries its manifest)."""
    wanted = sorted(set(object_uuids))
    found: dict[str, dict[str, Any]] = {}

    def columns(table: sa.Table) -> list[Any]:
        return [table.c.uuid, table.c.name, table.c.owner_uuid] if path_only else [table]

    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        groups = [u for u in chunk if uuids.infix_of(u) == uuids.GROUP]
        colls = [u for u in chunk if uuids.infix_of(u) == uuids.COLLECTION]
        shortcuts = [u for u in chunk if uuids.infix_of(u) == uuids.LINK]
        if path_only:
            for kind, wanted_here in (("Shortcut", shortcuts), ("Folder", groups),
                                      ("Document", colls)):
                if wanted_here:
                    for path_row in _PATH_ROWS[kind].mappings(conn,
                                                              {"lb_uuids": wanted_here}):
                        found[path_row["uuid"]] = {**path_row, "_kind": kind}
            continue
        if shortcuts:
            for row in conn.execute(sa.select(*columns(_links)).where(
                    _links.c.uuid.in_(shortcuts), _links.c.link_class == SHORTCUT)):
                found[row.uuid] = {**row._mapping, "_kind": "Shortcut"}
        if groups:
            for row in conn.execute(sa.select(*columns(_groups))
                                    .where(_groups.c.uuid.in_(groups))):
                found[row.uuid] = {**row._mapping, "_kind": "Folder"}
        if colls:
            for row in conn.execute(
                sa.select(*columns(_collections)).where(_collections.c.uuid.in_(colls))
            ):
                found[row.uuid] = {**row._mapping, "_kind": "Document"}
    return found


def _path_rows_stmt(table: sa.Table, *where: Any) -> DriverQuery:
    """``uuid``, ``name`` and ``owner_uuid`` of the rows of ``table`` named by ``lb_uuids``:
    what a path needs, on every page of links, so compiled once (``storage.driver_queries``)."""
    return DriverQuery(lambda: sa.select(table.c.uuid, table.c.name, table.c.owner_uuid).where(
        table.c.uuid.in_(sa.bindparam("lb_uuids", expanding=True)), *where))


_PATH_ROWS = {
    "Shortcut": _path_rows_stmt(_links, _links.c.link_class == SHORTCUT),
    "Folder": _path_rows_stmt(_groups),
    "Document": _path_rows_stmt(_collections),
}


def entry_ids_of(conn: Connection, repository_id: str,
                 object_uuids: Iterable[str]) -> dict[str, int]:
    """The entry id of each of ``object_uuids`` that is an entry of the repository."""
    wanted = sorted(set(object_uuids))
    result: dict[str, int] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        rows = _ENTRY_IDS_OF.rows(conn, {"lb_repository": repository_id, "lb_uuids": chunk})
        result.update({object_uuid: int(entry_id) for object_uuid, entry_id in rows})
    return result


def _usernames(conn: Connection, user_uuids: Iterable[str | None]) -> dict[str, str | None]:
    wanted = sorted({u for u in user_uuids if u})
    if not wanted:
        return {}
    rows = conn.execute(
        sa.select(tables.users.c.uuid, tables.users.c.username).where(
            tables.users.c.uuid.in_(wanted)
        )
    )
    return {r.uuid: r.username for r in rows}


#: How ``fullPath`` shows a folder the caller cannot read: its entry id between angle brackets,
#: which Laserfiche forbids in names. Entry ids are not secret (an entry's ``parentId`` shows
#: one); the folder's name is. :func:`by_path` resolves the same form back to the folder.
HIDDEN_SEGMENT = "<{}>"
_HIDDEN_SEGMENT = re.compile(r"<([0-9]+)>")


def full_paths(access: Access, repository: dict[str, Any], object_uuids: Iterable[str], *,
               known_readable: Iterable[str] = ()) -> dict[str, str]:
    """``fullPath`` of each object, computed from the project tree (one query per depth level).

    Paths are never stored, so renames and moves made through any face are reflected at once.
    A folder on the way that the caller cannot read shows as :data:`HIDDEN_SEGMENT`, never by
    its name. ``known_readable``: objects the caller's query already checked (not checked again).
    """
    conn = access.conn
    root = repository["root_uuid"]
    object_uuids = list(object_uuids)
    rows: dict[str, dict[str, Any]] = {}
    frontier = {u for u in object_uuids if u != root}
    while frontier:
        fetched = _object_rows(conn, frontier, path_only=True)
        rows.update(fetched)
        frontier = {
            r["owner_uuid"] for r in fetched.values()
            if r["owner_uuid"] and r["owner_uuid"] != root and r["owner_uuid"] not in rows
            and uuids.infix_of(r["owner_uuid"]) == uuids.GROUP
        }
    checked = set(known_readable)
    hidden = set(rows) - checked - readable(access, set(rows) - checked)
    hidden_ids = entry_ids_of(conn, repository["id"], hidden) if hidden else {}
    cache: dict[str, str] = {root: "\\"}

    def segment(uuid: str) -> str:
        if uuid in hidden:
            return HIDDEN_SEGMENT.format(hidden_ids.get(uuid, ""))
        return str(rows[uuid]["name"] or uuid) if uuid in rows else uuid

    def path_of(uuid: str) -> str:
        chain: list[str] = []
        current: str | None = uuid
        while current is not None and current not in cache:
            chain.append(current)
            row = rows.get(current)
            current = row["owner_uuid"] if row else None
        base = cache.get(current, "\\") if current is not None else "\\"
        for item in reversed(chain):
            name = segment(item)
            base = f"{base}{name}" if base == "\\" else f"{base}\\{name}"
            cache[item] = base
        return cache[uuid]

    return {u: path_of(u) for u in object_uuids}


def describe(access: Access, repository: dict[str, Any],
             object_uuids: Iterable[str]) -> dict[str, Entry]:
    """Entries of the given objects (those in this repository's tree), keyed by uuid.

    Callers filter the objects with :func:`readable` first; the caller's access decides how
    their paths show unreadable folders (:func:`full_paths`).
    """
    conn = access.conn
    wanted = list(dict.fromkeys(object_uuids))
    ids = entry_ids_of(conn, repository["id"], wanted)
    rows = _object_rows(conn, ids)
    parents = entry_ids_of(conn, repository["id"],
                         [r["owner_uuid"] for r in rows.values() if r["owner_uuid"]])
    paths = full_paths(access, repository, list(rows))
    creators = _usernames(conn, [r.get("modified_by_user_uuid") for r in rows.values()])
    heads = [r["head_uuid"] for r in rows.values() if r["_kind"] == "Shortcut" and r["head_uuid"]]
    target_ids = entry_ids_of(conn, repository["id"], heads) if heads else {}
    targets = _object_rows(conn, target_ids) if target_ids else {}
    result: dict[str, Entry] = {}
    for uuid in wanted:
        row = rows.get(uuid)
        if row is None or uuid not in ids:
            continue
        target: dict[str, Any] | None = None
        if row["_kind"] == "Shortcut":
            target = targets.get(row["head_uuid"])
            if target is None or target["_kind"] == "Shortcut":
                continue  # its target is no folder or document of this repository
        is_root = uuid == repository["root_uuid"]
        result[uuid] = Entry(
            repository_id=repository["id"],
            entry_id=ids[uuid],
            uuid=uuid,
            kind=row["_kind"],
            name="" if is_root else (row["name"] or uuid),
            parent_id=None if is_root else parents.get(row["owner_uuid"]),
            full_path=paths[uuid],
            created_at=int(row["created_at"]),
            modified_at=row["modified_at"],
            creator=creators.get(row.get("modified_by_user_uuid") or ""),
            owner_uuid=row["owner_uuid"],
            properties=dict(row.get("properties") or {}),
            target_id=None if target is None else target_ids[row["head_uuid"]],
            target_type=None if target is None else target["_kind"],
            target_extension=None if target is None else str(
                (target.get("properties") or {}).get("extension") or ""),
        )
    return result


def readable(access: Access, object_uuids: Iterable[str]) -> set[str]:
    """The subset of the given projects/collections/shortcuts the caller may read (a shortcut:
    its link, through its folder, and its target)."""
    wanted = set(object_uuids)
    if access.caller.is_admin or not wanted:
        return wanted
    result: set[str] = set()
    ordered = sorted(wanted)
    has = access.has_targets(Level.READ)
    owned = access.owner_targets(Level.READ)
    for start in range(0, len(ordered), 500):
        chunk = ordered[start : start + 500]
        groups = [u for u in chunk if uuids.infix_of(u) == uuids.GROUP]
        if groups:
            result.update(r[0] for r in access.conn.execute(
                sa.select(_groups.c.uuid).where(_groups.c.uuid.in_(groups),
                                                _groups.c.uuid.in_(has))))
        colls = [u for u in chunk if uuids.infix_of(u) == uuids.COLLECTION]
        if colls:
            result.update(r[0] for r in access.conn.execute(
                sa.select(_collections.c.uuid).where(
                    _collections.c.uuid.in_(colls),
                    sa.or_(_collections.c.uuid.in_(has), _collections.c.owner_uuid.in_(owned)),
                )))
        shortcuts = [u for u in chunk if uuids.infix_of(u) == uuids.LINK]
        if shortcuts:
            result.update(r[0] for r in access.conn.execute(
                _readable_shortcuts(shortcuts, has, owned)))
    return result


def _readable_shortcuts(shortcuts: list[str], has: sa.Select[Any], owned: sa.Select[Any]
                        ) -> sa.Select[Any]:
    """The uuids among ``shortcuts`` whose link (via its folder) and target are readable."""
    target_coll = _collections.alias("target_coll")
    return (
        sa.select(_links.c.uuid)
        .select_from(_links.outerjoin(target_coll, target_coll.c.uuid == _links.c.head_uuid))
        .where(_links.c.uuid.in_(shortcuts), _links.c.link_class == SHORTCUT,
               shortcut_readable(_links, target_coll, has, owned))
    )


def shortcut_readable(link: sa.FromClause, target_coll: sa.FromClause, has: sa.Select[Any],
                      owned: sa.Select[Any]) -> ColumnElement[bool]:
    """SQL: the shortcut ``link`` is readable, given ``target_coll`` outer-joined to its head
    and the caller's ``has``/``owned`` targets at read level: ``can(U, 1, link)`` (through its
    folder) and its target readable (a project through ``has``, a collection through ``has``
    or its owner)."""
    return sa.and_(
        sa.or_(link.c.uuid.in_(has), link.c.owner_uuid.in_(owned)),
        sa.or_(link.c.head_uuid.in_(has), target_coll.c.owner_uuid.in_(owned)),
    )


# -- single entries ------------------------------------------------------------------------


def uuids_of_entries(conn: Connection, repository_id: str,
                     entry_ids: Iterable[int]) -> dict[int, str]:
    """Object uuid of each existing entry id of the repository."""
    wanted = sorted(set(entry_ids))
    result: dict[int, str] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        rows = _UUIDS_OF_ENTRIES.rows(conn, {"lb_repository": repository_id, "lb_ids": chunk})
        result.update({int(entry_id): object_uuid for entry_id, object_uuid in rows})
    return result


@dataclass(frozen=True)
class EntryRef:
    """Which object an entry is, without what describes it (name, path, creator): all that a
    page of its links needs, found in two indexed lookups rather than :func:`describe`'s
    half-dozen queries."""

    repository: dict[str, Any]
    repository_id: str
    entry_id: int
    uuid: str


def _readable_entry_uuid(access: Access, repository: dict[str, Any], entry_id: int) -> str:
    """The object of a readable entry id of ``repository``; NotFoundError otherwise."""
    if not 1 <= entry_id <= MAX_ENTRY_ID:  # no such entry can exist (32-bit ids)
        raise NotFoundError(f"Entry {entry_id} not found")
    uuid = uuids_of_entries(access.conn, repository["id"], [entry_id]).get(entry_id)
    if uuid is None or not readable(access, [uuid]):
        raise NotFoundError(f"Entry {entry_id} not found")
    return uuid


def locate_entry(access: Access, repository_id: str, entry_id: int) -> EntryRef:
    """A readable entry's identity; NotFoundError exactly when :func:`load_entry` raises it."""
    repository = get_repository(access.conn, repository_id)
    uuid = _readable_entry_uuid(access, repository, entry_id)
    if uuids.infix_of(uuid) == uuids.LINK and uuid not in describe(access, repository, [uuid]):
        # A shortcut is an entry only while its target is one of this repository.
        raise NotFoundError(f"Entry {entry_id} not found")
    return EntryRef(repository, repository_id, entry_id, uuid)


def load_entry(access: Access, repository_id: str, entry_id: int) -> Entry:
    """A readable entry; NotFoundError if the repository or entry is unknown or unreadable."""
    repository = get_repository(access.conn, repository_id)
    uuid = _readable_entry_uuid(access, repository, entry_id)
    entry = describe(access, repository, [uuid]).get(uuid)
    if entry is None:
        raise NotFoundError(f"Entry {entry_id} not found")
    return entry


def require_write(access: Access, entry: Entry | EntryRef) -> None:
    """Changing an entry or its links needs ``can_write`` on it (PermissionDeniedError)."""
    ownership.require_active(access)
    if isinstance(entry, Entry):
        owner = entry.owner_uuid
    else:
        row = access.lookup(entry.uuid)
        owner = row.get("owner_uuid") if row is not None else None
    if not access.can(Level.WRITE, entry.uuid, owner):
        raise PermissionDeniedError("Access denied: write permission on the entry is required")


def children(access: Access, repository_id: str, folder_id: int) -> list[Entry]:
    """The readable entries directly inside a folder (ascending entry id)."""
    folder = load_entry(access, repository_id, folder_id)
    if not folder.is_folder:
        raise InvalidArgumentError(f"Entry {folder_id} is not a folder")
    return _children_of(access, get_repository(access.conn, repository_id), folder)


def _children_of(access: Access, repository: dict[str, Any], folder: Entry) -> list[Entry]:
    child_uuids = child_objects(access.conn, folder.uuid)
    visible = readable(access, child_uuids)
    described = describe(access, repository, [u for u in child_uuids if u in visible])
    return sorted(described.values(), key=lambda e: e.entry_id)


def with_child_info(access: Access, repository_id: str, entry_id: int) -> Entry:
    """A readable entry; a folder with its :class:`ChildInfo` (only readable children count,
    immediate children only)."""
    entry = load_entry(access, repository_id, entry_id)
    if not entry.is_folder:
        return entry
    kinds = [c.kind for c in _children_of(access, get_repository(access.conn, repository_id),
                                          entry)]
    info = ChildInfo(folders=kinds.count("Folder"), documents=kinds.count("Document"),
                     shortcuts=kinds.count("Shortcut"))
    return replace(entry, child_info=info)


def _check_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidArgumentError("The entry name must be a non-empty string")
    name = name.strip()
    if len(name) > _MAX_NAME:
        raise InvalidArgumentError(f"The entry name is longer than {_MAX_NAME} characters")
    if name in (".", "..") or any(c in _FORBIDDEN_NAME_CHARS for c in name):
        raise InvalidArgumentError('Entry names cannot contain \\ / : * ? " < > |')
    return name


def _taken_names(conn: Connection, folder_uuid: str, excluding: str | None = None) -> set[str]:
    """Names of every entry in the folder, readable or not (a clash is decided by the data),
    but ``excluding`` (the entry being renamed or moved)."""
    queries = (
        sa.select(_groups.c.name).where(_groups.c.owner_uuid == folder_uuid,
                                        _groups.c.uuid != (excluding or "")),
        sa.select(_collections.c.name).where(_collections.c.owner_uuid == folder_uuid,
                                             _collections.c.uuid != (excluding or "")),
        sa.select(_links.c.name).where(_links.c.owner_uuid == folder_uuid,
                                       _links.c.link_class == SHORTCUT,
                                       _links.c.uuid != (excluding or "")),
    )
    return {r[0] for query in queries for r in conn.execute(query) if r[0] is not None}


def _free_name(conn: Connection, folder_uuid: str, name: str, auto_rename: bool,
               excluding: str | None = None) -> str:
    taken = _taken_names(conn, folder_uuid, excluding)
    if name not in taken:
        return name
    if not auto_rename:
        raise ConflictError(f"An entry named '{name}' already exists in this folder")
    n = 2
    while f"{name} ({n})" in taken:
        n += 1
    return f"{name} ({n})"


def _parent_folder_for_create(access: Access, repository_id: str, parent_id: int) -> Entry:
    parent = load_entry(access, repository_id, parent_id)
    if not parent.is_folder:
        raise InvalidArgumentError(f"Entry {parent_id} is not a folder")
    require_write(access, parent)
    return parent


def create_folder(access: Access, repository_id: str, parent_id: int, name: object, *,
                  auto_rename: bool = False) -> Entry:
    """Create a Folder entry (a project owned by the parent folder's project).

    A reader of the parent gets PermissionDeniedError, someone who cannot read it NotFoundError;
    a name in use raises ConflictError unless ``auto_rename`` picks ``name (2)``, ``name (3)``...
    """
    clean = _check_name(name)
    parent = _parent_folder_for_create(access, repository_id, parent_id)
    final = _free_name(access.conn, parent.uuid, clean, auto_rename)
    record = group_service.create_group(
        access, {"group_class": "project", "name": final, "owner_uuid": parent.uuid}
    )
    return load_entry(access, repository_id, _entry_id_of(access.conn, repository_id,
                                                          record["uuid"]))


def create_document(access: Access, repository_id: str, parent_id: int, name: object,
                    properties: dict[str, Any] | None = None, *,
                    auto_rename: bool = False) -> Entry:
    """Create a Document entry (a metadata-only collection in the parent folder's project)."""
    clean = _check_name(name)
    if properties is not None and not isinstance(properties, dict):
        raise InvalidArgumentError("properties must be an object")
    check_json(properties, "properties")
    parent = _parent_folder_for_create(access, repository_id, parent_id)
    final = _free_name(access.conn, parent.uuid, clean, auto_rename)
    record = collection_service.create_collection(
        access, {"name": final, "owner_uuid": parent.uuid, "properties": properties or {}}
    )
    return load_entry(access, repository_id, _entry_id_of(access.conn, repository_id,
                                                          record["uuid"]))


def create_shortcut(access: Access, repository_id: str, parent_id: int, name: object,
                    target_id: int, *, auto_rename: bool = False) -> Entry:
    """Create a Shortcut entry: a ``shortcut`` link owned by the parent folder's project whose
    head is the target (through the link service, which checks write on the folder and read on
    the target again).

    Parent as for :func:`create_folder`; an unknown or unreadable target → NotFoundError; a
    shortcut as target → InvalidArgumentError; name clashes as for folders.
    """
    clean = _check_name(name)
    parent = _parent_folder_for_create(access, repository_id, parent_id)
    target = load_entry(access, repository_id, target_id)
    if target.is_shortcut:
        raise InvalidArgumentError("A shortcut cannot point to another shortcut")
    final = _free_name(access.conn, parent.uuid, clean, auto_rename)
    record = link_service.create_link(access, {
        "link_class": SHORTCUT, "name": final, "owner_uuid": parent.uuid,
        "head_uuid": target.uuid})
    return load_entry(access, repository_id, _entry_id_of(access.conn, repository_id,
                                                          record["uuid"]))


def update_entry(access: Access, repository_id: str, entry_id: int, *,
                 parent_id: int | None = None, name: object = None,
                 auto_rename: bool = False) -> Entry:
    """Move (``parent_id``) and/or rename (``name``) an entry; returns it as it is afterwards,
    with the same entry id.

    The change is made by the group, collection or link service, so it needs what the Arvados
    move/rename of the same object needs: write on the entry, and on the new folder for a move.
    Errors: unknown or unreadable entry or target folder → NotFoundError; no write →
    PermissionDeniedError (the root folder cannot be moved or renamed either); a target that
    is no folder, or a folder moved into itself or below → InvalidArgumentError; a name in use
    in the destination → ConflictError unless ``auto_rename`` picks ``name (2)``, ...
    """
    conn = access.conn
    peek = uuids_of_entries(conn, repository_id, [entry_id]).get(entry_id)
    if parent_id is not None and uuids.infix_of(peek) == uuids.GROUP:
        # Moving a folder changes an ownership edge of the permission graph: the graph lock
        # comes before every check (the group service takes it again, idempotently).
        lock_permission_graph(conn)
    entry = load_entry(access, repository_id, entry_id)
    if entry.parent_id is None:
        raise PermissionDeniedError("The root folder cannot be moved or renamed")
    clean = None if name is None else _check_name(name)
    destination = entry
    if parent_id is not None and parent_id != entry.parent_id:
        destination = load_entry(access, repository_id, parent_id)
        if not destination.is_folder:
            raise InvalidArgumentError(f"Entry {parent_id} is not a folder")
    moving = destination is not entry
    require_write(access, entry)
    if moving:
        require_write(access, destination)
    folder_uuid = destination.uuid if moving else entry.owner_uuid
    stored_name = _object_rows(conn, [entry.uuid])[entry.uuid]["name"]
    wanted = stored_name if clean is None else clean
    changes: dict[str, Any] = {}
    if wanted is not None and (moving or wanted != stored_name):
        changes["name"] = _free_name(conn, str(folder_uuid), wanted, auto_rename,
                                     excluding=entry.uuid)
    if moving:
        changes["owner_uuid"] = destination.uuid
    if changes:
        if entry.is_folder:
            group_service.update_group(access, entry.uuid, changes)
        elif entry.is_shortcut:
            link_service.update_link(access, entry.uuid, changes)
        else:
            collection_service.update_collection(access, entry.uuid, changes)
    return load_entry(access, repository_id, entry_id)


def _entry_id_of(conn: Connection, repository_id: str, object_uuid: str) -> int:
    found = entry_ids_of(conn, repository_id, [object_uuid])
    if object_uuid not in found:  # pragma: no cover - entries_hooks allocates on create
        raise NotFoundError("Entry not found")
    return found[object_uuid]


def delete_entry(access: Access, repository_id: str, entry_id: int) -> str:
    """Delete an entry with its subtree and every link of them; returns a task id.

    Deletion is synchronous (the task is done when this returns); the id only satisfies the
    asynchronous contract of the v2 API. The root folder cannot be deleted.
    """
    entry = load_entry(access, repository_id, entry_id)
    if entry.parent_id is None:
        raise PermissionDeniedError("The root folder cannot be deleted")
    require_write(access, entry)
    if entry.is_folder:
        group_service.delete_group(access, entry.uuid)
    elif entry.is_shortcut:
        link_service.delete_link(access, entry.uuid)
    else:
        collection_service.delete_collection(access, entry.uuid)
    return str(uuid_module.uuid4())


def split_path(full_path: str) -> list[str]:
    """``\\A\\B`` → ``["A", "B"]`` (``/`` accepted as a separator too; empty parts ignored)."""
    return [p for p in full_path.replace("/", "\\").split("\\") if p != ""]


def _hidden_child(conn: Connection, repository_id: str, parent_uuid: str, part: str, *,
                  documents: bool) -> str | None:
    """The child of ``parent_uuid`` that a :data:`HIDDEN_SEGMENT` path part names, if any
    (a folder, or with ``documents`` also a document or shortcut)."""
    match = _HIDDEN_SEGMENT.fullmatch(part)
    if match is None:
        return None
    uuid = uuids_of_entries(conn, repository_id, [int(match.group(1))]).get(int(match.group(1)))
    if uuid is None:
        return None
    row = _object_rows(conn, [uuid]).get(uuid)
    if row is None or row["owner_uuid"] != parent_uuid:
        return None
    if row["_kind"] == "Folder" or documents:
        return uuid
    return None


def by_path(access: Access, repository_id: str, full_path: str, *,
            fallback_to_closest_ancestor: bool = False) -> tuple[Entry | None, Entry | None]:
    """Resolve a full path to ``(entry, None)``, or ``(None, closest readable ancestor)``.

    Intermediate folders need not be readable: a part may name one by its name or, as the
    ``fullPath`` of a readable descendant shows it, by :data:`HIDDEN_SEGMENT`. The answer is
    always a readable entry, and a missing or unreadable target gives the same answer, so
    probing a path reveals nothing hidden.
    """
    conn = access.conn
    check_text(full_path, "fullPath", max_length=None)
    repository = get_repository(conn, repository_id)
    current = repository["root_uuid"]
    chain = [current]
    parts = split_path(full_path)
    for index, part in enumerate(parts):
        candidates = [
            r[0] for r in conn.execute(
                sa.select(_groups.c.uuid).where(_groups.c.owner_uuid == current,
                                                _groups.c.name == part,
                                                _groups.c.group_class == "project")
            )
        ]
        if index == len(parts) - 1:
            candidates += [
                r[0] for r in conn.execute(
                    sa.select(_collections.c.uuid).where(_collections.c.owner_uuid == current,
                                                         _collections.c.name == part)
                )
            ] + [
                r[0] for r in conn.execute(
                    sa.select(_links.c.uuid).where(_links.c.owner_uuid == current,
                                                   _links.c.link_class == SHORTCUT,
                                                   _links.c.name == part)
                )
            ]
        if not candidates:
            hidden = _hidden_child(conn, repository_id, current, part,
                                   documents=index == len(parts) - 1)
            candidates = [hidden] if hidden is not None else []
        if not candidates:
            break
        if index == len(parts) - 1:
            visible = readable(access, candidates)
            candidates = [c for c in candidates if c in visible] or candidates
        current = candidates[0]
        chain.append(current)
    visible_chain = readable(access, chain)
    if len(chain) == len(parts) + 1 and current in visible_chain:
        entry = describe(access, repository, [current]).get(current)
        if entry is not None:
            return entry, None
    ancestors = [u for u in chain[: len(parts)] if u in visible_chain]
    if not fallback_to_closest_ancestor or not ancestors:
        raise NotFoundError("No entry exists at the requested path")
    ancestor = describe(access, repository, [ancestors[-1]]).get(ancestors[-1])
    if ancestor is None:
        raise NotFoundError("No entry exists at the requested path")
    return None, ancestor


# -- use cases (one transaction each) ------------------------------------------------------


def get_entry(services: Services, caller: Caller, repository_id: str, entry_id: int, *,
              child_info: bool = False) -> Entry:
    """Use case: :func:`load_entry` (:func:`with_child_info` with ``child_info``)."""
    return services.uow.read(caller, with_child_info if child_info else load_entry,
                             repository_id, entry_id)


def find_by_path(services: Services, caller: Caller, repository_id: str, full_path: str, *,
                 fallback_to_closest_ancestor: bool = False
                 ) -> tuple[Entry | None, Entry | None]:
    """Use case: :func:`by_path`."""
    return services.uow.read(caller, by_path, repository_id, full_path,
                             fallback_to_closest_ancestor=fallback_to_closest_ancestor)


def list_children(services: Services, caller: Caller, repository_id: str,
                  folder_id: int) -> list[Entry]:
    """Use case: :func:`children`."""
    return services.uow.read(caller, children, repository_id, folder_id)


def add_folder(services: Services, caller: Caller, repository_id: str, parent_id: int,
               name: object, *, auto_rename: bool = False) -> Entry:
    """Use case: :func:`create_folder`."""
    return services.uow.write(caller, create_folder, repository_id, parent_id, name,
                              auto_rename=auto_rename)


def add_document(services: Services, caller: Caller, repository_id: str, parent_id: int,
                 name: object, properties: dict[str, Any] | None = None, *,
                 auto_rename: bool = False) -> Entry:
    """Use case: :func:`create_document`."""
    return services.uow.write(caller, create_document, repository_id, parent_id, name,
                              properties, auto_rename=auto_rename)


def add_shortcut(services: Services, caller: Caller, repository_id: str, parent_id: int,
                 name: object, target_id: int, *, auto_rename: bool = False) -> Entry:
    """Use case: :func:`create_shortcut`."""
    return services.uow.write(caller, create_shortcut, repository_id, parent_id, name, target_id,
                              auto_rename=auto_rename)


def change_entry(services: Services, caller: Caller, repository_id: str, entry_id: int, *,
                 parent_id: int | None = None, name: object = None,
                 auto_rename: bool = False) -> Entry:
    """Use case: :func:`update_entry` (move and/or rename)."""
    return services.uow.write(caller, update_entry, repository_id, entry_id,
                              parent_id=parent_id, name=name, auto_rename=auto_rename)


def remove_entry(services: Services, caller: Caller, repository_id: str, entry_id: int) -> str:
    """Use case: :func:`delete_entry`; returns the task id."""
    return services.uow.write(caller, delete_entry, repository_id, entry_id)
