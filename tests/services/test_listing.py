"""Lists by cached plan (``services/listing.py``): the same pages as the statements built for
each request, for every caller, whatever caller or values the plan was first built with."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from tests.services.test_permissions_property import SYSTEM, WK

from linkbase.bootstrap import prepare_database
from linkbase.domain.query import build_list_query
from linkbase.domain.resources import RESOURCES
from linkbase.services import collections, groups, links, listing, users
from linkbase.services.context import Caller
from linkbase.services.listing import ListPage, list_records
from linkbase.services.permissions import Access
from linkbase.settings import Settings
from linkbase.storage.database import Database


@pytest.fixture
def world(database_url: str) -> Iterator[tuple[Database, dict[str, Caller]]]:
    """Three users: ``ann`` reads project p1 through a role, ``bob`` reads p2 directly,
    ``eve`` (inactive) nothing; tags and permission links between them."""
    database = prepare_database(Settings(database_url=database_url))

    def system(fn: Any) -> Any:
        with database.write() as conn:
            return fn(Access(conn, SYSTEM, WK))

    people = {name: system(lambda a, n=name: users.create_user(a, {"username": n}))
              for name in ("ann", "bob", "eve")}
    system(lambda a: users.update_user(a, people["eve"]["uuid"], {"is_active": False}))
    role = system(lambda a: groups.create_group(a, {"group_class": "role", "name": "readers"}))
    projects = [system(lambda a, i=i: groups.create_group(
        a, {"group_class": "project", "name": f"p{i}"})) for i in (1, 2)]
    for project in projects:
        for j in range(3):
            coll = system(lambda a, p=project, j=j: collections.create_collection(
                a, {"name": f"{p['name']}-c{j}", "owner_uuid": p["uuid"]}))
            system(lambda a, c=coll, j=j: links.create_link(a, {
                "link_class": "tag", "name": f"t{j}", "head_uuid": c["uuid"]}))

    def grant(tail: str, head: str, name: str = "can_read") -> None:
        system(lambda a: links.create_link(a, {
            "link_class": "permission", "name": name, "tail_uuid": tail, "head_uuid": head}))

    grant(people["ann"]["uuid"], role["uuid"])
    grant(role["uuid"], projects[0]["uuid"])
    grant(people["bob"]["uuid"], projects[1]["uuid"], "can_write")
    callers = {name: Caller(uuid=row["uuid"], is_admin=False, is_active=name != "eve",
                            username=name) for name, row in people.items()}
    callers["admin"] = SYSTEM
    yield database, callers
    database.dispose()


#: (resource, list parameters): shapes repeated with other values, nulls in lists, orders,
#: paging, no count, nothing fetched; and shapes that have no plan (patterns, kinds, JSON).
QUERIES: list[tuple[str, dict[str, Any]]] = [
    ("links", {}),
    ("links", {"filters": [["link_class", "=", "tag"]]}),
    ("links", {"filters": [["link_class", "=", "permission"]]}),
    ("links", {"filters": [["link_class", "!=", "tag"]], "order": ["name desc"]}),
    ("links", {"filters": [["name", "in", ["t0", "t2"]]], "limit": 2, "offset": 1}),
    ("links", {"filters": [["name", "in", ["t1", None, "can_read"]]]}),
    ("links", {"filters": [["name", "not in", [None, "t1"]]], "count": "none"}),
    ("links", {"filters": [["name", "not in", ["t1", "t2", "t0"]]], "limit": 0}),
    ("links", {"filters": [["name", ">=", "t1"], ["link_class", "=", "tag"]]}),
    ("collections", {}),
    ("collections", {"filters": [["name", "<", "p2"]], "order": ["name asc"]}),
    ("collections", {"filters": [["name", "<", "p1-c2"]], "order": ["name asc"]}),
    ("groups", {"filters": [["group_class", "=", "project"]]}),
    ("groups", {"filters": [["group_class", "=", "role"]]}),
    ("users", {}),
    ("users", {"filters": [["username", "=", "ann"]]}),
    ("users", {"filters": [["username", "=", "eve"]]}),
    ("links", {"filters": [["name", "like", "t%"]]}),
    ("collections", {"filters": [["owner_uuid", "is_a", "arvados#group"]]}),
    ("links", {"filters": [["properties", "exists", "x"]]}),
]
#: The queries above whose shape has a plan.
PLANNED = {i for i, (_, params) in enumerate(QUERIES)
           if not any(f[1] in ("like", "is_a", "exists") for f in params.get("filters", []))}


def _general(access: Access, kind: str, params: dict[str, Any]) -> ListPage:
    """The page from statements built for this request (an ``extra`` condition has no plan)."""
    return list_records(access, RESOURCES[kind], build_list_query(RESOURCES[kind], **params),
                        extra=sa.true())


@pytest.mark.parametrize("first", ["admin", "ann", "bob", "eve"])
def test_planned_lists_are_the_lists_built_for_each_request(
        world: tuple[Database, dict[str, Caller]], first: str) -> None:
    database, callers = world
    order = [first, *(name for name in callers if name != first)]  # who builds each plan
    listing._PLANS.clear()
    with database.read() as conn:
        for name in order:
            access = Access(conn, callers[name], WK)
            for index, (kind, params) in enumerate(QUERIES):
                query = build_list_query(RESOURCES[kind], **params)
                planned = listing._list_by_plan(access, RESOURCES[kind], query)
                assert (planned is not None) == (index in PLANNED), (kind, params)
                page = list_records(access, RESOURCES[kind], query)
                want = _general(access, kind, params)
                assert page.items == want.items, (name, kind, params)
                assert page.items_available == want.items_available, (name, kind, params)
                assert (page.limit, page.offset) == (want.limit, want.offset)


def test_a_plan_never_carries_its_first_callers_rows_to_the_next(
        world: tuple[Database, dict[str, Caller]]) -> None:
    database, callers = world
    listing._PLANS.clear()
    with database.read() as conn:
        seen = {}
        for name in ("ann", "bob", "eve"):
            page = list_records(Access(conn, callers[name], WK), RESOURCES["collections"],
                                build_list_query(RESOURCES["collections"], order=["name asc"]))
            seen[name] = [row["name"] for row in page.items]
    assert seen == {"ann": ["p1-c0", "p1-c1", "p1-c2"], "bob": ["p2-c0", "p2-c1", "p2-c2"],
                    "eve": []}
