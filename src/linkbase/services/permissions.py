"""The permission engine's query side: every access decision of the server goes through here.

Decisions read the materialized closure (``storage.closure`` keeps it current), so a check is one
indexed query and a permission-filtered list is the list query plus an indexed semi-join. The
formulas are spec §4.4:

* ``USERS(U, L)``: users B with ``MP(U, B).level >= L`` and ``MP(U, B).traverse_owned``;
* ``has(U, L, X)``: some B in ``USERS(U, L)`` has ``MP(B, X).level >= L``;
* ``via_owner(U, L, O)``: some B in ``USERS(U, L)`` has ``MP(B, O).level >= L`` and traverse_owned;
* ``can(U, L, X)``: admin, or X is U, or has, or via_owner of X's owner.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from linkbase.domain import uuids
from linkbase.domain.levels import Level
from linkbase.domain.resources import RESOURCE_BY_INFIX, Resource
from linkbase.domain.uuids import WellKnown
from linkbase.services.context import Caller
from linkbase.storage import tables

TABLE_BY_RESOURCE: dict[str, sa.Table] = {
    "links": tables.links,
    "users": tables.users,
    "groups": tables.groups,
    "collections": tables.collections,
    "api_client_authorizations": tables.api_client_authorizations,
}

_pc = tables.permission_closure


def table_of_uuid(uuid: str | None) -> sa.Table | None:
    """The table storing objects of this uuid's kind, or None (foreign kind or not a uuid)."""
    infix = uuids.infix_of(uuid)
    resource = RESOURCE_BY_INFIX.get(infix) if infix else None
    return TABLE_BY_RESOURCE[resource.name] if resource else None


class Access:
    """Permission decisions for one caller inside one transaction."""

    def __init__(self, conn: Connection, caller: Caller, well_known: WellKnown) -> None:
        self.conn = conn
        self.caller = caller
        self.wk = well_known

    # -- building blocks ---------------------------------------------------------------

    def users_of(self, level: Level) -> sa.Select[Any]:
        """``USERS(U, level)`` as a subquery of uuids (always contains U itself)."""
        return sa.select(_pc.c.target_uuid).where(
            _pc.c.principal_uuid == self.caller.uuid,
            _pc.c.level >= int(level),
            _pc.c.traverse_owned.is_(True),
            _pc.c.target_is_user.is_(True),
        )

    def _reach(self, level: Level, *, owned: bool) -> sa.Select[Any]:
        c1 = _pc.alias("c1")
        c2 = _pc.alias("c2")
        conditions = [
            c1.c.principal_uuid == self.caller.uuid,
            c1.c.level >= int(level),
            c1.c.traverse_owned.is_(True),
            c1.c.target_is_user.is_(True),
            c2.c.level >= int(level),
        ]
        if owned:
            conditions.append(c2.c.traverse_owned.is_(True))
        return (
            sa.select(c2.c.target_uuid)
            .select_from(c1.join(c2, c2.c.principal_uuid == c1.c.target_uuid))
            .where(*conditions)
        )

    def has_targets(self, level: Level) -> sa.Select[Any]:
        """Targets X with ``has(U, level, X)``."""
        return self._reach(level, owned=False)

    def owner_targets(self, level: Level) -> sa.Select[Any]:
        """Owners O with ``via_owner(U, level, O)``."""
        return self._reach(level, owned=True)

    # -- single-object decisions ---------------------------------------------------------

    def level_on(self, uuid: str, owner_uuid: str | None) -> Level:
        """The highest L with ``can(U, L, uuid)`` (admins and self: manage)."""
        if self.caller.is_admin or uuid == self.caller.uuid:
            return Level.MANAGE
        c1 = _pc.alias("c1")
        c2 = _pc.alias("c2")
        weakest = sa.case((c1.c.level < c2.c.level, c1.c.level), else_=c2.c.level)
        base = (
            sa.select(sa.func.max(weakest))
            .select_from(c1.join(c2, c2.c.principal_uuid == c1.c.target_uuid))
            .where(
                c1.c.principal_uuid == self.caller.uuid,
                c1.c.traverse_owned.is_(True),
                c1.c.target_is_user.is_(True),
            )
        )
        direct = base.where(c2.c.target_uuid == uuid).scalar_subquery()
        if owner_uuid is None:
            row = self.conn.execute(sa.select(direct)).one()
            return Level(row[0] or 0)
        owned = base.where(
            c2.c.target_uuid == owner_uuid, c2.c.traverse_owned.is_(True)
        ).scalar_subquery()
        row = self.conn.execute(sa.select(direct, owned)).one()
        return Level(max(row[0] or 0, row[1] or 0))

    def can(self, level: Level, uuid: str, owner_uuid: str | None) -> bool:
        """``can(U, level, uuid)`` for an object owned by ``owner_uuid``."""
        return self.level_on(uuid, owner_uuid) >= level

    def lookup(self, uuid: str | None) -> dict[str, Any] | None:
        """The stored row named by ``uuid`` (any stored kind), or None."""
        table = table_of_uuid(uuid)
        if table is None:
            return None
        row = self.conn.execute(sa.select(table).where(table.c.uuid == uuid)).first()
        return dict(row._mapping) if row is not None else None

    def readable_row(self, resource_name: str, row: dict[str, Any]) -> bool:
        """``readable(U, X)`` for a stored row of ``resource_name`` (spec §4.4, §5.3, §10)."""
        if self.caller.is_admin:
            return True
        uuid = row["uuid"]
        if resource_name == "api_client_authorizations":
            return bool(row["owner_uuid"] == self.caller.uuid)
        if resource_name == "groups":
            if row["group_class"] == "role" and self.caller.is_active:
                return True
            return self.level_on(uuid, None) >= Level.READ
        if resource_name == "links" and row["link_class"] == "permission":
            return self._permission_link_visible(row)
        return self.can(Level.READ, uuid, row.get("owner_uuid"))

    def _permission_link_visible(self, row: dict[str, Any]) -> bool:
        ends = [u for u in (row["tail_uuid"], row["head_uuid"]) if u is not None]
        if self.caller.uuid in ends:
            return True
        if ends:
            hit = self.conn.execute(
                self.users_of(Level.READ).where(_pc.c.target_uuid.in_(ends)).limit(1)
            ).first()
            if hit is not None:
                return True
        head = row["head_uuid"]
        return head is not None and self.can_on_reference(Level.MANAGE, head)

    def can_on_reference(self, level: Level, uuid: str) -> bool:
        """``can(U, level, X)`` for any reference: stored objects, foreign kinds, strings."""
        if self.caller.is_admin or uuid == self.caller.uuid:
            return True
        target = self.lookup(uuid)
        owner = target.get("owner_uuid") if target else None
        return self.can(level, uuid, owner)

    def readable_reference(self, uuid: str) -> bool:
        """Whether U may read the object ``uuid`` names (False if it does not exist).

        Foreign kinds exist implicitly and are readable through permission links only.
        """
        if uuids.is_foreign(uuid):
            return self.caller.is_admin or self.level_on(uuid, None) >= Level.READ
        table = table_of_uuid(uuid)
        if table is None:
            return False
        row = self.lookup(uuid)
        if row is None:
            return False
        infix = uuids.infix_of(uuid)
        resource = RESOURCE_BY_INFIX[infix] if infix else None
        return resource is not None and self.readable_row(resource.name, row)

    # -- list filtering --------------------------------------------------------------------

    def readable_clause(self, resource: Resource, table: sa.Table) -> ColumnElement[bool] | None:
        """A WHERE clause selecting the rows of ``table`` U may read (None: no restriction)."""
        if self.caller.is_admin:
            return None
        me = self.caller.uuid
        if resource.name == "api_client_authorizations":
            return table.c.owner_uuid == me
        has = self.has_targets(Level.READ)
        owned = self.owner_targets(Level.READ)
        if resource.name == "groups":
            clause: ColumnElement[bool] = table.c.uuid.in_(has)
            if self.caller.is_active:
                clause = sa.or_(clause, table.c.group_class == "role")
            return clause
        generic = sa.or_(table.c.uuid == me, table.c.uuid.in_(has), table.c.owner_uuid.in_(owned))
        if resource.name != "links":
            return generic
        users = self.users_of(Level.READ)
        manage_has = self.has_targets(Level.MANAGE)
        manage_owned = self.owner_targets(Level.MANAGE)
        owned_heads = sa.union_all(
            *(
                sa.select(t.c.uuid).where(t.c.owner_uuid.in_(manage_owned))
                # Groups too: can(U, 3, G) may hold only through G's owner (via_owner), e.g.
                # a project owned by a user whose manager U manages (spec §4.4, §5.3).
                for t in (tables.collections, tables.links, tables.users, tables.groups)
            )
        )
        permission_visible = sa.or_(
            table.c.tail_uuid.in_(users),
            table.c.head_uuid.in_(users),
            table.c.head_uuid.in_(manage_has),
            table.c.head_uuid.in_(owned_heads),
        )
        return sa.or_(
            sa.and_(table.c.link_class == "permission", permission_visible),
            sa.and_(sa.or_(table.c.link_class.is_(None), table.c.link_class != "permission"),
                    generic),
        )
