"""Reading a reference snapshot (tests/reference/evaluator.py) from a live database.

Only the stored objects are read — users, groups, collections, links — never the derived
permission tables (edges, closure) the engine maintains, so the reference cannot inherit a bug
of the engine.
"""

from __future__ import annotations

import sqlalchemy as sa

from linkbase.storage import tables
from tests.reference.evaluator import Collection, Group, Link, Snapshot, User


def snapshot(conn: sa.Connection) -> Snapshot:
    """The stored objects, read straight from the tables (never the closure or edges)."""
    snap = Snapshot()
    for r in conn.execute(sa.select(tables.users)).mappings():
        snap.users[r["uuid"]] = User(r["uuid"], bool(r["is_admin"]), bool(r["is_active"]),
                                     r["owner_uuid"])
    for r in conn.execute(sa.select(tables.groups)).mappings():
        snap.groups[r["uuid"]] = Group(r["uuid"], r["group_class"], r["owner_uuid"])
    for r in conn.execute(sa.select(tables.collections)).mappings():
        snap.collections[r["uuid"]] = Collection(r["uuid"], r["owner_uuid"])
    for r in conn.execute(sa.select(tables.links)).mappings():
        snap.links[r["uuid"]] = Link(r["uuid"], r["link_class"], r["name"], r["head_uuid"],
                                     r["tail_uuid"], r["owner_uuid"])
    return snap
