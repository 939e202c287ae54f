"""The unit of work's request snapshot: a request's reads share one transaction, a write ends
it (so later reads see the write), and a read that fails in it runs again alone."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from linkbase.bootstrap import prepare_database
from linkbase.domain.errors import NotFoundError
from linkbase.domain.resources import RESOURCES
from linkbase.services import objects
from linkbase.services.context import Services, system_caller
from linkbase.services.permissions import Access
from linkbase.settings import Settings


@pytest.fixture
def services(database_url: str) -> Iterator[Services]:
    settings = Settings(database_url=database_url)
    built = Services(prepare_database(settings), settings)
    yield built
    built.db.dispose()


def _count_begins(services: Services) -> list[int]:
    begins = [0]

    @event.listens_for(services.db.engine, "begin")
    def _on_begin(_conn: Any) -> None:
        begins[0] += 1

    return begins


def _connection_id(access: Access) -> int:
    return id(access.conn.connection.dbapi_connection)


def test_reads_in_a_request_share_one_transaction(services: Services) -> None:
    root = system_caller(services.well_known)
    created = objects.create(services, root, RESOURCES["collections"], {"name": "c"})
    begins = _count_begins(services)
    with services.uow.request_snapshot():
        first = services.uow.read(root, _connection_id)
        services.uow.read_as_server(lambda access: None)
        row = objects.get(services, root, RESOURCES["collections"], created["uuid"])
        second = services.uow.read(root, _connection_id)
    assert row["uuid"] == created["uuid"]
    assert first == second
    assert begins[0] == 1
    # Without the snapshot each read is a transaction of its own.
    services.uow.read(root, _connection_id)
    services.uow.read(root, _connection_id)
    assert begins[0] == 3


def test_a_write_ends_the_snapshot_and_later_reads_see_it(services: Services) -> None:
    root = system_caller(services.well_known)
    collections = RESOURCES["collections"]
    begins = _count_begins(services)
    with services.uow.request_snapshot():
        services.uow.read(root, _connection_id)
        created = objects.create(services, root, collections, {"name": "after"})
        # A new snapshot, begun after the write committed.
        assert objects.get(services, root, collections, created["uuid"])["name"] == "after"
    assert begins[0] == 3  # read, write, read


def test_any_error_ends_the_snapshot_and_the_next_read_opens_one(services: Services) -> None:
    root = system_caller(services.well_known)
    begins = _count_begins(services)
    with services.uow.request_snapshot():
        with pytest.raises(NotFoundError):
            objects.get(services, root, RESOURCES["collections"],
                        services.cluster_id + "-4zz18-000000000000000")
        services.uow.read(root, _connection_id)
    # The error reaches the caller as it was; the failed read's transaction is not reused
    # (after a driver error inside a service it could be aborted).
    assert begins[0] == 2


def test_a_storage_failure_in_the_snapshot_runs_again_alone(services: Services) -> None:
    root = system_caller(services.well_known)
    attempts: list[int] = []

    def flaky(access: Access) -> int:
        attempts.append(_connection_id(access))
        if len(attempts) == 1:
            # Breaks this transaction (on PostgreSQL it is aborted) with a driver error the
            # unit of work classifies as a lost connection: it must run again, alone.
            raise sa.exc.OperationalError("SELECT 1", {}, Exception("server closed the connection"),
                                          connection_invalidated=True)
        return int(access.conn.execute(sa.text("SELECT 1")).scalar_one())

    with services.uow.request_snapshot():
        assert services.uow.read(root, flaky) == 1
        # The snapshot was ended by the failure; the next read opens a fresh one that works.
        assert services.uow.read(root, lambda access: int(
            access.conn.execute(sa.text("SELECT 2")).scalar_one())) == 2
    assert len(attempts) == 2
