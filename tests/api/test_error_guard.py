"""A server fault is a 500 in the face's own error format, and the keep-alive connection that
carried it keeps working (issue 10: uvicorn closes the connection of a request whose app raised).
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI

from linkbase.api.app import create_app
from linkbase.services import describe, objects
from linkbase.settings import Settings
from tests.support.uvicorn_thread import serving

TOKEN = "guard-root-token-" + "0" * 20
HEADERS = {"Authorization": f"Bearer {TOKEN}", "X-Request-Id": "guard-1"}


@pytest.fixture
def app(database_url: str) -> Iterator[FastAPI]:
    application = create_app(Settings(database_url=database_url, system_root_token=TOKEN))
    yield application
    application.state.services.db.dispose()


def _fail(*_: Any, **__: Any) -> Any:
    raise RuntimeError("a bug")


def _get(conn: http.client.HTTPConnection, path: str) -> tuple[int, dict[str, str], Any]:
    conn.request("GET", path, headers=HEADERS)
    resp = conn.getresponse()
    body = resp.read()
    return resp.status, {k.lower(): v for k, v in resp.getheaders()}, json.loads(body)


@pytest.mark.parametrize(("path", "patched"), [
    ("/arvados/v1/links", (objects, "list_page")),
    ("/linkbase/v1/objects?uuid=zzzzz-tpzed-000000000000000", (describe, "describe_many")),
])
def test_a_fault_is_a_500_in_the_face_format_and_the_connection_survives(
        app: FastAPI, monkeypatch: pytest.MonkeyPatch, path: str,
        patched: tuple[Any, str]) -> None:
    monkeypatch.setattr(*patched, _fail)
    with serving(app) as (host, port):
        conn = http.client.HTTPConnection(host, port, timeout=10)
        for _ in range(2):  # twice on the same connection: the first 500 did not close it
            status, headers, body = _get(conn, path)
            assert status == 500
            assert headers["content-type"].startswith("application/json")
            assert headers["x-request-id"] == "guard-1"
            assert body["errors"] == ["Internal server error (guard-1)"]
            assert body["error_token"]
        status, _, body = _get(conn, "/_health/ping")
        assert (status, body) == (200, {"health": "OK"})
        conn.close()


def test_a_laserfiche_fault_is_problem_details(app: FastAPI,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from linkbase.services import link_definitions

    monkeypatch.setattr(link_definitions, "for_repository", _fail)
    with serving(app) as (host, port):
        conn = http.client.HTTPConnection(host, port, timeout=10)
        status, headers, body = _get(conn, "/v2/Repositories/r-default/LinkDefinitions")
        assert status == 500 and body["status"] == 500 and body["title"]
        assert headers["content-type"].startswith("application/problem+json")
        status, _, _ = _get(conn, "/_health/ping")
        assert status == 200
        conn.close()
