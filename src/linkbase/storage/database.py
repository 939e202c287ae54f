"""The one handle services use to reach storage: read and write transactions on one engine.

Only the unit of work (``services.unit_of_work``) opens transactions; everything else receives
the connection of the transaction it runs in.

* **Reads** are one consistent snapshot: ``REPEATABLE READ, READ ONLY`` on PostgreSQL (a
  request's count and page come from the same state; such transactions never fail with
  serialization errors), a deferred ``BEGIN`` on SQLite (WAL readers never wait for writers).
* **Writes** run at PostgreSQL's default READ COMMITTED, ordered where it matters by the locks of
  ``storage.locks``; on SQLite they take the database's write lock up front (``BEGIN
  IMMEDIATE``). Within a process, SQLite writers first queue on a :class:`FairLock`, so they are
  served in arrival order and never spin in SQLite's busy handler (which polls with sleeps of up
  to 100 ms and favours whoever polls last); across processes SQLite's own lock and busy timeout
  decide.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

from sqlalchemy.engine import Connection, Engine

from linkbase import checkpoints
from linkbase.storage.engine import create_engine, wal_checkpointer


class FairLock:
    """A mutex that hands itself over in arrival order (``threading.Lock`` does not)."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._waiters: deque[threading.Lock] = deque()
        self._held = False

    def acquire(self) -> None:
        """Wait for our turn."""
        with self._mutex:
            if not self._held:
                self._held = True
                return
            ticket = threading.Lock()
            ticket.acquire()
            self._waiters.append(ticket)
        ticket.acquire()  # released by the holder that hands over to us; we now hold the lock

    def release(self) -> None:
        """Hand the lock to the longest waiter, or free it."""
        with self._mutex:
            if self._waiters:
                self._waiters.popleft().release()
            else:
                self._held = False

    @property
    def waiting(self) -> int:
        """How many threads are queued (tests use it to see a writer blocked)."""
        with self._mutex:
            return len(self._waiters)

    def __enter__(self) -> FairLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


class Database:
    """Owns the engine. ``write()`` is one transaction: it commits entirely or not at all."""

    def __init__(self, url: str, engine: Engine | None = None, **engine_options: Any) -> None:
        self.url = url
        self.engine = engine if engine is not None else create_engine(url, **engine_options)
        #: The same engine and pool, with the options of a read transaction set once rather
        #: than on every request's connection.
        self._read_engine = self.engine.execution_options(linkbase_read_only=True)
        if self.dialect == "postgresql":
            self._read_engine = self._read_engine.execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True)
        #: In-process queue of SQLite writers (see the module docstring).
        self.writer_gate = FairLock()

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``: the filter compiler picks its JSON functions by this."""
        return self.engine.dialect.name

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A read-write transaction (on SQLite it takes the write lock up front)."""
        gate = self.writer_gate if self.dialect == "sqlite" else nullcontext()
        checkpoints.reach("database.begin_write")
        with gate, self.engine.begin() as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction: one consistent snapshot for a request's queries."""
        with self._read_engine.connect() as conn, conn.begin():
            yield conn

    def dispose(self) -> None:
        """Close pooled connections (and end the SQLite checkpointer's thread)."""
        self.engine.dispose()
        checkpointer = wal_checkpointer(self.engine)
        if checkpointer is not None:
            checkpointer.stop()
