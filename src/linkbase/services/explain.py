"""Why does U have level L on X? One strongest path through the permission graph (spec §4.4).

The engine answers *whether*; this module answers *how*, for humans debugging a grant. It takes
the effective level from the engine (``Access.level_on``) and then reconstructs one path that
achieves it, using the same graph the group closure is built from (``permission_edges``):

    U --walk--> B (a user in USERS(U, L); the last edge has level 3, or B is U)
      B --walk--> X                       (has)
      or B --walk--> O --ownership--> X   (via_owner, O the owner of X)

Walks follow the spec's rule (only the start or a group is left), and each segment is a widest
path (max over walks of the weakest edge), found by a max-min Dijkstra that loads edges lazily,
so the cost grows with the part of the graph the principal can reach, not with the database.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from linkbase.domain import uuids
from linkbase.domain.errors import InvalidArgumentError, NotFoundError, PermissionDeniedError
from linkbase.domain.levels import NAME_BY_LEVEL, Level
from linkbase.services.context import Caller, Services
from linkbase.services.permissions import Access
from linkbase.storage import tables

_pe = tables.permission_edges


@dataclass(frozen=True)
class Step:
    """One edge of an explanation path."""

    kind: str  # "permission" | "ownership" | "self"
    tail_uuid: str
    head_uuid: str
    level: int
    link_uuid: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The wire form (``link_uuid`` only on permission steps)."""
        out: dict[str, Any] = {
            "kind": self.kind, "tail_uuid": self.tail_uuid, "head_uuid": self.head_uuid,
            "level": level_name(self.level),
        }
        if self.link_uuid is not None:
            out["link_uuid"] = self.link_uuid
        return out


@dataclass
class Explanation:
    """The effective level of ``user_uuid`` on ``target_uuid`` and one path granting it."""

    user_uuid: str
    target_uuid: str
    level: int
    path: list[Step] = field(default_factory=list)
    admin: bool = False

    def as_dict(self) -> dict[str, Any]:
        """The wire form of the native explain endpoint."""
        out: dict[str, Any] = {
            "user_uuid": self.user_uuid, "target_uuid": self.target_uuid,
            "level": level_name(self.level), "path": [s.as_dict() for s in self.path],
        }
        if self.admin:
            out["admin"] = True
        return out


def level_name(level: int) -> str:
    """``none`` or the permission name of a level."""
    return NAME_BY_LEVEL.get(Level(level), "none")


def _step_of(source: str, tail: str, head: str, level: int) -> Step:
    if uuids.infix_of(source) == uuids.LINK:
        return Step("permission", tail, head, level, source)
    return Step("ownership", tail, head, level)


class _Graph:
    """Lazy view of ``permission_edges``: out-edges loaded per node on first use."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._out: dict[str, list[tuple[str, str, int]]] = {}

    def out(self, node: str) -> list[tuple[str, str, int]]:
        """(source, head, level) of every edge leaving ``node``."""
        if node not in self._out:
            rows = self.conn.execute(
                sa.select(_pe.c.source_uuid, _pe.c.head_uuid, _pe.c.level).where(
                    _pe.c.tail_uuid == node, _pe.c.level > 0
                )
            )
            self._out[node] = [(r[0], r[1], int(r[2])) for r in rows]
        return self._out[node]

    def widest(self, start: str) -> dict[str, tuple[int, Step | None]]:
        """For every node reachable from ``start`` by a walk: (best width, last step)."""
        best: dict[str, tuple[int, Step | None]] = {start: (3, None)}
        heap: list[tuple[int, str]] = [(-3, start)]
        done: set[str] = set()
        while heap:
            negative, node = heapq.heappop(heap)
            if node in done:
                continue
            done.add(node)
            if node != start and uuids.infix_of(node) != uuids.GROUP:
                continue  # a walk never leaves another user or a terminal object
            width = -negative
            for source, head, level in self.out(node):
                w = min(width, level)
                if head == start or w <= best.get(head, (0, None))[0]:
                    continue
                best[head] = (w, _step_of(source, node, head, level))
                heapq.heappush(heap, (-w, head))
        return best

    @staticmethod
    def path_to(best: dict[str, tuple[int, Step | None]], start: str, target: str
                ) -> list[Step]:
        """Follow last-step pointers back from ``target`` to ``start``."""
        steps: list[Step] = []
        node = target
        while node != start:
            step = best[node][1]
            assert step is not None
            steps.append(step)
            node = step.tail_uuid
        return list(reversed(steps))


def _users_path(graph: _Graph, user: str, b: str) -> tuple[int, list[Step]]:
    """A walk ``user → b`` that puts ``b`` in USERS: its last edge has level 3."""
    if b == user:
        return 3, [Step("self", user, user, 3)]
    best = graph.widest(user)
    candidates: list[tuple[int, list[Step]]] = []
    for tail, (width, _step) in best.items():
        if tail != user and uuids.infix_of(tail) != uuids.GROUP:
            continue
        for source, head, level in graph.out(tail):
            if head == b and level == 3:
                steps = [*_Graph.path_to(best, user, tail), _step_of(source, tail, b, 3)]
                candidates.append((min(width, 3), steps))
    if candidates:
        return max(candidates, key=lambda c: c[0])
    width = best.get(b, (0, None))[0]
    return width, _Graph.path_to(best, user, b) if width else []


def explain(access: Access, subject: Caller, target: str) -> Explanation:
    """The explanation of ``subject``'s access to ``target`` (decisions from the engine)."""
    conn = access.conn
    subject_access = Access(conn, subject, access.wk)
    row = subject_access.lookup(target)
    owner = row.get("owner_uuid") if row else None
    level = int(subject_access.level_on(target, owner))
    result = Explanation(subject.uuid, target, level)
    if subject.is_admin:
        result.admin = True
        return result
    if target == subject.uuid:
        result.path = [Step("self", target, target, 3)]
        return result
    if level == 0:
        return result
    graph = _Graph(conn)
    # Candidates B: users in USERS(subject, level), straight from the engine.
    users = [r[0] for r in conn.execute(subject_access.users_of(Level(level)))]
    choices: list[tuple[int, list[Step]]] = []
    for b in sorted(set(users) | {subject.uuid}, key=lambda u: u != subject.uuid):
        best = graph.widest(b)
        tail: list[Step] | None = None
        width = best.get(target, (0, None))[0] if target != b else 3
        if width >= level:
            tail = _Graph.path_to(best, b, target)
        elif owner is not None:
            owner_width = 3 if owner == b else best.get(owner, (0, None))[0]
            last = best.get(owner, (0, None))[1]
            owner_traverses = owner == b or uuids.infix_of(owner) == uuids.GROUP or (
                last is not None and last.level == 3
            )
            if owner_width >= level and owner_traverses:
                into_owner = [] if owner == b else _Graph.path_to(best, b, owner)
                tail = [*into_owner, Step("ownership", owner, target, 3)]
        if tail is None:
            continue
        head_width, head = _users_path(graph, subject.uuid, b)
        if b == subject.uuid:
            head = []
        path = head + tail
        choices.append((min([head_width, *(s.level for s in path)]), path))
        if choices[-1][0] >= level:
            break
    if choices:
        result.path = max(choices, key=lambda c: c[0])[1]
    return result


def explain_request(access: Access, user_uuid: str, target_uuid: str) -> Explanation:
    """Checks of the explain endpoint, then :func:`explain`.

    Malformed uuids → 422; a target the caller cannot read → 404 (never 403, so the endpoint is
    no oracle); explaining someone else needs admin or manage on the target → 403; an unknown
    or unreadable subject user → 404.
    """
    for name, value in (("user", user_uuid), ("target", target_uuid)):
        if not uuids.is_uuid(value) or uuids.infix_of(value) not in uuids.KIND_BY_INFIX:
            raise InvalidArgumentError(f"Invalid uuid for {name}")
    if uuids.infix_of(user_uuid) != uuids.USER:
        raise InvalidArgumentError("user must be a user uuid")
    caller = access.caller
    if not access.readable_reference(target_uuid):
        raise NotFoundError()
    if user_uuid != caller.uuid and not (
        caller.is_admin or access.can_on_reference(Level.MANAGE, target_uuid)
    ):
        raise PermissionDeniedError("Forbidden")
    row = access.lookup(user_uuid)
    if row is None or not access.readable_row("users", row):
        raise NotFoundError()
    subject = Caller(uuid=user_uuid, is_admin=bool(row["is_admin"]),
                     is_active=bool(row["is_active"]))
    return explain(access, subject, target_uuid)


def explain_for(services: Services, caller: Caller, user_uuid: str,
                target_uuid: str) -> Explanation:
    """Use case: :func:`explain_request` in one read snapshot."""
    return services.uow.read(caller, explain_request, user_uuid, target_uuid)
