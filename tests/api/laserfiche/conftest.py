"""Fixtures of the Laserfiche face tests: one app per test over a fresh database (both backends),
users created through the Arvados face, tokens through the Laserfiche Token endpoint."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient

from linkbase.api.app import create_app
from linkbase.services.users import set_password
from linkbase.settings import Settings

ROOT_TOKEN = "lfroottoken0123456789"
REPO = "r-default"
V2 = f"/v2/Repositories/{REPO}"
ADMIN = {"Authorization": f"Bearer {ROOT_TOKEN}"}


@dataclass
class LF:
    """A test client with helpers for the setup every Laserfiche test needs."""

    client: TestClient
    users: dict[str, dict[str, Any]] = field(default_factory=dict)

    def create_user(self, username: str, password: str = "secret-pw") -> dict[str, str]:
        """An active user with a password; returns bearer headers of a Laserfiche token."""
        response = self.client.post(
            "/arvados/v1/users", headers=ADMIN,
            json={"user": {"username": username, "email": f"{username}@example.com",
                           "first_name": username, "last_name": "Test"}},
        )
        assert response.status_code == 200, response.text
        user = response.json()
        self.users[username] = user
        db = self.client.app.state.services.db  # type: ignore[attr-defined]
        with db.write() as conn:
            set_password(conn, user["uuid"], password)
        return self.login(username, password)

    def login(self, username: str, password: str) -> dict[str, str]:
        """Bearer headers from the Token endpoint."""
        response = self.client.post(
            f"/v1/Repositories/{REPO}/Token",
            data={"grant_type": "password", "username": username, "password": password},
        )
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    def root_uuid(self) -> str:
        """The project that is the default repository's root folder."""
        db = self.client.app.state.services.db  # type: ignore[attr-defined]
        from linkbase.services.entries import get_repository

        with db.read() as conn:
            return str(get_repository(conn, REPO)["root_uuid"])

    def uuid_of(self, entry_id: int) -> str:
        """The object uuid behind an entry id of the default repository."""
        db = self.client.app.state.services.db  # type: ignore[attr-defined]
        from linkbase.services.entries import uuids_of_entries

        with db.read() as conn:
            return uuids_of_entries(conn, REPO, [entry_id])[entry_id]

    def grant(self, user: str, head_uuid: str, level: str) -> None:
        """A permission link from a user to an object (as admin)."""
        response = self.client.post(
            "/arvados/v1/links", headers=ADMIN,
            json={"link": {"link_class": "permission", "name": level,
                           "tail_uuid": self.users[user]["uuid"], "head_uuid": head_uuid}},
        )
        assert response.status_code == 200, response.text

    def folder(self, parent: int, name: str, headers: dict[str, str] = ADMIN) -> dict[str, Any]:
        """Create a folder through the Laserfiche face."""
        response = self.client.post(f"{V2}/Entries/{parent}/Folder/Children", headers=headers,
                                    json={"name": name, "entryType": "Folder"})
        assert response.status_code == 201, response.text
        return dict(response.json())

    def document(self, parent: int, name: str, headers: dict[str, str] = ADMIN
                 ) -> dict[str, Any]:
        """Create a document through the native API."""
        response = self.client.post(
            "/linkbase/v1/documents", headers=headers,
            json={"repository_id": REPO, "parent_entry_id": parent, "name": name},
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    def put_links(self, entry: int, links: Any, headers: dict[str, str] = ADMIN) -> Any:
        """PUT Links, returning the response."""
        return self.client.put(f"{V2}/Entries/{entry}/Links", headers=headers,
                               json={"links": links})

    def get_links(self, entry: int, headers: dict[str, str] = ADMIN, **params: Any) -> Any:
        """GET Links, returning the response."""
        return self.client.get(f"{V2}/Entries/{entry}/Links", headers=headers, params=params)


def make_settings(database_url: str, **extra: Any) -> Settings:
    """Settings of a test app."""
    return Settings(database_url=database_url, system_root_token=ROOT_TOKEN, **extra)


@pytest.fixture
def lf(database_url: str) -> Iterator[LF]:
    """A fresh app and client on the current backend."""
    app = create_app(make_settings(database_url))
    with TestClient(app) as client:
        yield LF(client)
    app.state.services.db.dispose()


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    """The response is a ProblemDetails with this status and a non-empty title."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    assert isinstance(body["title"], str) and body["title"]
    return dict(body)
