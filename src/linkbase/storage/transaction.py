"""What the current transaction holds and has done, kept on its connection.

A fresh :class:`TransactionState` is attached as every transaction begins (an engine event,
``storage.engine``), so nothing a previous transaction on the same pooled connection locked or
recorded is ever mistaken for this one's.

The **change journal** is off by default. A use case that may have to undo committed work
(``services.batch`` commits a long batch in short transactions and undoes them all if one item
is refused) turns it on for its transactions; the record writers (``services.records``,
``services.deletion``) then note every row they insert, update or delete, with the row as it was.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Connection

_STATE = "linkbase.tx"


@dataclass(frozen=True)
class Change:
    """One row written: ``before`` is None for an insert, ``after`` None for a delete."""

    table: str
    uuid: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


@dataclass
class TransactionState:
    """Locks held and changes journaled by the current transaction."""

    writing: bool
    graph_locked: bool = False
    #: Modes in which this transaction holds the reference guard (``storage.locks``).
    guards: set[str] = field(default_factory=set)
    #: The change journal, when turned on (None: off).
    journal: list[Change] | None = None


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


def start_journal(conn: Connection) -> list[Change]:
    """Turn the change journal on for this transaction; returns it (filled as rows change)."""
    current = state(conn)
    if current.journal is None:
        current.journal = []
    return current.journal


def journaling(conn: Connection) -> bool:
    """Whether this transaction journals its changes (writers then fetch what they delete)."""
    return state(conn).journal is not None


def note(conn: Connection, table: str, uuid: str, before: dict[str, Any] | None,
         after: dict[str, Any] | None) -> None:
    """Journal one row change (nothing when the journal is off)."""
    journal = state(conn).journal
    if journal is not None:
        journal.append(Change(table, uuid, before, after))
