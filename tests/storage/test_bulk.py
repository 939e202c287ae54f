"""``storage.bulk``: set-based link inserts and lookups store exactly what they are given."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import sqlalchemy as sa

from linkbase.bootstrap import prepare_database
from linkbase.domain import uuids
from linkbase.settings import Settings
from linkbase.storage import audit, bulk, tables, transaction
from linkbase.storage.database import Database

AUTHOR = "zzzzz-tpzed-000000000000000"
#: Documents whose JSON text is easy to get subtly wrong: float precision, exponents, negative
#: zero, escapes, non-ASCII, astral characters, control characters, nesting, empty containers.
TRICKY_PROPERTIES: list[dict[str, Any]] = [
    {},
    {"confidence": 0.8896036567680343, "tiny": 1e-7, "huge": 1.5e300, "neg": -0.0},
    {"big": 12345678901234567, "small": -9007199254740993},
    {"s": 'quote " backslash \\ slash / tab \t newline \n', "é": "ünïcode", "u": "😀"},
    {"ctl": "\x01\x1f", "sep": "\u2028\u2029", "nested": {"z": [1, 2.5, {"q": True}], "a": []}},
    {"null": None, "list": [None, False, "", {}]},
]


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = prepare_database(Settings(database_url=database_url))
    yield database
    database.dispose()


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    """For what only SQLite has (PostgreSQL stores ``jsonb``, not text, and has no page size)."""
    database = prepare_database(Settings(database_url=f"sqlite:///{tmp_path / 'bulk.db'}"))
    yield database
    database.dispose()


def _row(uuid: str, properties: dict[str, Any], **changes: Any) -> tuple[Any, ...]:
    values = {"uuid": uuid, "owner_uuid": AUTHOR, "etag": f"etag-{uuid[-4:]}", "link_class": "tag",
              "name": "n", "tail_uuid": None, "head_uuid": "zzzzz-4zz18-aaaaaaaaaaaaaaa",
              "properties": properties, **changes}
    return tuple(values[column] for column in bulk.ROW_COLUMNS)


def _stored(db: Database, conn: sa.Connection | None = None) -> dict[str, dict[str, Any]]:
    """The links written by these tests (their author is never the seeding's), as seen by
    ``conn`` if given."""
    query = sa.select(tables.links).where(tables.links.c.etag.like("etag-%"))
    if conn is not None:
        return {row.uuid: dict(row._mapping) for row in conn.execute(query)}
    with db.read() as conn:
        return {row.uuid: dict(row._mapping) for row in conn.execute(query)}


def test_insert_links_stores_what_an_ordinary_insert_stores(db: Database) -> None:
    uuid_list = uuids.new_uuids("zzzzz", uuids.LINK, 2 * len(TRICKY_PROPERTIES))
    bulk_uuids, plain_uuids = uuid_list[::2], uuid_list[1::2]
    rows = [_row(u, p, name=None if i == 0 else f"n{i}", tail_uuid=AUTHOR if i % 2 else None)
            for i, (u, p) in enumerate(zip(bulk_uuids, TRICKY_PROPERTIES, strict=True))]
    links = bulk.NewLinks(1_700_000_000_000_000, AUTHOR, list(reversed(rows)))
    links.encode_for(db.dialect)
    with db.write() as conn:
        bulk.insert_links(conn, links)
        for plain, row in zip(plain_uuids, rows, strict=True):
            conn.execute(tables.links.insert().values(
                **dict(zip(bulk.ROW_COLUMNS, (plain, *row[1:]), strict=True)),
                created_at=1_700_000_000_000_000, modified_at=1_700_000_000_000_000,
                modified_by_user_uuid=AUTHOR))
    stored = _stored(db)
    assert sorted(stored) == sorted(uuid_list)
    for plain, row in zip(plain_uuids, rows, strict=True):
        got, reference = stored[row[0]], stored[plain]
        assert {c: got[c] for c in got if c not in ("id", "uuid")} \
            == {c: reference[c] for c in reference if c not in ("id", "uuid")}
        assert tuple(got[c] for c in bulk.ROW_COLUMNS[:-1]) == row[:-1]
        assert got["created_at"] == got["modified_at"] == 1_700_000_000_000_000
        assert got["modified_by_user_uuid"] == AUTHOR
        assert isinstance(got["id"], int)


def test_sqlite_stores_the_properties_text_orjson_writes(sqlite_db: Database) -> None:
    """The bulk insert's JSON text must be the one the per-link path stores, byte for byte."""
    db = sqlite_db
    uuid_list = uuids.new_uuids("zzzzz", uuids.LINK, len(TRICKY_PROPERTIES))
    with db.write() as conn:
        bulk.insert_links(conn, bulk.NewLinks(1, AUTHOR, [
            _row(u, p) for u, p in zip(uuid_list, TRICKY_PROPERTIES, strict=True)]))
        texts: dict[str, str] = dict(conn.exec_driver_sql(
            "SELECT uuid, properties FROM links WHERE etag LIKE 'etag-%'").all())
    for uuid, properties in zip(uuid_list, TRICKY_PROPERTIES, strict=True):
        assert texts[uuid] == orjson.dumps(properties).decode()


def test_rows_are_kept_in_uuid_order(db: Database) -> None:
    rows = [_row(u, {}) for u in ("zzzzz-o0j2j-ccccccccccccccc", "zzzzz-o0j2j-aaaaaaaaaaaaaaa",
                                  "zzzzz-o0j2j-bbbbbbbbbbbbbbb")]
    links = bulk.NewLinks(1, AUTHOR, rows)
    assert [row[0][-1] for row in links.rows] == ["a", "b", "c"]


def test_a_failed_insert_writes_nothing(db: Database) -> None:
    taken = "zzzzz-o0j2j-ddddddddddddddd"
    with db.write() as conn:
        bulk.insert_links(conn, bulk.NewLinks(1, AUTHOR, [_row(taken, {})]))
    fresh = "zzzzz-o0j2j-eeeeeeeeeeeeeee"
    with pytest.raises(sa.exc.IntegrityError), db.write() as conn:
        bulk.insert_links(conn, bulk.NewLinks(2, AUTHOR, [_row(fresh, {}), _row(taken, {})]))
    assert sorted(_stored(db)) == [taken]


def test_existing_link_uuids(db: Database) -> None:
    present = uuids.new_uuids("zzzzz", uuids.LINK, 3)
    with db.write() as conn:
        bulk.insert_links(conn, bulk.NewLinks(1, AUTHOR, [_row(u, {}) for u in present]))
    absent = uuids.new_uuids("zzzzz", uuids.LINK, 1200)
    with db.read() as conn:
        assert bulk.existing_link_uuids(conn, absent + present[:2]) == set(present[:2])
        assert bulk.existing_link_uuids(conn, []) == set()
        assert bulk.existing_uuids(conn, tables.users, [AUTHOR, "zzzzz-tpzed-xxxxxxxxxxxxxxx"]) \
            == {AUTHOR}


def test_new_sqlite_databases_use_16k_pages(sqlite_db: Database) -> None:
    with sqlite_db.read() as conn:
        assert conn.exec_driver_sql("PRAGMA page_size").scalar_one() == 16384


def _entries(conn: sa.Connection, uuid_list: list[str]) -> list[dict[str, Any]]:
    """The log entries of these links, in id order, with their attributes put back."""
    rows = conn.execute(sa.select(tables.logs).where(tables.logs.c.object_uuid.in_(uuid_list))
                        .order_by(tables.logs.c.id))
    return [{**dict(row._mapping), "properties": audit.expand(dict(row._mapping))}
            for row in rows]


def test_a_batch_goes_in_statements_of_a_chunk_and_powers_of_two(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bulk, "SQLITE_CHUNK", 8)
    uuid_list = uuids.new_uuids("zzzzz", uuids.LINK, 37)  # 8+8+8+8+4+1 rows on SQLite
    rows = [_row(u, {"i": i}, name=f"n{i}") for i, u in enumerate(uuid_list)]
    links = bulk.NewLinks(5, AUTHOR, rows, by_uuid=False)
    with db.write() as conn:
        bulk.insert_links(conn, links)
        transaction.note_bulk(conn, links)
        assert audit.flush(conn, AUTHOR, "req-1", None) == 37
        entries = _entries(conn, uuid_list)
    stored = _stored(db)
    assert sorted(stored) == sorted(uuid_list)
    for row in rows:
        assert tuple(stored[row[0]][c] for c in bulk.ROW_COLUMNS) == row
    # One entry per link, in the order of the insert (ids), each with the whole new record.
    assert [e["object_uuid"] for e in entries] == uuid_list
    assert sorted(stored[u]["id"] for u in uuid_list) == [stored[u]["id"] for u in uuid_list]
    for entry in entries:
        record = {k: v for k, v in stored[entry["object_uuid"]].items() if k != "id"}
        assert entry["properties"] == {"old_attributes": None, "new_attributes": record}
        assert entry["event_type"] == "create" and entry["request_id"] == "req-1"


def test_a_link_changed_after_its_bulk_insert_is_logged_as_created(db: Database) -> None:
    """The entries of a set are written at commit; one of its links updated (or deleted) later
    in the same transaction still gets an entry showing it as it was inserted."""
    first = uuids.new_uuids("zzzzz", uuids.LINK, 3)
    second = uuids.new_uuids("zzzzz", uuids.LINK, 2)
    with db.write() as conn:
        links = bulk.NewLinks(7, AUTHOR, [_row(u, {"v": 1}) for u in first])
        bulk.insert_links(conn, links)
        transaction.note_bulk(conn, links)
        more = bulk.NewLinks(8, AUTHOR, [_row(u, {"v": 2}) for u in second])
        bulk.insert_links(conn, more)
        transaction.note_bulk(conn, more)
        before = _stored_in(conn, first[1])
        conn.execute(tables.links.update().where(tables.links.c.uuid == first[1])
                     .values(name="renamed", modified_at=9))
        transaction.note(conn, tables.links.name, first[1], before,
                         {**before, "name": "renamed", "modified_at": 9})
        assert audit.flush(conn, AUTHOR, None, None) == 6
        entries = _entries(conn, first + second)
    by_object: dict[str, list[dict[str, Any]]] = {}
    for entry in entries:
        by_object.setdefault(entry["object_uuid"], []).append(entry)
    created, updated = by_object[first[1]]
    assert created["event_type"] == "create" and updated["event_type"] == "update"
    assert created["properties"]["new_attributes"]["name"] == "n"
    assert updated["properties"]["new_attributes"]["name"] == "renamed"
    for uuid in (*first, *second):
        new = by_object[uuid][0]["properties"]["new_attributes"]
        assert new["uuid"] == uuid and new["properties"] == {"v": 1 if uuid in first else 2}
        assert new["created_at"] == (7 if uuid in first else 8)


def _stored_in(conn: sa.Connection, uuid: str) -> dict[str, Any]:
    row = conn.execute(sa.select(tables.links).where(tables.links.c.uuid == uuid)).one()
    return {k: v for k, v in row._mapping.items() if k != "id"}


def test_an_insert_unless_taken_writes_nothing_when_a_uuid_is_taken(sqlite_db: Database) -> None:
    taken = "zzzzz-o0j2j-fffffffffffffff"
    with sqlite_db.write() as conn:
        bulk.insert_links(conn, bulk.NewLinks(1, AUTHOR, [_row(taken, {"v": 1})]))
    fresh = uuids.new_uuids("zzzzz", uuids.LINK, 1500)  # more than one statement's rows
    with sqlite_db.write() as conn:
        with pytest.raises(bulk.UuidTaken):
            bulk.insert_links(conn, bulk.NewLinks(2, AUTHOR, [_row(u, {}) for u in fresh]
                                                  + [_row(taken, {"v": 2})]), unless_taken=True)
        # Same transaction, afterwards: none of the set is stored, the taken link is unchanged.
        assert sorted(_stored(sqlite_db, conn)) == [taken]
        links = bulk.NewLinks(3, AUTHOR, [_row(u, {}) for u in fresh])
        bulk.insert_links(conn, links, unless_taken=True)
        assert links.id_range is not None and links.id_range[1] - links.id_range[0] == 1500
    assert len(_stored(sqlite_db)) == 1501
    with sqlite_db.read() as conn:
        properties = conn.execute(sa.select(tables.links.c.properties)
                                  .where(tables.links.c.uuid == taken)).scalar_one()
    assert properties == {"v": 1}
