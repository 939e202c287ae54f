"""Native endpoint tests: the app in-process (FastAPI's TestClient) on a fresh database per test,
with an admin bearer token."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from linkbase.api.app import create_app
from linkbase.settings import Settings

ROOT = "native-root-token"
ADMIN = {"Authorization": f"Bearer {ROOT}"}


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    app = create_app(Settings(database_url=database_url, system_root_token=ROOT))
    with TestClient(app) as test_client:
        yield test_client
    app.state.services.db.dispose()
