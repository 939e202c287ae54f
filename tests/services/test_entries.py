"""The entries service: paths from the project tree, lookup, permissions, create and delete."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from linkbase.bootstrap import prepare_database
from linkbase.domain.errors import ConflictError, NotFoundError, PermissionDeniedError
from linkbase.domain.uuids import WellKnown
from linkbase.services import entries, groups
from linkbase.services.context import Caller
from linkbase.services.permissions import Access
from linkbase.services.users import create_user
from linkbase.settings import Settings
from linkbase.storage.database import Database

REPO = "r-default"


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = prepare_database(Settings(database_url=database_url))
    yield database
    database.dispose()


def _admin(conn: object, wk: WellKnown) -> Access:
    return Access(conn, Caller(wk.system_user, True, True), wk)  # type: ignore[arg-type]


def test_paths_follow_renames_and_moves(db: Database) -> None:
    wk = WellKnown("zzzzz")
    with db.write() as conn:
        access = _admin(conn, wk)
        a = entries.create_folder(access, REPO, 1, "A")
        b = entries.create_folder(access, REPO, a.entry_id, "B")
        doc = entries.create_document(access, REPO, b.entry_id, "Doc")
        other = entries.create_folder(access, REPO, 1, "Other")
        assert doc.full_path == "\\A\\B\\Doc" and doc.folder_path == "\\A\\B"
        groups.update_group(access, b.uuid, {"name": "B2"})
        assert entries.load_entry(access, REPO, doc.entry_id).full_path == "\\A\\B2\\Doc"
        groups.update_group(access, b.uuid, {"owner_uuid": other.uuid})
        moved = entries.load_entry(access, REPO, doc.entry_id)
        assert moved.full_path == "\\Other\\B2\\Doc" and moved.entry_id == doc.entry_id
        found, ancestor = entries.by_path(access, REPO, "\\Other\\B2\\Doc")
        assert found is not None and found.entry_id == doc.entry_id and ancestor is None
        root = entries.load_entry(access, REPO, 1)
        assert root.full_path == "\\" and root.name == "" and root.parent_id is None


def test_names_clash_and_auto_rename(db: Database) -> None:
    wk = WellKnown("zzzzz")
    with db.write() as conn:
        access = _admin(conn, wk)
        entries.create_folder(access, REPO, 1, "X")
        entries.create_document(access, REPO, 1, "Y")
        with pytest.raises(ConflictError):
            entries.create_folder(access, REPO, 1, "X")
        with pytest.raises(ConflictError):
            entries.create_folder(access, REPO, 1, "Y")  # documents and folders share names
        assert entries.create_folder(access, REPO, 1, "X", auto_rename=True).name == "X (2)"


def test_permissions_hide_and_deny(db: Database) -> None:
    wk = WellKnown("zzzzz")
    with db.write() as conn:
        admin = _admin(conn, wk)
        user = create_user(admin, {"username": "u", "email": "u@example.com"})
        folder = entries.create_folder(admin, REPO, 1, "Private")
        access = Access(conn, Caller(user["uuid"], False, True), wk)
        with pytest.raises(NotFoundError):
            entries.load_entry(access, REPO, folder.entry_id)
        with pytest.raises(NotFoundError):
            entries.by_path(access, REPO, "\\Private", fallback_to_closest_ancestor=True)
        from linkbase.services.links import create_link

        create_link(admin, {"link_class": "permission", "name": "can_read",
                            "tail_uuid": user["uuid"], "head_uuid": folder.uuid})
        assert entries.load_entry(access, REPO, folder.entry_id).name == "Private"
        with pytest.raises(PermissionDeniedError):
            entries.create_folder(access, REPO, folder.entry_id, "Sub")
        with pytest.raises(PermissionDeniedError):
            entries.delete_entry(access, REPO, folder.entry_id)
        with pytest.raises(PermissionDeniedError):
            entries.delete_entry(admin, REPO, 1)
        assert entries.delete_entry(admin, REPO, folder.entry_id)
        with pytest.raises(NotFoundError):
            entries.load_entry(admin, REPO, folder.entry_id)
        with pytest.raises(NotFoundError):
            entries.get_repository(conn, "r-missing")


def test_paths_never_name_an_unreadable_folder(db: Database) -> None:
    """A document shared on its own shows the folders above it that the reader cannot read as
    ``<entry id>``; the path it shows, and the real one, both lead back to it."""
    wk = WellKnown("zzzzz")
    with db.write() as conn:
        admin = _admin(conn, wk)
        user = create_user(admin, {"username": "reader", "email": "reader@example.com"})
        secret = entries.create_folder(admin, REPO, 1, "Secret merger")
        shared = entries.create_folder(admin, REPO, secret.entry_id, "Shared")
        doc = entries.create_document(admin, REPO, shared.entry_id, "Minutes")
        from linkbase.services.links import create_link

        create_link(admin, {"link_class": "permission", "name": "can_read",
                            "tail_uuid": user["uuid"], "head_uuid": shared.uuid})
        reader = Access(conn, Caller(user["uuid"], False, True), wk)
        hidden = f"\\<{secret.entry_id}>"
        seen = entries.load_entry(reader, REPO, doc.entry_id)
        assert seen.full_path == f"{hidden}\\Shared\\Minutes"
        assert seen.folder_path == f"{hidden}\\Shared"
        assert [c.full_path for c in entries.children(reader, REPO, shared.entry_id)] == [
            f"{hidden}\\Shared\\Minutes"]
        for path in (seen.full_path, "\\Secret merger\\Shared\\Minutes"):
            found, ancestor = entries.by_path(reader, REPO, path)
            assert found is not None and found.entry_id == doc.entry_id and ancestor is None
        found, ancestor = entries.by_path(reader, REPO, f"{hidden}\\Shared\\Nothing",
                                          fallback_to_closest_ancestor=True)
        assert found is None and ancestor is not None
        assert ancestor.full_path == f"{hidden}\\Shared"
        with pytest.raises(NotFoundError):  # the hidden folder itself stays hidden
            entries.by_path(reader, REPO, hidden)
        with pytest.raises(NotFoundError):  # an id that is not a child there names nothing
            entries.by_path(reader, REPO, f"\\<{doc.entry_id}>\\Shared\\Minutes")
        assert entries.load_entry(admin, REPO, doc.entry_id).full_path \
            == "\\Secret merger\\Shared\\Minutes"
