"""Fresh, isolated databases for tests: a temporary SQLite file or a new PostgreSQL schema.

Every test that touches storage runs on both backends. PostgreSQL may be skipped on a laptop
without it, but never when ``CI=true``: there an unreachable server is a failure.
"""

from __future__ import annotations

import itertools
import os
import secrets
import urllib.parse
from pathlib import Path

import pytest
import sqlalchemy as sa

PG_ADMIN_URL = os.environ.get(
    "LINKBASE_TEST_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/test"
)
BACKENDS = ("sqlite", "postgresql")
_counter = itertools.count()
_run_tag = secrets.token_hex(3)
_created_schemas: list[str] = []
_pg_status: bool | None = None


def postgres_available() -> bool:
    """Probe PostgreSQL once per session."""
    global _pg_status
    if _pg_status is None:
        try:
            engine = sa.create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
            with engine.connect() as conn:
                conn.execute(sa.text("select 1"))
            engine.dispose()
            _pg_status = True
        except Exception:
            _pg_status = False
    return _pg_status


def require_backend(backend: str) -> None:
    """Skip (or, under CI, fail) when the backend cannot be reached."""
    if backend == "postgresql" and not postgres_available():
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is unreachable at {PG_ADMIN_URL} and CI=true")
        pytest.skip("PostgreSQL is not reachable")


def fresh_database_url(backend: str, tmp_path: Path) -> str:
    """A URL naming an empty database no other test uses."""
    require_backend(backend)
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / f'linkbase-{next(_counter)}.db'}"
    schema = f"lbt_{_run_tag}_{os.getpid()}_{next(_counter)}"
    engine = sa.create_engine(PG_ADMIN_URL)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    _created_schemas.append(schema)
    options = urllib.parse.quote(f"-csearch_path={schema}")
    return f"{PG_ADMIN_URL}?options={options}"


def drop_created_schemas() -> None:
    """Remove the schemas this process created (called at session end)."""
    if not _created_schemas or not postgres_available():
        return
    engine = sa.create_engine(PG_ADMIN_URL)
    # One transaction per schema: dropping a schema locks each of its ~40 tables and indexes
    # until commit, and PostgreSQL's lock table is shared by every connection (about
    # max_locks_per_transaction x max_connections slots), so dropping hundreds at once would
    # make concurrent transactions fail with "out of shared memory".
    for schema in _created_schemas:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()
    _created_schemas.clear()


def table_digest(engine: sa.engine.Engine, *, with_log: bool = False) -> dict[str, str]:
    """A digest of every row of every table: equal digests mean nothing was written.

    The audit log is left out unless ``with_log``: work committed and then undone (a refused
    bulk batch) leaves its history there, by design."""
    import hashlib

    from linkbase.storage import tables

    out: dict[str, str] = {}
    with engine.connect() as conn:
        for table in tables.metadata.sorted_tables:
            if table is tables.logs and not with_log:
                continue
            rows = sorted(repr(tuple(r)) for r in conn.execute(sa.select(table)))
            out[table.name] = f"{len(rows)}:" + hashlib.sha256("\n".join(rows).encode()).hexdigest()
    return out
