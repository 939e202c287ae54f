"""The audit log at the service level (both backends): set-based imports logged set-based with
whole records, a refused batch's undo logged too, ids in commit order, nothing logged for a
rolled-back transaction, and the change feed's cursor."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa

from linkbase.bootstrap import prepare_database
from linkbase.domain.errors import LinkbaseError
from linkbase.domain.query import parse_filters
from linkbase.domain.resources import LOGS, RESOURCES
from linkbase.services import batch, logs, objects
from linkbase.services.context import Caller, Services, system_caller
from linkbase.settings import Settings
from linkbase.storage import tables

LINKS, USERS, COLLECTIONS = RESOURCES["links"], RESOURCES["users"], RESOURCES["collections"]


@dataclass
class World:
    services: Services
    root: Caller
    coll: str


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    settings = Settings(database_url=database_url)
    services = Services(prepare_database(settings), settings)
    root = system_caller(services.well_known)
    coll = objects.create(services, root, COLLECTIONS, {"name": "c"})["uuid"]
    yield World(services, root, coll)
    services.db.dispose()


def _entries(w: World, uuid: str) -> list[dict[str, Any]]:
    page = logs.changes(w.services, w.root, 0, [parse_filters(LOGS, [["object_uuid", "=", uuid]])])
    return page.items


def _link_row(w: World, uuid: str) -> dict[str, Any]:
    with w.services.db.engine.connect() as conn:
        row = conn.execute(sa.select(tables.links).where(tables.links.c.uuid == uuid)).one()
    return {k: v for k, v in row._mapping.items() if k != "id"}


def test_a_set_based_import_logs_every_link_with_its_whole_record(world: World) -> None:
    items = [{"link_class": "tag", "name": f"n{i}", "head_uuid": world.coll,
              "properties": {"i": i, "nested": {"a": [1, 2]}}} for i in range(50)]
    result = world.services.uow.write(world.root, batch.import_links, items, "error")
    assert not result.errors and result.created == 50
    with world.services.db.engine.connect() as conn:
        uuids = [r[0] for r in conn.execute(sa.select(tables.links.c.uuid).where(
            tables.links.c.link_class == "tag"))]
    assert len(uuids) == 50
    for uuid in uuids[:5]:
        (entry,) = _entries(world, uuid)
        assert entry["event_type"] == "create" and entry["owner_uuid"] == world.root.uuid
        assert entry["properties"]["old_attributes"] is None
        assert entry["properties"]["new_attributes"] == _link_row(world, uuid)
        assert entry["event_at"] == entry["properties"]["new_attributes"]["created_at"]


def test_single_changes_expand_to_whole_records(world: World) -> None:
    link = objects.create(world.services, world.root, LINKS, {
        "link_class": "tag", "name": "a", "head_uuid": world.coll, "properties": {"k": 1}})
    created = _link_row(world, link["uuid"])
    objects.update(world.services, world.root, LINKS, link["uuid"], {"name": "b"})
    updated = _link_row(world, link["uuid"])
    objects.delete(world.services, world.root, LINKS, link["uuid"])
    create, update, delete = _entries(world, link["uuid"])
    assert create["properties"] == {"old_attributes": None, "new_attributes": created}
    assert update["properties"] == {"old_attributes": created, "new_attributes": updated}
    assert delete["properties"] == {"old_attributes": updated, "new_attributes": None}
    assert create["id"] < update["id"] < delete["id"]


def test_a_refused_transaction_logs_nothing(world: World) -> None:
    def count() -> int:
        with world.services.db.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(tables.logs))
                       .scalar_one())

    before = count()
    with pytest.raises(LinkbaseError):
        objects.create(world.services, world.root, LINKS, {
            "link_class": "permission", "name": "can_nothing", "head_uuid": world.coll})
    assert count() == before


def test_a_refused_batch_logs_its_undo(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batch, "CHUNK_SECONDS", 0.0)
    user = objects.create(world.services, world.root, USERS, {"username": "u"})["uuid"]
    items: list[Any] = [
        {"link_class": "permission", "name": "can_read", "tail_uuid": user,
         "head_uuid": world.coll},
        {"link_class": "tag", "name": "bad", "head_uuid": "zzzzz-4zz18-000000000000404"},
    ]
    result = batch.import_batch(world.services, world.root, items, "error")
    assert result.errors
    with world.services.db.engine.connect() as conn:
        grants = [r[0] for r in conn.execute(sa.select(tables.logs.c.object_uuid).where(
            tables.logs.c.event_type == "create", tables.logs.c.object_uuid.like("%-o0j2j-%")))]
    assert grants, "the committed grant was logged"
    assert [e["event_type"] for e in _entries(world, grants[-1])] == ["create", "delete"]


def test_the_feed_cursor_moves_past_what_the_caller_cannot_read(world: World) -> None:
    start = logs.latest_id(world.services)
    user = objects.create(world.services, world.root, USERS, {"username": "u2"})
    caller = Caller(uuid=user["uuid"], is_admin=False, is_active=True)
    objects.create(world.services, world.root, LINKS, {"link_class": "tag", "name": "hidden",
                                                       "head_uuid": world.coll})
    page = logs.changes(world.services, caller, start, [])
    assert all(item["object_uuid"] != world.coll for item in page.items)
    assert page.cursor == logs.latest_id(world.services)
    again = logs.changes(world.services, caller, page.cursor, [])
    assert again.items == [] and again.cursor == page.cursor
