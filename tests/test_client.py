"""The Python client: settings resolution, wire shapes and errors (mocked), then a real server."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from linkbase.client import (
    MAX_GET_URL,
    Client,
    LinkbaseAPIError,
    LinkbaseConfigError,
    LinkbaseConnectionError,
    LinkbaseError,
    resolve_settings,
)
from tests.support.databases import BACKENDS, fresh_database_url
from tests.support.server import ServerHandle, running_server

Handler = Callable[[httpx.Request], httpx.Response]


def mock_client(handler: Handler, **kwargs: Any) -> Client:
    return Client("http://lb.test", "secret", transport=httpx.MockTransport(handler), **kwargs)


# ---------------------------------------------------------------------------------------------
# Settings


def test_arguments_win() -> None:
    env = {"LINKBASE_URL": "http://env:1", "LINKBASE_TOKEN": "envtok",
           "ARVADOS_API_HOST": "arv:2", "ARVADOS_API_TOKEN": "arvtok"}
    settings = resolve_settings("http://arg:3/", "argtok", environ=env)
    assert (settings.url, settings.token, settings.verify) == ("http://arg:3", "argtok", True)


def test_linkbase_variables_before_arvados_ones() -> None:
    env = {"LINKBASE_URL": "http://env:1", "LINKBASE_TOKEN": "envtok",
           "ARVADOS_API_HOST": "arv:2", "ARVADOS_API_TOKEN": "arvtok"}
    settings = resolve_settings(environ=env)
    assert (settings.url, settings.token) == ("http://env:1", "envtok")


@pytest.mark.parametrize(("host", "url"), [
    ("arv.example.org", "https://arv.example.org"),
    ("127.0.0.1:8000", "https://127.0.0.1:8000"),
    ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
    ("https://arv.example.org:443/", "https://arv.example.org:443"),
])
def test_arvados_host_as_arv_reads_it(host: str, url: str) -> None:
    settings = resolve_settings(environ={"ARVADOS_API_HOST": host, "ARVADOS_API_TOKEN": "t"})
    assert (settings.url, settings.token, settings.verify) == (url, "t", True)


@pytest.mark.parametrize(("value", "verify"), [("1", False), ("true", False), ("yes", False),
                                               ("0", True), ("", True), ("false", True)])
def test_arvados_insecure_flag(value: str, verify: bool) -> None:
    env = {"ARVADOS_API_HOST": "h", "ARVADOS_API_HOST_INSECURE": value}
    assert resolve_settings(environ=env).verify is verify


def test_arvados_settings_file(tmp_path: Path) -> None:
    conf = tmp_path / ".config" / "arvados"
    conf.mkdir(parents=True)
    (conf / "settings.conf").write_text(
        "# comment\nARVADOS_API_HOST=files.example:9\nARVADOS_API_TOKEN=filetok\n"
        "ARVADOS_API_HOST_INSECURE=true\n")
    settings = resolve_settings(environ={"HOME": str(tmp_path)})
    assert (settings.url, settings.token, settings.verify) == (
        "https://files.example:9", "filetok", False)
    # the environment beats the file
    settings = resolve_settings(environ={"HOME": str(tmp_path), "ARVADOS_API_TOKEN": "envtok"})
    assert settings.token == "envtok"


def test_no_url_is_a_config_error() -> None:
    with pytest.raises(LinkbaseConfigError, match="LINKBASE_URL"):
        resolve_settings(environ={})
    with pytest.raises(LinkbaseConfigError):
        resolve_settings("ftp://x", environ={})


def test_lazy_export_keeps_import_light() -> None:
    code = ("import sys, linkbase; assert 'linkbase.client' not in sys.modules; "
            "assert 'httpx' not in sys.modules; "
            "from linkbase import Client; assert Client.__module__ == 'linkbase.client'; "
            "print(linkbase.__version__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    import linkbase

    with pytest.raises(AttributeError):
        linkbase.NoSuchThing  # noqa: B018


# ---------------------------------------------------------------------------------------------
# Wire shapes (mocked transport)


def test_requests_carry_token_and_wrapped_bodies() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"uuid": "zzzzz-o0j2j-0123456789abcde"})

    with mock_client(handler) as client:
        client.links.create({"link_class": "tag", "name": "x"}, select=["uuid"],
                            ensure_unique_name=True)
        client.groups.update("zzzzz-j7d0g-0123456789abcde", {"name": "n"})
        client.collections.delete("zzzzz-4zz18-0123456789abcde")
        client.users.get("zzzzz-tpzed-0123456789abcde", select=["uuid", "email"])
        client.users.current()
        client.tokens.current()
        client.get_permissions("zzzzz-j7d0g-0123456789abcde")
    create, update, delete, get, current, token_current, perms = seen
    assert all(r.headers["authorization"] == "Bearer secret" for r in seen)
    assert (create.method, create.url.path) == ("POST", "/arvados/v1/links")
    assert json.loads(create.content) == {"link": {"link_class": "tag", "name": "x"},
                                          "select": ["uuid"], "ensure_unique_name": True}
    assert (update.method, update.url.path) == ("PUT",
                                                "/arvados/v1/groups/zzzzz-j7d0g-0123456789abcde")
    assert json.loads(update.content) == {"group": {"name": "n"}}
    assert delete.method == "DELETE"
    assert json.loads(get.url.params["select"]) == ["uuid", "email"]
    assert current.url.path == "/arvados/v1/users/current"
    assert token_current.url.path == "/arvados/v1/api_client_authorizations/current"
    assert perms.url.path == "/arvados/v1/permissions/zzzzz-j7d0g-0123456789abcde"


def test_list_params_are_json_strings() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"items": [], "items_available": 0})

    with mock_client(handler) as client:
        client.links.list(filters=[["link_class", "=", "star"]], where={"name": "x"},
                          order=["name asc"], limit=5, offset=2, select=["uuid"], count="none",
                          distinct=True)
        client.links.list(order="name desc, uuid asc")
    params = seen[0].url.params
    assert json.loads(params["filters"]) == [["link_class", "=", "star"]]
    assert json.loads(params["where"]) == {"name": "x"}
    assert json.loads(params["order"]) == ["name asc"]
    assert (params["limit"], params["offset"], params["count"], params["distinct"]) == (
        "5", "2", "none", "true")
    assert seen[1].url.params["order"] == "name desc, uuid asc"


def test_long_get_becomes_post_with_method_override() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"items": []})

    uuids = [f"zzzzz-tpzed-{i:015d}" for i in range(200)]
    with mock_client(handler) as client:
        client.links.list(filters=[["tail_uuid", "in", uuids]])
    request = seen[0]
    assert request.method == "POST"
    assert request.headers["x-http-method-override"] == "GET"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    form = urllib.parse.parse_qs(request.content.decode())
    assert json.loads(form["filters"][0]) == [["tail_uuid", "in", uuids]]
    assert len(str(request.url)) < MAX_GET_URL


def test_arvados_error_body() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(422, json={"errors": ["Invalid attribute 'x' in filter (req-1)",
                                                    "second"], "error_token": "1+abcd0123"})

    with mock_client(handler) as client, pytest.raises(LinkbaseAPIError) as info:
        client.links.list(filters=[["x", "=", 1]])
    error = info.value
    assert error.status == 422
    assert error.messages == ["Invalid attribute 'x' in filter (req-1)", "second"]
    assert error.error_token == "1+abcd0123"
    assert error.message == "Invalid attribute 'x' in filter (req-1); second"
    assert isinstance(error, LinkbaseError)


def test_problem_details_body() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            404, headers={"content-type": "application/problem+json"},
            json={"type": "about:blank", "title": "Entry not found.", "status": 404,
                  "detail": "Entry 42 does not exist."})

    with mock_client(handler) as client, pytest.raises(LinkbaseAPIError) as info:
        client.get_entry("r-default", 42)
    assert info.value.status == 404
    assert info.value.messages == ["Entry not found.", "Entry 42 does not exist."]


@pytest.mark.parametrize(("response", "messages"), [
    (httpx.Response(500, text="Internal Server Error"), ["Internal Server Error"]),
    (httpx.Response(502, text=""), ["HTTP 502 Bad Gateway"]),
    (httpx.Response(422, json={"detail": [{"loc": ["body", "x"], "msg": "bad"}]}),
     ["body.x: bad"]),
    (httpx.Response(400, json={"detail": "nope"}), ["nope"]),
])
def test_other_error_bodies(response: httpx.Response, messages: list[str]) -> None:
    with mock_client(lambda r: response) as client, pytest.raises(LinkbaseAPIError) as info:
        client.ping()
    assert info.value.messages == messages


def test_connection_refused() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with Client(f"http://127.0.0.1:{port}", "t") as client, \
            pytest.raises(LinkbaseConnectionError) as info:
        client.links.list()
    assert str(info.value) == f"cannot reach http://127.0.0.1:{port}: connection refused"


def test_native_and_laserfiche_shapes() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path.endswith("/Links") and request.method == "GET":
            skip = int(request.url.params.get("$skip", "0"))
            body: dict[str, Any] = {"value": [{"id": skip + 1}, {"id": skip + 2}]}
            if skip == 0:
                body["@odata.nextLink"] = str(request.url.copy_merge_params({"$skip": "2"}))
            return httpx.Response(200, json=body)
        return httpx.Response(200, json={"ok": True})

    with mock_client(handler) as client:
        client.explain("zzzzz-tpzed-0123456789abcde", "zzzzz-j7d0g-0123456789abcde")
        client.batch_links([{"link_class": "tag"}], on_duplicate="ignore")
        client.get_entry("r-default", 1, select=["name", "entryType"])
        client.set_entry_links("r-default", 7, [{"linkDefinitionId": 1, "otherEntryId": 8}])
        client.list_link_definitions("r-default", orderby=["id desc"], top=5, count=True)
        client.get_link_definition("r-default", 2)
        links = list(client.iter_entry_links("r-default", 7, top=2))
    explain, batch, entry, put, defs, one_def, *pages = seen
    assert explain.url.path == "/linkbase/v1/permissions/explain"
    assert dict(explain.url.params) == {"user": "zzzzz-tpzed-0123456789abcde",
                                        "target": "zzzzz-j7d0g-0123456789abcde"}
    assert (batch.method, batch.url.path) == ("POST", "/linkbase/v1/links/batch")
    assert json.loads(batch.content) == {"links": [{"link_class": "tag"}],
                                         "on_duplicate": "ignore"}
    assert entry.url.path == "/v2/Repositories/r-default/Entries/1"
    assert entry.url.params["$select"] == "name,entryType"
    assert (put.method, put.url.path) == ("PUT", "/v2/Repositories/r-default/Entries/7/Links")
    assert json.loads(put.content) == {"links": [{"linkDefinitionId": 1, "otherEntryId": 8}]}
    assert defs.url.path == "/v2/Repositories/r-default/LinkDefinitions"
    assert dict(defs.url.params) == {"$orderby": "id desc", "$top": "5", "$count": "true"}
    assert one_def.url.path == "/v2/Repositories/r-default/LinkDefinitions/2"
    assert [link["id"] for link in links] == [1, 2, 3, 4]
    assert len(pages) == 2


class _KeysetServer:
    """Answers list requests from memory, implementing the few filters keyset paging uses."""

    def __init__(self, rows: list[dict[str, str]]) -> None:
        self.rows = rows
        self.requests = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        params = request.url.params
        assert json.loads(params["order"]) == ["created_at asc", "uuid asc"]
        assert params["count"] == "none"
        rows = sorted(self.rows, key=lambda r: (r["created_at"], r["uuid"]))
        ops: dict[str, Callable[[str, str], bool]] = {
            "=": lambda a, b: a == b, ">": lambda a, b: a > b, "in": lambda a, b: a in b}
        for attr, op, operand in json.loads(params.get("filters", "[]")):
            rows = [r for r in rows if ops[op](r[attr], operand)]
        return httpx.Response(200, json={"items": rows[: int(params["limit"])]})


def test_keyset_pages_with_shared_timestamps() -> None:
    rows = [{"uuid": f"zzzzz-o0j2j-{i:015d}", "created_at": f"2024-01-01T00:00:0{i // 25}Z",
             "kind": "k" if i % 2 else "j"} for i in range(100)]
    server = _KeysetServer(rows)
    with mock_client(server) as client:
        seen = [r["uuid"] for r in client.links.iter_all(page_size=10)]
        assert seen == sorted(r["uuid"] for r in rows)
        filtered = list(client.links.iter_all(filters=[["kind", "in", ["k"]]], page_size=7))
        assert len(filtered) == 50 and len({r["uuid"] for r in filtered}) == 50


def test_keyset_pages_on_empty_result() -> None:
    with mock_client(_KeysetServer([])) as client:
        assert list(client.links.keyset_pages()) == []


# ---------------------------------------------------------------------------------------------
# Against a real server

ROOT = "lbclientroot" + "1" * 28


@pytest.fixture(scope="module", params=BACKENDS)
def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[ServerHandle]:
    url = fresh_database_url(str(request.param), tmp_path_factory.mktemp("db"))
    with running_server(url, root_token=ROOT) as handle:
        yield handle


def test_live_arvados_round_trip(live: ServerHandle) -> None:
    with Client(live.url, live.root_token) as client:
        assert client.ping() == {"health": "OK"}
        assert client.users.current()["is_admin"] is True
        project = client.groups.create({"group_class": "project", "name": "client test"})
        link = client.links.create({"link_class": "tag", "name": "t", "head_uuid":
                                    project["uuid"]})
        assert client.links.get(link["uuid"])["head_uuid"] == project["uuid"]
        assert client.links.update(link["uuid"], {"name": "u"})["name"] == "u"
        page = client.links.list(filters=[["link_class", "=", "tag"]])
        assert [i["uuid"] for i in page["items"]] == [link["uuid"]]
        assert client.links.count(filters=[["link_class", "=", "tag"]]) == 1
        assert client.resource("link") is client.links
        client.links.delete(link["uuid"])
        with pytest.raises(LinkbaseAPIError) as info:
            client.links.get(link["uuid"])
        assert info.value.status == 404
        assert info.value.messages[0].startswith("Path not found")
        perms = client.get_permissions(project["uuid"])
        assert perms["kind"] == "arvados#linkList"


def test_live_keyset_matches_offset_listing(live: ServerHandle) -> None:
    with Client(live.url, live.root_token) as client:
        created = client.batch_links([{"link_class": "keyset", "name": f"k{i}",
                                       "head_uuid": f"urn:k:{i}"} for i in range(2_345)])
        assert created["created"] == 2_345 and created["errors"] == []
        pages = list(client.links.keyset_pages(filters=[["link_class", "=", "keyset"]],
                                               select=["uuid", "name"], page_size=1000))
        assert [len(p) for p in pages] == [1000, 1000, 345]
        names = [item["name"] for page in pages for item in page]
        assert sorted(names) == sorted(f"k{i}" for i in range(2_345))


def test_live_batch_takes_encoded_links(live: ServerHandle) -> None:
    """Pre-encoded links (``orjson.Fragment``, as ``linkbase import`` sends its lines) mix with
    mappings in one batch."""
    with Client(live.url, live.root_token) as client:
        encoded = orjson.Fragment(b'{"link_class": "fragment", "name": "raw", "head_uuid": "urn:f"}')
        result = client.batch_links([encoded, {"link_class": "fragment", "name": "dict"}])
        assert result == {"created": 2, "updated": 0, "skipped": 0, "errors": [],
                          "committed": True}
        listed = client.links.list(filters=[["link_class", "=", "fragment"]], order=["name"])
        assert [(i["name"], i["head_uuid"]) for i in listed["items"]] == [("dict", None),
                                                                         ("raw", "urn:f")]


def test_live_bad_token(live: ServerHandle) -> None:
    with Client(live.url, "wrong") as client, pytest.raises(LinkbaseAPIError) as info:
        client.links.list()
    assert info.value.status == 401


def test_live_explain(live: ServerHandle) -> None:
    with Client(live.url, live.root_token) as client:
        project = client.groups.create({"group_class": "project", "name": "explained"})
        answer = client.explain(None, project["uuid"])
        assert answer["target_uuid"] == project["uuid"]
        assert answer["level"] == "can_manage"
        with pytest.raises(LinkbaseAPIError) as info:
            client.explain("zzzzz-tpzed-000000000000000", "not-a-uuid")
        assert 400 <= info.value.status < 500


def test_live_laserfiche(live: ServerHandle) -> None:
    with Client(live.url, live.root_token) as client:
        repos = client.list_repositories()
        assert "r-default" in {r["id"] for r in repos["value"]}
        root = client.get_entry("r-default", 1)
        assert root["fullPath"] == "\\" and root["entryType"] == "Folder"
        definitions = client.list_link_definitions("r-default")
        assert "Email Attachment" in {d["description"] for d in definitions["value"]}
        assert client.get_link_definition("r-default", 1)["id"] == 1
        assert client.set_entry_links("r-default", 1, [])["value"] == []
        assert list(client.iter_entry_links("r-default", 1)) == []
        with pytest.raises(LinkbaseAPIError) as info:
            client.get_entry("r-default", 987_654)
        assert info.value.status == 404 and info.value.messages[0]
        with pytest.raises(LinkbaseAPIError) as info:
            client.get_entry("r-nope", 1)
        assert info.value.status == 404
