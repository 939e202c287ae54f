"""SQLite write-ahead-log checkpoints, run by a background thread instead of by the writer.

In WAL mode SQLite appends committed pages to the ``-wal`` file; a *checkpoint* copies them
back into the database file (and syncs it). By default the connection that commits runs that
checkpoint itself, inline, whenever the log holds more than 1,000 pages
(``wal_autocheckpoint``): the writer holds the database's write lock for its next transaction
only after copying and syncing everything it just wrote. For a bulk import that is a third of
the writer's time (500,000 links in 50,000-link transactions with the log: 13.9-17.1 s with
inline checkpoints, 10.2-12.0 s with this thread doing them, ``bench/import_links.py`` for the
whole path); for ordinary requests it is the occasional commit that takes many times longer than
the others.

So every connection of a file database turns ``wal_autocheckpoint`` off, and each commit of a
write transaction wakes this process's :class:`WalCheckpointer`, which runs a ``PASSIVE``
checkpoint on its own connection: it never waits for readers or writers, and writers go on
appending to the log while it copies. Nothing about durability changes: a committed transaction
is in the log either way (``synchronous=NORMAL``), and SQLite recovers from the log after a
crash whether or not it was checkpointed.

The log still cannot grow without bound: a checkpoint that could not copy everything (a reader
was still using older pages) is retried every :data:`RETRY_SECONDS` until it has, and SQLite
starts the log from the beginning again once it is fully copied. Several processes on one
database each run their own checkpointer; SQLite lets one checkpoint run at a time and the
others return at once. A process that writes without one (none does: every engine comes from
``storage.engine``) would leave its log for the last connection to close, which checkpoints
it as always.
"""

from __future__ import annotations

import logging
import sqlite3
import threading

log = logging.getLogger(__name__)

#: How soon a checkpoint that could not copy every page (a reader held them) is tried again.
RETRY_SECONDS = 0.5
#: How long the thread waits for a commit before it closes its connection and exits (the next
#: commit starts it again): a process that stopped writing keeps no thread and no connection.
IDLE_SECONDS = 30.0


class WalCheckpointer:
    """Copies one SQLite database's write-ahead log into the database file when told that a
    write transaction committed (:meth:`nudge`), in a thread of its own."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stopping = False
        #: Checkpoints run so far, and what the last one reported: (busy, pages in the log,
        #: pages copied). Tests read them.
        self.runs = 0
        self.last: tuple[int, int, int] | None = None

    @property
    def running(self) -> bool:
        """Whether its thread is up (it exits after :data:`IDLE_SECONDS` without commits)."""
        return self._thread is not None

    def nudge(self) -> None:
        """A write transaction committed: checkpoint soon (starts the thread if it is idle)."""
        with self._lock:
            self._wake.set()
            if self._thread is None and not self._stopping:
                self._thread = threading.Thread(
                    target=self._run, name="linkbase-wal-checkpoint", daemon=True)
                self._thread.start()

    def stop(self) -> None:
        """End the thread (after a checkpoint in progress) and close its connection."""
        with self._lock:
            self._stopping = True
            thread = self._thread
            self._wake.set()
        if thread is not None:
            thread.join()
        with self._lock:
            self._stopping = False

    def _run(self) -> None:
        try:
            connection = sqlite3.connect(self.path, isolation_level=None,
                                         check_same_thread=False)
        except sqlite3.Error as error:
            log.warning("WAL checkpoints of %s not run: %s", self.path, error)
            with self._lock:
                self._thread = None
            return
        try:
            self._loop(connection)
        finally:
            connection.close()

    def _loop(self, connection: sqlite3.Connection) -> None:
        unfinished = False
        while True:
            woken = self._wake.wait(RETRY_SECONDS if unfinished else IDLE_SECONDS)
            with self._lock:
                if self._stopping or (not woken and not unfinished):
                    self._thread = None
                    return
                self._wake.clear()
            try:
                busy, frames, copied = connection.execute(
                    "PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            except sqlite3.Error as error:
                # The database went away (a test's temporary file) or is not in WAL mode.
                log.debug("WAL checkpoint of %s failed: %s", self.path, error)
                with self._lock:
                    self._thread = None
                return
            self.runs += 1
            self.last = (busy, frames, copied)
            unfinished = bool(busy) or frames > copied
