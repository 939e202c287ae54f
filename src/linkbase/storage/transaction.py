"""What the current transaction holds and has done, kept on its connection.

A fresh :class:`TransactionState` is attached as every transaction begins (an engine event,
``storage.engine``), so nothing a previous transaction on the same pooled connection locked or
recorded is ever mistaken for this one's.

The record writers (``services.records``, ``services.deletion``, ``services.link_sets``) note
every row they insert, update or delete, with the row as it was and as it is. Every such note
goes to the **audit list**, which ``storage.audit`` writes to the ``logs`` table just before the
transaction commits (so the log is written in the same transaction as the change); a set-based
insert of many links is noted as one :class:`BulkLinks` and logged by one statement.

The **change journal** is off by default. A use case that may have to undo committed work
(``services.batch`` commits a long batch in short transactions and undoes them all if one item
is refused) turns it on for its transactions; notes then go to it as well.
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


@dataclass(frozen=True)
class BulkLinks:
    """Links inserted as one set (``storage.bulk.NewLinks``): logged by one statement."""

    links: Any


@dataclass
class TransactionState:
    """Locks held and changes journaled by the current transaction."""

    writing: bool
    graph_locked: bool = False
    #: Modes in which this transaction holds the reference guard (``storage.locks``).
    guards: set[str] = field(default_factory=set)
    #: The change journal, when turned on (None: off).
    journal: list[Change] | None = None
    #: Every change of this transaction, in order, for the audit log (``storage.audit``).
    audit: list[Change | BulkLinks] = field(default_factory=list)


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
    """Whether this transaction journals its changes for undoing them."""
    return state(conn).journal is not None


def note(conn: Connection, table: str, uuid: str, before: dict[str, Any] | None,
         after: dict[str, Any] | None, *, audit: bool = True) -> None:
    """Record one row change: in the audit list (unless ``audit`` is false: the change is
    already there as part of a :class:`BulkLinks`) and in the journal when it is on."""
    current = state(conn)
    # Copies: callers go on to decorate the rows they return (a new token's secret).
    change = Change(table, uuid, None if before is None else dict(before),
                    None if after is None else dict(after))
    if audit:
        current.audit.append(change)
    if current.journal is not None:
        current.journal.append(change)


def note_bulk(conn: Connection, links: Any) -> None:
    """Record a set-based insert of links (``storage.bulk.NewLinks``) for the audit log."""
    state(conn).audit.append(BulkLinks(links))
