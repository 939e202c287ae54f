"""Failed sign-ins are throttled per username and per client address, in the database (so
across processes), with 429 and ``Retry-After``; unknown usernames cost what wrong passwords
cost (spec ``laserfiche-v2.md`` "Token", issue 10)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from linkbase.api.app import create_app
from linkbase.services import users
from linkbase.storage.database import Database
from tests.api.laserfiche.conftest import LF, REPO, assert_problem, make_settings

LIMITS = {"login_max_failures": 3, "login_max_failures_per_address": 6,
          "login_lockout_seconds": 30}


@pytest.fixture
def lf(database_url: str) -> Iterator[LF]:
    app = create_app(make_settings(database_url, **LIMITS))
    with TestClient(app) as client:
        yield LF(client)
    app.state.services.db.dispose()


def _token(client: TestClient, username: str, password: str) -> Any:
    return client.post(f"/v1/Repositories/{REPO}/Token", data={
        "grant_type": "password", "username": username, "password": password})


def assert_throttled(response: Any) -> None:
    assert_problem(response, 429)
    assert 1 <= int(response.headers["retry-after"]) <= LIMITS["login_lockout_seconds"]


@pytest.mark.parametrize("username", ["alice", "nobody"])
def test_failures_lock_a_username_existing_or_not(lf: LF, username: str) -> None:
    lf.create_user("alice", "right")
    for _ in range(LIMITS["login_max_failures"]):
        assert_problem(_token(lf.client, username, "wrong"), 401)
    # Locked: even the right password is refused, before any hash is computed.
    assert_throttled(_token(lf.client, username, "right"))
    # Usernames are counted case-insensitively; others are not affected.
    assert_throttled(_token(lf.client, username.upper(), "right"))
    lf.create_user("bob", "pw-bob")
    assert _token(lf.client, "bob", "pw-bob").status_code == 200


def test_a_success_clears_the_username_count(lf: LF) -> None:
    lf.create_user("alice", "right")
    for _ in range(2):  # 4 failures in all: over the username limit, under the address one
        for _ in range(LIMITS["login_max_failures"] - 1):
            assert_problem(_token(lf.client, "alice", "wrong"), 401)
        assert _token(lf.client, "alice", "right").status_code == 200


def test_failures_lock_a_client_address(lf: LF) -> None:
    """Spreading guesses over usernames does not escape the per-address limit."""
    for n in range(LIMITS["login_max_failures_per_address"]):
        assert_problem(_token(lf.client, f"user{n}", "wrong"), 401)
    assert_throttled(_token(lf.client, "someone-else", "whatever"))


def test_the_count_is_shared_by_every_process(database_url: str) -> None:
    """Two apps over one database (two workers): failures on one lock the other."""
    first = create_app(make_settings(database_url, **LIMITS))
    second = create_app(make_settings(database_url, **LIMITS),
                        db=Database(first.state.services.settings.database_url))
    try:
        with TestClient(first) as a, TestClient(second) as b:
            for client in (a, b, a):
                assert_problem(_token(client, "dave", "wrong"), 401)
            assert_throttled(_token(b, "dave", "wrong"))
    finally:
        first.state.services.db.dispose()
        second.state.services.db.dispose()


def test_the_lockout_ends(database_url: str) -> None:
    app = create_app(make_settings(database_url, **{**LIMITS, "login_lockout_seconds": 1}))
    try:
        with TestClient(app) as client:
            lf = LF(client)
            lf.create_user("erin", "right")
            for _ in range(LIMITS["login_max_failures"]):
                assert_problem(_token(client, "erin", "wrong"), 401)
            assert _token(client, "erin", "right").status_code == 429
            time.sleep(1.2)
            assert _token(client, "erin", "right").status_code == 200
    finally:
        app.state.services.db.dispose()


def test_unknown_users_cost_one_password_hash_like_known_ones(
        lf: LF, monkeypatch: pytest.MonkeyPatch) -> None:
    """Counting hash verifications, not timing: every refused password costs exactly one."""
    lf.create_user("alice", "right")
    lf.client.post("/arvados/v1/users", headers={"Authorization": "Bearer lfroottoken0123456789"},
                   json={"user": {"username": "nopassword"}})
    calls: list[str] = []
    real = users._hasher

    class CountingHasher:
        def hash(self, password: str) -> str:
            return str(real.hash(password))

        def verify(self, stored: str, password: str) -> bool:
            calls.append(password)
            return bool(real.verify(stored, password))

    monkeypatch.setattr(users, "_hasher", CountingHasher())
    costs = {}
    for username in ("alice", "nobody", "nopassword"):
        calls.clear()
        assert_problem(_token(lf.client, username, "wrong"), 401)
        costs[username] = len(calls)
    assert costs == {"alice": 1, "nobody": 1, "nopassword": 1}
