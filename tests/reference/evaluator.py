"""A slow, obviously correct reference for the permission model (spec §4.3, §4.4, §5.3).

It shares no code with the engine on purpose: it knows nothing of the closure table, the edge
table or ``linkbase`` at all. It takes a plain snapshot of the stored objects and evaluates the
spec's definitions literally, walk by walk, so a disagreement with the engine is a bug in one of
the two and the spec decides which.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

USER_INFIX = "tpzed"
GROUP_INFIX = "j7d0g"
COLLECTION_INFIX = "4zz18"
LINK_INFIX = "o0j2j"

_LEVELS = {"can_read": 1, "can_write": 2, "can_manage": 3, "can_login": 1}
LEVEL_NAMES = {0: "none", 1: "can_read", 2: "can_write", 3: "can_manage"}


def infix(uuid: str | None) -> str | None:
    """Characters 7–11 of a well-formed uuid (cheap shape check, enough for the snapshot)."""
    if uuid is None or len(uuid) != 27 or uuid[5] != "-" or uuid[11] != "-":
        return None
    return uuid[6:11]


@dataclass(frozen=True)
class User:
    uuid: str
    is_admin: bool
    is_active: bool
    owner_uuid: str | None


@dataclass(frozen=True)
class Group:
    uuid: str
    group_class: str
    owner_uuid: str | None


@dataclass(frozen=True)
class Collection:
    uuid: str
    owner_uuid: str | None


@dataclass(frozen=True)
class Link:
    uuid: str
    link_class: str | None
    name: str | None
    head_uuid: str | None
    tail_uuid: str | None
    owner_uuid: str | None


@dataclass
class Snapshot:
    """Every stored object that matters to permissions, by uuid."""

    users: dict[str, User] = field(default_factory=dict)
    groups: dict[str, Group] = field(default_factory=dict)
    collections: dict[str, Collection] = field(default_factory=dict)
    links: dict[str, Link] = field(default_factory=dict)

    def owner_of(self, uuid: str) -> str | None:
        """The owner of a stored object (None for foreign kinds and strings)."""
        for table in (self.users, self.groups, self.collections, self.links):
            obj = table.get(uuid)
            if obj is not None:
                return obj.owner_uuid
        return None


class Reference:
    """The spec's definitions over one snapshot, memoised per principal."""

    def __init__(self, snap: Snapshot) -> None:
        self.snap = snap
        # §4.3 edges: tail -> list of (head, level)
        self.edges: dict[str, list[tuple[str, int]]] = {}
        for obj in [*snap.groups.values(), *snap.users.values()]:
            if obj.owner_uuid is not None:
                self._edge(obj.owner_uuid, obj.uuid, 3)
        for user in snap.users.values():
            self._edge(user.uuid, user.uuid, 3)
        for link in snap.links.values():
            if link.link_class == "permission" and link.tail_uuid and link.head_uuid:
                level = _LEVELS.get(link.name or "", 0)
                if level > 0:
                    self._edge(link.tail_uuid, link.head_uuid, level)
        self._mp: dict[str, dict[str, tuple[int, bool]]] = {}

    def _edge(self, tail: str, head: str, level: int) -> None:
        self.edges.setdefault(tail, []).append((head, level))

    # -- §4.3 ------------------------------------------------------------------------------

    def mp(self, principal: str) -> dict[str, tuple[int, bool]]:
        """``MP(principal, T)`` for every T: (max walk level, any walk with traverse_owned)."""
        if principal in self._mp:
            return self._mp[principal]
        best: dict[str, tuple[int, bool]] = {principal: (3, True)}
        # Walk states (node, level so far); a state is expanded once. Since the level only
        # decreases along a walk, exploring every (node, level) pair covers every walk.
        seen = {(principal, 3)}
        queue = deque([(principal, 3)])
        while queue:
            node, level = queue.popleft()
            if not (node == principal or infix(node) == GROUP_INFIX):
                continue
            for head, edge_level in self.edges.get(node, []):
                walk_level = min(level, edge_level)
                if walk_level <= 0:
                    continue
                flag = infix(head) == GROUP_INFIX or (infix(head) == USER_INFIX
                                                      and edge_level == 3)
                old_level, old_flag = best.get(head, (0, False))
                best[head] = (max(old_level, walk_level), old_flag or flag)
                if (head, walk_level) not in seen:
                    seen.add((head, walk_level))
                    queue.append((head, walk_level))
        self._mp[principal] = best
        return best

    def mp_of(self, principal: str, target: str) -> tuple[int, bool]:
        return self.mp(principal).get(target, (0, False))

    # -- §4.4 ------------------------------------------------------------------------------

    def users_set(self, user: str, level: int) -> set[str]:
        """``USERS(U, L)``: users B with MP(U,B).level >= L and traverse_owned (always U)."""
        found = {user}
        for target, (lvl, flag) in self.mp(user).items():
            if infix(target) == USER_INFIX and lvl >= level and flag:
                found.add(target)
        return found

    def has(self, user: str, level: int, target: str) -> bool:
        return any(self.mp_of(b, target)[0] >= level for b in self.users_set(user, level))

    def via_owner(self, user: str, level: int, owner: str | None) -> bool:
        if owner is None:
            return False
        for b in self.users_set(user, level):
            lvl, flag = self.mp_of(b, owner)
            if lvl >= level and flag:
                return True
        return False

    def is_admin(self, user: str) -> bool:
        u = self.snap.users.get(user)
        return bool(u and u.is_admin)

    def is_active(self, user: str) -> bool:
        u = self.snap.users.get(user)
        return bool(u and u.is_active)

    def can(self, user: str, level: int, target: str) -> bool:
        """``can(U, L, X)`` for any object X (stored, foreign or arbitrary)."""
        if self.is_admin(user) or target == user:
            return True
        return self.has(user, level, target) or self.via_owner(
            user, level, self.snap.owner_of(target)
        )

    def level(self, user: str, target: str) -> int:
        """The highest L with ``can(U, L, X)`` (0 for none)."""
        for lvl in (3, 2, 1):
            if self.can(user, lvl, target):
                return lvl
        return 0

    def readable(self, user: str, target: str) -> bool:
        """``readable(U, X)`` for a stored object or foreign uuid (§4.4, §5.3)."""
        if self.is_admin(user):
            return True
        group = self.snap.groups.get(target)
        if group is not None:
            return self.has(user, 1, target) or (
                group.group_class == "role" and self.is_active(user)
            )
        link = self.snap.links.get(target)
        if link is not None and link.link_class == "permission":
            return self.permission_link_visible(user, link)
        return self.can(user, 1, target)

    def permission_link_visible(self, user: str, link: Link) -> bool:
        """§5.3: an end in USERS(U, 1), or manage on the head."""
        if self.is_admin(user):
            return True
        users = self.users_set(user, 1)
        if link.tail_uuid in users or link.head_uuid in users:
            return True
        return link.head_uuid is not None and self.can(user, 3, link.head_uuid)

    def visible(self, user: str, kind: str) -> set[str]:
        """The uuids of ``kind`` (links/groups/collections/users) the user's list shows."""
        table: dict[str, object] = {
            "links": self.snap.links, "groups": self.snap.groups,
            "collections": self.snap.collections, "users": self.snap.users,
        }[kind]  # type: ignore[assignment]
        return {uuid for uuid in table if self.readable(user, uuid)}

    def explain_level(self, user: str, target: str) -> str:
        """The level name the explain endpoint must report."""
        return LEVEL_NAMES[self.level(user, target)]
