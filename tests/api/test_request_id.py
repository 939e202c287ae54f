"""The request-id middleware (spec §1.5): the rule, and the id on responses no face renders."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from linkbase.api.app import create_app
from linkbase.api.request_id import choose_request_id, new_request_id
from linkbase.settings import Settings
from tests.api.arvados.conftest import ERROR_TOKEN_RE, REQUEST_ID_RE


def test_rule() -> None:
    assert REQUEST_ID_RE.match(new_request_id())
    assert choose_request_id("abc-1/2") == "abc-1/2"
    assert choose_request_id("~" * 1024) == "~" * 1024
    for bad in (None, "", " lead", "tab\tin", "x" * 1025, "é"):
        assert REQUEST_ID_RE.match(choose_request_id(bad)), bad


@pytest.fixture
def faulty_app(database_url: str) -> Iterator[FastAPI]:
    """An app with one extra route that fails with an unexpected exception."""
    app = create_app(Settings(database_url=database_url, system_root_token="t" * 32))

    @app.get("/test-fault")
    def fault() -> None:
        raise RuntimeError("boom")

    yield app
    app.state.services.db.dispose()


def test_server_faults_carry_the_request_id(faulty_app: FastAPI) -> None:
    with TestClient(faulty_app, raise_server_exceptions=False) as client:
        response = client.get("/test-fault", headers={"X-Request-Id": "fault-1"})
        assert response.status_code == 500
        assert response.headers["x-request-id"] == "fault-1"
        body = response.json()
        assert body["errors"] == ["Internal server error (fault-1)"]
        assert ERROR_TOKEN_RE.match(body["error_token"])
        generated = client.get("/test-fault")
        assert REQUEST_ID_RE.match(generated.headers["x-request-id"])
        assert generated.headers["x-request-id"] in generated.json()["errors"][0]
