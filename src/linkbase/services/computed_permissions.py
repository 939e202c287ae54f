"""Computed permissions (Arvados ``GET /arvados/v1/computed_permissions``).

One row per user P and target T other than P with ``MP(P, T).level > 0`` (spec §4.3):
``user_uuid``, ``target_uuid`` and ``perm_level`` (``can_read``/``can_write``/``can_manage``).
The rows are a SQL subquery over the edges and the group closure (``MP(P, T)`` is the max over
P's out-edges ``P -> H`` of ``min(e, GC(H, T).level)``, or ``e`` for T = H; see
``services.permissions``), so the normal list machinery (filters, order, paging, count) applies
to it unchanged. Admins see every row; other callers only their own (``user_uuid`` = self).
"""

from __future__ import annotations

import sqlalchemy as sa

from linkbase.domain import uuids
from linkbase.domain.query import ListQuery
from linkbase.domain.resources import COMPUTED_PERMISSIONS
from linkbase.services.context import Caller, Services
from linkbase.services.listing import ListPage, list_rows
from linkbase.services.permissions import Access, is_kind, least
from linkbase.storage import tables

_pe = tables.permission_edges
_gc = tables.group_closure


def computed_permissions(user_uuid: str | None = None) -> sa.Subquery:
    """The rows as a subquery; only ``user_uuid``'s when given (pushed into the joins)."""
    e = _pe.alias()
    g = _gc.alias()
    d = _pe.alias()
    via_cond = [is_kind(e.c.tail_uuid, uuids.USER)]
    direct_cond = [is_kind(d.c.tail_uuid, uuids.USER)]
    if user_uuid is not None:
        via_cond.append(e.c.tail_uuid == user_uuid)
        direct_cond.append(d.c.tail_uuid == user_uuid)
    via = (
        sa.select(e.c.tail_uuid.label("user_uuid"), g.c.target_uuid.label("target_uuid"),
                  least(e.c.level, g.c.level).label("level"))
        .select_from(e.join(g, g.c.group_uuid == e.c.head_uuid))
        .where(*via_cond)
    )
    direct = sa.select(
        d.c.tail_uuid.label("user_uuid"), d.c.head_uuid.label("target_uuid"),
        d.c.level.label("level"),
    ).where(*direct_cond)
    walks = sa.union_all(via, direct).subquery("walks")
    best = (
        sa.select(walks.c.user_uuid, walks.c.target_uuid, sa.func.max(walks.c.level).label("level"))
        .where(walks.c.target_uuid != walks.c.user_uuid, walks.c.level > 0)
        .group_by(walks.c.user_uuid, walks.c.target_uuid)
        .subquery("best")
    )
    perm_level = sa.case(
        (best.c.level >= 3, "can_manage"), (best.c.level == 2, "can_write"), else_="can_read"
    )
    return sa.select(
        sa.cast(best.c.user_uuid, tables.Reference).label("user_uuid"),
        sa.cast(best.c.target_uuid, tables.Reference).label("target_uuid"),
        sa.cast(perm_level, sa.String(32)).label("perm_level"),
    ).subquery("computed_permissions")


def list_computed_permissions(access: Access, query: ListQuery) -> ListPage:
    """The list method: admins see all rows, other callers their own."""
    mine = None if access.caller.is_admin else access.caller.uuid
    return list_rows(access.conn, computed_permissions(mine), COMPUTED_PERMISSIONS, query)


def list_page(services: Services, caller: Caller, query: ListQuery) -> ListPage:
    """Use case: :func:`list_computed_permissions` in one read snapshot."""
    return services.uow.read(caller, list_computed_permissions, query)
