"""Shared fixtures: real databases on both backends, real servers (see tests/support)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.databases import BACKENDS, drop_created_schemas, fresh_database_url


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Each storage-touching test runs once per backend."""
    return str(request.param)


@pytest.fixture
def database_url(backend: str, tmp_path: Path) -> str:
    """An empty database on the current backend."""
    return fresh_database_url(backend, tmp_path)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    drop_created_schemas()
