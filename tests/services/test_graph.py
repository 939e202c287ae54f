"""Graph queries against the Python reference (``tests/reference/graph.py``), on both backends.

Random worlds are built through the services (users, roles, nested projects, collections, a
foreign object, grants and links of several classes owned by different users), then, for every
user and a sample of start objects, every depth, direction and a class filter, the service's
neighbourhood and paths must equal what the reference computes from the stored rows alone.
Directed cases pin the bounds (422) and that nothing unreadable leaks (404, hidden middles).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest
from tests.reference.evaluator import Reference, Snapshot
from tests.reference.graph import GraphReference
from tests.services.test_permissions_property import FOREIGN, SYSTEM, WK, caller_for, snapshot

from linkbase.bootstrap import prepare_database
from linkbase.domain.errors import InvalidArgumentError, NotFoundError
from linkbase.services import collections, graph, groups, links, users
from linkbase.services.context import Caller, Services
from linkbase.services.permissions import Access
from linkbase.settings import Settings

CLASSES = ("relation", "tag", "star", "permission")


@pytest.fixture
def services(database_url: str) -> Iterator[Services]:
    settings = Settings(database_url=database_url)
    svc = Services(prepare_database(settings), settings)
    yield svc
    svc.db.dispose()


def _write(svc: Services, fn: Any, *args: Any, caller: Caller = SYSTEM, **kwargs: Any) -> Any:
    return svc.uow.write(caller, fn, *args, **kwargs)


def build_world(svc: Services, seed: int) -> None:
    """A small random world: every object kind, nested projects, grants, links of each class."""
    rnd = random.Random(seed)
    people = [_write(svc, users.create_user, {"email": f"u{i}@example.com"})["uuid"]
              for i in range(4)]
    roles = [_write(svc, groups.create_group, {"group_class": "role", "name": f"role{i}",
                                               "owner_uuid": people[i]})["uuid"]
             for i in range(2)]
    projects: list[str] = []
    for i in range(5):
        owner = rnd.choice(people + projects)
        projects.append(_write(svc, groups.create_group, {
            "group_class": "project", "name": f"p{i}", "owner_uuid": owner})["uuid"])
    colls = [_write(svc, collections.create_collection, {
        "name": f"c{i}", "owner_uuid": rnd.choice(projects + people)})["uuid"] for i in range(7)]
    for _ in range(6):
        _write(svc, links.create_link, {
            "link_class": "permission", "name": rnd.choice(("can_read", "can_write", "can_manage")),
            "tail_uuid": rnd.choice(people + roles),
            "head_uuid": rnd.choice(roles + projects + colls + [FOREIGN])})
    things = people + roles + projects + colls + [FOREIGN]
    made: list[str] = []
    for _ in range(30):
        tail, head = rnd.choice(things + made), rnd.choice(things + made)
        cls = rnd.choice(CLASSES[:3])
        made.append(_write(svc, links.create_link, {
            "link_class": cls, "name": rnd.choice(("x", "y", None)), "tail_uuid": tail,
            "head_uuid": head, "owner_uuid": rnd.choice(people + projects)})["uuid"])
    # a tag without a tail: never an edge
    _write(svc, links.create_link, {"link_class": "tag", "name": "t", "head_uuid": colls[0]})


def _snapshot(svc: Services) -> tuple[Snapshot, Reference]:
    with svc.db.read() as conn:
        snap = snapshot(conn)
    return snap, Reference(snap)


def _readable_starts(ref: Reference, snap: Snapshot, user: str, rnd: random.Random,
                     count: int) -> list[str]:
    candidates = sorted(u for u in [*snap.users, *snap.groups, *snap.collections, *snap.links,
                                    FOREIGN] if ref.readable(user, u))
    return rnd.sample(candidates, min(count, len(candidates)))


@pytest.mark.parametrize("seed", [1, 2])
def test_neighbours_and_paths_match_the_reference(services: Services, seed: int) -> None:
    build_world(services, seed)
    snap, ref = _snapshot(services)
    rnd = random.Random(seed * 31)
    checked = 0
    for user in snap.users.values():
        if not user.is_active:
            continue
        caller = caller_for(user)
        starts = _readable_starts(ref, snap, user.uuid, rnd, 3)
        for start in starts:
            for direction in graph.DIRECTIONS:
                classes: tuple[str, ...] = rnd.choice(((), (), ("relation", "permission")))
                expected_graph = GraphReference(ref, user.uuid, classes)
                for depth in (1, 2, 3):
                    limit = rnd.choice((200, 3))
                    got = graph.neighbourhood(services, caller, start, depth=depth,
                                              direction=direction, link_classes=classes,
                                              limit=limit)
                    nodes, edges, truncated = expected_graph.neighbours(start, depth, direction,
                                                                        limit)
                    where = (user.uuid, start, direction, classes, depth, limit)
                    assert {n["uuid"]: n["depth"] for n in got.nodes} == nodes, where
                    assert {e["uuid"] for e in got.edges} == edges, where
                    assert got.truncated == truncated, where
                    checked += 1
        for source, target in zip(starts, reversed(starts), strict=True):
            for max_depth in (1, 2, 4):
                direction = rnd.choice(graph.DIRECTIONS)
                got_paths = graph.find_paths(services, caller, source, target,
                                             max_depth=max_depth, direction=direction, limit=50)
                expected = GraphReference(ref, user.uuid).paths(source, target, max_depth,
                                                                direction)
                where = (user.uuid, source, target, max_depth, direction)
                assert [(p["nodes"], p["links"]) for p in got_paths.paths] == expected[:50], where
                assert got_paths.truncated == (len(expected) > 50), where
                named = {n["uuid"] for n in got_paths.nodes}
                assert named == {n for p in expected[:50] for n in p[0]}, where
    assert checked > 50  # guards vacuity: the worlds have readable starts


def _as(svc: Services, uuid: str) -> Caller:
    return Caller(uuid=uuid, is_admin=False, is_active=True)


def test_a_hidden_object_is_neither_shown_nor_walked_through(services: Services) -> None:
    """a -> hidden -> b: a reader of a and b but not of the middle sees no path and no edge."""
    alice = _write(services, users.create_user, {"email": "alice@example.com"})["uuid"]
    bob = _write(services, users.create_user, {"email": "bob@example.com"})["uuid"]
    mine = _write(services, groups.create_group, {"group_class": "project", "name": "mine",
                                                  "owner_uuid": alice})["uuid"]
    theirs = _write(services, groups.create_group, {"group_class": "project", "name": "theirs",
                                                    "owner_uuid": bob})["uuid"]
    a, b = (_write(services, collections.create_collection, {"name": n, "owner_uuid": mine})
            ["uuid"] for n in ("a", "b"))
    hidden = _write(services, collections.create_collection, {"name": "hidden",
                                                              "owner_uuid": theirs})["uuid"]
    for tail, head in ((a, hidden), (hidden, b)):
        _write(services, links.create_link, {"link_class": "relation", "tail_uuid": tail,
                                             "head_uuid": head, "owner_uuid": mine})
    caller = _as(services, alice)
    around = graph.neighbourhood(services, caller, a, depth=3)
    assert {n["uuid"] for n in around.nodes} == {a}
    assert around.edges == []
    assert graph.find_paths(services, caller, a, b, max_depth=4).paths == []
    with pytest.raises(NotFoundError):
        graph.neighbourhood(services, caller, hidden)
    with pytest.raises(NotFoundError):
        graph.find_paths(services, caller, a, hidden)
    admin_view = graph.find_paths(services, SYSTEM, a, b, max_depth=2)
    assert [p["nodes"] for p in admin_view.paths] == [[a, hidden, b]]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"depth": 0}, "depth"), ({"depth": 4}, "depth"), ({"limit": 0}, "limit"),
    ({"limit": graph.MAX_NODES + 1}, "limit"), ({"direction": "up"}, "direction"),
    ({"link_classes": [""]}, "link_class"),
])
def test_bounds_are_refused(services: Services, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        graph.neighbourhood(services, SYSTEM, WK.all_users, **kwargs)


def test_not_a_node_uuid_is_refused_and_tokens_are_not_nodes(services: Services) -> None:
    with pytest.raises(InvalidArgumentError):
        graph.neighbourhood(services, SYSTEM, "not-a-uuid")
    with pytest.raises(NotFoundError):
        graph.neighbourhood(services, SYSTEM, WK.system_root_token)
    with pytest.raises(InvalidArgumentError, match="max_depth"):
        graph.find_paths(services, SYSTEM, WK.all_users, WK.system_user, max_depth=5)


def test_a_walk_over_the_visit_budget_is_refused(services: Services,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """More (object, distance) pairs than the budget: 422, never a partial answer."""
    hub = _write(services, groups.create_group, {"group_class": "project", "name": "hub"})
    spokes = [_write(services, collections.create_collection, {
        "name": f"s{i}", "owner_uuid": hub["uuid"]})["uuid"] for i in range(6)]
    for spoke in spokes:
        _write(services, links.create_link, {"link_class": "relation", "tail_uuid": hub["uuid"],
                                             "head_uuid": spoke})
    monkeypatch.setattr(graph, "MAX_VISITS", 4)
    with pytest.raises(InvalidArgumentError, match="too large"):
        graph.neighbourhood(services, SYSTEM, hub["uuid"], depth=2)
    with pytest.raises(InvalidArgumentError, match="too large"):
        graph.find_paths(services, SYSTEM, spokes[0], spokes[1], max_depth=3)
    monkeypatch.setattr(graph, "MAX_VISITS", 100)
    assert len(graph.neighbourhood(services, SYSTEM, hub["uuid"], depth=2).nodes) == 7


def test_describe_reads_through_permissions(services: Services) -> None:
    """Names come only for readable objects (the graph's node labels use the same code)."""
    from linkbase.services.describe import describe_many

    alice = _write(services, users.create_user, {"email": "alice@example.com",
                                                 "first_name": "Alice"})["uuid"]
    secret = _write(services, groups.create_group, {"group_class": "project",
                                                    "name": "secret"})["uuid"]
    found = describe_many(services, _as(services, alice), [alice, secret, WK.all_users])
    assert [(f["uuid"], f["name"]) for f in found] == [(alice, "Alice"),
                                                       (WK.all_users, "All users")]
    with services.db.read() as conn:
        assert Access(conn, SYSTEM, WK).readable_reference(secret)
