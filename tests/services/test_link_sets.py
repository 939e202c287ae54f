"""The set-based path of the link service (``services.link_sets``, taken by bulk imports of
ordinary links) accepts and refuses exactly what the one-by-one path (``links.create_link``)
does, with the same messages, and stores the same rows — for an admin and for an ordinary user
whose permissions decide what it may refer to and own.

Each item is tried both ways on the same database, each in a transaction that is rolled back:
``links.create_link`` and ``batch.import_links`` (which takes ``link_sets`` for a batch of
ordinary links).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
import sqlalchemy as sa

from linkbase.bootstrap import prepare_database
from linkbase.domain.errors import LinkbaseError
from linkbase.domain.uuids import WellKnown
from linkbase.services import batch, collections, groups, links, users
from linkbase.services.context import Caller
from linkbase.services.permissions import Access
from linkbase.services.records import etag_of
from linkbase.settings import Settings
from linkbase.storage import tables
from linkbase.storage.database import Database

T = TypeVar("T")
PDH = "d41d8cd98f00b204e9800998ecf8427e+0"
#: Columns a link's creation decides (uuid, timestamps and etag differ between two creations).
DECIDED = ("owner_uuid", "link_class", "name", "tail_uuid", "head_uuid", "properties",
           "modified_by_user_uuid")


@dataclass
class World:
    db: Database
    admin: Caller
    wk: WellKnown
    project: str
    role: str
    collection: str
    user: str
    #: A project the member may read but not write, with a collection in it.
    shared: str
    shared_collection: str
    #: A project the member cannot read at all, with a collection in it.
    hidden: str
    hidden_collection: str
    member: Caller
    #: Who creates the links in the test (``admin`` or ``member``).
    caller: Caller


@pytest.fixture(params=["admin", "member"])
def world(request: pytest.FixtureRequest, database_url: str) -> Iterator[World]:
    settings = Settings(database_url=database_url)
    db = prepare_database(settings)
    wk = WellKnown(settings.cluster_id)
    admin = Caller(uuid=wk.system_user, is_admin=True, is_active=True)
    with db.write() as conn:
        access = Access(conn, admin, wk)
        member = users.create_user(access, {"username": "member"})["uuid"]
        project = groups.create_group(access, {"name": "P", "group_class": "project"})["uuid"]
        role = groups.create_group(access, {"name": "R", "group_class": "role"})["uuid"]
        collection = collections.create_collection(access, {"name": "C",
                                                            "owner_uuid": project})["uuid"]
        user = users.create_user(access, {"username": "someone"})["uuid"]
        shared = groups.create_group(access, {"name": "S", "group_class": "project"})["uuid"]
        shared_collection = collections.create_collection(
            access, {"name": "SC", "owner_uuid": shared})["uuid"]
        hidden = groups.create_group(access, {"name": "H", "group_class": "project"})["uuid"]
        hidden_collection = collections.create_collection(
            access, {"name": "HC", "owner_uuid": hidden})["uuid"]
        for head, name in ((project, "can_write"), (shared, "can_read"), (role, "can_read")):
            links.create_link(access, {"link_class": "permission", "name": name,
                                       "tail_uuid": member, "head_uuid": head})
    member_caller = Caller(uuid=member, is_admin=False, is_active=True)
    caller = admin if request.param == "admin" else member_caller
    yield World(db, admin, wk, project, role, collection, user, shared, shared_collection,
                hidden, hidden_collection, member_caller, caller)
    db.dispose()


def _rolled_back(world: World, action: Callable[[Access], T]) -> T:
    conn = world.db.engine.connect()
    transaction = conn.begin()
    try:
        return action(Access(conn, world.caller, world.wk))
    finally:
        transaction.rollback()
        conn.close()


def _per_link(world: World, item: dict[str, Any]) -> str | dict[str, Any]:
    """The stored row, or the refusal message, of the per-link service."""
    def create(access: Access) -> str | dict[str, Any]:
        try:
            uuid = links.create_link(access, dict(item))["uuid"]
        except LinkbaseError as exc:
            return str(exc)
        return _row(access, uuid)
    return _rolled_back(world, create)


def _fast(world: World, items: list[dict[str, Any]]) -> tuple[batch.BatchResult, list[Any]]:
    """The batch result and the rows it stored (fresh copies of the items are sent)."""
    def run(access: Access) -> tuple[batch.BatchResult, list[Any]]:
        before = {r[0] for r in access.conn.execute(sa.select(tables.links.c.uuid))}
        result = batch.import_links(access, [dict(i) for i in items], "error")
        after = [r[0] for r in access.conn.execute(sa.select(tables.links.c.uuid))]
        return result, [_row(access, u) for u in after if u not in before]
    return _rolled_back(world, run)


def _row(access: Access, uuid: str) -> dict[str, Any]:
    row = access.conn.execute(sa.select(tables.links).where(tables.links.c.uuid == uuid)).one()
    return dict(row._mapping)


def _cases(w: World) -> list[dict[str, Any]]:
    missing_collection = "zzzzz-4zz18-000000000000000"
    missing_group = "zzzzz-j7d0g-000000000000000"
    foreign = "zzzzz-xvhdp-aaaaaaaaaaaaaaa"
    return [
        # accepted
        {"link_class": "tag", "name": "x", "head_uuid": w.collection},
        {"link_class": "star", "tail_uuid": w.user, "head_uuid": w.project, "owner_uuid": w.user},
        {"link_class": "tag", "head_uuid": PDH + "+Kfoo@bar", "properties": {"k": [1, 2.5]}},
        {"link_class": "note", "head_uuid": "not a uuid", "tail_uuid": foreign},
        {"link_class": "tag", "head_uuid": w.collection, "head_kind": "arvados#collection"},
        {"link_class": "tag", "head_uuid": w.collection, "owner_uuid": w.project},
        {"link_class": "tag", "head_uuid": w.collection, "owner_uuid": w.wk.system_user},
        {"uuid": "zzzzz-o0j2j-fastpathuuid001", "link_class": "tag", "head_uuid": w.project},
        {"link_class": None, "name": None, "head_uuid": None, "tail_uuid": None},
        # refused
        {"link_class": "tag", "head_uuid": missing_collection},
        {"link_class": "tag", "head_uuid": w.collection, "tail_uuid": "zzzzz-tpzed-nobodynobody000"},
        {"link_class": "tag", "head_uuid": w.collection, "head_kind": "arvados#group"},
        {"link_class": "tag", "head_uuid": w.collection, "tail_uuid": w.user,
         "tail_kind": "arvados#collection"},
        {"link_class": "tag", "head_uuid": w.collection, "owner_uuid": missing_group},
        {"link_class": "tag", "head_uuid": w.collection, "owner_uuid": w.role},
        {"link_class": "tag", "head_uuid": w.collection, "owner_uuid": w.collection},
        {"link_class": "tag", "head_uuid": w.collection, "owner_uuid": foreign},
        {"link_class": "tag", "head_uuid": w.collection, "owner_uuid": "not-a-uuid"},
        {"link_class": "name", "name": "old", "head_uuid": w.collection},
        {"uuid": w.collection, "link_class": "tag", "head_uuid": w.collection},
        {"uuid": "abc", "link_class": "tag", "head_uuid": w.collection},
        # several problems: the per-link service's order decides which one is reported
        {"uuid": "abc", "link_class": "tag", "head_uuid": missing_collection},
        {"link_class": "tag", "head_uuid": missing_collection, "head_kind": "arvados#group"},
        {"link_class": "name", "head_uuid": missing_collection, "owner_uuid": w.role},
        {"link_class": "tag", "head_uuid": missing_collection, "owner_uuid": w.role},
        # permissions decide for the member: readable heads, writable owners
        {"link_class": "tag", "head_uuid": w.shared_collection},
        {"link_class": "tag", "head_uuid": w.hidden_collection},
        {"link_class": "tag", "head_uuid": w.collection, "owner_uuid": w.shared},
        {"link_class": "tag", "head_uuid": w.collection, "owner_uuid": w.hidden},
        {"link_class": "tag", "head_uuid": w.shared_collection, "tail_uuid": w.hidden},
        {"link_class": "star", "tail_uuid": w.member.uuid, "head_uuid": w.shared,
         "owner_uuid": w.member.uuid},
    ]


def test_each_item_has_the_per_link_outcome(world: World) -> None:
    refused = 0
    for item in _cases(world):
        expected = _per_link(world, item)
        result, stored = _fast(world, [item])
        if isinstance(expected, str):
            refused += 1
            assert result.errors == [{"index": 0, "error": expected}], item
            assert result.created == 0
            assert stored == [], item
        else:
            assert result.errors == [], (item, result.errors)
            assert result.created == 1
            [row] = stored
            assert {c: row[c] for c in DECIDED} == {c: expected[c] for c in DECIDED}, item
            assert row["created_at"] == row["modified_at"]
            assert row["etag"] == etag_of(row), "the stored etag is the etag of the stored row"
            if "uuid" in item:
                assert row["uuid"] == item["uuid"]
    # The admin may refer to and own anything that exists; the member is refused more.
    assert refused == (16 if world.caller.is_admin else 24)


def test_every_refused_item_is_reported(world: World) -> None:
    cases = _cases(world)
    good, bad_owner, bad_class = cases[0], cases[14], cases[18]
    result, stored = _fast(world, [good, good, bad_class, good, bad_owner])
    assert result.errors == [{"index": 2, "error": "Name Name links are obsolete"},
                             {"index": 4, "error": "Owner uuid must be a project"}]
    assert stored == []
    result, stored = _fast(world, [good, bad_owner, bad_class])
    assert result.errors == [{"index": 1, "error": "Owner uuid must be a project"},
                             {"index": 2, "error": "Name Name links are obsolete"}]
    assert stored == []


def test_a_batch_of_good_items_is_stored_whole(world: World) -> None:
    accepted = [c for c in _cases(world) if not isinstance(_per_link(world, c), str)]
    result, stored = _fast(world, accepted * 3)  # a supplied uuid thrice: created once
    with_uuid = sum("uuid" in c for c in accepted)
    assert with_uuid == (1 if world.caller.is_admin else 0)  # only admins assign uuids
    assert result.errors == []
    assert result.created == len(accepted) * 3 - 2 * with_uuid
    assert result.skipped == 2 * with_uuid
    assert len(stored) == result.created
    assert len({row["created_at"] for row in stored}) == 1


def test_classes_with_rules_of_their_own_take_the_per_link_path(world: World) -> None:
    item = {"link_class": "published_port", "name": "8080", "head_uuid": world.collection}
    expected = _per_link(world, item)
    assert expected == "Head uuid must be a container request UUID"
    result, _stored = _fast(world, [{"link_class": "tag", "head_uuid": world.collection}, item])
    assert result.errors == [{"index": 1, "error": expected}]
    # The member manages itself; the admin anything.
    head = world.project if world.caller.is_admin else world.member.uuid
    grant = {"link_class": "permission", "name": "can_read", "tail_uuid": world.user,
             "head_uuid": head}
    result, stored = _fast(world, [grant])
    assert result.errors == []
    assert stored[0]["owner_uuid"] == world.wk.system_user  # as the per-link service sets it
