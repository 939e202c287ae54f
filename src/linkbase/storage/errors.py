"""What a driver error means, independent of the driver (the unit of work decides what to do).

* ``TRANSIENT``: the transaction lost a race, not an argument — deadlock, serialization failure,
  lock timeout, SQLite's "database is locked" — or its connection was found dead (a database
  restart). Running the whole transaction again succeeds.
* ``CONFLICT``: a uniqueness or reference constraint refused the write. Usually a concurrent
  transaction committed the same name or grant between our check and our insert; running again
  lets the service's own check see it and answer properly, so it is retried a few times before it
  is reported as a conflict.
* ``INVALID``: the value cannot be stored (out of range, too long, bad encoding). Validation should
  have caught it first; if not, the client still gets a 4xx, not a 500.
* ``OTHER``: anything else (a bug or an outage): re-raised.
"""

from __future__ import annotations

import enum
import sqlite3

from sqlalchemy import exc


class Failure(enum.Enum):
    """The classes above."""

    TRANSIENT = "transient"
    CONFLICT = "conflict"
    INVALID = "invalid"
    OTHER = "other"


#: PostgreSQL SQLSTATEs: serialization_failure, deadlock_detected, lock_not_available,
#: and query_canceled raised by lock_timeout on some versions.
_PG_TRANSIENT = frozenset({"40001", "40P01", "55P03"})
#: Class 23: integrity constraint violations.
_PG_CONFLICT_CLASS = "23"
#: Class 22: data exceptions (numeric out of range, string too long, invalid text, NUL, ...);
#: 54: program limits (e.g. a JSON document nested too deep for jsonb).
_PG_INVALID_CLASSES = ("22", "54")


def classify(error: BaseException) -> Failure:
    """The class of a (SQLAlchemy-wrapped) driver error."""
    if not isinstance(error, exc.DBAPIError):
        return Failure.OTHER
    if error.connection_invalidated:
        return Failure.TRANSIENT  # the server dropped the connection: retry on a fresh one
    original = error.orig
    sqlstate = getattr(original, "sqlstate", None)
    if sqlstate is None and isinstance(error, exc.DataError):
        return Failure.INVALID  # refused by the driver before sending (psycopg: a NUL in text)
    if isinstance(sqlstate, str):
        if sqlstate in _PG_TRANSIENT:
            return Failure.TRANSIENT
        if sqlstate.startswith(_PG_CONFLICT_CLASS):
            return Failure.CONFLICT
        if sqlstate.startswith(_PG_INVALID_CLASSES):
            return Failure.INVALID
        return Failure.OTHER
    if isinstance(original, sqlite3.IntegrityError):
        return Failure.CONFLICT
    if isinstance(original, sqlite3.OperationalError):
        message = str(original).lower()
        if "locked" in message or "busy" in message:
            return Failure.TRANSIENT
        return Failure.OTHER
    if isinstance(original, sqlite3.DataError | OverflowError):
        return Failure.INVALID
    return Failure.OTHER
