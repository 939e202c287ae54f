"""Set-based reads and writes of many links at once, per dialect (the bulk import's storage).

On SQLite a batch is a few multi-row ``INSERT ... VALUES`` statements of :data:`SQLITE_CHUNK`
rows each (their parameters bound in C), rather than an ``executemany``. The sqlite3 driver
releases Python's GIL while a statement runs and takes it back after: once per row with
``executemany``, and each time it has to wait for whichever thread holds it (up to the
interpreter's switch interval). With a few hundred rows per statement the server validates the
next batch on the other core while SQLite writes this one; with ``executemany`` the two threads
would take turns. (One ``INSERT ... SELECT FROM json_each(?)`` of the whole batch, as before,
spent more than half of its time parsing each row's JSON again for every column it read.)
PostgreSQL takes a ``COPY``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection

from linkbase.interpreter import quick_gil_handoffs
from linkbase.storage import tables

#: A new link as :class:`NewLinks` holds it: the columns that differ from link to link.
ROW_COLUMNS = (
    "uuid", "owner_uuid", "etag", "link_class", "name", "tail_uuid", "head_uuid", "properties",
)

#: Rows per ``INSERT`` statement on SQLite. Each statement ends with the writer taking the GIL
#: back, which costs up to the switch interval (5 ms) while another request is being prepared:
#: with 512 rows an import's cycle took a quarter longer than with 1,024. Bigger is not better:
#: SQLite 3.40 compiles a ``VALUES`` list in time quadratic in its rows (1,024 rows: about
#: 0.1 s, 4,096: 1.4 s), once per connection (the driver caches the statement). A batch's last
#: rows go in statements of powers of two, so a connection compiles at most eleven.
SQLITE_CHUNK = 1024


@functools.cache
def _sqlite_insert(rows: int, skip_taken: bool = False) -> str:
    """``INSERT`` of ``rows`` new links: ``?1`` and ``?2`` are the shared timestamp and author,
    then each row's :data:`ROW_COLUMNS` (``properties`` as JSON text). ``skip_taken``: a row
    whose uuid is taken is left out instead of failing the statement."""
    width = len(ROW_COLUMNS)
    values = ",".join(
        "(" + ",".join(f"?{3 + width * row + i}" for i in range(width)) + ",?1,?1,?2)"
        for row in range(rows))
    conflict = " ON CONFLICT (uuid) DO NOTHING" if skip_taken else ""
    return (f"INSERT INTO {tables.links.name} ({', '.join(ROW_COLUMNS)}, created_at, "
            f"modified_at, modified_by_user_uuid) VALUES {values}{conflict}")


@dataclass
class NewLinks:
    """Links to insert that share their creation time and author (one import batch)."""

    created_at: int
    author: str
    #: One tuple per link, in :data:`ROW_COLUMNS` order (``properties`` is the document itself).
    rows: list[tuple[Any, ...]]
    #: Insert in uuid order (consecutive inserts into the uuid index then land on neighbouring
    #: pages: faster for big batches) rather than in the given order (which ``id`` follows).
    by_uuid: bool = True
    #: SQLite: the parameters of each ``INSERT`` statement (see :meth:`encode_for`).
    _sqlite_chunks: list[tuple[Any, ...]] | None = field(default=None, repr=False)
    _json_rows: str | None = field(default=None, repr=False)
    #: SQLite, once inserted: the ``id`` range ``(after, last]`` the rows took (every id of it
    #: is one of theirs: one statement in a transaction that is the only writer), from which
    #: ``storage.audit`` logs them.
    id_range: tuple[int, int] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.by_uuid:
            self.rows.sort(key=_uuid_of)

    def encode_for(self, dialect: str) -> None:
        """Encode the statement parameters now, before the write transaction, so that the
        writer holds the database (and the GIL) for as short a time as possible."""
        if dialect != "sqlite" or self._sqlite_chunks is not None:
            return
        dumps = orjson.dumps
        shared = (self.created_at, self.author)
        chunks: list[tuple[Any, ...]] = []
        rows, position = self.rows, 0
        while position < len(rows):
            left = len(rows) - position
            size = SQLITE_CHUNK if left >= SQLITE_CHUNK else 1 << (left.bit_length() - 1)
            params = list(shared)
            extend, append = params.extend, params.append
            for row in rows[position : position + size]:
                extend(row[:7])
                append(dumps(row[7]).decode())
            chunks.append(tuple(params))
            position += size
        self._sqlite_chunks = chunks

    def json_rows(self) -> str:
        """The rows as one JSON array (what ``storage.audit`` may log them from)."""
        if self._json_rows is None:
            self._json_rows = orjson.dumps(self.rows).decode()
        return self._json_rows


_SQLITE_MAX_ID = f"SELECT max(id) FROM {tables.links.name}"
_SQLITE_EXISTING = (
    f"SELECT uuid FROM {tables.links.name} WHERE uuid IN (SELECT value FROM json_each(?))"
)
#: Candidates per lookup query: SQLite's ``IN (...)`` and PostgreSQL's array parameter.
_LOOKUP_CHUNK = 500
_PG_LOOKUP_CHUNK = 10_000

#: Applied once to each SQLite connection that writes a bulk batch: a page cache large enough
#: to hold the hot pages of the links indexes (random uuids touch pages all over the uuid index;
#: with SQLite's default 2 MiB cache most inserts would read and write back pages).
#: Memory is only taken as pages are read. The raw-insert baseline of bench/import_links.py uses
#: the same settings.
BULK_SQLITE_PRAGMAS = ("PRAGMA cache_size=-262144",)


def prepare_sqlite_bulk(conn: Connection) -> None:
    """Apply :data:`BULK_SQLITE_PRAGMAS` to this pooled SQLite connection (once)."""
    info = conn.connection.info
    if not info.get("linkbase_bulk_pragmas"):
        for pragma in BULK_SQLITE_PRAGMAS:
            conn.exec_driver_sql(pragma)
        info["linkbase_bulk_pragmas"] = True


def existing_link_uuids(conn: Connection, candidates: Iterable[str]) -> set[str]:
    """Those of ``candidates`` that are uuids of stored links."""
    wanted = list(candidates)
    if not wanted:
        return set()
    if conn.dialect.name == "sqlite":
        return {row[0] for row in conn.exec_driver_sql(_SQLITE_EXISTING,
                                                            (orjson.dumps(wanted).decode(),))}
    return existing_uuids(conn, tables.links, wanted)


def existing_uuids(conn: Connection, table: sa.Table, candidates: Sequence[str]) -> set[str]:
    """Those of ``candidates`` that are uuids of rows of ``table``.

    A join with the array of candidates rather than ``uuid IN (...)``: once psycopg prepares the
    statement, PostgreSQL may switch to a generic plan in which an ``IN`` list of parameters is
    searched linearly for every row of a sequential scan (1,000 candidates against a freshly
    bulk-loaded table of 100,000 rows took a second per query). The join probes the uuid index
    once per candidate whatever the plan.
    """
    found: set[str] = set()
    if conn.dialect.name == "sqlite":
        for start in range(0, len(candidates), _LOOKUP_CHUNK):
            chunk = list(candidates[start : start + _LOOKUP_CHUNK])
            found.update(row[0] for row in conn.execute(
                sa.select(table.c.uuid).where(table.c.uuid.in_(chunk))))
        return found
    wanted = (sa.func.unnest(sa.bindparam("wanted", type_=ARRAY(sa.Text)))
              .table_valued(sa.column("candidate", sa.Text)).render_derived(name="wanted"))
    query = sa.select(table.c.uuid).join(wanted, table.c.uuid == wanted.c.candidate)
    for start in range(0, len(candidates), _PG_LOOKUP_CHUNK):
        chunk = list(candidates[start : start + _PG_LOOKUP_CHUNK])
        found.update(row[0] for row in conn.execute(query, {"wanted": chunk}))
    return found


class UuidTaken(Exception):
    """A link of the set has the uuid of a stored link (nothing of the set was written)."""


def insert_links(conn: Connection, links: NewLinks, *, unless_taken: bool = False) -> None:
    """Insert ``links`` in statements of :data:`SQLITE_CHUNK` rows (SQLite) or one ``COPY``
    (PostgreSQL).

    The caller has checked every constraint the services enforce. On SQLite each statement of
    :data:`SQLITE_CHUNK` rows is one ``sqlite3_step``, during which the driver does not hold
    Python's GIL.

    ``unless_taken`` (SQLite): raise :class:`UuidTaken`, having written nothing, if a uuid of
    the set is already stored. The insert finds that out itself, in the uuid index it updates
    anyway, so a caller that expects new uuids need not look them up first (a lookup of 50,000
    uuids in a table of a million links takes about 0.2 s).
    """
    if not links.rows:
        return
    if conn.dialect.name == "sqlite":
        links.encode_for("sqlite")
        prepare_sqlite_bulk(conn)
        after = int(conn.exec_driver_sql(_SQLITE_MAX_ID).scalar() or 0)
        assert links._sqlite_chunks is not None
        # Each statement runs without the GIL; between statements this thread must get it
        # back from whichever thread took it meanwhile (linkbase.interpreter).
        with quick_gil_handoffs():
            for params in links._sqlite_chunks:
                conn.exec_driver_sql(
                    _sqlite_insert((len(params) - 2) // len(ROW_COLUMNS), unless_taken), params)
        last = int(conn.exec_driver_sql(_SQLITE_MAX_ID).scalar() or 0)
        if unless_taken and last - after != len(links.rows):
            # Some rows were left out: take back the others (the ids after ``after`` are all
            # this set's: SQLite has one writer, and this transaction is it).
            conn.exec_driver_sql(_SQLITE_DELETE_RANGE, (after, last))
            raise UuidTaken()
        links.id_range = (after, last)
        return
    if unless_taken:
        raise ValueError("unless_taken is for SQLite (a failed COPY aborts the transaction)")
    _copy_links(conn, links)


_SQLITE_DELETE_RANGE = f"DELETE FROM {tables.links.name} WHERE id > ? AND id <= ?"


#: Columns of a ``COPY`` of new links: the per-link ones, then the shared ones.
_COPY = (f"COPY {tables.links.name} ({', '.join(ROW_COLUMNS)}, created_at, modified_at, "
         "modified_by_user_uuid) FROM STDIN")


def _copy_links(conn: Connection, links: NewLinks) -> None:
    """PostgreSQL: stream the rows with ``COPY`` in this transaction (psycopg escapes them in C;
    several times faster than an ``INSERT`` per row, even pipelined). ``properties`` travels as
    JSON text, which the server parses into ``jsonb``; ``id`` takes its default."""
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    shared = (links.created_at, links.created_at, links.author)
    dumps = orjson.dumps
    driver_error = conn.dialect.loaded_dbapi.Error
    try:
        with cursor.copy(_COPY) as copy:
            write = copy.write_row
            for row in links.rows:
                write((*row[:7], dumps(row[7]).decode(), *shared))
    except driver_error as error:
        # The cursor is the driver's own: wrap its error as SQLAlchemy would (IntegrityError
        # for a constraint, ...) so the unit of work classifies it like any other.
        raise sa.exc.DBAPIError.instance(_COPY, None, error, driver_error) from error


def _uuid_of(row: tuple[Any, ...]) -> Any:
    return row[0]
