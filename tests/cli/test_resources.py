"""Resource commands against a real server: the documented commands verbatim, every verb,
every output format and every exit status."""

from __future__ import annotations

import json
import re
import subprocess
from typing import Any

import pytest
import yaml

from tests.cli.conftest import (
    PUBLIC_FAVORITES,
    SYSTEM_USER,
    UUID_RE,
    Cli,
    assert_one_line_error,
    linkbase_command,
)


def _uuid(result: Any) -> str:
    text = result.stdout
    assert re.match(UUID_RE, text.strip()), str(result)
    assert text == text.strip() + "\n", "uuid output is exactly one line"
    return str(text.strip())


@pytest.fixture(scope="module")
def people(cli: Cli) -> dict[str, str]:
    """An active user with a token and a project of its own, plus an admin-owned project."""
    project = _uuid(cli.ok("--format=uuid", "group", "create", "--group",
                           '{"group_class": "project", "name": "Shared reports"}'))
    user = _uuid(cli.ok("-s", "user", "create", "--user",
                        '{"email": "ada@example.org", "username": "ada", '
                        '"first_name": "Ada", "last_name": "Lovelace"}'))
    token_record = cli.ok("api_client_authorization", "create", "--api-client-authorization",
                          json.dumps({"owner_uuid": user})).json()
    token = token_record["api_token"]
    own_project = _uuid(cli.ok("-s", "group", "create", "--group",
                               '{"group_class": "project", "name": "Ada project"}', token=token))
    return {"project": project, "user": user, "token": token, "own_project": own_project,
            "token_uuid": token_record["uuid"]}


def test_documented_star_commands_verbatim(cli: Cli, people: dict[str, str]) -> None:
    project, user, token = people["project"], people["user"], people["token"]
    # 1. a public favourite, created by the admin
    public_star = _uuid(cli.ok(
        "--format=uuid", "link", "create", "--link",
        '{"link_class": "star", "owner_uuid": "zzzzz-j7d0g-publicfavorites", '
        f'"tail_uuid": "zzzzz-j7d0g-publicfavorites", "head_uuid": "{project}"}}'))
    # the user stars its own project
    own_star = _uuid(cli.ok(
        "--format=uuid", "link", "create", "--link",
        f'{{"link_class": "star", "owner_uuid": "{user}", "tail_uuid": "{user}", '
        f'"head_uuid": "{people["own_project"]}"}}', token=token))
    # 2. the user's favourites: public ones and its own
    favourites = cli.ok(
        "link", "list", "--filters",
        f'[["link_class", "=", "star"], ["tail_uuid", "in", ["{PUBLIC_FAVORITES}", "{user}"]]]',
        token=token).json()
    assert favourites["kind"] == "arvados#linkList"
    assert {i["uuid"] for i in favourites["items"]} == {public_star, own_star}
    assert favourites["items_available"] == 2
    short = cli.ok("-s", "link", "list", "--filters",
                   f'[["link_class", "=", "star"], ["tail_uuid", "in", '
                   f'["{PUBLIC_FAVORITES}", "{user}"]]]', token=token)
    assert sorted(short.lines()) == sorted([public_star, own_star])
    # 3. delete the public star
    deleted = cli.ok("link", "delete", "--uuid", public_star).json()
    assert deleted["uuid"] == public_star and deleted["link_class"] == "star"
    after = cli.ok("-s", "link", "list", "--filters",
                   f'[["link_class", "=", "star"], ["tail_uuid", "in", '
                   f'["{PUBLIC_FAVORITES}", "{user}"]]]', token=token)
    assert after.lines() == [own_star]
    line = assert_one_line_error(cli("link", "get", "--uuid", public_star), 1)
    assert "404" in line and "Path not found" in line


def test_link_verbs_and_formats(cli: Cli, people: dict[str, str]) -> None:
    project = people["project"]
    body = {"link_class": "tag", "name": "urgent", "head_uuid": project,
            "properties": {"colour": "réd"}}
    created = cli.ok("link", "create", "--link", json.dumps(body)).json()
    uuid = created["uuid"]
    assert created["kind"] == "arvados#link" and created["properties"] == {"colour": "réd"}
    # get in the three formats
    as_json = cli.ok("link", "get", "--uuid", uuid).json()
    as_yaml = yaml.safe_load(cli.ok("--format=yaml", "link", "get", "--uuid", uuid).stdout)
    assert as_json == as_yaml == created
    assert cli.ok("--format", "uuid", "link", "get", "--uuid", uuid).stdout == uuid + "\n"
    assert cli.ok("-s", "link", "get", "--uuid", uuid).stdout == uuid + "\n"
    assert cli.ok("link", "get", "--uuid", uuid, "--select", '["uuid", "name"]').json() == {
        "kind": "arvados#link", "uuid": uuid, "name": "urgent"}
    # update: partial
    updated = cli.ok("link", "update", "--uuid", uuid, "--link", '{"name": "later"}').json()
    assert updated["name"] == "later" and updated["properties"] == {"colour": "réd"}
    # delete, then it is gone
    assert cli.ok("-s", "link", "delete", "--uuid", uuid).stdout == uuid + "\n"
    assert_one_line_error(cli("link", "get", "--uuid", uuid), 1)
    assert_one_line_error(cli("link", "delete", "--uuid", uuid), 1)


def test_body_from_file_and_stdin(cli: Cli, people: dict[str, str]) -> None:
    body = json.dumps({"link_class": "tag", "name": "from-file", "head_uuid": people["project"]})
    (cli.home / "link.json").write_text(body)
    from_file = cli.ok("link", "create", "--link", "@link.json").json()
    assert from_file["name"] == "from-file"
    from_stdin = cli.ok("link", "create", "--link", "-", input=body.replace("file", "stdin"))
    assert from_stdin.json()["name"] == "from-stdin"
    filters = '[["name", "in", ["from-file", "from-stdin"]]]'
    listed = cli.ok("-s", "link", "list", "--filters", "-", input=filters)
    assert sorted(listed.lines()) == sorted([from_file["uuid"], from_stdin.json()["uuid"]])


def test_list_options(cli: Cli, people: dict[str, str]) -> None:
    project = people["project"]
    made = [cli.ok("-s", "link", "create", "--link", json.dumps(
        {"link_class": "listopt", "name": f"n{i % 2}", "head_uuid": project,
         "properties": {"i": i}})).stdout.strip() for i in range(5)]
    base = '[["link_class", "=", "listopt"]]'
    full = cli.ok("link", "list", "--filters", base).json()
    assert full["items_available"] == 5 and len(full["items"]) == 5
    page = cli.ok("link", "list", "--filters", base, "--order", '["uuid asc"]', "--limit", "2",
                  "--offset", "1").json()
    assert [i["uuid"] for i in page["items"]] == sorted(made)[1:3]
    assert page["limit"] == 2 and page["offset"] == 1
    comma_order = cli.ok("-s", "link", "list", "--filters", base, "--order", "uuid desc")
    assert comma_order.lines() == sorted(made, reverse=True)
    no_count = cli.ok("link", "list", "--filters", base, "--count", "none").json()
    assert "items_available" not in no_count
    selected = cli.ok("link", "list", "--filters", base, "--select", "name",
                      "--distinct").json()
    assert sorted(i["name"] for i in selected["items"]) == ["n0", "n1"]
    where = cli.ok("-s", "link", "list", "--where", '{"link_class": "listopt", "name": "n0"}')
    assert len(where.lines()) == 3
    as_yaml = yaml.safe_load(cli.ok("--format=yaml", "link", "list", "--filters", base).stdout)
    assert as_yaml["items_available"] == 5
    # server-side validation: exit 1, the server's message on one line
    line = assert_one_line_error(cli("link", "list", "--filters", '[["nope", "=", 1]]'), 1)
    assert "422" in line and "Invalid attribute" in line


def test_get_permissions(cli: Cli, people: dict[str, str]) -> None:
    project = people["project"]
    grant = cli.ok("link", "create", "--link", json.dumps(
        {"link_class": "permission", "name": "can_read", "tail_uuid": people["user"],
         "head_uuid": project})).json()
    perms = cli.ok("link", "get_permissions", "--uuid", project).json()
    assert grant["uuid"] in {i["uuid"] for i in perms["items"]}
    assert grant["uuid"] in cli.ok("-s", "link", "get-permissions", "--uuid", project).lines()
    # a reader without manage is refused: exit 1 with the server's word
    line = assert_one_line_error(
        cli("link", "get_permissions", "--uuid", project, token=people["token"]), 1)
    assert "Forbidden" in line


def test_user_verbs(cli: Cli, people: dict[str, str]) -> None:
    me = cli.ok("user", "current", token=people["token"]).json()
    assert me["uuid"] == people["user"] and me["username"] == "ada"
    assert cli.ok("-s", "user", "current").stdout.strip() == SYSTEM_USER
    made = cli.ok("user", "create", "--user", '{"email": "bob@example.org"}').json()
    assert made["username"] == "bob"
    assert cli.ok("user", "get", "--uuid", made["uuid"]).json()["email"] == "bob@example.org"
    assert cli.ok("user", "update", "--uuid", made["uuid"], "--user",
                  '{"first_name": "Bob"}').json()["full_name"] == "Bob"
    listed = cli.ok("-s", "user", "list", "--filters", '[["username", "in", ["ada", "bob"]]]')
    assert sorted(listed.lines()) == sorted([people["user"], made["uuid"]])
    assert cli.ok("-s", "user", "delete", "--uuid", made["uuid"]).stdout.strip() == made["uuid"]
    # a non-admin cannot create users: 403, exit 1
    line = assert_one_line_error(
        cli("user", "create", "--user", '{"email": "eve@example.org"}', token=people["token"]),
        1)
    assert "403" in line


def test_group_verbs(cli: Cli) -> None:
    made = cli.ok("group", "create", "--group",
                  '{"group_class": "project", "name": "Quarterly"}').json()
    assert made["kind"] == "arvados#group"
    again = cli.ok("group", "create", "--ensure-unique-name", "--group",
                   '{"group_class": "project", "name": "Quarterly"}').json()
    assert again["name"] != "Quarterly" and again["name"].startswith("Quarterly")
    assert_one_line_error(cli("group", "create", "--group",
                              '{"group_class": "project", "name": "Quarterly"}'), 1)
    assert cli.ok("group", "update", "--uuid", made["uuid"], "--group",
                  '{"description": "Q"}').json()["description"] == "Q"
    assert cli.ok("group", "get", "--uuid", made["uuid"]).json()["description"] == "Q"
    listed = cli.ok("-s", "group", "list", "--filters", '[["name", "like", "Quarterly%"]]')
    assert sorted(listed.lines()) == sorted([made["uuid"], again["uuid"]])
    for uuid in (made["uuid"], again["uuid"]):
        cli.ok("group", "delete", "--uuid", uuid)


def test_collection_verbs(cli: Cli, people: dict[str, str]) -> None:
    made = cli.ok("collection", "create", "--collection", json.dumps(
        {"name": "scan-0001.pdf", "owner_uuid": people["project"]})).json()
    assert made["kind"] == "arvados#collection"
    assert made["portable_data_hash"] == "d41d8cd98f00b204e9800998ecf8427e+0"
    updated = cli.ok("collection", "update", "--uuid", made["uuid"], "--collection",
                     '{"properties": {"status": "final"}}').json()
    assert updated["properties"] == {"status": "final"}
    assert cli.ok("collection", "get", "--uuid", made["uuid"]).json() == updated
    listed = cli.ok("-s", "collection", "list", "--filters",
                    '[["properties.status", "=", "final"]]')
    assert listed.lines() == [made["uuid"]]
    cli.ok("collection", "delete", "--uuid", made["uuid"])
    assert_one_line_error(cli("collection", "get", "--uuid", made["uuid"]), 1)


def test_api_client_authorization_verbs(cli: Cli, people: dict[str, str]) -> None:
    made = cli.ok("api_client_authorization", "create", "--api_client_authorization",
                  json.dumps({"owner_uuid": people["user"], "scopes": ["all"]})).json()
    assert made["kind"] == "arvados#apiClientAuthorization" and made["api_token"]
    assert cli.ok("api-client-authorization", "get", "--uuid", made["uuid"]).json()["uuid"] \
        == made["uuid"]
    mine = cli.ok("-s", "api_client_authorization", "list", token=made["api_token"])
    assert made["uuid"] in mine.lines() and people["token_uuid"] in mine.lines()
    current = cli.ok("api_client_authorization", "current", token=made["api_token"]).json()
    assert current["uuid"] == made["uuid"]
    cli.ok("api_client_authorization", "delete", "--uuid", made["uuid"])
    line = assert_one_line_error(cli("user", "current", token=made["api_token"]), 1)
    assert "401" in line and "Not logged in" in line


def test_bad_token_is_exit_1(cli: Cli) -> None:
    line = assert_one_line_error(cli("link", "list", token="not-a-token"), 1)
    assert "Not logged in" in line


def test_v2_token_form(cli: Cli, people: dict[str, str]) -> None:
    v2 = f"v2/{people['token_uuid']}/{people['token']}"
    assert cli.ok("-s", "user", "current", token=v2).stdout.strip() == people["user"]


def test_output_pipes_cleanly(cli: Cli, people: dict[str, str]) -> None:
    for i in range(3):
        cli.ok("link", "create", "--link", json.dumps(
            {"link_class": "pipe", "name": f"p{i}", "head_uuid": people["project"]}))
    env = cli.env()
    command = " ".join(linkbase_command())
    proc = subprocess.run(
        ["bash", "-o", "pipefail", "-c",
         f"{command} -s link list --filters '[[\"link_class\",\"=\",\"pipe\"]]' | head -1"],
        capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert re.match(UUID_RE, proc.stdout.strip())
    assert proc.stderr == ""
    big = subprocess.run(
        ["bash", "-o", "pipefail", "-c", f"{command} link list --limit 1000 | head -c 10"],
        capture_output=True, text=True, env=env, timeout=120)
    assert big.returncode == 0, big.stderr
    assert big.stderr == ""
