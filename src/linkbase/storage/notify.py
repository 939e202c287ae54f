"""Waiting for new audit log entries committed by any process (``storage.audit``).

On PostgreSQL a dedicated connection ``LISTEN``\\s on the channel every log-writing transaction
notifies at commit, so a waiter wakes within milliseconds of a commit anywhere; on SQLite there
is nothing to listen to, and a waiter simply sleeps for the poll interval (readers then compare
the newest id, one indexed lookup).
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

from sqlalchemy.engine import Engine

from linkbase.storage.audit import CHANNEL

#: SQLite: how often the log is looked at for new entries (seconds).
SQLITE_POLL = 0.1
#: PostgreSQL: the longest wait without a notification before looking anyway (a notification
#: lost with a broken listening connection is thereby only late, never missed).
PG_FALLBACK_POLL = 1.0


class LogWaiter:
    """Blocks until new entries may have been committed (or a timeout)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.pg = engine.dialect.name == "postgresql"
        self._conn: Any = None

    def _listen(self) -> Any:
        if self._conn is None:
            import psycopg

            url = self.engine.url.set(drivername="postgresql")
            options = url.query.get("options")
            kwargs: dict[str, Any] = {"autocommit": True}
            if options:
                kwargs["options"] = options if isinstance(options, str) else options[0]
            self._conn = psycopg.connect(
                host=url.host or "", port=url.port or 5432, user=url.username or "",
                password=url.password or "", dbname=url.database or "", **kwargs)
            self._conn.execute(f"LISTEN {CHANNEL}")
        return self._conn

    def wait(self) -> None:
        """Return when a notification arrived, or after the poll interval."""
        if not self.pg:
            time.sleep(SQLITE_POLL)
            return
        try:
            conn = self._listen()
            for _ in conn.notifies(timeout=PG_FALLBACK_POLL, stop_after=1):
                break
        except Exception:  # a broken connection: reconnect on the next wait, poll meanwhile
            self.close()
            time.sleep(SQLITE_POLL)

    def close(self) -> None:
        """Drop the listening connection."""
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None
