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

* **Row locks** (:func:`lock_rows`): ``FOR UPDATE`` on a row a transaction is about to change or
  delete (so two updates of one link apply one after the other and the last writer wins), and
  ``FOR KEY SHARE`` on a row a transaction merely *refers to* (an owner, a link's head or tail),
  so a concurrent delete of that row waits for the referencing transaction, or the reference
  check waits for the delete and sees the row gone. SQLite ignores them (its writers are
  serial).

Lock order, to keep deadlocks rare (the unit of work retries the ones PostgreSQL still detects):
the graph lock first, then row locks.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from linkbase import checkpoints

#: The advisory lock key of the permission graph (an arbitrary 64-bit constant: "linkbase").
GRAPH_LOCK_KEY = zlib.crc32(b"linkbase.permission_graph")
_STATE = "linkbase.tx"


@dataclass
class TransactionState:
    """What the current transaction has locked (reset when a transaction begins)."""

    writing: bool
    graph_locked: bool = False
    notes: dict[str, Any] = field(default_factory=dict)


def begin_transaction_state(conn: Connection, *, writing: bool) -> None:
    """Called as each transaction begins (an engine event, ``storage.engine``)."""
    conn.info[_STATE] = TransactionState(writing)


def state(conn: Connection) -> TransactionState:
    """The current transaction's state."""
    current = conn.info.get(_STATE)
    if not isinstance(current, TransactionState):
        current = conn.info[_STATE] = TransactionState(writing=True)
    return current


def is_writing(conn: Connection) -> bool:
    """True inside a write transaction."""
    return state(conn).writing


def lock_permission_graph(conn: Connection) -> None:
    """Take the permission-graph lock for the rest of this transaction (idempotent)."""
    current = state(conn)
    if current.graph_locked:
        return
    checkpoints.reach("graph_lock.acquiring")
    if conn.dialect.name == "postgresql" and not _graph_lock_disabled:
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": GRAPH_LOCK_KEY})
    current.graph_locked = True
    checkpoints.reach("graph_lock.acquired")


#: Tests switch the lock off to prove that their interleavings really reproduce the races it
#: prevents (see tests/services/test_interleavings.py); never set in production.
_graph_lock_disabled = False


def lock_rows(conn: Connection, table: sa.Table, key: sa.Column[Any], values: Iterable[Any], *,
              exclusive: bool) -> list[Any]:
    """Lock the rows of ``table`` whose ``key`` is in ``values``, in key order; returns the keys
    found (rows that do not exist are not locked and not returned).

    ``exclusive``: ``FOR UPDATE`` (the row will change or go); else ``FOR KEY SHARE`` (the row is
    referred to and must not go). On SQLite it only reports which rows exist.
    """
    wanted: Sequence[Any] = sorted(set(values))
    if not wanted:
        return []
    found: list[Any] = []
    for start in range(0, len(wanted), 500):
        chunk = list(wanted[start : start + 500])
        query = sa.select(key).where(key.in_(chunk)).order_by(key)
        if conn.dialect.name == "postgresql":
            query = query.with_for_update() if exclusive else query.with_for_update(
                read=True, key_share=True)
        found.extend(row[0] for row in conn.execute(query))
    return found
