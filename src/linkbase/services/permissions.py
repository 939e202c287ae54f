"""The permission engine's query side: every access decision of the server goes through here.

Decisions read the materialized group closure (``storage.closure`` keeps it current) joined to the
edges, so a check is one indexed query and a permission-filtered list is the list query plus an
indexed semi-join. The formulas are spec §4.4:

* ``USERS(U, L)``: users B with ``MP(U, B).level >= L`` and ``MP(U, B).traverse_owned``;
* ``has(U, L, X)``: some B in ``USERS(U, L)`` has ``MP(B, X).level >= L``;
* ``via_owner(U, L, O)``: some B in ``USERS(U, L)`` has ``MP(B, O).level >= L`` and traverse_owned;
* ``can(U, L, X)``: admin, or X is U, or has, or via_owner of X's owner.

**A user's closure from the group closure.** ``GC(G, T)`` (table ``group_closure``) aggregates
the walks from a group G that continue only out of groups, with the reflexive row
``GC(G, G) = (3, true)``. For a user P, every walk from P other than the empty one starts with an
out-edge ``P -> H`` of level e. If H is not a group the walk ends there (only P and groups are
left), giving ``(H, e, H is a user and e = 3)``. If H is a group, the rest is a walk from H; as
long as it does not come back to P it continues only out of groups, so it is one of the walks
``GC(H, T)`` aggregates, and ``min(e, ·)`` is monotone, so
``max over walks = min(e, GC(H, T).level)`` with flag ``GC(H, T).traverse_owned``. A walk that
does come back to P (``P -> ... -> P -> H' -> ... -> T``) adds nothing: its suffix from the last
visit of P is itself a walk from P of level at least as high (a minimum over fewer edges) and
with the same last edge, hence the same traverse flag. The empty walk gives ``MP(P, P) =
(3, true)``, which dominates every other walk ending at P. Hence

    MP(P, T) = max over P -> H of: min(e, GC(H, T))        (H a group)
                                   (e, H user and e = 3)   (T = H, not a group)
               and (3, true) for T = P,

level and flag aggregated independently, as the spec says. The queries below read these rows
directly: candidates for ``USERS`` come from the flagged user rows of ``GC`` (an index range
scan on ``(group_uuid, target_is_user, traverse_owned)``) and direct level-3 edges to users.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql.elements import BindParameter, ColumnElement

from linkbase.domain import uuids
from linkbase.domain.levels import Level
from linkbase.domain.resources import RESOURCE_BY_INFIX, Resource
from linkbase.domain.uuids import WellKnown
from linkbase.services.context import Caller
from linkbase.services.records import fetch_record
from linkbase.storage import locks, tables
from linkbase.storage.driver_queries import DriverQuery
from linkbase.storage.transaction import is_writing

TABLE_BY_RESOURCE: dict[str, sa.Table] = {
    "links": tables.links,
    "users": tables.users,
    "groups": tables.groups,
    "collections": tables.collections,
    "api_client_authorizations": tables.api_client_authorizations,
}

_pe = tables.permission_edges
_gc = tables.group_closure

Col = ColumnElement[Any]


def table_of_uuid(uuid: str | None) -> sa.Table | None:
    """The table storing objects of this uuid's kind, or None (foreign kind or not a uuid)."""
    infix = uuids.infix_of(uuid)
    resource = RESOURCE_BY_INFIX.get(infix) if infix else None
    return TABLE_BY_RESOURCE[resource.name] if resource else None


def is_kind(column: Col, infix: str) -> ColumnElement[bool]:
    """``column`` holds a uuid of ``infix`` (same test as ``storage.closure``)."""
    return sa.and_(sa.func.length(column) == 27, sa.func.substr(column, 7, 5) == infix)


def least(a: Col, b: Col) -> Col:
    """The smaller of two levels (portable: no LEAST on SQLite)."""
    return sa.case((a < b, a), else_=b)


def users_arms(tail_of: Callable[[Col], ColumnElement[bool]], level: int) -> list[sa.Select[Any]]:
    """``USERS(P, level) \\ {P}`` for the principals P with ``tail_of(P)``, as SELECTs of ``uuid``.

    B qualifies when some row of ``MP(P, B)`` has the flag and some row (maybe another) has a
    level of at least ``level``: direct level-3 edges qualify at once; flagged group rows need
    the level check over all of P's rows to B.
    """
    e = _pe.alias()
    direct = sa.select(e.c.head_uuid.label("uuid")).where(
        tail_of(e.c.tail_uuid), e.c.level == 3, is_kind(e.c.head_uuid, uuids.USER)
    )
    f = _pe.alias()
    g = _gc.alias()
    e2 = _pe.alias()
    g2 = _gc.alias()
    e3 = _pe.alias()
    other_row = sa.or_(
        sa.exists(sa.select(sa.literal(1)).select_from(e2).where(
            e2.c.tail_uuid == f.c.tail_uuid, e2.c.level >= level,
            sa.exists(sa.select(sa.literal(1)).select_from(g2).where(
                g2.c.group_uuid == e2.c.head_uuid, g2.c.target_uuid == g.c.target_uuid,
                g2.c.level >= level,
            ).correlate_except(g2)),  # g is two levels up: correlate explicitly
        )),
        sa.exists().where(
            e3.c.tail_uuid == f.c.tail_uuid, e3.c.head_uuid == g.c.target_uuid,
            e3.c.level >= level,
        ),
    )
    via = (
        sa.select(g.c.target_uuid.label("uuid"))
        .select_from(f.join(g, g.c.group_uuid == f.c.head_uuid))
        .where(
            tail_of(f.c.tail_uuid), g.c.target_is_user == sa.true(), g.c.traverse_owned == sa.true(),
            sa.or_(sa.and_(f.c.level >= level, g.c.level >= level), other_row),
        )
    )
    return [direct, via]


def _union(*arms: sa.Select[Any]) -> sa.Select[Any]:
    return sa.select(sa.union_all(*arms).subquery().c.uuid)


# The statements are built once per shape with bind parameters (``lb_me``: the caller; ``lb_x``,
# ``lb_o``: the object and its owner) and reused, so SQLAlchemy's compiled cache serves them.
_ME = "lb_me"
#: The caller's parameter, for statements built from this module's clauses.
CALLER_PARAMETER = _ME


def _me() -> ColumnElement[Any]:
    return sa.bindparam(_ME, type_=tables.Reference)


@functools.cache
def _users_stmt(level: int) -> sa.Select[Any]:
    """``USERS(lb_me, level)``."""
    return _union(
        sa.select(sa.cast(_me(), tables.Reference).label("uuid")),
        *users_arms(lambda column: column == _me(), level),
    )


@functools.cache
def _has_stmt(level: int) -> sa.Select[Any]:
    """Targets X with ``has(lb_me, level, X)``."""
    users = _users_stmt(level)
    e = _pe.alias()
    g = _gc.alias()
    via = (
        sa.select(g.c.target_uuid.label("uuid"))
        .select_from(e.join(g, g.c.group_uuid == e.c.head_uuid))
        .where(e.c.tail_uuid.in_(users), e.c.level >= level, g.c.level >= level)
    )
    d = _pe.alias()
    direct = sa.select(d.c.head_uuid.label("uuid")).where(
        d.c.tail_uuid.in_(users), d.c.level >= level
    )
    return _union(users, via, direct)


@functools.cache
def _owner_stmt(level: int) -> sa.Select[Any]:
    """Owners O with ``via_owner(lb_me, level, O)``.

    O is a group reached at ``level`` (groups always have the flag), or a user in
    ``USERS(B, level)`` for some B in ``USERS(U, level)``; no other kind has the flag.
    """
    users = _users_stmt(level)
    e = _pe.alias()
    g = _gc.alias()
    via_groups = (
        sa.select(g.c.target_uuid.label("uuid"))
        .select_from(e.join(g, g.c.group_uuid == e.c.head_uuid))
        .where(
            e.c.tail_uuid.in_(users), e.c.level >= level, g.c.level >= level,
            g.c.traverse_owned == sa.true(), g.c.target_is_user == sa.false(),
        )
    )
    d = _pe.alias()
    direct_groups = sa.select(d.c.head_uuid.label("uuid")).where(
        d.c.tail_uuid.in_(users), d.c.level >= level, is_kind(d.c.head_uuid, uuids.GROUP)
    )
    return _union(
        users, via_groups, direct_groups, *users_arms(lambda column: column.in_(users), level)
    )


Reach = dict[str, tuple[int, bool]]
"""``MP(P, T)`` for some targets T of one principal P: ``(level, traverse_owned)``."""


#: The arms of :func:`_reach_stmt`, in its first column.
_EDGE, _TARGET, _FLAGGED_USER = 0, 1, 2


@functools.cache
def _reach_stmt(flagged_users: bool) -> sa.CompoundSelect[Any]:
    """A check's one statement, rows ``(arm, tail, target, edge level, closure level, flag)``:
    the positive out-edges of the principals ``lb_ps`` (arm ``_EDGE``, closure level and flag
    unused) and, through each of those edges whose head is a group, that group's closure rows
    for the targets ``lb_ts`` (``_TARGET``) and, with ``flagged_users``, for every user it
    reaches with the traverse flag (``_FLAGGED_USER``: the ``USERS`` candidates). Each arm is
    an index range; one round trip instead of two (edges, then closure) matters most on
    PostgreSQL."""
    principals = _pe.c.tail_uuid.in_(sa.bindparam("lb_ps", expanding=True))
    positive = _pe.c.level > 0
    edges = sa.select(sa.literal_column(str(_EDGE)), _pe.c.tail_uuid, _pe.c.head_uuid,
                      _pe.c.level, _pe.c.level, sa.false()).where(principals, positive)
    through = _pe.join(_gc, _gc.c.group_uuid == _pe.c.head_uuid)

    def closure_arm(arm: int, *where: ColumnElement[bool]) -> sa.Select[Any]:
        return sa.select(sa.literal_column(str(arm)), _pe.c.tail_uuid, _gc.c.target_uuid,
                         _pe.c.level, _gc.c.level, _gc.c.traverse_owned
                         ).select_from(through).where(principals, positive, *where)

    arms = [edges, closure_arm(_TARGET, _gc.c.target_uuid.in_(
        sa.bindparam("lb_ts", expanding=True)))]
    if flagged_users:
        arms.append(closure_arm(_FLAGGED_USER, _gc.c.target_is_user == sa.true(),
                                _gc.c.traverse_owned == sa.true()))
    return sa.union_all(*arms)


@functools.cache
def _closure_stmt() -> sa.Select[Any]:
    """Group closure rows of the groups ``lb_gs`` for the targets ``lb_ts``."""
    return sa.select(_gc.c.group_uuid, _gc.c.target_uuid, _gc.c.level, _gc.c.traverse_owned
                     ).where(_gc.c.group_uuid.in_(sa.bindparam("lb_gs", expanding=True)),
                             _gc.c.target_uuid.in_(sa.bindparam("lb_ts", expanding=True)))


#: The reads of a permission check, run on the driver's cursor (a check spent most of its time
#: in SQLAlchemy's execution of them: ``storage/driver_queries.py``).
_REACH = {users: DriverQuery(functools.partial(_reach_stmt, users)) for users in (False, True)}
_CLOSURE = DriverQuery(_closure_stmt)


def _merge(reach: Reach, target: str, level: int, flag: bool) -> None:
    """Aggregate a walk into ``MP``: the max of levels and the OR of flags, independently."""
    old_level, old_flag = reach.get(target, (0, False))
    reach[target] = (max(old_level, level), old_flag or flag)


@dataclass(frozen=True)
class VisibilitySets:
    """The caller's sets that decide which rows it may read (see :meth:`Access.readable_clause`):
    ``has(U, L, ·)`` targets, ``via_owner`` owners and ``USERS(U, 1)``, each a SELECT of ``uuid``.
    """

    has_read: sa.Select[Any]
    owned_read: sa.Select[Any]
    users_read: sa.Select[Any]
    has_manage: sa.Select[Any]
    owned_manage: sa.Select[Any]


#: How each of the :class:`VisibilitySets` is built: the statement and its level.
_SET_STATEMENTS: dict[str, tuple[Callable[[int], sa.Select[Any]], Level]] = {
    "has_read": (_has_stmt, Level.READ), "owned_read": (_owner_stmt, Level.READ),
    "users_read": (_users_stmt, Level.READ), "has_manage": (_has_stmt, Level.MANAGE),
    "owned_manage": (_owner_stmt, Level.MANAGE),
}

#: Stands for the caller while a set's SQL is rendered with literal values (then becomes the
#: ``:lb_me`` parameter again); no uuid or SQL keyword looks like it.
_ME_PLACEHOLDER = "lb-me-rendered-here"

_SET_SQL: dict[tuple[str, int, str], sa.TextClause] = {}


def _set_sql(build: Callable[[int], sa.Select[Any]], level: int,
             dialect: Dialect) -> sa.TextClause:
    """The SQL of one caller-relative set for ``dialect``, with ``:lb_me`` its only parameter.

    Rendered once per dialect (its other values as literals) and parsed once (``text()`` scans
    its SQL for parameters). A statement embedding it is keyed in SQLAlchemy's compiled cache by
    this text instead of by a walk of the set's thousands of expression nodes, a quarter of a
    permission-filtered list's time before (bench/http.py).
    """
    key = (build.__name__, level, dialect.name)
    sql = _SET_SQL.get(key)
    if sql is None:
        statement = build(level).params({_ME: _ME_PLACEHOLDER})
        rendered = str(statement.compile(dialect=dialect,
                                         compile_kwargs={"literal_binds": True}))
        quoted = f"'{_ME_PLACEHOLDER}'"
        assert quoted in rendered
        sql = _SET_SQL[key] = sa.text(rendered.replace(quoted, f":{_ME}"))
    return sql


class Access:
    """Permission decisions for one caller inside one transaction."""

    def __init__(self, conn: Connection, caller: Caller, well_known: WellKnown) -> None:
        self.conn = conn
        self.caller = caller
        self.wk = well_known
        #: Inside a write transaction (lookups then lock what they find, see :meth:`lookup`).
        self.writing = is_writing(conn)

    # -- building blocks ---------------------------------------------------------------

    def users_of(self, level: Level) -> sa.Select[Any]:
        """``USERS(U, level)`` as a subquery of uuids (always contains U itself)."""
        return sa.select(self._set(_users_stmt, level).subquery().c.uuid)

    def has_targets(self, level: Level) -> sa.Select[Any]:
        """Targets X with ``has(U, level, X)``."""
        return sa.select(self._set(_has_stmt, level).subquery().c.uuid)

    def owner_targets(self, level: Level) -> sa.Select[Any]:
        """Owners O with ``via_owner(U, level, O)``."""
        return sa.select(self._set(_owner_stmt, level).subquery().c.uuid)

    def _caller_param(self) -> BindParameter[str]:
        """The caller, as the ``:lb_me`` parameter: every clause of this class names the caller
        only through it, so a statement built for one caller is the statement of any other
        with the same flags, given their uuid (``services/listing.py`` caches list statements
        on that; a literal uuid would leak one caller's rows to the next)."""
        return sa.bindparam(_ME, value=self.caller.uuid, type_=tables.Reference)

    def _set(self, build: Callable[[int], sa.Select[Any]], level: Level) -> sa.TextualSelect:
        """One of the caller's sets, as a SELECT of ``uuid`` from its precompiled SQL."""
        me = self._caller_param()
        return (_set_sql(build, int(level), self.conn.dialect).bindparams(me)
                .columns(sa.column("uuid", tables.Reference)))

    # -- single-object decisions ---------------------------------------------------------

    def _reach(self, principals: set[str], targets: set[str], *, users: bool
               ) -> dict[str, Reach]:
        """``MP(P, T)`` for each principal P and the targets T (and, with ``users``, the users
        P reaches with the traverse flag), from P's out-edges and the group closure: a walk
        from P is one out-edge ``P -> H`` then, if H is a group, a group walk from H (see the
        module docstring). One indexed query whatever the size of the graph (a second one
        when P may act as other users)."""
        conn = self.conn
        reach: dict[str, Reach] = {p: {p: (3, True)} for p in principals}
        heads: dict[str, list[tuple[str, int]]] = {}
        candidates: set[str] = set()
        params = {"lb_ps": sorted(principals), "lb_ts": sorted(targets) or [""]}
        for arm, tail, target, edge_level, level, flag in _REACH[users].rows(conn, params):
            edge_level = int(edge_level)
            if arm == _EDGE:
                if uuids.infix_of(target) == uuids.GROUP:
                    # Reached through the group's closure rows (its reflexive row included).
                    heads.setdefault(target, []).append((tail, edge_level))
                elif target in targets or (users and uuids.infix_of(target) == uuids.USER):
                    flag = edge_level == 3 and uuids.infix_of(target) == uuids.USER
                    _merge(reach[tail], target, edge_level, flag)
                continue
            if arm == _FLAGGED_USER and target not in targets:
                candidates.add(target)
            _merge(reach[tail], target, min(edge_level, int(level)), bool(flag))
        if candidates:
            # A flagged row makes a user a candidate; its level is the max over *every* row
            # to it, flagged or not: fetch the rest for the candidates.
            params = {"lb_gs": sorted(heads), "lb_ts": sorted(candidates)}
            for group, target, level, flag in _CLOSURE.rows(conn, params):
                for tail, edge_level in heads[group]:
                    _merge(reach[tail], target, min(edge_level, int(level)), bool(flag))
        return reach

    def level_on(self, uuid: str, owner_uuid: str | None) -> Level:
        """The highest L with ``can(U, L, uuid)`` (admins and self: manage).

        By spec §4.4, with ``userlevel(B)`` = 3 for U and, for another user B, ``MP(U, B).level``
        when ``MP(U, B)`` has the traverse flag (so ``B in USERS(U, L)`` iff ``userlevel(B) >=
        L``): the level is the max over such B of ``min(userlevel(B), MP(B, X).level)`` (has)
        and, when ``MP(B, O)`` has the flag, ``min(userlevel(B), MP(B, O).level)`` (via_owner,
        O the owner). Computing these maxima directly takes two indexed queries (four when U
        may use other users' permissions), never a walk.
        """
        me = self.caller.uuid
        if self.caller.is_admin or uuid == me:
            return Level.MANAGE
        owner = owner_uuid if uuids.infix_of(owner_uuid) in (uuids.GROUP, uuids.USER) else None
        targets = {uuid} if owner is None else {uuid, owner}
        reach = self._reach({me}, targets, users=True)
        userlevel = {me: 3}
        for target, (level, flag) in reach[me].items():
            if flag and level > 0 and target != me and uuids.infix_of(target) == uuids.USER:
                userlevel[target] = level
        if len(userlevel) > 1:
            reach.update(self._reach(set(userlevel) - {me}, targets, users=False))
        best = 0
        for principal, user_level in userlevel.items():
            walks = reach[principal]
            best = max(best, min(user_level, walks.get(uuid, (0, False))[0]))
            if owner is not None:
                level, flag = walks.get(owner, (0, False))
                if flag:
                    best = max(best, min(user_level, level))
        return Level(best)

    def can(self, level: Level, uuid: str, owner_uuid: str | None) -> bool:
        """``can(U, level, uuid)`` for an object owned by ``owner_uuid``."""
        return self.level_on(uuid, owner_uuid) >= level

    def lookup(self, uuid: str | None) -> dict[str, Any] | None:
        """The stored row named by ``uuid`` (any stored kind), or None.

        In a write transaction the row is locked ``FOR KEY SHARE`` (``storage.locks``): whatever
        this transaction checks it against (an owner, a link end) cannot be deleted under it, and
        a concurrent delete that got there first is waited for, so the check sees it gone.
        """
        table = table_of_uuid(uuid)
        if table is None or uuid is None:
            return None
        return fetch_record(self.conn, table, uuid,
                            lock=locks.RowLock.REFERENCE if self.writing else None)

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
        if resource_name == "users" and not row["is_active"] and uuid != self.caller.uuid:
            return False  # spec §7: inactive users are hidden from non-admins but themselves
        return self.can(Level.READ, uuid, row.get("owner_uuid"))

    def _permission_link_visible(self, row: dict[str, Any]) -> bool:
        ends = [u for u in (row["tail_uuid"], row["head_uuid"]) if u is not None]
        if self.caller.uuid in ends:
            return True
        if ends:
            users = self.users_of(Level.READ).subquery()
            hit = self.conn.execute(
                sa.select(users.c.uuid).where(users.c.uuid.in_(ends)).limit(1)
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

    def _can_rows(self, table: sa.FromClause, has: sa.Select[Any], owned: sa.Select[Any]
                  ) -> ColumnElement[bool]:
        """``can(U, L, X)`` for the rows X of ``table``, given ``has``/``owner`` targets at L.

        On PostgreSQL one ``IN`` over a union (U itself, ``has``, the rows owned by an
        ``owned`` owner), not an ``OR`` of three: PostgreSQL cannot turn an ``OR`` of
        ``IN (subquery)`` into joins and scans the table testing each row against the
        materialized sets (over 15 minutes at 300k links, bench/permissions.py); one ``IN``
        becomes a semi-join. SQLite keeps the ``OR``, which it runs three times faster than the
        union (same bench).
        """
        if self.conn.dialect.name == "sqlite":
            return sa.or_(table.c.uuid == self._caller_param(), table.c.uuid.in_(has),
                          table.c.owner_uuid.in_(owned))
        mine = table.alias()
        by_owner = sa.select(mine.c.uuid).where(mine.c.owner_uuid.in_(owned))
        me = sa.select(sa.cast(self._caller_param(), tables.Reference).label("uuid"))
        return table.c.uuid.in_(sa.union_all(me, has, by_owner))

    def can_clause(self, level: Level, table: sa.Table) -> ColumnElement[bool] | None:
        """A WHERE clause selecting the rows X of ``table`` with ``can(U, level, X)`` (None: no
        restriction, for admins). The set form of :meth:`can`."""
        if self.caller.is_admin:
            return None
        return self._can_rows(table, self.has_targets(level), self.owner_targets(level))

    def visibility_sets(self, *, as_ctes: bool = False) -> VisibilitySets:
        """The sets :meth:`readable_clause` filters with, built once.

        ``as_ctes`` names each one as a CTE, so a statement that applies several clauses (a
        list's count and page, the graph walk's checks of links and four kinds of node)
        computes each set once instead of repeating its SQL in every clause (see
        :func:`_set_sql` for how each set's SQL is embedded).
        """
        sets = _SET_STATEMENTS
        if as_ctes:
            return VisibilitySets(**{
                name: sa.select(self._set(build, level).cte(f"lb_{name}").c.uuid)
                for name, (build, level) in sets.items()
            })
        return VisibilitySets(**{
            name: sa.select(self._set(build, level).subquery().c.uuid)
            for name, (build, level) in sets.items()
        })

    def readable_clause(self, resource: Resource, table: sa.FromClause,
                        sets: VisibilitySets | None = None) -> ColumnElement[bool] | None:
        """A WHERE clause selecting the rows of ``table`` U may read (None: no restriction).

        ``table`` may be an alias of the resource's table; ``sets`` are the caller's
        :meth:`visibility_sets` when the statement already has them.
        """
        if self.caller.is_admin:
            return None
        me = self._caller_param()
        if resource.name == "api_client_authorizations":
            return table.c.owner_uuid == me
        sets = sets or self.visibility_sets()
        has = sets.has_read
        owned = sets.owned_read
        if resource.name == "groups":
            clause: ColumnElement[bool] = table.c.uuid.in_(has)
            if self.caller.is_active:
                clause = sa.or_(clause, table.c.group_class == "role")
            return clause
        generic = self._can_rows(table, has, owned)
        if resource.name == "users":
            # Spec §7: a non-admin never sees an inactive user other than itself.
            return sa.and_(generic, sa.or_(table.c.is_active == sa.true(), table.c.uuid == me))
        if resource.name != "links":
            return generic
        users = sets.users_read
        manage_has = sets.has_manage
        manage_owned = sets.owned_manage
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
