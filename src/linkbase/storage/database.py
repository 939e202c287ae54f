"""The one handle services use to reach storage: read and write transactions on one engine."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Connection, Engine

from linkbase.storage.engine import create_engine


class Database:
    """Owns the engine. ``write()`` is one transaction: it commits entirely or not at all."""

    def __init__(self, url: str, engine: Engine | None = None) -> None:
        self.url = url
        self.engine = engine if engine is not None else create_engine(url)

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``: the filter compiler picks its JSON functions by this."""
        return self.engine.dialect.name

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A read-write transaction (on SQLite it takes the write lock up front)."""
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction: one consistent snapshot for a request's queries."""
        with (
            self.engine.connect().execution_options(linkbase_read_only=True) as conn,
            conn.begin(),
        ):
            yield conn

    def dispose(self) -> None:
        """Close pooled connections."""
        self.engine.dispose()
