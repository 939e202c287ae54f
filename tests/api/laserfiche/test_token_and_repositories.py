"""Token endpoint (password grant) and repository listing."""

from __future__ import annotations

from fastapi.testclient import TestClient

from linkbase.api.app import create_app
from tests.api.laserfiche.conftest import ADMIN, LF, REPO, V2, assert_problem, make_settings


def _token(lf: LF, username: str, password: str, repo: str = REPO, prefix: str = "",
           grant: str = "password") -> object:
    return lf.client.post(f"{prefix}/v1/Repositories/{repo}/Token",
                          data={"grant_type": grant, "username": username, "password": password})


def test_password_grant_returns_bearer_token(lf: LF) -> None:
    lf.create_user("alice", "pw-alice")
    response = _token(lf, "alice", "pw-alice")
    body = response.json()  # type: ignore[attr-defined]
    assert response.status_code == 200  # type: ignore[attr-defined]
    assert body["token_type"] == "bearer"
    assert isinstance(body["expires_in"], int) and body["expires_in"] > 0
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    assert lf.client.get(f"{V2}/LinkDefinitions", headers=headers).status_code == 200
    # The access token is an ordinary API token, usable on the Arvados face.
    me = lf.client.get("/arvados/v1/users/current", headers=headers).json()
    assert me["uuid"] == lf.users["alice"]["uuid"]


def test_login_forms_and_api_token_as_password(lf: LF) -> None:
    lf.create_user("bob", "pw-bob")
    for login in ("bob", "bob@example.com", "bob@corp", "CORP\\bob"):
        assert _token(lf, login, "pw-bob").status_code == 200, login  # type: ignore[attr-defined]
    created = lf.client.post(
        "/arvados/v1/api_client_authorizations", headers=ADMIN,
        json={"api_client_authorization": {"owner_uuid": lf.users["bob"]["uuid"]}},
    ).json()
    assert _token(lf, "bob", created["api_token"]).status_code == 200  # type: ignore[attr-defined]
    v2 = f"v2/{created['uuid']}/{created['api_token']}"
    assert _token(lf, "bob", v2).status_code == 200  # type: ignore[attr-defined]


def test_token_under_prefix(lf: LF) -> None:
    lf.create_user("carol", "pw")
    response = _token(lf, "carol", "pw", prefix="/LFRepositoryAPI")
    assert response.status_code == 200  # type: ignore[attr-defined]


def test_token_errors_are_problem_details(lf: LF) -> None:
    lf.create_user("dave", "right")
    other = lf.create_user("erin", "erin-pw")
    assert other
    assert_problem(_token(lf, "dave", "wrong"), 401)
    assert_problem(_token(lf, "nobody", "right"), 401)
    # Another user's password or token does not log in as dave.
    assert_problem(_token(lf, "dave", "erin-pw"), 401)
    assert_problem(_token(lf, "dave", "right", repo="r-unknown"), 404)
    assert_problem(_token(lf, "dave", "right", grant="client_credentials"), 400)
    assert_problem(lf.client.post(f"/v1/Repositories/{REPO}/Token", data={}), 400)
    assert_problem(lf.client.get(f"/v1/Repositories/{REPO}/Token"), 405)


def test_repositories_without_token(lf: LF) -> None:
    for path in ("/v2/Repositories", "/LFRepositoryAPI/v2/Repositories"):
        response = lf.client.get(path)
        assert response.status_code == 200
        body = response.json()
        assert list(body) == ["value"]
        assert body["value"][0]["id"] == REPO
        assert set(body["value"][0]) == {"id", "name", "webClientUrl"}
        assert body["value"][0]["webClientUrl"] == f"http://testserver/ui/?repository={REPO}"


def test_web_client_url_uses_the_base_url(database_url: str) -> None:
    app = create_app(make_settings(database_url, base_url="https://links.example.org/"))
    try:
        with TestClient(app) as client:
            value = client.get("/v2/Repositories").json()["value"]
    finally:
        app.state.services.db.dispose()
    assert value[0]["webClientUrl"] == f"https://links.example.org/ui/?repository={REPO}"


def test_native_repository_creation(lf: LF) -> None:
    headers = lf.create_user("frank")
    created = lf.client.post("/linkbase/v1/repositories", headers=ADMIN,
                             json={"id": "r-second", "name": "Second"})
    assert created.status_code == 200, created.text
    ids = [r["id"] for r in lf.client.get("/v2/Repositories").json()["value"]]
    assert ids == ["r-default", "r-second"]
    root = lf.client.get("/v2/Repositories/r-second/Entries/1", headers=ADMIN).json()
    assert root["fullPath"] == "\\" and root["entryType"] == "Folder"
    denied = lf.client.post("/linkbase/v1/repositories", headers=headers,
                            json={"id": "r-third", "name": "Third"})
    assert denied.status_code == 403
    clash = lf.client.post("/linkbase/v1/repositories", headers=ADMIN,
                           json={"id": "r-second", "name": "Again"})
    assert clash.status_code == 422


def test_missing_or_bad_bearer_is_401(lf: LF) -> None:
    assert_problem(lf.client.get(f"{V2}/LinkDefinitions"), 401)
    assert_problem(lf.client.get(f"{V2}/Entries/1",
                                 headers={"Authorization": "Bearer nope"}), 401)
    assert_problem(lf.client.put(f"{V2}/Entries/1/Links", json={"links": []}), 401)


def test_unknown_repository_is_404(lf: LF) -> None:
    for path in ("/v2/Repositories/r-nope/LinkDefinitions",
                 "/v2/Repositories/r-nope/LinkDefinitions/1",
                 "/v2/Repositories/r-nope/Entries/1",
                 "/v2/Repositories/r-nope/Entries/1/Links",
                 "/v2/Repositories/r-nope/Entries/1/Folder/Children"):
        assert_problem(lf.client.get(path, headers=ADMIN), 404)
