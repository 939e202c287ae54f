"""Transaction-scoped locks: what orders concurrent writers where order matters.

Two kinds, both released by the commit or rollback that ends the transaction, and both taken
in the database (so they hold across threads, processes and machines):

* **The permission-graph lock** (:func:`lock_permission_graph`). Every transaction that changes
  ``permission_edges`` takes it before its first read of the edges or the closure, and keeps it to
  the end. Closure maintenance reads ("which groups reach this tail?") and then writes deltas;
  two such transactions interleaved at READ COMMITTED could each miss the other's edge. Holding
  one lock makes those transactions run one after another; because PostgreSQL's READ COMMITTED
  gives every statement a fresh snapshot, every read made after the lock is granted sees every
  edge committed before, so each incremental update starts from the exact committed closure.
  On PostgreSQL it is ``pg_advisory_xact_lock``; on SQLite every write transaction already holds
  the database's write lock (``BEGIN IMMEDIATE``), so nothing more is needed. Readers never take
  it, and writes that change no edge (tags, stars, relations, collections) never wait for it.

* **Row locks** (:func:`lock_rows`): ``FOR UPDATE`` on a row a transaction is about to delete,
  ``FOR NO KEY UPDATE`` on a row it is about to change (so two updates of one link apply one
  after the other and the last writer wins), and ``FOR KEY SHARE`` on a row it merely *refers
  to* (an owner, a link's head or tail), so a concurrent delete of that row waits for the
  referencing transaction, or the reference check waits for the delete and sees the row gone.
  ``FOR KEY SHARE`` does not conflict with ``FOR NO KEY UPDATE``: referring to a project never
  waits for its rename. SQLite ignores them (its writers are serial).

* **The reference guard** (:func:`guard_references`), for writers that refer to too many rows to
  lock each (a bulk import of 50,000 links may name 100,000 objects; locking a row on
  PostgreSQL writes to it). Such a writer locks the empty table ``reference_guard`` in ``SHARE``
  mode; every deleter locks it in ``ROW EXCLUSIVE`` mode. The two modes conflict with each other
  and not with themselves: bulk writers run together, deleters run together, but a delete never
  overlaps a bulk write, so the bulk write's existence checks stay true until it commits.

Lock order, to keep deadlocks rare (the unit of work retries the ones PostgreSQL still detects):
the graph lock first, then the reference guard, then row locks.
"""

from __future__ import annotations

import enum
import zlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from linkbase import checkpoints
from linkbase.storage.transaction import state

#: The advisory lock key of the permission graph (an arbitrary 64-bit constant: "linkbase").
GRAPH_LOCK_KEY = zlib.crc32(b"linkbase.permission_graph")
#: The empty table whose table lock is the reference guard (``storage.tables``).
REFERENCE_GUARD = "reference_guard"


def lock_permission_graph(conn: Connection) -> None:
    """Take the permission-graph lock for the rest of this transaction (idempotent)."""
    current = state(conn)
    if current.graph_locked:
        return
    checkpoints.reach("graph_lock.acquiring")
    if conn.dialect.name == "postgresql" and "graph" not in _disabled:
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": GRAPH_LOCK_KEY})
    current.graph_locked = True
    checkpoints.reach("graph_lock.acquired")


#: Locks switched off (``graph``, ``rows``, ``guard``): tests do it to prove that their
#: interleavings really reproduce the races the locks prevent (tests/services/
#: test_interleavings.py). Nothing else ever sets it.
_disabled: set[str] = set()


@contextmanager
def disabled(*names: str) -> Iterator[None]:
    """Switch locks off for the duration of the block (tests only)."""
    _disabled.update(names)
    try:
        yield
    finally:
        _disabled.difference_update(names)


class RowLock(enum.Enum):
    """Row lock strengths (see the module docstring)."""

    DELETE = "delete"          # FOR UPDATE
    UPDATE = "update"          # FOR NO KEY UPDATE
    REFERENCE = "reference"    # FOR KEY SHARE


def row_locks_apply(conn: Connection) -> bool:
    """Whether row locks are taken on ``conn`` (PostgreSQL, unless a test switched them off);
    SQLite's one writer at a time needs none."""
    return conn.dialect.name == "postgresql" and "rows" not in _disabled


def for_lock(query: sa.Select[Any], conn: Connection, mode: RowLock) -> sa.Select[Any]:
    """``query`` with the row lock clause of ``mode`` (unchanged on SQLite)."""
    return with_row_lock(query, mode) if row_locks_apply(conn) else query


def with_row_lock(query: sa.Select[Any], mode: RowLock) -> sa.Select[Any]:
    """``query`` with the row lock clause of ``mode``, whatever the connection (for statements
    compiled once and run only where :func:`row_locks_apply`)."""
    if mode is RowLock.DELETE:
        return query.with_for_update()
    if mode is RowLock.UPDATE:
        return query.with_for_update(key_share=True)
    return query.with_for_update(read=True, key_share=True)


def lock_rows(conn: Connection, table: sa.Table, key: sa.Column[Any], values: Iterable[Any],
              mode: RowLock) -> list[Any]:
    """Lock the rows of ``table`` whose ``key`` is in ``values``, in key order; returns the keys
    found (rows that do not exist are not locked and not returned). On SQLite it only reports
    which rows exist."""
    wanted: Sequence[Any] = sorted(set(values))
    found: list[Any] = []
    for start in range(0, len(wanted), 500):
        chunk = list(wanted[start : start + 500])
        query = for_lock(sa.select(key).where(key.in_(chunk)).order_by(key), conn, mode)
        found.extend(row[0] for row in conn.execute(query))
    return found


def guard_references(conn: Connection, *, deleting: bool) -> None:
    """Take the reference guard: ``deleting`` for a transaction that deletes objects, otherwise
    for one that creates many references without locking each referenced row."""
    current = state(conn)
    mode = "ROW EXCLUSIVE" if deleting else "SHARE"
    if mode in current.guards:
        return
    if conn.dialect.name == "postgresql" and "guard" not in _disabled:
        conn.execute(sa.text(f"LOCK TABLE {REFERENCE_GUARD} IN {mode} MODE"))
    current.guards.add(mode)
