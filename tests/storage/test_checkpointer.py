"""``storage.checkpointer``: SQLite's write-ahead log is copied into the database file by a
background thread after each write commit, never by the writer, and never past a reader."""

from __future__ import annotations

import shutil
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from linkbase.bootstrap import prepare_database
from linkbase.settings import Settings
from linkbase.storage import tables
from linkbase.storage.checkpointer import WalCheckpointer
from linkbase.storage.database import Database
from linkbase.storage.engine import wal_checkpointer


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    database = prepare_database(Settings(database_url=f"sqlite:///{tmp_path / 'wal.db'}"))
    yield database
    database.dispose()


def _eventually(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.02)


def _checkpointer(db: Database) -> WalCheckpointer:
    checkpointer = wal_checkpointer(db.engine)
    assert checkpointer is not None
    return checkpointer


def _write(db: Database, key: str) -> None:
    with db.write() as conn:
        conn.execute(tables.login_failures.insert().values(key=key, failures=1, window_start=0))


def _all_copied(checkpointer: WalCheckpointer) -> bool:
    last = checkpointer.last
    return last is not None and last[0] == 0 and last[1] > 0 and last[1] == last[2]


def _keys_in_the_database_file(db: Database, tmp_path: Path) -> set[str]:
    """The keys a copy of the database file alone (without its ``-wal``) holds."""
    copy = tmp_path / "file-only.db"
    shutil.copyfile(str(db.engine.url.database), copy)
    try:
        with sqlite3.connect(copy) as conn:
            return {row[0] for row in conn.execute("SELECT key FROM login_failures")}
    except sqlite3.DatabaseError:  # copied halfway through a checkpoint
        return set()


def test_only_sqlite_files_have_a_checkpointer(database_url: str, backend: str) -> None:
    db = prepare_database(Settings(database_url=database_url))
    try:
        checkpointer = wal_checkpointer(db.engine)
        assert (checkpointer is not None) == (backend == "sqlite")
        if backend == "sqlite":
            with db.read() as conn:
                assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
                assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    finally:
        db.dispose()


def test_a_commit_is_copied_into_the_database_file_by_the_checkpointer(
        sqlite_db: Database, tmp_path: Path) -> None:
    checkpointer = _checkpointer(sqlite_db)
    assert "first" not in _keys_in_the_database_file(sqlite_db, tmp_path)
    _write(sqlite_db, "first")
    _eventually(lambda: "first" in _keys_in_the_database_file(sqlite_db, tmp_path))
    _eventually(lambda: _all_copied(checkpointer))


def test_a_reader_holding_older_pages_delays_the_copy_until_it_ends(
        sqlite_db: Database, tmp_path: Path) -> None:
    checkpointer = _checkpointer(sqlite_db)
    _write(sqlite_db, "before")
    _eventually(lambda: "before" in _keys_in_the_database_file(sqlite_db, tmp_path))
    with sqlite_db.read() as reader:
        assert reader.execute(sa.select(sa.func.count()).select_from(tables.login_failures)
                              ).scalar_one() == 1
        _write(sqlite_db, "during")
        # The reader's snapshot still needs the file's old pages: the copy stops short of them.
        _eventually(lambda: checkpointer.last is not None
                    and checkpointer.last[2] < checkpointer.last[1])
        assert "during" not in _keys_in_the_database_file(sqlite_db, tmp_path)
        runs = checkpointer.runs
        _eventually(lambda: checkpointer.runs > runs + 1)  # it keeps trying
    _eventually(lambda: {"before", "during"} <= _keys_in_the_database_file(sqlite_db, tmp_path))


def test_reads_do_not_wake_it_and_dispose_ends_its_thread(sqlite_db: Database) -> None:
    checkpointer = _checkpointer(sqlite_db)
    _write(sqlite_db, "x")
    _eventually(lambda: _all_copied(checkpointer))
    time.sleep(0.3)  # a nudge that arrived during the last checkpoint has been served
    runs = checkpointer.runs
    for _ in range(20):
        with sqlite_db.read() as conn:
            conn.execute(sa.select(tables.login_failures.c.key)).all()
    time.sleep(0.2)
    assert checkpointer.runs == runs
    assert checkpointer.running
    sqlite_db.dispose()
    assert not checkpointer.running
