"""The unit of work: the one place transactions are opened, retried and their errors translated.

Every use case of every face runs as ``uow.read(caller, fn, ...)`` or ``uow.write(caller, fn,
...)``: ``fn`` receives an :class:`Access` bound to a fresh transaction and does its reads and
writes through it; the transaction commits when ``fn`` returns and rolls back when it raises.
Faces never see a connection, a driver error or a lock.

**Retries.** A transaction that loses a race (deadlock, serialization failure, lock timeout,
SQLite busy; see ``storage.errors``) is rolled back and ``fn`` runs again from the start, up to
:data:`MAX_ATTEMPTS` times with jittered exponential backoff, so contention never reaches a client
as a 5xx. ``fn`` must therefore have no effects outside the transaction (none do: they only read
and write through ``access``). A constraint violation (a concurrent transaction committed the
same name or grant between our check and our write) is retried too, a few times: on the next
attempt the service's own check sees the committed row and answers as it always does (an
existing grant returned, a 422 name conflict); if the violation persists it becomes a
:class:`ConflictError`. A value the database cannot store becomes an
:class:`InvalidArgumentError`.

**Audit.** Before a write transaction commits, the changes it noted are written to the audit
log (``storage.audit``) with the caller, the request id and any reason given
(``linkbase.request_context``): the log holds a change if and only if it was committed.

**One snapshot per request.** A face may open :meth:`UnitOfWork.request_snapshot` around a
request: the reads of that request (its authentication included) then share one read
transaction, opened at the first read, instead of each opening and committing its own (on
PostgreSQL each costs three round trips). A write ends the snapshot first, so the write runs as
always and reads after it see what it wrote; a read that fails ends it too, and runs again
alone.

**Ordering.** Correctness under concurrency comes from the locks the services take through
``storage.locks`` inside these transactions (the permission-graph lock, row locks); a lock in
this process would not order two server processes.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Concatenate, ParamSpec, TypeVar

from prometheus_client import Counter

from linkbase import checkpoints
from linkbase.domain.errors import ConflictError, InvalidArgumentError
from linkbase.domain.uuids import WellKnown
from linkbase.request_context import AUDIT_REASON, REQUEST_ID
from linkbase.services.context import Caller, system_caller
from linkbase.services.permissions import Access
from linkbase.storage import audit
from linkbase.storage.database import Database
from linkbase.storage.errors import Failure, classify

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

#: Transactions run again, by the kind of failure (``storage.errors.Failure``): contention made
#: visible to operators (``GET /metrics``).
RETRIES = Counter("linkbase_transaction_retries_total",
                  "Transactions rolled back and run again after losing a race", ["failure"])

#: Attempts for a transaction that keeps losing races (deadlocks, serialization failures).
MAX_ATTEMPTS = 12
#: Attempts for a transaction that keeps hitting a constraint violation.
MAX_CONFLICT_ATTEMPTS = 3
#: First backoff ceiling in seconds; doubles per attempt up to :data:`MAX_BACKOFF`.
BASE_BACKOFF = 0.005
MAX_BACKOFF = 0.5


class _Snapshot:
    """The read transaction a request's reads share, opened at the first of them."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._open: ExitStack | None = None
        self._conn: Connection | None = None

    def connection(self) -> Connection:
        if self._conn is None:
            stack = ExitStack()
            self._conn = stack.enter_context(self.db.read())
            self._open = stack
        return self._conn

    def end(self, failed: BaseException | None = None) -> None:
        """Commit (or, after a failure, roll back) the transaction, if one is open."""
        stack, self._open, self._conn = self._open, None, None
        if stack is None:
            return
        if failed is None:
            stack.close()
        else:
            try:
                stack.__exit__(type(failed), failed, failed.__traceback__)
            except Exception:  # the rollback of a broken connection; the pool discards it
                log.debug("ending a failed request snapshot", exc_info=True)


_SNAPSHOT: ContextVar[_Snapshot | None] = ContextVar("linkbase_request_snapshot", default=None)


class UnitOfWork:
    """Opens the transactions of one database for the services."""

    def __init__(self, db: Database, well_known: WellKnown) -> None:
        self.db = db
        self.wk = well_known
        #: Retries performed so far (a metric and a test probe).
        self.retries = 0

    def read(self, caller: Caller, fn: Callable[Concatenate[Access, P], T], *args: P.args,
             **kwargs: P.kwargs) -> T:
        """Run ``fn(access, ...)`` in a read-only snapshot."""
        return self._run(False, caller, fn, *args, **kwargs)

    def write(self, caller: Caller, fn: Callable[Concatenate[Access, P], T], *args: P.args,
              **kwargs: P.kwargs) -> T:
        """Run ``fn(access, ...)`` in a write transaction, retrying lost races."""
        return self._run(True, caller, fn, *args, **kwargs)

    def read_as_server(self, fn: Callable[Concatenate[Access, P], T], *args: P.args,
                       **kwargs: P.kwargs) -> T:
        """:meth:`read` on the server's own authority (before anyone is authenticated)."""
        return self._run(False, system_caller(self.wk), fn, *args, **kwargs)

    def write_as_server(self, fn: Callable[Concatenate[Access, P], T], *args: P.args,
                        **kwargs: P.kwargs) -> T:
        """:meth:`write` on the server's own authority: bootstrap, token exchange, local admin
        commands."""
        return self._run(True, system_caller(self.wk), fn, *args, **kwargs)

    @contextmanager
    def request_snapshot(self) -> Iterator[None]:
        """Let the reads of the code inside share one read transaction (module docstring)."""
        snapshot = _Snapshot(self.db)
        token = _SNAPSHOT.set(snapshot)
        try:
            yield
        finally:
            _SNAPSHOT.reset(token)
            snapshot.end()

    def end_snapshot(self) -> None:
        """End the request's shared read transaction now, before slow work that needs no
        database (a password hash): it would otherwise hold a connection and a snapshot."""
        snapshot = _SNAPSHOT.get()
        if snapshot is not None:
            snapshot.end()

    def _run(self, writing: bool, caller: Caller, fn: Callable[Concatenate[Access, P], T],
             *args: P.args, **kwargs: P.kwargs) -> T:
        snapshot = _SNAPSHOT.get()
        if snapshot is not None:
            if writing:
                snapshot.end()
            else:
                try:
                    return fn(Access(snapshot.connection(), caller, self.wk), *args, **kwargs)
                except Exception as error:
                    snapshot.end(failed=error)
                    if classify(error) is Failure.OTHER:
                        raise
                    # A storage failure: run it again below, alone, retried and translated.
        attempt = 0
        conflicts = 0
        while True:
            attempt += 1
            try:
                transaction = self.db.write() if writing else self.db.read()
                with transaction as conn:
                    result = fn(Access(conn, caller, self.wk), *args, **kwargs)
                    if writing:
                        checkpoints.reach("uow.before_commit")
                        # The audit log, in this transaction, as part of committing it: its
                        # ordering lock (storage.audit) is held only from here to the commit.
                        audit.flush(conn, caller.uuid, REQUEST_ID.get(), AUDIT_REASON.get())
                    return result
            except Exception as error:  # classified below; anything unknown is re-raised
                failure = classify(error)
                if failure is Failure.OTHER:
                    raise
                if failure is Failure.INVALID:
                    raise InvalidArgumentError(
                        "A value in the request cannot be stored (out of range or malformed)"
                    ) from error
                if failure is Failure.CONFLICT:
                    conflicts += 1
                    if conflicts >= MAX_CONFLICT_ATTEMPTS:
                        raise ConflictError(
                            "Conflict with an existing record (a concurrent request changed it)"
                        ) from error
                elif attempt >= MAX_ATTEMPTS:
                    log.warning("giving up after %d attempts: %s", attempt, error)
                    raise ConflictError(
                        "The request kept conflicting with concurrent ones; retry it later"
                    ) from error
                self.retries += 1
                RETRIES.labels(failure.value).inc()
                ceiling = min(MAX_BACKOFF, BASE_BACKOFF * 2 ** (attempt - 1))
                time.sleep(random.uniform(0, ceiling))
