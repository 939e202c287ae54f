"""Local administration commands, run as subprocesses on a real database of each backend."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from linkbase.api.app import create_app
from linkbase.settings import Settings
from tests.cli.conftest import UUID_RE, Cli, assert_one_line_error


def test_admin_commands_end_to_end(database_url: str, tmp_path: Path) -> None:
    cli = Cli(None, tmp_path)
    db = ("--database", database_url)

    assert cli("db", "current", *db).stdout.strip() == "None"
    revision = cli.ok("db", "upgrade", *db).stdout.strip()
    assert revision and revision != "None"
    assert cli.ok("db", "current", *db).stdout.strip() == revision

    uuid = cli.ok("user", "create", "carol", "--email", "carol@example.com",
                  "--password", "first-pass", *db).stdout.strip()
    assert re.match(UUID_RE, uuid)
    listing = cli.ok("user", "list", *db).stdout
    assert any(line.startswith(uuid) and "carol" in line and "active" in line
               for line in listing.splitlines())
    clash = cli("user", "create", "carol", "--password", "x", *db)
    assert "already been taken" in assert_one_line_error(clash, 1)

    assert cli.ok("user", "set-password", "carol@example.com", "--password", "second-pass",
                  *db).stdout.strip() == uuid
    missing = cli("user", "set-password", "nobody", "--password", "x", *db)
    assert "no such user 'nobody'" in assert_one_line_error(missing, 1)

    token = cli.ok("token", "create", "carol", "--expires-in", "3600", *db).stdout.strip()
    assert re.fullmatch(r"[0-9a-z]{50}", token)

    assert cli.ok("repository", "create", "r-legal", "--name", "Legal", *db
                  ).stdout.strip() == "r-legal"
    again = cli("repository", "create", "r-legal", *db)
    assert "already exists" in assert_one_line_error(again, 1)

    new_id = cli.ok("link-definition", "create", "Contract", "Amendment",
                    "Contract Amendment", *db).stdout.strip()
    assert new_id == "4"
    definitions = cli.ok("link-definition", "list", *db).stdout.splitlines()
    assert definitions[0] == "1\tEmail\tAttachment\tEmail Attachment"
    assert definitions[-1] == "4\tContract\tAmendment\tContract Amendment"
    duplicate = cli("link-definition", "create", "A", "B", "Contract Amendment", *db)
    assert "exists" in assert_one_line_error(duplicate, 1)

    # What the commands wrote is what the server serves.
    app = create_app(Settings(database_url=database_url, system_root_token="admin-cli-root"))
    with TestClient(app) as client:
        me = client.get("/arvados/v1/users/current",
                        headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200
        assert me.json()["uuid"] == uuid and me.json()["username"] == "carol"
        login = client.post("/v1/Repositories/r-legal/Token",
                            data={"grant_type": "password", "username": "carol",
                                  "password": "second-pass"})
        assert login.status_code == 200, login.text
        assert login.json()["token_type"] == "bearer"
        old = client.post("/v1/Repositories/r-legal/Token",
                          data={"grant_type": "password", "username": "carol",
                                "password": "first-pass"})
        assert old.status_code == 401
        repos = client.get("/v2/Repositories").json()["value"]
        assert {"r-default", "r-legal"} <= {r["id"] for r in repos}
        lf = {"Authorization": f"Bearer {login.json()['access_token']}"}
        defs = client.get("/v2/Repositories/r-legal/LinkDefinitions", headers=lf)
        assert defs.status_code == 200
        assert defs.json()["value"][-1]["description"] == "Contract Amendment"
    app.state.services.db.dispose()
