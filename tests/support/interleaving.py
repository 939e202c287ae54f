"""Force two transactions into the interleaving where races happen, deterministically.

A race between two writers needs the second one to read before the first one commits. This
harness holds the first transaction at a named checkpoint (``linkbase.checkpoints``; by default
``uow.before_commit``: it has done all its reads and writes and is about to commit), then starts
the second. Either the second reaches the same point too — both did their reads before either
committed: the dangerous interleaving happened — or it is seen *blocked* on a lock held by the
first, which is how the locks are meant to prevent it. Then the first is released, and both run
to the end.

"Blocked" is observed, not guessed, on PostgreSQL: the second transaction's connections carry
their own ``application_name``, and ``pg_stat_activity`` shows them waiting on a lock. On SQLite
a writer blocks in ``BEGIN IMMEDIATE`` inside the driver, where nothing can observe it; there the
second is taken to be blocked once it has reached ``database.begin_write`` and then not the
checkpoint within :data:`SQLITE_GRACE` seconds.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from linkbase import checkpoints
from linkbase.services.context import Services
from linkbase.settings import Settings
from linkbase.storage.database import Database
from tests.support.databases import PG_ADMIN_URL

SQLITE_GRACE = 0.5
TIMEOUT = 30.0


@dataclass
class Outcome:
    """How the two transactions ended (a value, or the exception raised)."""

    first: Any
    second: Any
    #: The second reached the checkpoint while the first was held there.
    interleaved: bool
    #: The second was seen blocked on a lock while the first was held.
    blocked: bool


def services_pair(database_url: str, settings: Settings) -> tuple[Services, Services, str]:
    """Two independent sets of services (two engines, as two server processes would have) on
    one database; the second's PostgreSQL connections are tagged for :class:`Interleaver`."""
    tag = f"lbtest-{uuid.uuid4().hex[:12]}"
    first = Services(Database(database_url), settings)
    second_url = database_url
    if database_url.startswith("postgresql"):
        second_url += ("&" if "?" in database_url else "?") + f"application_name={tag}"
    second = Services(Database(second_url), settings)
    return first, second, tag


class Interleaver:
    """Runs ``first`` and ``second`` (callables that each run one use case) interleaved."""

    def __init__(self, dialect: str, tag: str) -> None:
        self.dialect = dialect
        self.tag = tag
        self._admin = sa.create_engine(PG_ADMIN_URL) if dialect == "postgresql" else None

    def close(self) -> None:
        """Release the monitoring connection."""
        if self._admin is not None:
            self._admin.dispose()

    def _second_waits_on_lock(self) -> bool:
        assert self._admin is not None
        with self._admin.connect() as conn:
            waiting = conn.execute(sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = :tag "
                "AND wait_event_type = 'Lock'"), {"tag": self.tag}).scalar_one()
        return bool(waiting)

    def run(self, first: Callable[[], Any], second: Callable[[], Any], *,
            point: str = "uow.before_commit") -> Outcome:
        """Hold ``first`` at ``point``, run ``second``, release, and report."""
        results: dict[str, Any] = {}
        first_arrived = threading.Event()
        release = threading.Event()
        second_arrived = threading.Event()
        second_began: list[float] = []

        def at_point(_name: str) -> None:
            role = threading.current_thread().name
            if role == "first" and not release.is_set():
                first_arrived.set()
                release.wait(TIMEOUT)
            elif role == "second":
                second_arrived.set()

        def at_begin(_name: str) -> None:
            if threading.current_thread().name == "second" and not second_began:
                second_began.append(time.monotonic())

        def runner(role: str, action: Callable[[], Any]) -> None:
            try:
                results[role] = action()
            except Exception as exc:  # reported in the outcome, asserted by the test
                results[role] = exc
            finally:
                if role == "first":
                    first_arrived.set()

        with checkpoints.installed(point, at_point), \
                checkpoints.installed("database.begin_write", at_begin):
            one = threading.Thread(target=runner, args=("first", first), name="first")
            one.start()
            assert first_arrived.wait(TIMEOUT), "the first transaction never got going"
            two = threading.Thread(target=runner, args=("second", second), name="second")
            two.start()
            interleaved = blocked = False
            deadline = time.monotonic() + TIMEOUT
            while time.monotonic() < deadline and "first" not in results:
                if second_arrived.is_set():
                    interleaved = True
                    break
                if not two.is_alive():
                    break
                if self.dialect == "postgresql":
                    if self._second_waits_on_lock():
                        blocked = True
                        break
                elif second_began and time.monotonic() - second_began[0] > SQLITE_GRACE:
                    blocked = True
                    break
                time.sleep(0.01)
            release.set()
            one.join(TIMEOUT)
            two.join(TIMEOUT)
        assert not one.is_alive() and not two.is_alive(), "a transaction is stuck"
        return Outcome(results.get("first"), results.get("second"), interleaved, blocked)
