"""A slow, obviously correct reference for the graph queries (``services.graph``).

It walks a :class:`~tests.reference.evaluator.Snapshot` in Python, with readability decided by
the reference permission evaluator, and applies the definitions of the graph module's docstring
literally: breadth-first search for neighbours, exhaustive enumeration for paths. It shares no
code with the service.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from tests.reference.evaluator import Reference, infix

FOREIGN_INFIXES = frozenset({"57u5n", "xvhdp", "dz642", "7fd4e", "2x53u", "fngyi", "bi6l4",
                             "oss07", "8i9sb", "d1hrv", "s0uqq", "7ekkf"})
NODE_INFIXES = frozenset({"tpzed", "j7d0g", "4zz18", "o0j2j"})


class GraphReference:
    """The graph a user sees: readable links whose two ends are readable objects."""

    def __init__(self, ref: Reference, user: str, link_classes: Iterable[str] = ()) -> None:
        self.ref = ref
        self.user = user
        classes = set(link_classes)
        snap = ref.snap
        self.edges: dict[str, tuple[str, str]] = {}
        for link in snap.links.values():
            if link.tail_uuid is None or link.head_uuid is None:
                continue
            if classes and link.link_class not in classes:
                continue
            if not ref.readable(user, link.uuid):
                continue
            if self.node(link.tail_uuid) and self.node(link.head_uuid):
                self.edges[link.uuid] = (link.tail_uuid, link.head_uuid)

    def node(self, uuid: str) -> bool:
        """An object that exists (or is of a foreign kind) and that the user may read."""
        kind = infix(uuid)
        snap = self.ref.snap
        if kind in FOREIGN_INFIXES:
            return self.ref.readable(self.user, uuid)
        exists = any(uuid in table for table in (snap.users, snap.groups, snap.collections,
                                                 snap.links))
        return kind in NODE_INFIXES and exists and self.ref.readable(self.user, uuid)

    def steps(self, node: str, direction: str) -> list[tuple[str, str]]:
        """(link, other end) of every edge a walk at ``node`` may follow."""
        found = []
        for link, (tail, head) in self.edges.items():
            if direction in ("out", "both") and tail == node:
                found.append((link, head))
            elif direction in ("in", "both") and head == node:
                found.append((link, tail))
        return found

    def neighbours(self, start: str, depth: int, direction: str, limit: int
                   ) -> tuple[dict[str, int], set[str], bool]:
        """(node → distance, edge uuids, truncated), as the service defines them."""
        distance = {start: 0}
        queue = deque([start])
        while queue:
            node = queue.popleft()
            if distance[node] >= depth:
                continue
            for _link, other in self.steps(node, direction):
                if other not in distance:
                    distance[other] = distance[node] + 1
                    queue.append(other)
        ordered = sorted(distance, key=lambda n: (distance[n], n))
        kept = {n: distance[n] for n in ordered[:limit]}
        inner = {n for n, d in kept.items() if d < depth}
        edges = set()
        for link, (tail, head) in self.edges.items():
            out = tail in inner and head in kept
            back = head in inner and tail in kept
            if (direction == "out" and out) or (direction == "in" and back) or (
                    direction == "both" and (out or back)):
                edges.add(link)
        return kept, edges, len(ordered) > limit

    def paths(self, source: str, target: str, max_depth: int, direction: str
              ) -> list[tuple[list[str], list[str]]]:
        """Every simple path, ordered as the service orders them (length, objects, links)."""
        found: list[tuple[list[str], list[str]]] = []

        def grow(nodes: list[str], links: list[str]) -> None:
            if nodes[-1] == target:
                found.append((list(nodes), list(links)))
                return
            if len(links) == max_depth:
                return
            for link, other in self.steps(nodes[-1], direction):
                if other not in nodes:
                    grow([*nodes, other], [*links, link])

        grow([source], [])
        return sorted(found, key=lambda p: (len(p[1]), ">".join(p[0]), ">".join(p[1])))
