"""``storage.driver_queries``: a statement run on the driver's cursor answers exactly what
SQLAlchemy's ``conn.execute`` answers (same rows, same Python values after JSON and boolean
processing, ``IN`` lists of every length), inside the caller's transaction, and fails with
SQLAlchemy's own exception types, on both backends."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from linkbase.bootstrap import prepare_database
from linkbase.settings import Settings
from linkbase.storage import tables
from linkbase.storage.database import Database
from linkbase.storage.driver_queries import DriverQuery
from tests.storage.test_bulk import TRICKY_PROPERTIES

OWNER = "zzzzz-tpzed-000000000000000"
_links = tables.links
_gc = tables.group_closure


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = prepare_database(Settings(database_url=database_url))
    with database.write() as conn:
        conn.execute(_links.insert(), [
            {"uuid": f"zzzzz-o0j2j-{i:015d}", "owner_uuid": OWNER, "created_at": 1,
             "modified_at": 2, "modified_by_user_uuid": OWNER, "etag": f"e{i}",
             "link_class": "tag", "name": f"n{i % 3}", "tail_uuid": None,
             "head_uuid": "zzzzz-4zz18-aaaaaaaaaaaaaaa", "properties": {**properties, "i": i}}
            for i, properties in enumerate(TRICKY_PROPERTIES * 3)])
        conn.execute(_gc.insert(), [
            {"group_uuid": f"zzzzz-j7d0g-{g:015d}", "target_uuid": f"zzzzz-tpzed-{t:015d}",
             "level": 1 + (g + t) % 3, "traverse_owned": (g + t) % 2 == 0,
             "target_is_user": True}
            for g in range(5) for t in range(4)])
    yield database
    database.dispose()


def _by_uuid() -> sa.Select[Any]:
    return sa.select(_links).where(_links.c.uuid == sa.bindparam("uuid"))


def _closure() -> sa.Select[Any]:
    return sa.select(_gc.c.group_uuid, _gc.c.target_uuid, _gc.c.level,
                     _gc.c.traverse_owned).where(
        _gc.c.group_uuid.in_(sa.bindparam("gs", expanding=True)),
        _gc.c.target_uuid.in_(sa.bindparam("ts", expanding=True)), _gc.c.level > 0)


def test_rows_and_values_are_sqlalchemys(db: Database) -> None:
    query = DriverQuery(_by_uuid)
    with db.read() as conn:
        for i in range(len(TRICKY_PROPERTIES) * 3):
            uuid = f"zzzzz-o0j2j-{i:015d}"
            expected = [dict(row._mapping) for row in conn.execute(_by_uuid(), {"uuid": uuid})]
            got = query.mappings(conn, {"uuid": uuid})
            assert got == expected and got[0]["properties"]["i"] == i
            assert [type(v) for v in got[0].values()] == [type(v) for v in expected[0].values()]
        assert query.mappings(conn, {"uuid": "zzzzz-o0j2j-nonexistentxxxx"}) == []


@pytest.mark.parametrize("groups", [1, 2, 3, 5, 7])
@pytest.mark.parametrize("targets", [1, 2, 4])
def test_in_lists_of_any_length(db: Database, groups: int, targets: int) -> None:
    query = DriverQuery(_closure)
    values = {"gs": [f"zzzzz-j7d0g-{g:015d}" for g in range(groups)],
              "ts": [f"zzzzz-tpzed-{t:015d}" for t in range(targets)]}
    with db.read() as conn:
        expected = sorted(tuple(row) for row in conn.execute(_closure(), values))
        got = sorted(query.rows(conn, values))
    assert got == expected and len(got) == min(groups, 5) * min(targets, 4)
    assert all(type(flag) is bool for *_, flag in got)


def test_an_empty_in_list_is_refused(db: Database) -> None:
    with db.read() as conn, pytest.raises(ValueError, match="must not be empty"):
        DriverQuery(_closure).rows(conn, {"gs": [], "ts": ["x"]})


def test_runs_inside_the_callers_transaction(db: Database) -> None:
    query = DriverQuery(_by_uuid)
    uuid = "zzzzz-o0j2j-000000000000000"
    with db.write() as conn:
        conn.execute(_links.update().where(_links.c.uuid == uuid).values(name="changed"))
        assert query.mappings(conn, {"uuid": uuid})[0]["name"] == "changed"
        conn.execute(_links.delete().where(_links.c.uuid == uuid))
        assert query.mappings(conn, {"uuid": uuid}) == []
        conn.rollback()
    with db.read() as conn:
        assert query.mappings(conn, {"uuid": uuid})[0]["name"] == "n0"


def test_driver_errors_are_sqlalchemys(db: Database) -> None:
    missing = sa.Table("no_such_table", sa.MetaData(), sa.Column("uuid", sa.String))
    query = DriverQuery(lambda: sa.select(missing).where(missing.c.uuid == sa.bindparam("u")))
    with db.read() as conn, pytest.raises(sa.exc.DBAPIError) as raised:
        query.rows(conn, {"u": "x"})
    assert "no_such_table" in str(raised.value.orig)


def test_parameters_needing_conversion_are_refused(db: Database) -> None:
    query = DriverQuery(lambda: sa.select(_gc.c.group_uuid).where(
        _gc.c.traverse_owned == sa.bindparam("flag", type_=sa.Boolean)))
    with db.read() as conn, pytest.raises(TypeError, match="needs bind processing"):
        query.rows(conn, {"flag": True})
