"""What Arvados's own API server tests expect, checked through the real ``arvados-python-client``
against a real ``linkbase serve`` process on both backends (issue 11, items 1–8).

Each test drives the SDK the way an application does; where the SDK itself refuses to send a
value (an empty ``limit``), the SDK-built request is edited before it is executed, so the
server's answer still reaches the application as the SDK's ``ApiError``.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator
from typing import Any

import arvados
import arvados.errors
import httpx
import pytest

from tests.api.arvados.conftest import LiveServer

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

#: The attributes a non-admin may see of another user (spec §7).
PUBLIC_USER_KEYS = {"uuid", "kind", "etag", "owner_uuid", "email", "first_name", "last_name",
                    "full_name", "username", "is_active", "is_admin"}


def sdk(server: LiveServer, token: str) -> Any:
    """An SDK client for ``server`` acting with ``token`` (no cache, no retries)."""
    return arvados.api("v1", discoveryServiceUrl=server.discovery_url, token=token, cache=False,
                       num_retries=0)


def status_of(exc_info: pytest.ExceptionInfo[arvados.errors.ApiError]) -> int:
    """The HTTP status the SDK saw."""
    return int(exc_info.value.resp.status)


@pytest.fixture(scope="module")
def arv(live_server: LiveServer) -> Any:
    """The SDK acting as the system root token."""
    return sdk(live_server, live_server.root_token)


def new_user(arv: Any, server: LiveServer, **attrs: Any) -> tuple[dict[str, Any], Any]:
    """An admin-created user and an SDK client acting as it."""
    tag = secrets.token_hex(4)
    record: dict[str, Any] = arv.users().create(body={"user": {
        "email": f"compat{tag}@example.com", "first_name": "Compat", "last_name": tag,
        **attrs}}).execute()
    token = arv.api_client_authorizations().create(body={"api_client_authorization": {
        "owner_uuid": record["uuid"]}}).execute()
    return record, sdk(server, f"v2/{token['uuid']}/{token['api_token']}")


@pytest.fixture(scope="module")
def reader(arv: Any, live_server: LiveServer) -> tuple[dict[str, Any], Any]:
    """A plain active (non-admin) user."""
    return new_user(arv, live_server)


# -- users -----------------------------------------------------------------------------------


def test_inactive_users_are_hidden_from_non_admins(
        arv: Any, live_server: LiveServer, reader: tuple[dict[str, Any], Any]) -> None:
    _, as_reader = reader
    gone, as_gone = new_user(arv, live_server, prefs={"profile": {"org": "x"}})
    assert as_reader.users().get(uuid=gone["uuid"]).execute()["uuid"] == gone["uuid"]

    arv.users().update(uuid=gone["uuid"], body={"user": {"is_active": False}}).execute()

    with pytest.raises(arvados.errors.ApiError) as exc:
        as_reader.users().get(uuid=gone["uuid"]).execute()
    assert status_of(exc) == 404
    assert "Path not found" in str(exc.value)
    listed = as_reader.users().list(filters=[["uuid", "=", gone["uuid"]]]).execute()
    assert listed["items"] == [] and listed["items_available"] == 0
    everyone = as_reader.users().list(limit=1000).execute()
    assert gone["uuid"] not in {u["uuid"] for u in everyone["items"]}
    assert all(u["is_active"] for u in everyone["items"])

    # Admins see all; the inactive user still sees itself, whole.
    assert arv.users().get(uuid=gone["uuid"]).execute()["is_active"] is False
    admin_list = arv.users().list(filters=[["is_active", "=", False]], limit=1000).execute()
    assert gone["uuid"] in {u["uuid"] for u in admin_list["items"]}
    itself = as_gone.users().get(uuid=gone["uuid"]).execute()
    assert itself["uuid"] == gone["uuid"] and itself["prefs"] == {"profile": {"org": "x"}}
    assert as_gone.users().current().execute()["uuid"] == gone["uuid"]
    mine = as_gone.users().list(filters=[["uuid", "=", gone["uuid"]]]).execute()
    assert [u["uuid"] for u in mine["items"]] == [gone["uuid"]]


def test_other_users_show_only_public_attributes(
        arv: Any, live_server: LiveServer, reader: tuple[dict[str, Any], Any]) -> None:
    me, as_reader = reader
    other, _ = new_user(arv, live_server, prefs={"profile": {"phone": "555"}})

    seen = as_reader.users().get(uuid=other["uuid"]).execute()
    assert set(seen) <= PUBLIC_USER_KEYS and "prefs" not in seen
    assert seen["email"] == other["email"] and seen["full_name"] == other["full_name"]
    for select in (["prefs"], ["uuid", "prefs", "created_at", "modified_by_user_uuid"]):
        picked = as_reader.users().get(uuid=other["uuid"], select=select).execute()
        assert set(picked) <= PUBLIC_USER_KEYS, picked
        assert "prefs" not in picked and "created_at" not in picked
    listed = as_reader.users().list(filters=[["uuid", "=", other["uuid"]]],
                                    select=["uuid", "prefs"]).execute()
    assert listed["items"] == [{"kind": "arvados#user", "uuid": other["uuid"]}]
    for item in as_reader.users().list(limit=1000).execute()["items"]:
        if item["uuid"] != me["uuid"]:
            assert "prefs" not in item and set(item) <= PUBLIC_USER_KEYS, item

    # Oneself and admins see everything.
    assert "prefs" in as_reader.users().get(uuid=me["uuid"]).execute()
    assert "created_at" in as_reader.users().get(uuid=me["uuid"]).execute()
    full = arv.users().get(uuid=other["uuid"]).execute()
    assert full["prefs"] == {"profile": {"phone": "555"}} and full["created_at"]


def test_empty_username_is_stored_as_null(arv: Any) -> None:
    tag = secrets.token_hex(4)
    made = arv.users().create(body={"user": {
        "email": f"blank{tag}@example.com", "username": ""}}).execute()
    assert made["username"] is None
    named = arv.users().update(uuid=made["uuid"], body={"user": {
        "username": f"named{tag}"}}).execute()
    assert named["username"] == f"named{tag}"
    cleared = arv.users().update(uuid=made["uuid"], body={"user": {"username": ""}}).execute()
    assert cleared["username"] is None
    assert arv.users().get(uuid=made["uuid"]).execute()["username"] is None


def test_email_without_at_derives_no_username(arv: Any) -> None:
    tag = secrets.token_hex(4)
    plain = arv.users().create(body={"user": {"email": f"arvados{tag}"}}).execute()
    assert plain["username"] is None and plain["email"] == f"arvados{tag}"
    derived = arv.users().create(body={"user": {"email": f"Derived{tag}@example.com"}}).execute()
    assert derived["username"] == f"Derived{tag}"


# -- collections -------------------------------------------------------------------------------


def test_unnamed_collections_do_not_conflict(arv: Any) -> None:
    project = arv.groups().create(body={"group": {
        "group_class": "project", "name": "unnamed-" + secrets.token_hex(4)}}).execute()
    first = arv.collections().create(body={"collection": {
        "owner_uuid": project["uuid"], "name": ""}}).execute()
    second = arv.collections().create(body={"collection": {
        "owner_uuid": project["uuid"], "name": ""}}).execute()
    assert first["name"] is None and second["name"] is None
    named = arv.collections().create(body={"collection": {
        "owner_uuid": project["uuid"], "name": "x"}}).execute()
    blanked = arv.collections().update(uuid=named["uuid"], body={"collection": {
        "name": ""}}).execute()
    assert blanked["name"] is None
    listed = arv.collections().list(filters=[["owner_uuid", "=", project["uuid"]],
                                             ["name", "=", None]]).execute()
    assert listed["items_available"] == 3
    # Names are still unique when set.
    arv.collections().create(body={"collection": {
        "owner_uuid": project["uuid"], "name": "taken"}}).execute()
    with pytest.raises(arvados.errors.ApiError) as exc:
        arv.collections().create(body={"collection": {
            "owner_uuid": project["uuid"], "name": "taken"}}).execute()
    assert status_of(exc) == 422


def test_portable_data_hash_with_hints(arv: Any) -> None:
    manifest = ". d41d8cd98f00b204e9800998ecf8427e 0:0:foo.txt\n"  # 47 bytes
    data = manifest.encode()
    pdh = f"{hashlib.md5(data).hexdigest()}+{len(data)}"
    assert pdh.endswith("+47")
    made = arv.collections().create(body={"collection": {
        "manifest_text": manifest, "portable_data_hash": f"{pdh}+Khint+Xhint"}}).execute()
    assert made["portable_data_hash"] == pdh
    assert arv.collections().get(uuid=made["uuid"]).execute()["portable_data_hash"] == pdh
    updated = arv.collections().update(uuid=made["uuid"], body={"collection": {
        "portable_data_hash": f"{pdh}+Kzzzzz"}}).execute()
    assert updated["portable_data_hash"] == pdh
    # Hints never excuse a hash that does not match the manifest.
    wrong = f"{'0' * 32}+47+Khint"
    with pytest.raises(arvados.errors.ApiError) as exc:
        arv.collections().create(body={"collection": {
            "manifest_text": manifest, "portable_data_hash": wrong}}).execute()
    assert status_of(exc) == 422
    assert "does not match" in str(exc.value)


# -- list params ---------------------------------------------------------------------------------


@pytest.mark.parametrize("param", ["limit", "offset"])
def test_empty_limit_or_offset_is_422(arv: Any, param: str) -> None:
    # The SDK casts integers client-side and cannot send an empty value itself: build the
    # request with the SDK, blank the value, and let the SDK execute it.
    request = arv.links().list(**{param: 7})
    assert f"{param}=7" in request.uri
    request.uri = request.uri.replace(f"{param}=7", f"{param}=")
    with pytest.raises(arvados.errors.ApiError) as exc:
        request.execute()
    assert status_of(exc) == 422
    assert f"Invalid value for {param} parameter" in str(exc.value)


# -- request ids ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sdk_http(arv: Any) -> Iterator[Any]:
    """The SDK's own HTTP transport (it adds ``X-Request-Id`` and the token to every request),
    not following redirects, so the ``GET /`` redirect itself is seen."""
    http = arv._http
    follow = http.follow_redirects
    http.follow_redirects = False
    yield http
    http.follow_redirects = follow


@pytest.mark.parametrize(("method", "path", "status"), [
    ("GET", "/", 307),
    ("GET", "/_health/ping", 200),
    ("GET", "/metrics", 200),
    ("GET", "/no/such/path", 404),
    ("GET", "/arvados/v1/no_such_resource", 404),
    ("GET", "/arvados/v1/links/zzzzz-o0j2j-000000000000404", 404),
    ("GET", "/arvados/v1/links?limit=", 422),
    ("GET", "/discovery/v1/apis/arvados/v1/rest", 200),
    ("GET", "/v2/Repositories", 200),
    ("GET", "/v2/Repositories/r-default/Entries/1", 200),
    ("GET", "/v2/Repositories/r-default/Entries/999999", 404),
    ("GET", "/v2/nowhere", 404),
    ("GET", "/LFRepositoryAPI/v2/Repositories", 200),
    ("GET", "/linkbase/v1/no-such-endpoint", 404),
    ("GET", "/ui/", 200),
])
def test_every_response_carries_the_request_id(sdk_http: Any, live_server: LiveServer,
                                               method: str, path: str, status: int) -> None:
    headers: dict[str, str] = {}  # the SDK fills in X-Request-Id (and the token)
    response, content = sdk_http.request(live_server.base_url + path, method, headers=headers)
    assert response.status == status, content[:300]
    sent = headers["X-Request-Id"]
    assert sent.startswith("req-")
    assert response["x-request-id"] == sent
    if status >= 400 and not path.startswith(("/v2", "/LFRepositoryAPI")):
        assert sent in content.decode()  # the body quotes the same id as the header
    if path == "/":
        assert response["location"] == "/ui/"
        assert response["access-control-allow-origin"] == "*"


def test_request_id_is_generated_when_missing_or_invalid(live_server: LiveServer) -> None:
    with httpx.Client(base_url=live_server.base_url) as client:
        for headers in ({}, {"X-Request-Id": "has space"}, {"X-Request-Id": "x" * 1025}):
            response = client.get("/no/such/path", headers=headers)
            assert response.status_code == 404
            generated = response.headers["x-request-id"]
            assert generated.startswith("req-") and len(generated) == 24
            assert generated in response.json()["errors"][0]
        kept = client.get("/_health/ping", headers={"X-Request-Id": "x" * 1024})
        assert kept.headers["x-request-id"] == "x" * 1024
