"""Fixtures for the Arvados face: an in-process app per test and a real server per module.

* ``api`` — a :class:`Api` wrapping FastAPI's TestClient on ``create_app`` over a fresh database
  (both backends, through the root ``database_url`` fixture).
* ``live_server`` — a real ``linkbase serve`` process (``tests/support/server.py``), one per test
  module and backend, for the real Arvados Python SDK.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from linkbase.api.app import create_app
from linkbase.settings import Settings
from tests.support.databases import BACKENDS, fresh_database_url, table_digest
from tests.support.server import ServerHandle, running_server

ROOT_TOKEN = "lbtestroot" + "0" * 30
CLUSTER = "zzzzz"
SYSTEM_USER = f"{CLUSTER}-tpzed-000000000000000"
SYSTEM_GROUP = f"{CLUSTER}-j7d0g-000000000000000"
ALL_USERS = f"{CLUSTER}-j7d0g-fffffffffffffff"
ANON_GROUP = f"{CLUSTER}-j7d0g-anonymouspublic"
ANON_USER = f"{CLUSTER}-tpzed-anonymouspublic"
PUBLIC_FAVORITES = f"{CLUSTER}-j7d0g-publicfavorites"
ERROR_TOKEN_RE = re.compile(r"^\d+\+[0-9a-f]{8}$")
TIMESTAMP_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}000Z$")
REQUEST_ID_RE = re.compile(r"^req-[0-9a-z]{20}$")


def assert_error(resp: httpx.Response, status: int) -> list[str]:
    """The response is an Arvados error body with ``status``; returns its messages."""
    assert resp.status_code == status, (resp.status_code, resp.text[:500])
    assert resp.headers["content-type"].startswith("application/json")
    body = resp.json()
    assert isinstance(body, dict), body
    errors = body.get("errors")
    assert isinstance(errors, list) and errors, body
    assert all(isinstance(e, str) and e for e in errors), body
    assert ERROR_TOKEN_RE.match(str(body.get("error_token"))), body
    return list(errors)


@dataclass
class Api:
    """Tiny Arvados client over a TestClient (or any httpx-compatible client)."""

    client: TestClient | httpx.Client
    token: str = ROOT_TOKEN
    _users: int = field(default=0)

    def call(self, method: str, path: str, *, token: str | None = "", **kwargs: Any
             ) -> httpx.Response:
        """``path`` is relative to ``/arvados/v1/`` unless it starts with ``/``.

        ``token=""`` (default) uses the api's token; ``None`` sends no Authorization header.
        """
        url = path if path.startswith("/") else f"/arvados/v1/{path}"
        headers = dict(kwargs.pop("headers", None) or {})
        use = self.token if token == "" else token
        if use is not None and not any(k.lower() == "authorization" for k in headers):
            headers["Authorization"] = f"Bearer {use}"
        return self.client.request(method, url, headers=headers, **kwargs)

    def ok(self, method: str, path: str, **kwargs: Any) -> Any:
        """A call that must succeed with 200; returns the decoded body."""
        resp = self.call(method, path, **kwargs)
        assert resp.status_code == 200, (method, path, resp.status_code, resp.text[:500])
        return resp.json()

    def create(self, resource: str, wrapper: str, attrs: dict[str, Any], **kwargs: Any
               ) -> dict[str, Any]:
        """POST ``{"<wrapper>": attrs}`` and return the object."""
        body: dict[str, Any] = self.ok("POST", resource, json={wrapper: attrs}, **kwargs)
        return body

    def new_user(self, *, is_admin: bool = False, is_active: bool = True,
                 **attrs: Any) -> tuple[dict[str, Any], str]:
        """An admin-created user and a v2 token acting as it."""
        self._users += 1
        n = self._users
        user = self.create("users", "user", {
            "email": f"user{n}@example.com", "first_name": f"First{n}", "last_name": "Last",
            "is_admin": is_admin, "is_active": is_active, **attrs,
        }, token=ROOT_TOKEN)
        tok = self.create("api_client_authorizations", "api_client_authorization",
                          {"owner_uuid": user["uuid"]}, token=ROOT_TOKEN)
        return user, f"v2/{tok['uuid']}/{tok['api_token']}"

    def link(self, **attrs: Any) -> dict[str, Any]:
        """Create a link with the api's token."""
        return self.create("links", "link", attrs)


def table_snapshot(app: FastAPI) -> dict[str, str]:
    """A digest of every row of every table: equal snapshots mean nothing was written."""
    return table_digest(app.state.services.db.engine, with_log=True)


@pytest.fixture
def app(database_url: str) -> Iterator[FastAPI]:
    """A fresh app over a fresh database (both backends)."""
    application = create_app(Settings(database_url=database_url, system_root_token=ROOT_TOKEN))
    yield application
    application.state.services.db.dispose()


@pytest.fixture
def api(app: FastAPI) -> Iterator[Api]:
    """An in-process client authenticated as the system root token."""
    with TestClient(app, base_url="http://testserver") as client:
        yield Api(client)


# -- real server processes --------------------------------------------------------------------


@dataclass
class LiveServer:
    """A running ``linkbase serve`` process (see :func:`tests.support.server.running_server`)."""

    base_url: str
    root_token: str
    database_url: str
    handle: ServerHandle

    @property
    def discovery_url(self) -> str:
        """The SDK's ``discoveryServiceUrl`` (placeholders literal, the SDK fills them)."""
        return self.base_url + "/discovery/v1/apis/{api}/{apiVersion}/rest"


@pytest.fixture(scope="module", params=BACKENDS)
def live_server(request: pytest.FixtureRequest,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One real server per test module and backend."""
    backend = str(request.param)
    url = fresh_database_url(backend, tmp_path_factory.mktemp(f"server-{backend}"))
    with running_server(url, root_token=ROOT_TOKEN) as handle:
        yield LiveServer(handle.url, ROOT_TOKEN, url, handle)
