"""Graph queries over links: an object's neighbourhood, and the paths between two objects.

**The graph.** Nodes are objects (users, groups, collections, links and foreign-kind uuids, spec
§2.1; API tokens are credentials and never nodes). Every link whose two ends are objects is an
edge ``tail -> head``. A caller sees the subgraph it may read: a link is an edge for it only if
it can read the link (spec §5.3) *and* both of its ends (spec §4.4), and a walk never passes
through anything else. So an answer names no unreadable object, and does not even reveal that a
hidden object connects two visible ones.

**Neighbours** of X within ``depth`` hops: the readable objects reached from X by walks of at
most ``depth`` edges (followed tail to head for ``out``, head to tail for ``in``, either way for
``both``; optionally only links of some classes), each with its distance, and every edge leaving
a returned node at distance below ``depth`` towards another returned node. Nodes are returned
nearest first, then by uuid; at most ``limit`` of them (``truncated`` says when more exist).

**Paths** from A to B: every simple path (no object twice) of at most ``max_depth`` edges, shortest
first, then in the order of their uuids; at most ``limit`` of them.

**How.** Each answer is a few statements: one recursive CTE walks the links through the
``(tail_uuid, link_class)`` / ``(head_uuid, link_class)`` indexes, applying the caller's link and
object visibility at every step (the caller's permission sets are computed once per statement, as
CTEs); one query reads the edges among the nodes found; one describes them. Paths first walk
backwards from B to learn each object's distance to B, then extend paths from A only through
objects close enough to B to finish in time.

**Bounds** (documented in the README and the API description): ``depth`` and ``max_depth`` are
1–:data:`MAX_DEPTH`, ``limit`` 1–:data:`MAX_NODES` (nodes) or 1–:data:`MAX_PATHS` (paths);
anything else is an :class:`InvalidArgumentError` (422). A walk that would visit more than
:data:`MAX_VISITS` (object, distance) pairs is refused the same way rather than answered slowly:
the caller narrows it with ``link_class``, ``direction`` or a smaller depth.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from linkbase.domain import uuids
from linkbase.domain.errors import InvalidArgumentError, NotFoundError
from linkbase.domain.resources import RESOURCES
from linkbase.services.context import Caller, Services
from linkbase.services.describe import describe
from linkbase.services.permissions import TABLE_BY_RESOURCE, Access, VisibilitySets, is_kind
from linkbase.storage import tables
from linkbase.storage.engine import plan_without_jit
from linkbase.storage.filters import CodePoint

Direction = Literal["out", "in", "both"]
DIRECTIONS: tuple[Direction, ...] = ("out", "in", "both")

#: Largest ``depth`` / ``max_depth``.
MAX_DEPTH = 3
MAX_PATH_DEPTH = 4
#: Largest ``limit`` of a neighbours query (nodes) and its default.
MAX_NODES = 1000
DEFAULT_NODES = 200
#: Largest ``limit`` of a paths query and its default.
MAX_PATHS = 100
DEFAULT_PATHS = 10
#: Most edges returned with the nodes of a neighbourhood (``truncated`` beyond).
MAX_EDGES = 5000
#: Most (object, distance) pairs or partial paths one walk may produce before it is refused.
MAX_VISITS = 100_000
#: Most link classes in one filter.
MAX_CLASSES = 20

_links = tables.links
#: The kinds that may be nodes, with their tables (foreign kinds are handled apart).
_NODE_RESOURCES = ("users", "groups", "collections", "links")
_SEP = ">"


@dataclass(frozen=True)
class Scope:
    """Which links a walk follows: the direction and, optionally, only some classes."""

    direction: Direction = "both"
    link_classes: tuple[str, ...] = ()

    def reversed(self) -> Scope:
        """The same links followed the other way (walking back from a path's end)."""
        flipped: dict[Direction, Direction] = {"out": "in", "in": "out", "both": "both"}
        return Scope(flipped[self.direction], self.link_classes)


@dataclass
class Neighbourhood:
    """The answer to a neighbours query."""

    root: str
    depth: int
    scope: Scope
    nodes: list[dict[str, Any]] = field(default_factory=list)
    edges: list[dict[str, Any]] = field(default_factory=list)
    truncated: bool = False

    def as_dict(self) -> dict[str, Any]:
        """The wire form of the native endpoint."""
        return {"root": self.root, "depth": self.depth, "direction": self.scope.direction,
                "link_classes": list(self.scope.link_classes), "nodes": self.nodes,
                "edges": self.edges, "truncated": self.truncated}


@dataclass
class Paths:
    """The answer to a paths query: each path lists its objects and the links between them."""

    source: str
    target: str
    max_depth: int
    scope: Scope
    paths: list[dict[str, list[str]]] = field(default_factory=list)
    nodes: list[dict[str, Any]] = field(default_factory=list)
    edges: list[dict[str, Any]] = field(default_factory=list)
    truncated: bool = False

    def as_dict(self) -> dict[str, Any]:
        """The wire form of the native endpoint."""
        return {"from": self.source, "to": self.target, "max_depth": self.max_depth,
                "direction": self.scope.direction, "link_classes": list(self.scope.link_classes),
                "paths": self.paths, "nodes": self.nodes, "edges": self.edges,
                "truncated": self.truncated}


# -- checking the request ----------------------------------------------------------------------


def check_scope(direction: str | None, link_classes: Sequence[str] | None) -> Scope:
    """A :class:`Scope` from request values (InvalidArgumentError when malformed)."""
    direction = direction or "both"
    if direction not in DIRECTIONS:
        raise InvalidArgumentError("direction must be one of 'in', 'out', 'both'")
    classes = tuple(dict.fromkeys(link_classes or ()))
    if len(classes) > MAX_CLASSES:
        raise InvalidArgumentError(f"At most {MAX_CLASSES} link classes")
    if any(not isinstance(c, str) or not c or len(c) > 255 for c in classes):
        raise InvalidArgumentError("link_class must be a non-empty string")
    return Scope(direction, classes)


def check_bound(value: int | None, name: str, default: int, maximum: int) -> int:
    """``value`` (or ``default``) if it is within 1..``maximum``; InvalidArgumentError else."""
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
        raise InvalidArgumentError(f"{name} must be an integer from 1 to {maximum}")
    return value


def _start(access: Access, uuid: str, name: str) -> str:
    """A readable object to start from (422 if not a node uuid, 404 if not readable)."""
    infix = uuids.infix_of(uuid)
    if infix is None or infix not in uuids.KIND_BY_INFIX:
        raise InvalidArgumentError(f"{name} must be an object uuid")
    if infix == uuids.TOKEN or not access.readable_reference(uuid):
        raise NotFoundError()
    return uuid


# -- the SQL building blocks -------------------------------------------------------------------


class _Filters:
    """The caller's link and object visibility, as clauses over columns of one statement."""

    def __init__(self, access: Access, scope: Scope) -> None:
        plan_without_jit(access.conn)
        self.access = access
        self.scope = scope
        self.admin = access.caller.is_admin
        self.sets: VisibilitySets | None = (
            None if self.admin else access.visibility_sets(as_ctes=True)
        )

    def link(self, link: sa.FromClause) -> list[ColumnElement[bool]]:
        """The link is one the walk may follow: of a wanted class and readable."""
        clauses: list[ColumnElement[bool]] = [link.c.tail_uuid.is_not(None),
                                              link.c.head_uuid.is_not(None)]
        if self.scope.link_classes:
            clauses.append(link.c.link_class.in_(self.scope.link_classes))
        visible = self.access.readable_clause(RESOURCES["links"], link, self.sets)
        if visible is not None:
            clauses.append(visible)
        return clauses

    def node(self, node: ColumnElement[Any]) -> ColumnElement[bool]:
        """``node`` names an object the caller may read (existing, of a node kind)."""
        arms: list[ColumnElement[bool]] = []
        for name in _NODE_RESOURCES:
            table = TABLE_BY_RESOURCE[name].alias(f"node_{name}")
            row = [table.c.uuid == node]
            visible = self.access.readable_clause(RESOURCES[name], table, self.sets)
            if visible is not None:
                row.append(visible)
            arms.append(sa.and_(is_kind(node, RESOURCES[name].infix),
                                sa.exists(sa.select(sa.literal(1)).select_from(table).where(*row))))
        foreign = sa.and_(sa.func.length(node) == 27,
                          sa.func.substr(node, 7, 5).in_(sorted(uuids.FOREIGN_KINDS)))
        if not self.admin:
            assert self.sets is not None
            foreign = sa.and_(foreign, node.in_(self.sets.has_read))
        arms.append(foreign)
        return sa.or_(*arms)


def _step(walk: Any, scope: Scope) -> tuple[ColumnElement[bool], ColumnElement[Any]]:
    """How a walk at ``walk.c.node`` joins the links it may follow, and the object reached."""
    if scope.direction == "out":
        return _links.c.tail_uuid == walk.c.node, _links.c.head_uuid
    if scope.direction == "in":
        return _links.c.head_uuid == walk.c.node, _links.c.tail_uuid
    other = sa.case((_links.c.tail_uuid == walk.c.node, _links.c.head_uuid),
                    else_=_links.c.tail_uuid)
    return sa.or_(_links.c.tail_uuid == walk.c.node, _links.c.head_uuid == walk.c.node), other


def _reach(filters: _Filters, scope: Scope, start: str, depth: int, name: str) -> Any:
    """A recursive CTE of the (object, distance) pairs walks from ``start`` produce.

    UNION (not UNION ALL) keeps one row per pair, so the recursion is finite on cycles.
    """
    walk = sa.select(
        sa.cast(sa.literal(start), tables.Reference).label("node"),
        sa.literal_column("0", sa.Integer).label("depth"),
    ).cte(name, recursive=True)
    join_on, other = _step(walk, scope)
    step = (
        sa.select(sa.cast(other, tables.Reference).label("node"),
                  (walk.c.depth + 1).label("depth"))
        .select_from(walk.join(_links, join_on))
        .where(walk.c.depth < depth, *filters.link(_links), filters.node(other))
    )
    return walk.union(step)


def _too_large(what: str) -> InvalidArgumentError:
    return InvalidArgumentError(
        f"The {what} is too large: more than {MAX_VISITS} steps. Narrow it with link_class, "
        "direction or a smaller depth"
    )


def _edge(row: Any) -> dict[str, Any]:
    return {"uuid": row.uuid, "link_class": row.link_class, "name": row.name,
            "tail_uuid": row.tail_uuid, "head_uuid": row.head_uuid}


# -- neighbours --------------------------------------------------------------------------------


def neighbours(access: Access, uuid: str, depth: int, scope: Scope, limit: int) -> Neighbourhood:
    """The readable neighbourhood of ``uuid`` (see the module docstring)."""
    start = _start(access, uuid, "uuid")
    filters = _Filters(access, scope)
    walk = _reach(filters, scope, start, depth, "graph_walk")
    visits = sa.select(walk.c.node, walk.c.depth).limit(MAX_VISITS + 1).subquery("visits")
    best = (
        sa.select(visits.c.node, sa.func.min(visits.c.depth).label("depth"),
                  sa.func.count().label("seen"))
        .group_by(visits.c.node).subquery("best")
    )
    query = (
        sa.select(best.c.node, best.c.depth, sa.func.sum(best.c.seen).over().label("visits"))
        .order_by(best.c.depth, CodePoint(best.c.node)).limit(limit + 1)
    )
    rows = list(access.conn.execute(query))
    if rows and int(rows[0].visits) > MAX_VISITS:
        raise _too_large("neighbourhood")
    result = Neighbourhood(start, depth, scope, truncated=len(rows) > limit)
    distance = {r.node: int(r.depth) for r in rows[:limit]}
    inner = sorted(n for n, d in distance.items() if d < depth)
    result.edges, more = _edges_among(access, filters, inner, sorted(distance))
    result.truncated = result.truncated or more
    described = describe(access, distance, check=False)
    result.nodes = [{**described.get(n, {"uuid": n, "kind": uuids.kind_of(n), "name": None}),
                     "depth": d} for n, d in distance.items()]
    return result


def _edges_among(access: Access, filters: _Filters, inner: list[str], nodes: list[str]
                 ) -> tuple[list[dict[str, Any]], bool]:
    """Followable links from an ``inner`` node to a node of ``nodes``, by uuid."""
    if not inner:
        return [], False
    link = _links
    out = sa.and_(link.c.tail_uuid.in_(inner), link.c.head_uuid.in_(nodes))
    back = sa.and_(link.c.head_uuid.in_(inner), link.c.tail_uuid.in_(nodes))
    where = {"out": out, "in": back, "both": sa.or_(out, back)}[filters.scope.direction]
    query = (
        sa.select(link.c.uuid, link.c.link_class, link.c.name, link.c.tail_uuid,
                  link.c.head_uuid)
        .where(where, *filters.link(link)).order_by(CodePoint(link.c.uuid))
        .limit(MAX_EDGES + 1)
    )
    rows = list(access.conn.execute(query))
    return [_edge(r) for r in rows[:MAX_EDGES]], len(rows) > MAX_EDGES


# -- paths -------------------------------------------------------------------------------------


def paths(access: Access, source: str, target: str, max_depth: int, scope: Scope,
          limit: int) -> Paths:
    """The simple paths from ``source`` to ``target`` (see the module docstring)."""
    start = _start(access, source, "from")
    end = _start(access, target, "to")
    result = Paths(start, end, max_depth, scope)
    if start == end:
        result.paths = [{"nodes": [start], "links": []}]
        result.nodes = list(describe(access, [start], check=False).values())
        return result
    filters = _Filters(access, scope)
    # 1. How far each object is from the end, walking back (refused if too large to tell).
    back = _reach(filters, scope.reversed(), end, max_depth - 1, "graph_back")
    seen = access.conn.execute(
        sa.select(sa.func.count()).select_from(
            sa.select(back.c.node).limit(MAX_VISITS + 1).subquery())
    ).scalar_one()
    if int(seen) > MAX_VISITS:
        raise _too_large("search")
    rows = _extend(access, filters, scope, start, end, max_depth, back, limit)
    if rows and int(rows[0].visits) > MAX_VISITS:
        raise _too_large("search")
    result.truncated = len(rows) > limit
    link_ids: set[str] = set()
    node_ids: set[str] = set()
    for row in rows[:limit]:
        nodes = row.nodes.split(_SEP)
        links = row.links.split(_SEP) if row.links else []
        node_ids.update(nodes)
        link_ids.update(links)
        result.paths.append({"nodes": nodes, "links": links})
    described = describe(access, node_ids, check=False)
    result.nodes = [described[n] for n in sorted(node_ids) if n in described]
    if link_ids:
        edge_rows = access.conn.execute(
            sa.select(_links.c.uuid, _links.c.link_class, _links.c.name, _links.c.tail_uuid,
                      _links.c.head_uuid)
            .where(_links.c.uuid.in_(sorted(link_ids))).order_by(CodePoint(_links.c.uuid)))
        result.edges = [_edge(r) for r in edge_rows]
    return result


def _extend(access: Access, filters: _Filters, scope: Scope, start: str, end: str,
            max_depth: int, back: Any, limit: int) -> list[Any]:
    """Paths from ``start`` grown one link at a time, only through objects from which ``end``
    is still reachable within the remaining length; the ones reaching ``end``, best first."""
    to_end = (
        sa.select(back.c.node, sa.func.min(back.c.depth).label("depth"))
        .group_by(back.c.node).cte("graph_to_end")
    )
    walk = sa.select(
        sa.cast(sa.literal(start), tables.Reference).label("node"),
        sa.literal_column("0", sa.Integer).label("length"),
        sa.cast(sa.literal(start), sa.Text).label("nodes"),
        sa.cast(sa.literal(""), sa.Text).label("links"),
    ).cte("graph_paths", recursive=True)
    join_on, other = _step(walk, scope)
    first = walk.c.length == 0
    step = (
        sa.select(
            sa.cast(other, tables.Reference).label("node"), (walk.c.length + 1).label("length"),
            sa.cast(walk.c.nodes + _SEP + other, sa.Text).label("nodes"),
            sa.cast(sa.case((first, _links.c.uuid), else_=walk.c.links + _SEP + _links.c.uuid),
                    sa.Text).label("links"),
        )
        .select_from(walk.join(_links, join_on).join(to_end, to_end.c.node == other))
        .where(
            walk.c.node != end, walk.c.length + 1 + to_end.c.depth <= max_depth,
            # uuids hold no LIKE wildcards; objects are separated by ``>``, so a match is a
            # whole uuid: the path already visits ``other``
            sa.not_(walk.c.nodes.like(sa.literal("%") + other + sa.literal("%"))),
            *filters.link(_links), filters.node(other),
        )
    )
    walk = walk.union_all(step)
    grown = (sa.select(walk.c.node, walk.c.length, walk.c.nodes, walk.c.links)
             .limit(MAX_VISITS + 1).subquery())
    counted = sa.select(grown, sa.func.count().over().label("visits")).subquery()
    query = (
        sa.select(counted.c.nodes, counted.c.links, counted.c.length, counted.c.visits)
        .where(counted.c.node == end)
        .order_by(counted.c.length, CodePoint(counted.c.nodes), CodePoint(counted.c.links))
        .limit(limit + 1)
    )
    rows = list(access.conn.execute(query))
    if not rows:  # the visit count rides on the rows that reached the end; check it apart
        total = access.conn.execute(sa.select(sa.func.count()).select_from(grown)).scalar_one()
        if int(total) > MAX_VISITS:
            raise _too_large("search")
    return rows


# -- use cases (one read snapshot each) --------------------------------------------------------


def neighbourhood(services: Services, caller: Caller, uuid: str, *, depth: int | None = None,
                  direction: str | None = None, link_classes: Sequence[str] | None = None,
                  limit: int | None = None) -> Neighbourhood:
    """Use case: :func:`neighbours` with checked bounds."""
    scope = check_scope(direction, link_classes)
    depth = check_bound(depth, "depth", 1, MAX_DEPTH)
    limit = check_bound(limit, "limit", DEFAULT_NODES, MAX_NODES)
    return services.uow.read(caller, neighbours, uuid, depth, scope, limit)


def find_paths(services: Services, caller: Caller, source: str, target: str, *,
               max_depth: int | None = None, direction: str | None = None,
               link_classes: Sequence[str] | None = None, limit: int | None = None) -> Paths:
    """Use case: :func:`paths` with checked bounds."""
    scope = check_scope(direction, link_classes)
    max_depth = check_bound(max_depth, "max_depth", MAX_DEPTH, MAX_PATH_DEPTH)
    limit = check_bound(limit, "limit", DEFAULT_PATHS, MAX_PATHS)
    return services.uow.read(caller, paths, source, target, max_depth, scope, limit)


__all__ = ["DIRECTIONS", "MAX_DEPTH", "MAX_EDGES", "MAX_NODES", "MAX_PATHS", "MAX_PATH_DEPTH",
           "MAX_VISITS", "Neighbourhood", "Paths", "Scope", "find_paths",
           "neighbourhood"]
