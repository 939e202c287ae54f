"""Bulk imports that go link by link commit in short transactions and stay all-or-nothing.

``CHUNK_SECONDS`` is set to 0 here, so every item is its own transaction: the most a batch can
be split. A refused item anywhere must leave every table exactly as it was (created links
deleted, upgraded grants and updated links restored, permission edges and closure included),
and a batch that passes must be committed whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from tests.support.databases import table_digest

from linkbase import checkpoints
from linkbase.bootstrap import prepare_database
from linkbase.domain.resources import RESOURCES
from linkbase.services import batch, objects, verification
from linkbase.services.context import Caller, Services, system_caller
from linkbase.settings import Settings

LINKS, GROUPS, USERS = RESOURCES["links"], RESOURCES["groups"], RESOURCES["users"]


@dataclass
class World:
    services: Services
    root: Caller
    user: str
    other: str
    project: str
    upgraded: dict[str, Any]
    tag: dict[str, Any]


@pytest.fixture
def world(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setattr(batch, "CHUNK_SECONDS", 0.0)
    settings = Settings(database_url=database_url)
    services = Services(prepare_database(settings), settings)
    root = system_caller(services.well_known)

    def create(resource: Any, **attrs: Any) -> dict[str, Any]:
        return objects.create(services, root, resource, attrs)

    user = create(USERS, username="u")["uuid"]
    other = create(USERS, username="o")["uuid"]
    project = create(GROUPS, name="P", group_class="project")["uuid"]
    upgraded = create(LINKS, link_class="permission", name="can_read", tail_uuid=other,
                      head_uuid=project)
    tag = create(LINKS, link_class="tag", name="t", head_uuid=project, properties={"v": 1})
    yield World(services, root, user, other, project, upgraded, tag)
    services.db.dispose()


def _items(w: World) -> list[dict[str, Any]]:
    return [
        {"link_class": "permission", "name": "can_write", "tail_uuid": w.user,
         "head_uuid": w.project},
        # upgrades the existing can_read grant in place (spec §5.4 dedupe)
        {"link_class": "permission", "name": "can_manage", "tail_uuid": w.other,
         "head_uuid": w.project, "properties": {"why": "upgrade"}},
        {"link_class": "tag", "name": "new", "head_uuid": w.project},
        {"uuid": w.tag["uuid"], "link_class": "tag", "name": "renamed", "properties": {"v": 2}},
    ]


def _transactions(w: World, items: list[dict[str, Any]], on_duplicate: str
                  ) -> tuple[batch.ImportOutcome, int]:
    counted: list[str] = []
    with checkpoints.installed("uow.before_commit", counted.append):
        outcome = batch.import_batch(w.services, w.root, items, on_duplicate)
    return outcome, len(counted)


def test_a_refused_item_undoes_every_committed_chunk(world: World) -> None:
    before = table_digest(world.services.db.engine)
    bad = {"link_class": "permission", "name": "can_fly", "tail_uuid": world.user,
           "head_uuid": world.project}
    outcome, transactions = _transactions(world, [*_items(world), bad], "update")
    assert not outcome.committed
    assert outcome.errors == [{"index": 4, "error": "Name is invalid permission, must be one of "
                               "'can_read', 'can_write', 'can_manage', 'can_login'"}]
    assert (outcome.created, outcome.updated) == (0, 0)
    assert transactions >= 4  # grants one by one, the ordinary run, the bad item, the undo
    assert table_digest(world.services.db.engine) == before
    assert verification.verify(world.services).ok


def test_a_refused_item_in_the_middle_is_reported_and_undone(world: World) -> None:
    before = table_digest(world.services.db.engine)
    items = _items(world)
    items.insert(2, {"link_class": "tag", "head_uuid": "zzzzz-4zz18-000000000000404"})
    outcome, _ = _transactions(world, items, "update")
    assert not outcome.committed
    assert outcome.errors == [
        {"index": 2, "error": "Head uuid 'zzzzz-4zz18-000000000000404' not found"}]
    assert table_digest(world.services.db.engine) == before


def test_a_batch_that_passes_is_committed_whole(world: World) -> None:
    outcome, transactions = _transactions(world, _items(world), "update")
    assert outcome.committed, outcome.errors
    assert (outcome.created, outcome.updated, outcome.skipped) == (3, 1, 0)
    # One short transaction per grant; the two ordinary links after them make one run.
    assert transactions == 3
    renamed = objects.get(world.services, world.root, LINKS, world.tag["uuid"])
    assert (renamed["name"], renamed["properties"]) == ("renamed", {"v": 2})
    upgraded = objects.get(world.services, world.root, LINKS, world.upgraded["uuid"])
    assert upgraded["name"] == "can_manage"
    assert verification.verify(world.services).ok


def test_a_batch_of_ordinary_new_links_is_one_transaction(world: World) -> None:
    items = [{"link_class": "tag", "name": f"t{i}", "head_uuid": world.project}
             for i in range(50)]
    outcome, transactions = _transactions(world, items, "error")
    assert outcome.committed and outcome.created == 50
    assert transactions == 1


@pytest.mark.parametrize("on_duplicate", ["ignore", "error"])
def test_a_set_naming_a_stored_uuid_skips_or_refuses_it_and_logs_only_what_it_wrote(
        world: World, on_duplicate: str) -> None:
    """A set of new links that names a stored uuid among fresh ones (on SQLite its insert finds
    the uuid taken and takes itself back) ends exactly as if the uuids had been looked up
    first: the stored link untouched, the fresh ones created (or, with ``error``, nothing),
    one log entry per link created and none for the links taken back."""
    import sqlalchemy as sa

    from linkbase.domain import uuids
    from linkbase.storage import tables

    fresh = uuids.new_uuids("zzzzz", uuids.LINK, 40)
    items = [{"uuid": u, "link_class": "tag", "name": f"t{i}", "head_uuid": world.project}
             for i, u in enumerate(fresh)]
    items.insert(17, {"uuid": world.tag["uuid"], "link_class": "tag", "name": "x",
                      "head_uuid": world.project})
    outcome, transactions = _transactions(world, items, on_duplicate)
    assert transactions == (1 if on_duplicate == "ignore" else 0)  # a refused one rolls back
    stored = objects.get(world.services, world.root, LINKS, world.tag["uuid"])
    assert (stored["name"], stored["properties"]) == ("t", {"v": 1})
    log = tables.logs
    with world.services.db.read() as conn:
        logged = [row.object_uuid for row in conn.execute(
            sa.select(log.c.object_uuid).where(log.c.object_uuid.in_(fresh)))]
        # The stored link's only entry is its creation by the fixture.
        assert conn.execute(sa.select(sa.func.count()).where(
            log.c.object_uuid == world.tag["uuid"])).scalar_one() == 1
        stored_fresh = {row.uuid for row in conn.execute(
            sa.select(tables.links.c.uuid).where(tables.links.c.uuid.in_(fresh)))}
    if on_duplicate == "ignore":
        assert (outcome.committed, outcome.created, outcome.skipped) == (True, 40, 1)
        assert sorted(logged) == sorted(fresh) and stored_fresh == set(fresh)
    else:
        assert not outcome.committed and outcome.created == 0
        assert outcome.errors == [
            {"index": 17, "error": f"Uuid '{world.tag['uuid']}' already exists"}]
        assert logged == [] and stored_fresh == set()
