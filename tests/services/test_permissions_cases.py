"""Directed engine cases the random histories rarely reach, each checked against the reference."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from tests.reference.evaluator import Reference
from tests.reference.snapshot import snapshot
from tests.services.test_permissions_property import SYSTEM, WK, caller_for

from linkbase.bootstrap import prepare_database
from linkbase.domain.query import build_list_query
from linkbase.domain.resources import RESOURCES
from linkbase.services import collections, groups, links, users
from linkbase.services.listing import list_records
from linkbase.services.permissions import Access
from linkbase.settings import Settings
from linkbase.storage.database import Database


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = prepare_database(Settings(database_url=database_url))
    yield database
    database.dispose()


def _as_system(db: Database, fn: Any) -> Any:
    with db.write() as conn:
        return fn(Access(conn, SYSTEM, WK))


def _grant(db: Database, tail: str, head: str, name: str) -> dict[str, Any]:
    return _as_system(db, lambda a: links.create_link(a, {
        "link_class": "permission", "name": name, "tail_uuid": tail, "head_uuid": head}))


def _user(db: Database) -> str:
    return str(_as_system(db, lambda a: users.create_user(a, {}))["uuid"])


def _assert_matches_reference(db: Database) -> None:
    with db.read() as conn:
        snap = snapshot(conn)
        ref = Reference(snap)
        for user in snap.users.values():
            access = Access(conn, caller_for(user), WK)
            for kind in ("links", "groups", "collections", "users"):
                page = list_records(access, RESOURCES[kind],
                                    build_list_query(RESOURCES[kind], limit=1000))
                got = {r["uuid"] for r in page.items}
                assert got == ref.visible(user.uuid, kind), (user.uuid, kind)
                for row in page.items:
                    assert access.readable_row(kind, row)


def test_manage_through_a_managed_users_manager(db: Database) -> None:
    """U manages B, B manages B', B' owns project G: can(U, 3, G) via_owner, so U sees G's
    permission links (§5.3) even though readable(U, G) itself is false (§4.4, groups)."""
    u, b, b2, other = _user(db), _user(db), _user(db), _user(db)
    _grant(db, u, b, "can_manage")
    _grant(db, b, b2, "can_manage")
    project = _as_system(db, lambda a: groups.create_group(
        a, {"group_class": "project", "name": "g", "owner_uuid": b2}))["uuid"]
    coll = _as_system(db, lambda a: collections.create_collection(
        a, {"name": "c", "owner_uuid": b2}))["uuid"]
    _grant(db, other, project, "can_read")
    _grant(db, other, coll, "can_read")
    _assert_matches_reference(db)


def test_weakest_edge_and_best_path(db: Database) -> None:
    """A path is as strong as its weakest edge; the best path wins; nested roles carry it."""
    u = _user(db)
    r1 = _as_system(db, lambda a: groups.create_group(a, {"group_class": "role", "name": "r1"}))
    r2 = _as_system(db, lambda a: groups.create_group(a, {"group_class": "role", "name": "r2"}))
    p = _as_system(db, lambda a: groups.create_group(a, {"group_class": "project", "name": "p"}))
    c = _as_system(db, lambda a: collections.create_collection(
        a, {"name": "c", "owner_uuid": p["uuid"]}))
    _grant(db, u, r1["uuid"], "can_manage")
    _grant(db, r1["uuid"], r2["uuid"], "can_read")
    _grant(db, r2["uuid"], p["uuid"], "can_manage")
    with db.read() as conn:
        access = Access(conn, caller_for(snapshot(conn).users[u]), WK)
        assert int(access.level_on(c["uuid"], p["uuid"])) == 1
    _grant(db, u, r2["uuid"], "can_write")
    with db.read() as conn:
        access = Access(conn, caller_for(snapshot(conn).users[u]), WK)
        assert int(access.level_on(c["uuid"], p["uuid"])) == 2
    _assert_matches_reference(db)
