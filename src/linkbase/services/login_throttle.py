"""Throttling failed sign-ins: per username and per client address, across processes.

The password exchange (the Laserfiche Token endpoint) is the one place a password is checked,
so it is where guessing is slowed down: after ``login_max_failures`` failures for a username
(existing or not: the answer must not tell which) or ``login_max_failures_per_address`` from one
client address within ``login_window_seconds``, that key is locked for
``login_lockout_seconds`` and every attempt on it is refused with TooManyAttemptsError (429 and
``Retry-After``) before any password is hashed. The counts live in the database
(``login_failures``), so every worker process and every server sharing the database sees them.
A successful sign-in clears its username's count.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from linkbase.domain.errors import TooManyAttemptsError
from linkbase.domain.timestamps import now_micros
from linkbase.settings import Settings
from linkbase.storage import tables

_failures = tables.login_failures
_SECOND = 1_000_000


@dataclass(frozen=True)
class Attempt:
    """Who is trying: the keys their failures count against, with each key's limit."""

    keys: tuple[tuple[str, int], ...]

    @classmethod
    def of(cls, settings: Settings, username: str, address: str | None) -> Attempt:
        keys = [("user:" + username.strip().lower(), settings.login_max_failures)]
        if address:
            keys.append(("addr:" + address, settings.login_max_failures_per_address))
        return cls(tuple(keys))

    @property
    def user_key(self) -> str:
        return self.keys[0][0]


def check(conn: Connection, attempt: Attempt) -> None:
    """TooManyAttemptsError if any key of ``attempt`` is locked out now."""
    now = now_micros()
    locked = conn.execute(
        sa.select(sa.func.max(_failures.c.locked_until)).where(
            _failures.c.key.in_([key for key, _ in attempt.keys]),
            _failures.c.locked_until > now)
    ).scalar()
    if locked is not None:
        raise TooManyAttemptsError(max(1, math.ceil((int(locked) - now) / _SECOND)))


def record_failure(conn: Connection, settings: Settings, attempt: Attempt) -> None:
    """Count one failure against every key of ``attempt``; lock those that reach their limit.

    The row is locked (PostgreSQL; SQLite writes one transaction at a time) so concurrent
    failures all count; two first failures inserting the same key conflict and the unit of
    work runs the transaction again, which then finds the row.
    """
    now = now_micros()
    window = settings.login_window_seconds * _SECOND
    for key, limit in attempt.keys:
        row = conn.execute(
            sa.select(_failures).where(_failures.c.key == key).with_for_update()
        ).first()
        if row is None or row.window_start <= now - window:
            failures, start = 1, now
        else:
            failures, start = row.failures + 1, row.window_start
        locked_until = now + settings.login_lockout_seconds * _SECOND if failures >= limit \
            else None
        values = {"failures": failures, "window_start": start, "locked_until": locked_until}
        if row is None:
            conn.execute(sa.insert(_failures).values(key=key, **values))
        else:
            conn.execute(sa.update(_failures).where(_failures.c.key == key).values(**values))


def clear(conn: Connection, attempt: Attempt) -> None:
    """A successful sign-in: its username starts afresh (its address keeps its count)."""
    conn.execute(sa.delete(_failures).where(_failures.c.key == attempt.user_key))
