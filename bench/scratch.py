"""Scratch databases for benchmarks: a temporary SQLite file or a throw-away PostgreSQL schema."""

from __future__ import annotations

import secrets
import tempfile
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa


@contextmanager
def scratch_database(backend: str, pg_url: str, name: str = "bench") -> Iterator[str]:
    """A URL of a new, empty database of ``backend``; removed afterwards."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="linkbase-bench-") as tmp:
            yield f"sqlite:///{tmp}/{name}.db"
        return
    schema = f"lbbench_{name}_{secrets.token_hex(4)}"
    admin = sa.create_engine(pg_url)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        sep = "&" if "?" in pg_url else "?"
        yield f"{pg_url}{sep}options={urllib.parse.quote(f'-csearch_path={schema}')}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()
