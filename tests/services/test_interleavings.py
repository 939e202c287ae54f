"""Each write race of the concurrency issue, forced deterministically (tests/support/
interleaving.py): two transactions on two engines (as two server processes), the first held just
before it commits while the second runs.

With the locks (``storage.locks``) the second is seen blocked until the first commits, and the
result is that of a serial order: the closure equals a full recompute, one grant, one request's
link set, no cycle, no orphan, no dangling link. On PostgreSQL each race is also run with the
lock that prevents it switched off, and the test asserts the interleaving happened and the
invariant broke: the test reproduces the race it guards against. (SQLite serializes every
writer in ``BEGIN IMMEDIATE``, so there the races cannot be reproduced at all.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from tests.support.databases import fresh_database_url
from tests.support.interleaving import Interleaver, Outcome, services_pair

from linkbase.bootstrap import prepare_database
from linkbase.domain.errors import LinkbaseError
from linkbase.domain.levels import Level
from linkbase.domain.resources import RESOURCES
from linkbase.services import batch, entries, laserfiche_links, objects, verification
from linkbase.services.context import Caller, Services, system_caller
from linkbase.services.laserfiche_links import LinkSpec
from linkbase.services.permissions import Access
from linkbase.settings import Settings
from linkbase.storage import locks, tables

LINKS, GROUPS, COLLECTIONS, USERS = (RESOURCES[n] for n in
                                     ("links", "groups", "collections", "users"))


@dataclass
class World:
    a: Services
    b: Services
    root: Caller
    interleaver: Interleaver
    dialect: str

    def create(self, resource: Any, **attrs: Any) -> dict[str, Any]:
        return objects.create(self.a, self.root, resource, attrs)

    def user(self, name: str) -> str:
        return str(self.create(USERS, username=name)["uuid"])

    def group(self, name: str, group_class: str, owner: str | None = None) -> str:
        attrs: dict[str, Any] = {"name": name, "group_class": group_class}
        if owner:
            attrs["owner_uuid"] = owner
        return str(self.create(GROUPS, **attrs)["uuid"])

    def grant(self, tail: str, head: str, name: str = "can_read") -> dict[str, Any]:
        return self.create(LINKS, link_class="permission", name=name, tail_uuid=tail,
                           head_uuid=head)

    def level(self, user: str, target: str, owner: str | None = None) -> Level:
        caller = Caller(uuid=user, is_admin=False, is_active=True)
        return self.a.uow.read(caller, lambda access: access.level_on(target, owner))

    def rows(self, table: sa.Table, *where: Any) -> list[dict[str, Any]]:
        def load(access: Access) -> list[dict[str, Any]]:
            return [dict(r._mapping) for r in access.conn.execute(sa.select(table).where(*where))]
        return self.a.uow.read(self.root, load)

    def race(self, first: Callable[[], Any], second: Callable[[], Any]) -> Outcome:
        return self.interleaver.run(first, second)

    def assert_serialized(self, outcome: Outcome) -> None:
        assert outcome.blocked and not outcome.interleaved, outcome
        report = verification.verify(self.a)
        assert report.ok, [d.describe() for d in report.differences]

    def without(self, *names: str) -> Any:
        assert self.dialect == "postgresql"
        return locks.disabled(*names)


def _world(database_url: str) -> Iterator[World]:
    settings = Settings(database_url=database_url)
    prepare_database(settings).dispose()
    a, b, tag = services_pair(database_url, settings)
    interleaver = Interleaver(a.db.dialect, tag)
    yield World(a, b, system_caller(a.well_known), interleaver, a.db.dialect)
    interleaver.close()
    a.db.dispose()
    b.db.dispose()


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    """Both backends: the races run with every lock in place."""
    yield from _world(database_url)


@pytest.fixture
def pg_world(tmp_path: Path) -> Iterator[World]:
    """PostgreSQL only, for the runs with a lock switched off: SQLite serializes every writer
    in ``BEGIN IMMEDIATE``, so there the races cannot happen at all."""
    yield from _world(fresh_database_url("postgresql", tmp_path))


# -- the permission closure -----------------------------------------------------------------


def _revoke_and_grant(w: World, *, revoke_first: bool = True) -> tuple[str, str, Outcome]:
    """R2 can_read X is revoked while R1 can_read R2 is granted; U is a member of R1. The
    first of the two (held before its commit) is the revocation unless ``revoke_first`` is
    false."""
    user = w.user("u")
    r1, r2 = w.group("R1", "role"), w.group("R2", "role")
    x = w.group("X", "project")
    w.grant(user, r1)
    doomed = w.grant(r2, x)
    grant = {"link_class": "permission", "name": "can_read", "tail_uuid": r1, "head_uuid": r2}

    def revoke(services: Services) -> Any:
        return objects.delete(services, w.root, LINKS, doomed["uuid"])

    def add(services: Services) -> Any:
        return objects.create(services, w.root, LINKS, dict(grant))

    first, second = (revoke, add) if revoke_first else (add, revoke)
    return user, x, w.race(lambda: first(w.a), lambda: second(w.b))


def test_a_revoked_grant_stays_revoked_when_a_path_to_it_is_added(world: World) -> None:
    user, x, outcome = _revoke_and_grant(world)
    world.assert_serialized(outcome)
    assert world.level(user, x) == Level.NONE


def test_without_the_graph_lock_the_revoked_grant_survives(pg_world: World) -> None:
    with pg_world.without("graph"):
        user, x, outcome = _revoke_and_grant(pg_world)
    assert outcome.interleaved
    assert pg_world.level(user, x) == Level.READ  # the revocation was lost
    assert not verification.verify(pg_world.a).ok


def test_a_grant_and_a_revocation_in_the_other_order(world: World) -> None:
    user, x, outcome = _revoke_and_grant(world, revoke_first=False)
    world.assert_serialized(outcome)
    assert world.level(user, x) == Level.NONE


def _identical_grants(w: World) -> tuple[str, str, Outcome]:
    user, project = w.user("u"), w.group("P", "project")
    attrs = {"link_class": "permission", "name": "can_read", "tail_uuid": user,
             "head_uuid": project}
    outcome = w.race(lambda: objects.create(w.a, w.root, LINKS, dict(attrs)),
                     lambda: objects.create(w.b, w.root, LINKS, dict(attrs)))
    return user, project, outcome


def test_identical_concurrent_grants_make_one_link(world: World) -> None:
    user, project, outcome = _identical_grants(world)
    world.assert_serialized(outcome)
    grants = world.rows(tables.links, tables.links.c.tail_uuid == user,
                        tables.links.c.head_uuid == project)
    assert len(grants) == 1
    assert outcome.first["uuid"] == outcome.second["uuid"] == grants[0]["uuid"]


def test_without_the_graph_lock_identical_grants_are_duplicated(pg_world: World) -> None:
    with pg_world.without("graph"):
        user, project, outcome = _identical_grants(pg_world)
    assert outcome.interleaved
    assert len(pg_world.rows(tables.links, tables.links.c.tail_uuid == user,
                          tables.links.c.head_uuid == project)) == 2


def test_concurrent_level_changes_of_one_grant(world: World) -> None:
    user, project = world.user("u"), world.group("P", "project")
    grant = world.grant(user, project)
    outcome = world.race(
        lambda: objects.update(world.a, world.root, LINKS, grant["uuid"], {"name": "can_write"}),
        lambda: objects.update(world.b, world.root, LINKS, grant["uuid"], {"name": "can_manage"}),
    )
    world.assert_serialized(outcome)
    assert outcome.first["name"] == "can_write" and outcome.second["name"] == "can_manage"
    [stored] = world.rows(tables.links, tables.links.c.tail_uuid == user,
                          tables.links.c.head_uuid == project)
    assert stored["name"] == "can_manage"  # the last writer wins
    assert world.level(user, project) == Level.MANAGE


# -- ownership ------------------------------------------------------------------------------


def _crossed_moves(w: World) -> tuple[str, str, Outcome]:
    p1, p2 = w.group("P1", "project"), w.group("P2", "project")
    outcome = w.race(
        lambda: objects.update(w.a, w.root, GROUPS, p1, {"owner_uuid": p2}),
        lambda: objects.update(w.b, w.root, GROUPS, p2, {"owner_uuid": p1}),
    )
    return p1, p2, outcome


def test_crossed_project_moves_never_make_a_cycle(world: World) -> None:
    p1, p2, outcome = _crossed_moves(world)
    world.assert_serialized(outcome)
    assert outcome.first["owner_uuid"] == p2
    assert isinstance(outcome.second, LinkbaseError)
    assert "cycle" in str(outcome.second)
    [moved] = world.rows(tables.groups, tables.groups.c.uuid == p2)
    assert moved["owner_uuid"] != p1


def test_without_locks_crossed_moves_make_a_cycle(pg_world: World) -> None:
    # Both the graph lock and the row locks (each move refers to the other project) prevent it.
    with pg_world.without("graph", "rows"):
        p1, p2, outcome = _crossed_moves(pg_world)
    assert outcome.interleaved
    owners = {r["uuid"]: r["owner_uuid"] for r in pg_world.rows(
        tables.groups, tables.groups.c.uuid.in_([p1, p2]))}
    assert owners == {p1: p2, p2: p1}


def _create_in_deleted_project(w: World) -> tuple[str, Outcome]:
    project = w.group("P", "project")
    outcome = w.race(
        lambda: objects.delete(w.a, w.root, GROUPS, project),
        lambda: objects.create(w.b, w.root, COLLECTIONS, {"name": "c", "owner_uuid": project}),
    )
    return project, outcome


def test_a_collection_created_in_a_project_being_deleted_is_no_orphan(world: World) -> None:
    project, outcome = _create_in_deleted_project(world)
    world.assert_serialized(outcome)
    assert isinstance(outcome.second, LinkbaseError)  # the owner is gone: 422
    assert world.rows(tables.collections, tables.collections.c.owner_uuid == project) == []


def test_without_row_locks_the_collection_is_orphaned(pg_world: World) -> None:
    with pg_world.without("rows", "graph"):
        project, outcome = _create_in_deleted_project(pg_world)
    assert outcome.interleaved
    assert len(pg_world.rows(tables.collections, tables.collections.c.owner_uuid == project)) == 1


def test_a_tag_on_a_collection_being_deleted_is_no_dangling_link(world: World) -> None:
    collection = world.create(COLLECTIONS, name="c")["uuid"]
    outcome = world.race(
        lambda: objects.delete(world.a, world.root, COLLECTIONS, collection),
        lambda: objects.create(world.b, world.root, LINKS, {"link_class": "tag", "name": "t",
                                                           "head_uuid": collection}),
    )
    world.assert_serialized(outcome)
    assert isinstance(outcome.second, LinkbaseError)
    assert world.rows(tables.links, tables.links.c.head_uuid == collection) == []


def _import_while_deleting(w: World) -> tuple[str, Outcome]:
    collection = w.create(COLLECTIONS, name="c")["uuid"]
    items = [{"link_class": "tag", "name": f"t{i}", "head_uuid": collection} for i in range(20)]
    outcome = w.race(
        lambda: objects.delete(w.a, w.root, COLLECTIONS, collection),
        lambda: batch.import_batch(w.b, w.root, items, "error"),
    )
    return collection, outcome


def test_a_bulk_import_never_links_to_a_collection_being_deleted(world: World) -> None:
    collection, outcome = _import_while_deleting(world)
    world.assert_serialized(outcome)
    assert not outcome.second.committed
    assert world.rows(tables.links, tables.links.c.head_uuid == collection) == []


def test_without_the_reference_guard_the_bulk_import_dangles(pg_world: World) -> None:
    with pg_world.without("guard", "rows"):
        collection, outcome = _import_while_deleting(pg_world)
    assert outcome.interleaved
    assert len(pg_world.rows(tables.links, tables.links.c.head_uuid == collection)) == 20


# -- the Laserfiche replace-all -------------------------------------------------------------


def _replace_all_twice(w: World) -> tuple[int, dict[str, int], Outcome]:
    folder = entries.add_folder(w.a, w.root, "r-default", 1, "F")
    docs = {name: entries.add_document(w.a, w.root, "r-default", folder.entry_id, name).entry_id
            for name in ("target", "one", "two")}
    target = docs["target"]
    outcome = w.race(
        lambda: laserfiche_links.replace_links(w.a, w.root, "r-default", target,
                                               [LinkSpec(1, docs["one"])]),
        lambda: laserfiche_links.replace_links(w.b, w.root, "r-default", target,
                                               [LinkSpec(1, docs["two"])]),
    )
    return target, docs, outcome


def _link_targets(w: World, entry_id: int) -> list[int]:
    page = laserfiche_links.page_of_links(w.a, w.root, "r-default", entry_id)
    return sorted(link.target_id for link in page.items)


def test_concurrent_replace_all_leaves_exactly_one_requests_set(world: World) -> None:
    target, docs, outcome = _replace_all_twice(world)
    world.assert_serialized(outcome)
    assert _link_targets(world, target) == [docs["two"]]  # the second request ran last


def test_without_entry_locks_replace_all_makes_the_union(pg_world: World) -> None:
    with pg_world.without("rows"):
        target, docs, outcome = _replace_all_twice(pg_world)
    assert outcome.interleaved
    assert _link_targets(pg_world, target) == sorted([docs["one"], docs["two"]])
