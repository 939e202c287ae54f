"""Engine construction: SQLite pragmas (WAL, foreign keys, busy timeout) and PostgreSQL via psycopg 3."""

from __future__ import annotations

import weakref
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError

from linkbase.domain.errors import ConfigurationError
from linkbase.storage.checkpointer import WalCheckpointer
from linkbase.storage.driver_queries import run_statement
from linkbase.storage.transaction import begin_transaction_state


def normalise_url(url: str) -> str:
    """Accept ``postgresql://`` and ``postgres://`` as psycopg 3 URLs."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


#: URL schemes (after :func:`normalise_url`) Linkbase runs on.
SUPPORTED_SCHEMES = ("sqlite", "postgresql+psycopg")


def display_url(url: str) -> str:
    """``url`` safe to print: any password is masked."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url.split("@", 1)[-1] if "@" in url else url


def check_url(url: str) -> str:
    """The normalised URL, or ConfigurationError naming the backends Linkbase supports."""
    normalised = normalise_url(url)
    scheme = normalised.split(":", 1)[0] if ":" in normalised else ""
    if scheme not in SUPPORTED_SCHEMES:
        raise ConfigurationError(
            f"unsupported database URL {display_url(url)!r}: use sqlite:///path/to/linkbase.db "
            "or postgresql://user@host:5432/dbname"
        )
    return normalised


#: Connections kept open per process when the caller does not say: a server passes its
#: request-thread count (``Settings.request_threads``), so a busy server never opens a
#: connection, runs its setup and closes it again per request.
POOL_SIZE = 8


def create_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine with the settings Linkbase relies on for either backend.

    No ``pool_pre_ping`` on PostgreSQL: it costs a round trip on every checkout. A connection
    found dead is invalidated by SQLAlchemy and the unit of work runs the transaction again on
    a fresh one (``storage.errors``).
    """
    url = check_url(url)
    kwargs.setdefault("pool_size", POOL_SIZE)
    kwargs.setdefault("max_overflow", 8)
    kwargs.setdefault("pool_recycle", 3600)
    if url.startswith("sqlite"):
        if ":memory:" in url or url in ("sqlite://", "sqlite:///"):
            kwargs.pop("pool_size")
            kwargs.pop("max_overflow")
        engine = sa.create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )
        _install_sqlite_pragmas(engine)
        from linkbase.storage.filters import register_sqlite_functions

        register_sqlite_functions(engine)
    else:
        engine = sa.create_engine(url, **kwargs)
        _install_postgresql_settings(engine)
    _track_transactions(engine)
    return engine


def _track_transactions(engine: Engine) -> None:
    """Give every transaction a fresh ``storage.locks.TransactionState`` as it begins, however it
    was begun: what a previous transaction on the same pooled connection locked is never
    mistaken for a lock this one holds."""

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        read_only = bool(conn.get_execution_options().get("linkbase_read_only"))
        begin_transaction_state(conn, writing=not read_only)


#: Page size of new SQLite databases. Larger than SQLite's 4 KiB default because the links
#: indexes keyed by random uuids dirty pages all over the index on every write transaction: with
#: 16 KiB pages a bulk import writes 40% faster (bench/import_links.py), and point lookups still
#: read one page per B-tree level.
SQLITE_PAGE_SIZE = 16384


def _install_sqlite_pragmas(engine: Engine) -> None:
    """WAL for concurrent readers, enforced foreign keys, and waiting on locks instead of failing.

    The driver's own transaction handling is switched off so that ``BEGIN IMMEDIATE`` takes the
    write lock up front: two concurrent writers then queue instead of deadlocking on upgrade.
    """

    on_file = engine.url.database not in (None, "", ":memory:")

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # Only takes effect on a new database (before its first table); see SQLITE_PAGE_SIZE.
        cursor.execute(f"PRAGMA page_size={SQLITE_PAGE_SIZE}")
        if on_file:
            cursor.execute("PRAGMA journal_mode=WAL")
            # The checkpointer's thread copies the log back (storage.checkpointer).
            cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        if conn.get_execution_options().get("linkbase_read_only"):
            run_statement(conn, "BEGIN")
        else:
            run_statement(conn, "BEGIN IMMEDIATE")

    if on_file:
        _checkpoint_in_the_background(engine, WalCheckpointer(str(engine.url.database)))


def _checkpoint_in_the_background(engine: Engine, checkpointer: WalCheckpointer) -> None:
    """Wake ``checkpointer`` once a write transaction has committed: its commit marks the
    connection, and the connection's return to the pool (after the commit) nudges."""

    @event.listens_for(engine, "commit")
    def _on_commit(conn: Any) -> None:
        if not conn.get_execution_options().get("linkbase_read_only"):
            conn.info[_WROTE] = True

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        if record is not None and record.info.pop(_WROTE, False):
            checkpointer.nudge()

    _CHECKPOINTERS[engine] = checkpointer


_WROTE = "linkbase_wal_written"
_CHECKPOINTERS: weakref.WeakKeyDictionary[Engine, WalCheckpointer] = weakref.WeakKeyDictionary()


def wal_checkpointer(engine: Engine) -> WalCheckpointer | None:
    """The checkpointer of a SQLite file database's engine (``None`` for other engines)."""
    return _CHECKPOINTERS.get(engine)


def _install_postgresql_settings(engine: Engine) -> None:
    """JIT compilation off for every session.

    The permission sets make PostgreSQL's row estimates pessimistic (millions where there are
    thousands), so nearly every permission-filtered statement crosses ``jit_above_cost`` and
    is compiled to machine code first: at 1M links a list that runs in 0.5 s spent 3.4 s
    compiling (``EXPLAIN ANALYZE``, bench/permissions.py). No statement here runs long enough
    for JIT to pay back.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True
        cursor = dbapi_connection.cursor()
        cursor.execute("SET jit = off")
        cursor.close()
        dbapi_connection.autocommit = autocommit


def plan_without_jit(conn: Connection) -> None:
    """Turn PostgreSQL's JIT compilation off for the rest of this transaction.

    Recursive CTEs get pessimistic row estimates, so their plans cross ``jit_above_cost`` and
    PostgreSQL spends far longer compiling them (hundreds of ms) than running them (a few ms).
    No effect on SQLite.
    """
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL jit = off")
